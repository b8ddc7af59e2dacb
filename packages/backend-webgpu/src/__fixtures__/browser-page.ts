/**
 * Test-only page script, bundled by esbuild for headless Chromium (see ../browser.int.test.ts): loads a model
 * folder served over HTTP with this package's browser entry (WebGPU) or backend-onnx's wasm backend, decodes
 * greedily with core's decoder and shows the result on the page (the test's screenshot).
 */
import { createDecoder } from '@decodekit/core';
import { createWasmBackend } from '@decodekit/backend-onnx/browser';
import { createWebGpuBackend, type WebGpuModel } from '../browser';

interface Run {
  readonly backend: 'webgpu' | 'wasm';
  readonly modelUrl: string;
  readonly wasmPaths: string;
  readonly prompt: string;
  readonly maxTokens: number;
}

async function adapterDescription(): Promise<string> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
  if (!gpu) return 'no navigator.gpu';
  const adapter = await gpu.requestAdapter();
  if (!adapter) return 'requestAdapter() returned null';
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'an adapter';
}

async function run({ backend, modelUrl, wasmPaths, prompt, maxTokens }: Run) {
  const out = document.getElementById('out') as HTMLElement;
  out.textContent = `loading ${modelUrl} on ${backend}…`;
  const adapter = await adapterDescription();
  const model =
    backend === 'webgpu'
      ? await createWebGpuBackend({ wasmPaths }).load(modelUrl)
      : await createWasmBackend({ wasmPaths }).load(modelUrl);
  try {
    const promptIds = model.tokenizer.encode(prompt);
    const start = performance.now();
    const result = await createDecoder({ model }).generate({ tokens: promptIds }, { maxTokens, temperature: 0 });
    const seconds = (performance.now() - start) / 1000;
    // Truncate (a device-side gather on WebGPU), then one more token: must equal a fresh sequence's last row.
    const truncated = model.createSequence();
    await truncated.forward({ tokens: Int32Array.from(promptIds) });
    truncated.commit(promptIds.map((_, index) => index));
    truncated.truncate(3);
    const { logits: afterTruncate } = await truncated.forward({ tokens: Int32Array.of(promptIds[3]) });
    const fresh = model.createSequence();
    const { logits: direct } = await fresh.forward({ tokens: Int32Array.from(promptIds.slice(0, 4)) });
    const lastRow = direct.subarray(direct.length - afterTruncate.length);
    let truncateDiff = 0;
    for (let index = 0; index < afterTruncate.length; index++)
      truncateDiff = Math.max(truncateDiff, Math.abs(afterTruncate[index] - lastRow[index]));
    truncated.dispose();
    fresh.dispose();
    const stats = (model as Partial<WebGpuModel>).deviceStats;
    out.textContent =
      `${model.capabilities.backendId} · adapter: ${adapter}\n` +
      `${result.tokens.length} tokens in ${seconds.toFixed(2)} s (${(result.tokens.length / seconds).toFixed(1)} tok/s)` +
      `${stats ? ` · KV on ${stats.kvLocation}, ${stats.readbackBytes} bytes read back in ${stats.forwards} forwards` : ''}\n\n` +
      `${prompt}${model.tokenizer.decode(result.tokens)}`;
    return {
      backendId: model.capabilities.backendId,
      adapter,
      promptIds,
      tokens: result.tokens,
      kvLocation: stats?.kvLocation ?? null,
      gathers: stats?.gathers ?? 0,
      truncateDiff,
      tokensPerSecond: result.tokens.length / seconds,
    };
  } finally {
    await model.dispose();
  }
}

(window as unknown as { decodekitRun: typeof run; decodekitAdapter: typeof adapterDescription }).decodekitRun = run;
(window as unknown as { decodekitAdapter: typeof adapterDescription }).decodekitAdapter = adapterDescription;
const out = document.getElementById('out');
if (!out) throw new Error('the test page has no #out element');
out.textContent = 'ready';
