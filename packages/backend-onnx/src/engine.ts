/**
 * Engine building blocks shared by every ONNX backend (CPU/wasm here; WebGPU and CUDA reuse them): the
 * KV-slot ledger every Sequence is built on, forward validation, the decoder input feeds (with the additive
 * tree-attention bias) and the queue that runs one forward at a time per session. Browser-safe.
 */
export { MASKED, fillAttentionBias, fillDepths } from './attention-bias';
export { RunQueue } from './run-queue';
export { checkForward } from './check-forward';
export { KvLedgerSequence, MAX_DEAD_SLOTS } from './kv-ledger';
export type { KvLedgerEngine, LedgerForward, LedgerRunResult } from './kv-ledger';
export { ForwardFeeds } from './forward-feeds';
export type { FeedLayout, FeedRows, TensorFactory } from './forward-feeds';
export { float16ToFloat32, hostFloats } from './float16';
export { runRowByRow } from './row-by-row';
export type { RowByRowEngine } from './row-by-row';
