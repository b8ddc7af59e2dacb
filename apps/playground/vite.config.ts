import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Alias } from 'vite';
import { modelsPlugin } from './scripts/models-plugin.ts';
import { offlinePlugin } from './scripts/offline-plugin.ts';
import { webGpuBackendPlugin } from './scripts/webgpu-backend-plugin.ts';

const appRoot = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(appRoot, '../..');

/**
 * Resolves every workspace package to its TypeScript entry (as the root vitest config does), so the playground
 * runs without building the packages first and picks up their edits live. The browser entry of
 * backend-onnx is used: no Node APIs reach the bundle.
 */
function workspaceAliases(): Alias[] {
  const aliases: Alias[] = [];
  for (const group of ['packages', 'packages/strategies', 'packages/retrieval']) {
    const root = join(repoRoot, group);
    if (!existsSync(root)) continue;
    for (const dir of readdirSync(root)) {
      const manifest = join(root, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      const browserEntry = join(root, dir, 'src/browser.ts');
      const entry = existsSync(browserEntry) ? browserEntry : join(root, dir, 'src/index.ts');
      if (!existsSync(entry)) continue;
      const escaped = name.replace(/[/.]/g, match => `\\${match}`);
      // `@decodekit/x/sub` → src/sub.ts (e.g. backend-onnx/browser), `@decodekit/x` → its browser entry.
      aliases.push({
        find: new RegExp(`^${escaped}/([\\w-]+)$`),
        replacement: `${join(root, dir, 'src')}/$1.ts`,
      });
      aliases.push({ find: new RegExp(`^${escaped}$`), replacement: entry });
    }
  }
  return aliases;
}

/** llama2.c files come from DECODEKIT_MODELS (a mirror laid out like the hub), default ../../../shared/models. */
const webGpuPackageDir = resolve(repoRoot, 'packages/backend-webgpu');

const mirror =
  process.env.DECODEKIT_MODELS?.split(/[:;]/)[0] || resolve(appRoot, '../../../shared/models');

export default defineConfig({
  base: './',
  resolve: { alias: workspaceAliases() },
  plugins: [
    modelsPlugin({
      mirror,
      outDir: resolve(appRoot, 'public/models'),
      models: [
        {
          name: 'stories260K',
          checkpoint: 'karpathy/tinyllamas/stories260K/stories260K.bin',
          tokenizer: 'karpathy/tinyllamas/stories260K/tok512.bin',
        },
        // The draft model of the draft-model strategy: same tok512 vocabulary, different weights.
        { name: 'llama2xs', checkpoint: 'llama2xs/model.bin', tokenizer: 'llama2xs/tok512.bin' },
      ],
    }),
    webGpuBackendPlugin({ packageDir: webGpuPackageDir }),
    offlinePlugin(),
  ],
  // onnxruntime-web finds its .wasm with new URL(..., import.meta.url): pre-bundling would break that path.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  // The engine worker is bundled on its own: it needs the virtual WebGPU module too.
  worker: { format: 'es', plugins: () => [webGpuBackendPlugin({ packageDir: webGpuPackageDir })] },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: { main: resolve(appRoot, 'index.html'), sw: resolve(appRoot, 'src/sw.ts') },
      output: {
        // The service worker must keep a stable name at the root so it controls the whole app.
        entryFileNames: chunk => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
