// Where the work ran, and what happens when a GPU provider cannot start: the result says the provider that ran and
// why the requested one did not, with what to install. None of these needs a GPU.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hardwareVulkanDriver } from '../../../src/core/onnx/vulkanDrivers';
import { cli } from '../../support/cli';
import { defaultModelDir, repoRoot, tempDir } from '../../support/paths';

const model = path.join(defaultModelDir, 'model.onnx');
const image = path.join(defaultModelDir, 'samples', '0000-ankle-boot.png');

describe('execution providers: what ran, and why not', () => {
  it('--ep webgpu with no Vulkan driver runs on the CPU and says what to install', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src', 'cli', 'main.ts'),
        'explain',
        model,
        image,
        '--ep',
        'webgpu',
        '--out',
        tempDir(),
        '--json',
      ],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        // The Vulkan loader reads only this (missing) driver manifest, as on a machine without a Vulkan driver.
        env: {
          ...process.env,
          VK_DRIVER_FILES: path.join(tempDir(), 'no-driver.json'),
          XDG_RUNTIME_DIR: mkdtempSync(path.join(tmpdir(), 'fact-xdg-')),
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      executionProvider: string;
      fallbackReason: string;
      explanation: { completenessError: number };
    };
    assert.equal(j.executionProvider, 'cpu');
    assert.match(
      j.fallbackReason,
      /^webgpu is not available: (the Vulkan loader \(libvulkan\.so\.1\) is not installed|no Vulkan driver offered a WebGPU adapter \(drivers found: none)/,
    );
    assert.match(j.fallbackReason, /install .*mesa-vulkan-drivers libvulkan1.*Running on the CPU instead\.$/);
    assert.ok(j.explanation.completenessError < 1e-4, 'and the explanation is complete');
  });

  it('a CUDA folder without the provider library names it and the CUDA/cuDNN versions, and runs on the CPU', async () => {
    const empty = tempDir('fact-cuda-');
    const r = await cli('explain', model, image, '--ep', 'cuda', '--cuda-libs', empty, '--out', tempDir(), '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { executionProvider: string; fallbackReason: string };
    assert.equal(j.executionProvider, 'cpu');
    assert.match(
      j.fallbackReason,
      /^cuda is not available: '.*fact-cuda-.*' lacks libonnxruntime_providers_shared\.so and libonnxruntime_providers_cuda\.so \(onnxruntime's CUDA provider; onnxruntime 1\.30 needs CUDA 12\.x and cuDNN 9\.x\)/,
    );
    const d = await cli('devices', '--json', '--cuda-libs', empty);
    assert.equal(d.code, 0, d.err);
    const cuda = (JSON.parse(d.out) as { providers: { provider: string; available: boolean; problem?: string }[] }).providers.find(
      (p) => p.provider === 'cuda',
    )!;
    assert.equal(cuda.available, false);
    assert.match(cuda.problem ?? '', /lacks libonnxruntime_providers_shared\.so and libonnxruntime_providers_cuda\.so/);
  });

  it('fact devices probes each provider, and --ep auto never picks a software adapter', async () => {
    const r = await cli('devices', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      providers: { provider: string; available: boolean; software?: boolean; device?: string; problem?: string }[];
      auto: string;
    };
    assert.deepEqual(
      j.providers.map((p) => p.provider),
      ['cpu', 'webgpu', 'cuda'],
    );
    assert.equal(j.providers[0]!.available, true);
    for (const p of j.providers) assert.ok(p.available ? p.device : p.problem, `${p.provider} says what it runs on or why not`);
    const webgpu = j.providers[1]!;
    if (webgpu.available && webgpu.software) assert.notEqual(j.auto, 'webgpu');
    if (!hardwareVulkanDriver()) assert.notEqual(j.auto, 'webgpu');
    const text = await cli('devices');
    assert.match(
      text.out,
      /^Execution providers:\n {2}cpu +available: .+\n {2}webgpu +(available|not available): .+\n {2}cuda +(available|not available): .+\n--ep auto uses: (cpu|webgpu|cuda)\n$/,
    );
  });

  it('text and JSON results name the provider that ran', async () => {
    const text = await cli('explain', model, image, '--ep', 'cpu', '--out', tempDir());
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /\nRan on cpu\.\n?$/);
    const json = await cli('predict', model, image, '--ep', 'cpu', '--json');
    assert.equal(JSON.parse(json.out).executionProvider, 'cpu');
  });
});
