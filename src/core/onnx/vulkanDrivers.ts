// The Vulkan drivers installed here and the GPUs the kernel exposes, read from files only (ICD manifests, /sys, /dev):
// no onnxruntime, no probing, so the extension host can ask cheaply whether `auto` has a GPU to try.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LOADER_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/usr/local/lib',
];

/** Where libvulkan.so.1 is, or undefined. */
export function vulkanLoader(): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LOADER_DIRS];
  return dirs.map((d) => path.join(d, 'libvulkan.so.1')).find((f) => existsSync(f));
}

export interface VulkanDriver {
  manifest: string;
  library: string;
  name: string;
  software: boolean;
  hardwarePresent: boolean;
}

function icdManifests(): string[] {
  const explicit = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (explicit) return explicit.split(':').filter((f) => f && existsSync(f));
  const dataDirs = [
    path.join(os.homedir(), '.local/share'),
    ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'),
    '/etc',
  ];
  const dirs = [...new Set(dataDirs.map((d) => path.join(d, 'vulkan', 'icd.d')))];
  return dirs.flatMap((d) =>
    existsSync(d)
      ? readdirSync(d)
          .filter((f) => f.endsWith('.json'))
          .map((f) => path.join(d, f))
      : [],
  );
}

/** PCI vendor ids of the GPUs the kernel exposes (render nodes), plus NVIDIA's device files. */
function gpuVendors(): Set<string> {
  const vendors = new Set<string>();
  const drm = '/sys/class/drm';
  if (existsSync(drm)) {
    for (const n of readdirSync(drm).filter((x) => x.startsWith('renderD'))) {
      try {
        vendors.add(readFileSync(path.join(drm, n, 'device', 'vendor'), 'utf8').trim());
      } catch {
        /* not a PCI device */
      }
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
    try {
      library = String((JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
    } catch {
      return [];
    }
    const kind = DRIVER_KINDS.find((k) => k.match.test(library) || k.match.test(path.basename(manifest)));
    const software = kind?.software === true;
    return [
      {
        manifest,
        library,
        name: kind?.name ?? path.basename(library || manifest),
        software,
        hardwarePresent: software || (kind?.vendor ? vendors.has(kind.vendor) : false),
      },
    ];
  });
}

/** A real (not software) GPU with a Vulkan driver for it, if any. */
export function hardwareVulkanDriver(): VulkanDriver | undefined {
  return vulkanDrivers().find((d) => !d.software && d.hardwarePresent);
}
