// What can run here: the CPU always; WebGPU through Dawn over a Vulkan driver (a real GPU's, or Mesa's software
// "lavapipe", which is a correctness path only); CUDA when onnxruntime's CUDA provider and CUDA 12 / cuDNN 9 are
// installed. `auto` takes a real GPU when one works and never a software adapter.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { checkCudaLibraries, CUDA_REQUIREMENT } from './cudaLibraries';
import { autoGpuCandidates } from './gpuCandidates';
import { hardwareVulkanDriver, vulkanDrivers, vulkanLoader } from './vulkanDrivers';
import { attr, GraphBuilder } from './graphBuilder';
import { encodeModel } from './modelFile';
import type { ExecutionProvider, SessionOptions } from './session';

export const WEBGPU_INSTALL_HINT =
  "install a Vulkan driver and the loader: your GPU vendor's driver (NVIDIA) or Mesa's (`apt-get install mesa-vulkan-drivers libvulkan1`); " +
  "for a software adapter to test with (slow), Mesa ≥ 24's lavapipe: on Debian bookworm add the bookworm-backports suite and `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`";

interface VulkanInfoDevice {
  deviceName: string;
  deviceType: string;
  driverName: string;
}

let vulkanInfoCache: VulkanInfoDevice[] | undefined;
/** Devices from `vulkaninfo --summary` when vulkan-tools is installed (exact adapter and driver names). */
function vulkanInfoDevices(): VulkanInfoDevice[] {
  if (vulkanInfoCache) return vulkanInfoCache;
  const r = spawnSync('vulkaninfo', ['--summary'], { encoding: 'utf8', timeout: 15_000 });
  const out: VulkanInfoDevice[] = [];
  if (r.status === 0) {
    for (const block of r.stdout.split(/\nGPU\d+:/).slice(1)) {
      const field = (k: string) => (new RegExp(`^\\s*${k}\\s*=\\s*(.+)$`, 'm').exec(block) ?? [])[1]?.trim() ?? '';
      out.push({ deviceName: field('deviceName'), deviceType: field('deviceType'), driverName: field('driverName') });
    }
  }
  vulkanInfoCache = out;
  return out;
}

/** The adapter WebGPU will most likely use (Dawn prefers a real GPU): "NVIDIA H200 (driver nvidia)", "llvmpipe (software)". */
export function webgpuAdapterLabel(): string | undefined {
  const devices = vulkanInfoDevices();
  const real = devices.find((d) => !/CPU/.test(d.deviceType));
  const pick = real ?? devices[0];
  if (pick)
    return `${pick.deviceName}${/CPU/.test(pick.deviceType) ? ' (software)' : ''}${pick.driverName ? `, driver ${pick.driverName}` : ''}`;
  const hw = hardwareVulkanDriver();
  if (hw) return `${hw.name} GPU`;
  return vulkanDrivers().find((d) => d.software)?.name;
}

/** Why a provider could not start, with what to install. */
export function explainProviderFailure(provider: ExecutionProvider, e: unknown, opts: SessionOptions = {}): string {
  const message =
    String((e as Error)?.message ?? e)
      .split('\n')
      .find((l) => l.trim()) ?? '';
  if (provider === 'webgpu') {
    if (!vulkanLoader()) return `the Vulkan loader (libvulkan.so.1) is not installed: ${WEBGPU_INSTALL_HINT}.`;
    const drivers = vulkanDrivers();
    if (/adapter/i.test(message)) {
      return `no Vulkan driver offered a WebGPU adapter (drivers found: ${drivers.map((d) => d.name).join(', ') || 'none'}; Debian bookworm's own Mesa 22 is too old): ${WEBGPU_INSTALL_HINT}.`;
    }
    return `${message.slice(0, 300)}.`;
  }
  if (provider === 'cuda') {
    const check = checkCudaLibraries(opts.cudaLibraryPath);
    if (check.problem) return check.problem;
    return `${message.slice(0, 300)} (${CUDA_REQUIREMENT}, and an NVIDIA driver).`;
  }
  return message;
}

