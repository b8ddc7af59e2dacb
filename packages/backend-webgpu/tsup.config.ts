import { defineConfig } from 'tsup';

// Two entries: `index` for Node (onnxruntime-node's WebGPU provider, folders read from disk) and `browser`
// (onnxruntime-web/webgpu, folders fetched from URLs, no Node APIs). package.json maps them with the
// `node` / `browser` export conditions.
const shared = { format: ['esm'], dts: true, sourcemap: true } as const;

export default defineConfig([
  {
    ...shared,
    entry: ['src/index.ts'],
    platform: 'node',
    target: 'node20',
    clean: true,
    removeNodeProtocol: false,
  },
  { ...shared, entry: ['src/browser.ts'], platform: 'browser', target: 'es2022' },
]);
