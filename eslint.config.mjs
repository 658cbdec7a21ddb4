// The house rules as checks (`npm run lint`, a step of `npm test`): typescript-eslint's recommended rules, no import
// cycles, and the layers — src/core is the ground floor (no vscode, no extension, CLI or webview), the webviews are
// browser code (no src, no Node, no vscode), the extension host reaches into webview/ only for the protocol and its
// schema, common/ imports nothing. Formatting belongs to Prettier alone (eslint-config-prettier, last, turns off
// every stylistic rule that could fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = { group: ['node:*'], message: 'Webview code runs in the browser: no Node modules.' };
const noVscode = (why) => ({ name: 'vscode', message: why });

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      '.harness/',
      '.test-output/',
      '.scratch/',
      'models/',
      'test/fixtures/',
      'test/editor/workspace-template/',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { 'import-x': importX },
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    settings: {
      'import-x/extensions': ['.ts', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // TypeScript checks names and globals itself (no-undef only misreads DOM and Node types).
      'no-undef': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/core',
              from: ['./src/extension', './src/cli', './webview'],
              message: 'src/core is the ground floor: it never imports the extension, the CLI or the webviews.',
            },
            {
              target: './src/cli',
              from: ['./src/extension', './webview'],
              message: 'The CLI never imports the extension or the webviews.',
            },
            {
              target: './webview',
              from: ['./src'],
              message: 'Webview code never imports src/: it talks to the host through webview/shared/protocol.ts.',
            },
            {
              target: './src/extension',
              from: './webview',
              except: ['./shared/protocol.ts', './shared/schema.ts'],
              message: 'The host imports only the protocol and its schema from webview/.',
            },
            {
              target: ['./src/extension/tree', './src/extension/panels'],
              from: './src/extension/commands',
              message: 'Commands use the tree and the panels, never the other way round: pass a callback (see src/extension/extension.ts).',
            },
            {
              target: './common',
              from: ['./src', './webview', './test'],
              message: 'common/ (shared by every layer, webviews included) imports nothing.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [noVscode('src/core and the CLI run in plain Node and worker threads: never import vscode.')] },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [noVscode('Webview code runs in the browser: use webview/shared/vscodeApi.ts.')], patterns: [nodeBuiltins] },
      ],
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'common/ imports nothing but its own files.' }] }],
    },
  },
  prettier,
);
