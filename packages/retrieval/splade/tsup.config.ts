import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/sqlite.ts', 'src/testing.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Optional native dependency: load it from node_modules at run time, never bundle it.
  external: ['better-sqlite3', 'vitest'],
});
