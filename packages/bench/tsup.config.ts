import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // A dev dependency imported dynamically by the transformers.js baseline: never bundle it.
  external: ['@huggingface/transformers'],
});
