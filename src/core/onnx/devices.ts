// What can run here: the CPU always; WebGPU through Dawn over a Vulkan driver (a real GPU's, or Mesa's software
// "lavapipe", which is a correctness path only); CUDA when onnxruntime's CUDA provider and CUDA 12 / cuDNN 9 are
// installed. `auto` takes a real GPU when one works and never a software adapter.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkCudaLibraries, CUDA_REQUIREMENT } from './cudaLibraries';
import { attr, GraphBuilder } from './graphBuilder';
import { encodeModel } from './modelFile';
import type { ExecutionProvider, SessionOptions } from './session';

export const WEBGPU_INSTALL_HINT = 'install a Vulkan driver and the loader: your GPU vendor\'s driver (NVIDIA) or Mesa\'s (`apt-get install mesa-vulkan-drivers libvulkan1`); '
  + 'for a software adapter to test with (slow), Mesa ≥ 24\'s lavapipe: on Debian bookworm add the bookworm-backports suite and `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`';

const LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib'];

/** Where libvulkan.so.1 is, or undefined. */
export function vulkanLoader(): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LOADER_DIRS];
  return dirs.map((d) => path.join(d, 'libvulkan.so.1')).find((f) => existsSync(f));
}

export interface VulkanDriver { manifest: string; library: string; name: string; software: boolean; hardwarePresent: boolean }

function icdManifests(): string[] {
  const explicit = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (explicit) return explicit.split(':').filter((f) => f && existsSync(f));
  const dataDirs = [path.join(os.homedir(), '.local/share'), ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'), '/etc'];
  const dirs = [...new Set(dataDirs.map((d) => path.join(d, 'vulkan', 'icd.d')))];
  return dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => path.join(d, f)) : []));
}

/** PCI vendor ids of the GPUs the kernel exposes (render nodes), plus NVIDIA's device files. */
function gpuVendors(): Set<string> {
  const vendors = new Set<string>();
  const drm = '/sys/class/drm';
  if (existsSync(drm)) {
    for (const n of readdirSync(drm).filter((x) => x.startsWith('renderD'))) {
      try { vendors.add(readFileSync(path.join(drm, n, 'device', 'vendor'), 'utf8').trim()); } catch { /* not a PCI device */ }
    }
  }
  if (existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia')) vendors.add('0x10de');
  return vendors;
}

const DRIVER_KINDS: { match: RegExp; name: string; vendor?: string; software?: true }[] = [
  { match: /lvp/, name: 'llvmpipe (software)', software: true },
  { match: /nvidia/i, name: 'NVIDIA', vendor: '0x10de' },
  { match: /radeon|radv/i, name: 'AMD (Mesa RADV)', vendor: '0x1002' },
  { match: /intel|anv|hasvk/i, name: 'Intel (Mesa ANV)', vendor: '0x8086' },
  { match: /virtio|gfxstream/i, name: 'virtual GPU (Mesa)', vendor: '0x1af4' },
];

/** The Vulkan drivers installed, each marked software or not, and whether its hardware is present. */
export function vulkanDrivers(): VulkanDriver[] {
  const vendors = gpuVendors();
  return icdManifests().flatMap((manifest) => {
    let library = '';
    try { library = String((JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? ''); } catch { return []; }
    const kind = DRIVER_KINDS.find((k) => k.match.test(library) || k.match.test(path.basename(manifest)));
    const software = kind?.software === true;
    return [{ manifest, library, name: kind?.name ?? path.basename(library || manifest), software, hardwarePresent: software || (kind?.vendor ? vendors.has(kind.vendor) : false) }];
  });
}

interface VulkanInfoDevice { deviceName: string; deviceType: string; driverName: string }

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

/** A real (not software) GPU with a Vulkan driver for it, if any. */
export function hardwareVulkanDriver(): VulkanDriver | undefined {
  return vulkanDrivers().find((d) => !d.software && d.hardwarePresent);
}

/** The adapter WebGPU will most likely use (Dawn prefers a real GPU): "NVIDIA H200 (driver nvidia)", "llvmpipe (software)". */
export function webgpuAdapterLabel(): string | undefined {
  const devices = vulkanInfoDevices();
  const real = devices.find((d) => !/CPU/.test(d.deviceType));
  const pick = real ?? devices[0];
  if (pick) return `${pick.deviceName}${/CPU/.test(pick.deviceType) ? ' (software)' : ''}${pick.driverName ? `, driver ${pick.driverName}` : ''}`;
  const hw = hardwareVulkanDriver();
  if (hw) return `${hw.name} GPU`;
  return vulkanDrivers().find((d) => d.software)?.name;
}

/** Why a provider could not start, with what to install. */
export function explainProviderFailure(provider: ExecutionProvider, e: unknown, opts: SessionOptions = {}): string {
  const message = String((e as Error)?.message ?? e).split('\n').find((l) => l.trim()) ?? '';
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
  const w = g.constant('w', 'float32', [3, 2, 3, 3], Array.from({ length: 54 }, (_, i) => (i % 7) / 7));
  const c = g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]) });
  const flat = g.op('Reshape', [c, g.constant('shape', 'int64', [2], [3, 16])]);
  g.output(g.op('MatMul', [flat, g.constant('m', 'float32', [16, 2], Array.from({ length: 32 }, (_, i) => i / 32))], {}, 'y'));
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
  if (provider === 'cpu') return { provider, available: true, device: `${os.cpus()[0]?.model?.trim() ?? 'CPU'} × ${os.availableParallelism()}`, probeMs };
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
    if (!checkCudaLibraries(opts.cudaLibraryPath).problem) {
      const cuda = await probeProvider('cuda', opts);
      if (cuda.available) return { provider: 'cuda' as const };
      notes.push(`cuda: ${cuda.problem}`);
    }
    const gpu = hardwareVulkanDriver();
    if (gpu) {
      const webgpu = await probeProvider('webgpu', opts);
      if (webgpu.available) return { provider: 'webgpu' as const };
      notes.push(`webgpu on ${gpu.name}: ${webgpu.problem}`);
    }
    return { provider: 'cpu' as const, ...(notes.length ? { note: `auto found a GPU but could not use it (${notes.join('; ')}); running on the CPU.` } : {}) };
  })();
  return autoChoice;
}
