import { defineConfig } from 'tsup';

// Two entries: `index` for Node (CPU + wasm + folder loading from disk) and `browser` (wasm + URL/ModelFiles
// loading, no Node APIs). package.json maps them with the `node` / `browser` export conditions.
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
  { ...shared, entry: ['src/browser.ts', 'src/engine.ts'], platform: 'browser', target: 'es2022' },
]);
