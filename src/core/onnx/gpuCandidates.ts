// The GPU providers `auto` tries, in its order, decided from files alone (no onnxruntime, no probe), so the extension
// host can say what `auto` means on this machine before the worker has run anything.
import { checkCudaLibraries } from './cudaLibraries';
import { hardwareVulkanDriver } from './vulkanDrivers';

export type GpuProvider = 'cuda' | 'webgpu';

/** CUDA when its provider libraries and their CUDA/cuDNN dependencies are in place; WebGPU when a real (not
 *  software) GPU has a Vulkan driver. Empty: `auto` runs on the CPU. */
export function autoGpuCandidates(cudaLibraryPath?: string): GpuProvider[] {
  const out: GpuProvider[] = [];
  if (!checkCudaLibraries(cudaLibraryPath).problem) out.push('cuda');
  if (hardwareVulkanDriver()) out.push('webgpu');
  return out;
}
