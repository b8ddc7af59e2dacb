import { mergeConfig } from 'vitest/config';
import base from '../../vitest.config';

// Measurement scripts behind the READMEs' numbers: `npx vitest run --config packages/models/measure.config.ts <file>`.
// They are not tests (never in CI); they print their tables.
export default mergeConfig(base, {
  test: {
    include: ['packages/**/scripts/*.measure.ts'],
    testTimeout: 1_800_000,
    reporters: ['default'],
  },
});