/** A tiny graph (a convolution and a matrix product) to probe a provider with. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder('probe');
  const x = g.input('x', 'float32', [1, 2, 4, 4]);
  const w = g.constant(
    'w',
    'float32',
    [3, 2, 3, 3],
    Array.from({ length: 54 }, (_, i) => (i % 7) / 7),
  );
  const c = g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]) });
  const flat = g.op('Reshape', [c, g.constant('shape', 'int64', [2], [3, 16])]);
  g.output(
    g.op(
      'MatMul',
      [
        flat,
        g.constant(
          'm',
          'float32',
          [16, 2],
          Array.from({ length: 32 }, (_, i) => i / 32),
        ),
      ],
      {},
      'y',
    ),
  );
  return encodeModel(g.model());
}

export interface ProviderProbe {
  provider: ExecutionProvider;
  available: boolean;
  /** The adapter and driver (WebGPU), or the CPU's cores. */
  device?: string;
  software?: boolean;
  /** Why it is unavailable, with what to install. */
  problem?: string;
  /** Milliseconds to open the probe session and run it once. */
  probeMs?: number;
}

/** Opens and runs the tiny graph on `provider`; the outcome says what ran or why not. */
export async function probeProvider(provider: ExecutionProvider, opts: SessionOptions = {}): Promise<ProviderProbe> {
  if (provider === 'cuda') {
    const check = checkCudaLibraries(opts.cudaLibraryPath);
    if (check.problem) return { provider, available: false, problem: check.problem };
  }
  const t0 = Date.now();
  try {
    const s = await ort.InferenceSession.create(probeModel(), { executionProviders: [provider], logSeverityLevel: 3 });
    await s.run({ x: new ort.Tensor('float32', new Float32Array(32).fill(0.5), [1, 2, 4, 4]) });
    await s.release();
  } catch (e) {
    return { provider, available: false, problem: explainProviderFailure(provider, e, opts) };
  }
  const probeMs = Date.now() - t0;
  if (provider === 'cpu')
    return { provider, available: true, device: `${os.cpus()[0]?.model?.trim() ?? 'CPU'} × ${os.availableParallelism()}`, probeMs };
  if (provider === 'webgpu') {
    const software = !hardwareVulkanDriver();
    return { provider, available: true, device: webgpuAdapterLabel() ?? 'unknown adapter', software, probeMs };
  }
  return { provider, available: true, device: 'NVIDIA GPU (CUDA)', probeMs };
}

export async function probeAllProviders(opts: SessionOptions = {}): Promise<ProviderProbe[]> {
  const out: ProviderProbe[] = [];
  for (const p of ['cpu', 'webgpu', 'cuda'] as const) out.push(await probeProvider(p, opts));
  return out;
}

let autoChoice: Promise<{ provider: ExecutionProvider; note?: string }> | undefined;

/** `auto`: CUDA when it works, else WebGPU on a real GPU, else the CPU. Never a software adapter. Decided once. */
export function chooseAutoProvider(opts: SessionOptions = {}): Promise<{ provider: ExecutionProvider; note?: string }> {
  autoChoice ??= (async () => {
    const notes: string[] = [];
    for (const provider of autoGpuCandidates(opts.cudaLibraryPath)) {
      const probe = await probeProvider(provider, opts);
      if (probe.available) return { provider };
      notes.push(`${provider === 'webgpu' ? `webgpu on ${hardwareVulkanDriver()?.name ?? 'the GPU'}` : provider}: ${probe.problem}`);
    }
    return {
      provider: 'cpu' as const,
      ...(notes.length ? { note: `auto found a GPU but could not use it (${notes.join('; ')}); running on the CPU.` } : {}),
    };
  })();
  return autoChoice;
}
