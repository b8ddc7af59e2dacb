import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Resolve every workspace package to its TypeScript source so tests never need a build.
function workspaceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  const roots = ['packages', 'packages/strategies', 'packages/retrieval'];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const dir of readdirSync(root)) {
      const manifest = join(root, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      const escaped = name.replace(/[/.]/g, match => `\\${match}`);
      // `@decodekit/x/sub` → src/sub.ts, `@decodekit/x` → src/index.ts
      aliases.push({
        find: new RegExp(`^${escaped}/(.+)$`),
        replacement: `${resolve(root, dir, 'src')}/$1.ts`,
      });
      aliases.push({
        find: new RegExp(`^${escaped}$`),
        replacement: resolve(root, dir, 'src/index.ts'),
      });
    }
  }
  return aliases;
}

export default defineConfig({
  resolve: { alias: workspaceAliases() },
  test: {
    include: [
      'packages/**/src/**/*.test.ts',
      'packages/**/test/**/*.test.ts',
      'apps/*/e2e/**/*.e2e.test.ts',
      'examples/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Real models come from the read-only mirror beside the checkout unless the caller points elsewhere.
    env: { DECODEKIT_MODELS: process.env.DECODEKIT_MODELS ?? resolve('../shared/models') },
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
