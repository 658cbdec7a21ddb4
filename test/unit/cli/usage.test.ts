// The CLI as a person meets it: help per command, --version, usage errors that show the command's usage, numbers
// checked before anything runs, several images with a class, and nothing written where nobody asked.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { cli } from '../../support/cli';
import { commands } from '../../../src/cli/commands';
import { version } from '../../../package.json';
import { fixtures, repoRoot, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const names = Object.keys(commands);

async function grey(dir: string, name: string, value: number): Promise<string> {
  const file = path.join(dir, name);
  await sharp(
    Uint8Array.from({ length: 64 }, (_, i) => (i * value) % 256),
    { raw: { width: 8, height: 8, channels: 1 } },
  )
    .png()
    .toFile(file);
  return file;
}

describe('fact usage', () => {
  it('has the fourteen commands', () => {
    assert.deepEqual([...names].sort(), [
      'check',
      'collect',
      'concepts',
      'consistency',
      'devices',
      'evaluate',
      'explain',
      'inspect',
      'jobs',
      'merge',
      'plan',
      'predict',
      'train',
      'verify',
    ]);
  });

  for (const name of names) {
    it(`fact ${name} --help prints its usage on stdout and exits 0`, async () => {
      const r = await cli(name, '--help');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^Usage: fact ${name}\\b`));
      for (const option of Object.keys(commands[name as keyof typeof commands].spec.options))
        assert.ok(r.out.includes(`--${option}`), `--${option} is missing from the help of ${name}`);
      assert.match(r.out, /--json/);
      assert.equal(r.err, '');
    });
  }

  it('help works after other arguments, as -h and as `fact help COMMAND`', async () => {
    assert.match((await cli('train', tiny, '--k', '3', '-h')).out, /^Usage: fact train MODEL --features STORE/);
    assert.match((await cli('help', 'concepts')).out, /^Usage: fact concepts MODEL --sae CKPT/);
    const overview = await cli('--help');
    assert.equal(overview.code, 0);
    for (const name of names) assert.ok(new RegExp(`fact ${name}\\b`).test(overview.out), name);
  });

  it('fact --version prints the package version', async () => {
    const r = await cli('--version');
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), `fact ${version}`);
  });

  it('--help and --version do not load onnxruntime or sharp (most of the start-up time)', () => {
    const main = path.join(repoRoot, 'src', 'cli', 'main.ts');
    const script =
      `require(${JSON.stringify(main)}).runCli(['--version'], { out() {}, err() {} })` +
      `.then(() => require(${JSON.stringify(main)}).runCli(['explain', '--help'], { out() {}, err() {} }))` +
      `.then(() => console.log(Object.keys(require.cache).filter((k) => /node_modules[\\/](onnxruntime-node|sharp)[\\/]/.test(k)).length))`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  });

  it("an unknown option is a usage error that shows that command's usage (exit 2)", async () => {
    const r = await cli('predict', tiny, 'x.png', '--bogus');
    assert.equal(r.code, 2);
    assert.match(r.err, /^Unknown option --bogus for fact predict\.\n\nUsage: fact predict MODEL IMAGE\.\.\. \[--top K\]/);
    assert.equal(r.out, '');
    const single = await cli('explain', tiny, 'x.png', '-x');
    assert.equal(single.code, 2);
    assert.match(single.err, /Unknown option -x .*\n\nUsage: fact explain /);
  });

  it('numbers are checked before anything runs, naming the option', async () => {
    const notANumber = await cli('concepts', tiny, '--sae', '/nonexistent', '--concept', 'abc');
    assert.equal(notANumber.code, 2);
    assert.match(notANumber.err, /^--concept must be an integer, not 'abc'\./);
    const negative = await cli('concepts', tiny, '--sae', '/nonexistent', '--concept', '-1');
    assert.equal(negative.code, 2);
    assert.match(negative.err, /^--concept must be an integer ≥ 0\./);
    const zero = await cli('train', tiny, '--features', 'f', '--out', 'o', '--k', '0', '--dict-size', '8');
    assert.equal(zero.code, 2);
    assert.match(zero.err, /^--k must be an integer ≥ 1\./);
    const missing = await cli('train', tiny, '--features', 'f', '--out', 'o', '--k', '2');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^fact train needs --dict-size M\./);
    const ep = await cli('predict', tiny, 'x.png', '--ep', 'tpu');
    assert.equal(ep.code, 2);
    assert.match(ep.err, /^--ep must be one of auto, cpu, cuda, webgpu, not 'tpu'\./);
    const value = await cli('predict', tiny, 'x.png', '--top');
    assert.equal(value.code, 2);
    assert.match(value.err, /^--top needs a value \(K\)\./);
    // plan's one list option is checked before it measures anything.
    const nodes = await cli('plan', tiny, '--layer', 'layer2', '--dataset-size', '100', '--nodes', '1,x');
    assert.equal(nodes.code, 2);
    assert.match(nodes.err, /^--nodes must be a comma-separated list of node counts ≥ 1, not '1,x'\./);
    assert.doesNotMatch(nodes.err, /Measuring/);
  });

  it('wrong argument counts say what the command takes', async () => {
    const none = await cli('inspect');
    assert.equal(none.code, 2);
    assert.match(none.err, /^fact inspect takes MODEL\./);
    const extra = await cli('inspect', tiny, 'other.onnx');
    assert.equal(extra.code, 2);
    assert.match(extra.err, /^fact inspect takes MODEL, not 2 arguments \(other\.onnx is extra\)\./);
    const unknown = await cli('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^Unknown command 'frobnicate'\./);
  });

  it('explain takes several images with --class, and writes nothing without --out', async () => {
    const dir = tempDir();
    const a = await grey(dir, 'a.png', 29);
    const b = await grey(dir, 'b.png', 53);
    const before = readdirSync(dir).sort();
    const r = await cli('explain', tiny, a, b, '--class', 'square');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.match(/Explained class: square \(1\)/g)?.length, 2);
    assert.match(r.err, /no files written: --out DIR saves the explanation PNGs/);
    assert.deepEqual(readdirSync(dir).sort(), before);
    const out = path.join(dir, 'out');
    const written = await cli('explain', tiny, a, b, '--out', out, '--json');
    assert.equal(written.code, 0, written.err);
    const j = JSON.parse(written.out) as { files: string[] }[];
    assert.equal(j.length, 2);
    assert.deepEqual(readdirSync(out).sort(), j.flatMap((x) => x.files.map((f) => path.relative(out, f))).sort());
    const text = await cli('explain', tiny, a, '--out', out);
    assert.match(text.out, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/a-\\w+-explanation\\.png`));
  });

  it('--html and --top need --sae; --out is not for --sae', async () => {
    const html = await cli('explain', tiny, 'x.png', '--html', 'r.html');
    assert.equal(html.code, 2);
    assert.match(html.err, /^--html needs --sae CKPT\./);
    const out = await cli('explain', tiny, 'x.png', '--sae', 'ckpt', '--out', 'd');
    assert.equal(out.code, 2);
    assert.match(out.err, /^--out is for the explanation PNGs without --sae/);
  });
});
