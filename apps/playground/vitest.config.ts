import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// `pnpm test` here: the end-to-end tests (they build the app, then drive headless Chromium).
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    env: {
      DECODEKIT_MODELS:
        process.env.DECODEKIT_MODELS ?? resolve(import.meta.dirname, '../../../shared/models'),
    },
  },
});
