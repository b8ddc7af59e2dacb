/**
 * @decodekit/backend-cuda: onnxruntime-node with the CUDA execution provider. Needs onnxruntime-node's CUDA
 * provider libraries (see README, "Install").
 */
export {
  CUDA_BACKEND_ID,
  createCudaBackend,
  cudaProviderLibraries,
  missingCudaProviderLibraries,
  onnxruntimeNodeBinDirectory,
} from './cuda-backend';
export type { CudaBackendOptions } from './cuda-backend';
