/**
 * Engine building blocks shared by every ONNX backend (CPU/wasm here; WebGPU and CUDA reuse them): the
 * additive tree-attention bias and the queue that runs one forward at a time per session. Browser-safe.
 */
export { MASKED, fillAttentionBias, fillDepths } from './attention-bias';
export { RunQueue } from './run-queue';
export { checkForward } from './check-forward';
