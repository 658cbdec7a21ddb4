// A copy of FaCT built for another platform (its VSIX, or a node_modules made elsewhere) lacks this machine's
// onnxruntime or sharp binaries: the error names the platform and what to install, instead of "Cannot find module".
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { isFactError } from '../../../src/core/errors';
import { CoreWorker } from '../../../src/core/jobs/workerClient';
import { missingNativeBinaries, missingNativeMessage, platformName, thisPlatform } from '../../../src/core/nativeRuntime';
import { fixtures, tempDir } from '../../support/paths';

const repo = path.resolve(__dirname, '../../..');
const modules = path.join(repo, 'node_modules');
const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

/**
 * An install folder like the VSIX's (dist/worker.js + node_modules), with this platform's binaries of `drop` left
 * out, as in a VSIX built for another platform. The other packages are links to the repository's.
 */
async function installWithout(drop: 'onnxruntime-node' | 'sharp'): Promise<string> {
  const root = tempDir('fact-native-');
  await esbuild.build({
    entryPoints: { worker: path.join(repo, 'src/core/jobs/workerMain.ts') },
    outdir: path.join(root, 'dist'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node', 'sharp'],
    logLevel: 'error',
  });
  const nm = path.join(root, 'node_modules');
  mkdirSync(path.join(nm, '@img'), { recursive: true });
  const link = (name: string) => symlinkSync(path.join(modules, name), path.join(nm, name), 'dir');
  for (const name of ['onnxruntime-common', 'detect-libc', 'semver', '@img/colour']) link(name);
  if (drop === 'onnxruntime-node') {
    for (const f of ['package.json', 'dist'])
      cpSync(path.join(modules, 'onnxruntime-node', f), path.join(nm, 'onnxruntime-node', f), { recursive: true });
  } else link('onnxruntime-node');
  // sharp is copied (its loader looks for @img/sharp-<platform> beside its real folder); its binaries only when kept.
  for (const f of ['package.json', 'dist', 'lib']) cpSync(path.join(modules, 'sharp', f), path.join(nm, 'sharp', f), { recursive: true });
  if (drop !== 'sharp') for (const name of ['@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64']) link(name);
  return root;
}

describe('native binaries of another platform', () => {
  it('names the platform, the missing library and what to install', () => {
    const arm = { os: 'linux' as const, arch: 'arm64', musl: false };
    const missing = missingNativeBinaries(tempDir('fact-native-empty-'), arm);
    assert.deepEqual(
      missing.map((m) => m.library),
      ['onnxruntime-node', 'sharp'],
    );
    assert.match(missing[0]!.file, /onnxruntime-node\/bin\/napi-v6\/linux\/arm64\/onnxruntime_binding\.node$/);
    const message = missingNativeMessage(missing, arm);
    assert.match(message, /cannot run on this machine \(linux-arm64\): the native onnxruntime-node and sharp libraries are missing/);
    assert.match(message, /install the FaCT VSIX built for linux-arm64/);
    assert.match(message, /run `npm ci` on this machine/);
    assert.equal(platformName({ os: 'linux', arch: 'x64', musl: true }), 'alpine-x64');
    assert.deepEqual(missingNativeBinaries(repo), [], "the repository has this machine's binaries");
  });

  for (const drop of ['onnxruntime-node', 'sharp'] as const) {
    it(
      `a worker whose ${drop} lacks this platform's binaries fails every call with that message`,
      { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the fake install links linux-x64 binaries' : false },
      async () => {
        const root = await installWithout(drop);
        assert.deepEqual(
          missingNativeBinaries(root).map((m) => m.library),
          [drop],
        );
        const w = new CoreWorker({}, { file: path.join(root, 'dist', 'worker.js') });
        try {
          await assert.rejects(w.call('inspect', { model: tiny }), (e: unknown) => {
            assert.ok(isFactError(e), String(e));
            assert.equal(e.code, 'unsupported-platform');
            assert.ok(e.message.includes(`(${platformName(thisPlatform())})`), e.message);
            assert.ok(e.message.includes(`native ${drop} library is missing`), e.message);
            assert.match(e.message, /install the FaCT VSIX built for linux-x64/);
            return true;
          });
        } finally {
          await w.dispose();
        }
      },
    );
  }
});
