// onnxruntime-node 1.30's CUDA provider is two shared libraries that its npm package does not ship (its install
// script fetches them from NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, built for CUDA 12 and cuDNN 9; this
// project skips that download). onnxruntime loads them only from the folder of its own libonnxruntime.so, and they
// in turn need CUDA 12's and cuDNN 9's libraries on the loader's path. This module says which of those are missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const CUDA_REQUIREMENT = 'onnxruntime 1.30 needs CUDA 12.x and cuDNN 9.x';
export const CUDA_PROVIDER_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;
const INSTALL_HINT =
  'get them from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 (runtimes/linux-x64/native) or the onnxruntime-linux-x64-gpu-1.30.0 release';

/** The folder onnxruntime-node loads its native libraries (and so the CUDA provider) from. */
export function onnxruntimeBinaryFolder(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

export interface CudaLibraryCheck {
  /** The folder checked (the user's, or onnxruntime's own). */
  folder: string;
  /** Provider libraries absent from the folder, then CUDA/cuDNN libraries the loader cannot find. */
  missing: string[];
  /** A sentence saying what is wrong and what to do; undefined when everything is in place. */
  problem?: string;
}

/** Checks a folder (default: onnxruntime's own) for the CUDA provider and the CUDA/cuDNN libraries it needs. */
export function checkCudaLibraries(folder?: string): CudaLibraryCheck {
  const ortFolder = onnxruntimeBinaryFolder();
  const dir = path.resolve(folder ?? ortFolder);
  if (folder && !existsSync(dir))
    return { folder: dir, missing: [...CUDA_PROVIDER_LIBRARIES], problem: `The CUDA library folder '${dir}' does not exist.` };
  const absent = CUDA_PROVIDER_LIBRARIES.filter((f) => !existsSync(path.join(dir, f)));
  if (absent.length) {
    return {
      folder: dir,
      missing: absent,
      problem: `'${dir}' lacks ${absent.join(' and ')} (onnxruntime's CUDA provider; ${CUDA_REQUIREMENT}): ${INSTALL_HINT}.`,
    };
  }
  const unresolved = unresolvedDependencies(path.join(dir, 'libonnxruntime_providers_cuda.so'));
  if (unresolved.length) {
    return {
      folder: dir,
      missing: unresolved,
      problem: `The CUDA provider in '${dir}' cannot find ${unresolved.join(', ')} (${CUDA_REQUIREMENT}): install them and put their folder on LD_LIBRARY_PATH before starting.`,
    };
  }
  if (dir !== path.resolve(ortFolder)) {
    return {
      folder: dir,
      missing: [],
      problem: `onnxruntime-node loads its CUDA provider only from its own folder '${ortFolder}': link ${CUDA_PROVIDER_LIBRARIES.join(' and ')} from '${dir}' there.`,
    };
  }
  return { folder: dir, missing: [] };
}

/** Shared libraries `file` needs that the dynamic loader cannot find (from ldd; none when ldd is unavailable). */
function unresolvedDependencies(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 && !r.stdout) return [];
  return [...r.stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
}
