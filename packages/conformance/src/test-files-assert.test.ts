/** Every test file of the repository asserts something (scripts/check-test-assertions.mjs, `pnpm check-tests`). */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

it('no test file in the repository is free of assertions', () => {
  const root = resolve(__dirname, '../../..');
  const run = () =>
    execFileSync(process.execPath, ['scripts/check-test-assertions.mjs'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  expect(run()).toMatch(/each asserts something/);
});
