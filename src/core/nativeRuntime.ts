// The two native libraries FaCT runs on — onnxruntime-node and sharp (libvips) — ship per platform: a VSIX or a
// node_modules folder made on another platform lacks this machine's binaries. This names the platform and what to
// install, before a bare "Cannot find module …onnxruntime_binding.node" reaches a person. No `vscode`, no native import.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export interface NativePlatform {
  os: NodeJS.Platform;
  arch: string;
  musl: boolean;
}

export function thisPlatform(): NativePlatform {
  const report =
    process.platform === 'linux' ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined) : undefined;
  return { os: process.platform, arch: process.arch, musl: process.platform === 'linux' && !report?.header?.glibcVersionRuntime };
}

/** The name of a platform as VSIX targets spell it: linux-x64, alpine-arm64, darwin-arm64, win32-x64. */
export function platformName(p: NativePlatform): string {
  return `${p.musl ? 'alpine' : p.os}-${p.arch}`;
}

/** The native files this platform needs below `root` (an install folder or a clone), and which are missing. */
export function missingNativeBinaries(root: string, p: NativePlatform = thisPlatform()): { library: string; file: string }[] {
  const sharpPlatform = `${p.musl ? 'linuxmusl' : p.os}-${p.arch}`;
  const needed = [
    {
      library: 'onnxruntime-node',
      file: path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', p.os, p.arch, 'onnxruntime_binding.node'),
    },
    { library: 'sharp', file: path.join(root, 'node_modules', '@img', `sharp-${sharpPlatform}`, 'package.json') },
  ];
  return needed.filter((n) => !existsSync(n.file));
}

/** What a person reads when this platform's binaries are missing: the platform, what is missing, what to install. */
export function missingNativeMessage(missing: { library: string; file: string }[], p: NativePlatform = thisPlatform()): string {
  const name = platformName(p);
  return (
    `FaCT cannot run on this machine (${name}): the native ${missing.map((m) => m.library).join(' and ')} ${missing.length > 1 ? 'libraries are' : 'library is'} missing (${missing.map((m) => m.file).join(', ')}). ` +
    `This copy was built for another platform: install the FaCT VSIX built for ${name} (\`npm run package\` on a ${name} machine makes it), ` +
    `or, in a clone, run \`npm ci\` on this machine to fetch ${name}'s binaries.`
  );
}

/** A load error of a native library, explained; undefined for any other error. */
export function explainNativeLoadError(e: unknown, p: NativePlatform = thisPlatform()): string | undefined {
  const message = e instanceof Error ? e.message : String(e);
  const library = /onnxruntime_binding|onnxruntime-node/.test(message)
    ? 'onnxruntime-node'
    : /"sharp" module|@img\/sharp|sharp-(linux|darwin|win32)/.test(message)
      ? 'sharp'
      : undefined;
  if (!library) return undefined;
  return `${missingNativeMessage([{ library, file: /'([^']+\.node)'/.exec(message)?.[1] ?? library }], p)} (${message.split('\n')[0]})`;
}
