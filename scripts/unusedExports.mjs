// The unused-export check of `npm run lint`: every `export` in src/, webview/ and common/ must be used somewhere —
// by another file (product or test), or in its own file (a type in an exported signature, a constant a function
// reads), as knip's ignoreExportsUsedInFile. What nothing uses is dead code: it goes. The bundles' entry points
// (esbuild.mjs) are exempt: VS Code, bin/fact.js, the worker and the webview pages load them by name.
// It asks the TypeScript checker which declaration each identifier of every file in tsconfig.json refers to, so
// namespace imports (`ns.x`), re-exports and type-only imports count like named imports.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const checked = ['src/', 'webview/', 'common/'];
const entryPoints = new Set(['src/extension/extension.ts', 'src/cli/main.ts', 'src/core/jobs/workerMain.ts', 'src/core/nativeRuntime.ts']);
const isEntryPoint = (name) => entryPoints.has(name) || /^webview\/[^/]+\/main\.ts$/.test(name);

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(root, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
const program = ts.createProgram(config.fileNames, config.options);
const checker = program.getTypeChecker();
const rel = (f) => path.relative(root, f).split(path.sep).join('/');
const files = program
  .getSourceFiles()
  .filter((f) => !f.isDeclarationFile && !rel(f.fileName).startsWith('..') && !rel(f.fileName).startsWith('node_modules/'));

const original = (s) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

/** Declarations (their symbols) that some identifier refers to, other than the one that declares them. */
const used = new Set();
for (const file of files) {
  const visit = (node) => {
    if (ts.isIdentifier(node) || ts.isStringLiteral(node)) {
      const s = original(checker.getSymbolAtLocation(node));
      if (s?.declarations && !s.declarations.some((d) => ts.getNameOfDeclaration(d) === node)) used.add(s);
    }
    // `const { x } = await import('./y')`: x names a property of the module's namespace object.
    if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
      const key = node.propertyName ?? node.name;
      if (ts.isIdentifier(key)) {
        const p = checker.getTypeAtLocation(node.parent).getProperty(key.text);
        if (p) used.add(original(p));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

const unused = [];
for (const file of files) {
  const name = rel(file.fileName);
  if (!checked.some((c) => name.startsWith(c)) || isEntryPoint(name)) continue;
  const moduleSymbol = checker.getSymbolAtLocation(file);
  if (!moduleSymbol) continue;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const s = original(exported);
    if (used.has(s)) continue;
    // A custom element registers itself (@customElement): the page uses it by its tag.
    if (s.declarations?.some((d) => ts.isClassDeclaration(d) && ts.getDecorators(d)?.length)) continue;
    // A re-export (`export { x } from './y'`) is the other file's declaration: judged there.
    if (!s.declarations?.some((d) => d.getSourceFile() === file)) continue;
    const { line } = file.getLineAndCharacterOfPosition(s.declarations[0].getStart());
    unused.push(`${name}:${line + 1}  ${exported.name}`);
  }
}

if (unused.length) {
  console.log(`Exports nothing uses (dead code: remove them):\n${unused.map((u) => `  ${u}`).join('\n')}`);
  process.exitCode = 1;
} else console.log(`unused exports: none (${files.length} files)`);
