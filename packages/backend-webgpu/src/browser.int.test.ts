/**
 * The browser entry in a real browser: Debian's headless Chromium driven by playwright-core (never a downloaded
 * browser), a page bundled by esbuild from ./__fixtures__/browser-page.ts, stories260K converted into a temp folder
 * and served with onnxruntime-web's wasm files by node:http on 127.0.0.1. Greedy ids must equal the CPU's.
 * The WebGPU page's screenshot is saved to packages/backend-webgpu/screenshots/ (a CI artifact; gitignored).
 */
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { build, type Plugin } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stories260KFolder } from './__fixtures__/models';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = resolve(here, '..');
const workspace = resolve(packageRoot, '../..');
const chromiumPath = '/usr/bin/chromium';
const screenshots = join(packageRoot, 'screenshots');

/** DESIGN.md's flags for headless Chromium here, plus WebGPU (which then runs on SwiftShader without a GPU). */
const baseFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const webGpuFlags = ['--enable-unsafe-webgpu'];

const PROMPT = 'Once upon a time';
const MAX_TOKENS = 40;

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Resolves `@decodekit/<pkg>[/<sub>]` to the workspace sources, as the root vitest config does. */
function workspaceSources(): Plugin {
  const roots = ['packages', 'packages/strategies'];
  return {
    name: 'decodekit-workspace-sources',
    setup(context) {
      context.onResolve({ filter: /^@decodekit\// }, args => {
        const [, name, sub] = /^@decodekit\/([^/]+)(?:\/(.+))?$/.exec(args.path) ?? [];
        for (const root of roots) {
          const dir = join(workspace, root, name);
          if (existsSync(join(dir, 'package.json')))
            return { path: join(dir, 'src', `${sub ?? 'index'}.ts`) };
        }
        return undefined;
      });
    },
  };
}

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/app.js` (the bundle), `/ort/*` (onnxruntime-web's dist) and `/model/*` (the model folder). */
async function serve(bundle: string, ortDist: string, modelFolder: string): Promise<Served> {
  const mounts: [string, string][] = [
    ['/ort/', ortDist],
    ['/model/', modelFolder],
  ];
  const server: Server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    if (pathname === '/') {
      response.writeHead(200, { 'content-type': types['.html'] });
      response.end(
        '<!doctype html><meta charset="utf-8"><title>decodekit webgpu</title>' +
          '<pre id="out" style="white-space:pre-wrap;font:14px monospace;margin:16px">starting…</pre>' +
          '<script type="module" src="/app.js"></script>',
      );
      return;
    }
    if (pathname === '/app.js') {
      response.writeHead(200, { 'content-type': types['.js'] });
      response.end(bundle);
      return;
    }
    for (const [prefix, root] of mounts) {
      if (!pathname.startsWith(prefix)) continue;
      const path = normalize(join(root, pathname.slice(prefix.length)));
      if (!path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) break;
      response.writeHead(200, {
        'content-type': types[extname(path)] ?? 'application/octet-stream',
        'content-length': statSync(path).size,
      });
      createReadStream(path).pipe(response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>(done => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

interface RunResult {
  backendId: string;
  adapter: string;
  promptIds: number[];
  tokens: number[];
  kvLocation: string | null;
  gathers: number;
  truncateDiff: number;
  tokensPerSecond: number;
}

describe.skipIf(!existsSync(chromiumPath))(
  'browser entry in headless Chromium (playwright-core)',
  () => {
    let served: Served;
    let cpuTokens: number[];
    const contexts: { context: BrowserContext; profile: string }[] = [];

    beforeAll(async () => {
      const require = createRequire(import.meta.url);
      const ortDist = dirname(require.resolve('onnxruntime-web'));
      const result = await build({
        entryPoints: [join(here, '__fixtures__', 'browser-page.ts')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
        plugins: [workspaceSources()],
      });
      served = await serve(result.outputFiles[0].text, ortDist, stories260KFolder());
      const cpu: LoadedModel = await createCpuBackend().load(stories260KFolder());
      try {
        const ids = cpu.tokenizer.encode(PROMPT);
        cpuTokens = (
          await createDecoder({ model: cpu }).generate(
            { tokens: ids },
            { maxTokens: MAX_TOKENS, temperature: 0 },
          )
        ).tokens;
      } finally {
        await cpu.dispose();
      }
    }, 120_000);

    afterAll(async () => {
      for (const { context, profile } of contexts) {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      }
      await served?.close();
    });

    /** A fresh browser (fresh --user-data-dir) on the served page; page errors are collected. */
    async function open(flags: readonly string[]): Promise<{ page: Page; errors: string[] }> {
      const profile = mkdtempSync(join(tmpdir(), 'decodekit-webgpu-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath,
        headless: true,
        args: [...baseFlags, ...flags],
        viewport: { width: 1000, height: 480 },
      });
      contexts.push({ context, profile });
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', error => errors.push(`pageerror: ${error.message}`));
      await page.goto(served.url);
      await page.waitForFunction(
        () => document.getElementById('out')?.textContent === 'ready',
        undefined,
        { timeout: 30_000 },
      );
      return { page, errors };
    }

    const runIn = (page: Page, backend: 'webgpu' | 'wasm') =>
      page.evaluate(
        options =>
          (
            window as unknown as { decodekitRun(o: typeof options): Promise<RunResult> }
          ).decodekitRun(options),
        {
          backend,
          modelUrl: `${served.url}model/`,
          wasmPaths: `${served.url}ort/`,
          prompt: PROMPT,
          maxTokens: MAX_TOKENS,
        },
      );

    it('wasm (onnxruntime-web): greedy ids equal the CPU backend', async () => {
      const { page, errors } = await open([]);
      const result = await runIn(page, 'wasm');
      expect(result.backendId).toBe('onnx-wasm');
      expect(result.tokens).toEqual(cpuTokens);
      expect(result.truncateDiff).toBeLessThan(1e-4);
      expect(errors).toEqual([]);
    }, 90_000);

    it('WebGPU (--enable-unsafe-webgpu; SwiftShader without a GPU): greedy ids equal the CPU backend, KV on the GPU', async context => {
      const { page, errors } = await open(webGpuFlags);
      const adapter = await page.evaluate(() =>
        (window as unknown as { decodekitAdapter(): Promise<string> }).decodekitAdapter(),
      );
      if (/no navigator\.gpu|returned null/.test(adapter))
        context.skip(`Chromium gave no WebGPU adapter here: ${adapter}`);
      const result = await runIn(page, 'webgpu');
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({
        path: join(screenshots, 'browser-webgpu-once-upon-a-time.png'),
        fullPage: true,
      });
      console.info(
        `browser WebGPU: adapter ${result.adapter}; ${result.tokensPerSecond.toFixed(1)} tok/s`,
      );
      expect(result.backendId).toBe('onnx-webgpu');
      expect(result.kvLocation).toBe('gpu-buffer');
      expect(result.tokens).toEqual(cpuTokens);
      // truncate() ran the device-side Gather graph in the browser too, and the cache it kept is right.
      expect(result.gathers).toBe(1);
      expect(result.truncateDiff).toBeLessThan(1e-4);
      expect(errors).toEqual([]);
    }, 150_000);

    it('without --enable-unsafe-webgpu, load() rejects with UnsupportedCapabilityError and says how to enable it', async () => {
      const { page } = await open([]);
      const outcome = await page.evaluate(
        async options => {
          try {
            await (
              window as unknown as { decodekitRun(o: typeof options): Promise<unknown> }
            ).decodekitRun(options);
            return 'loaded';
          } catch (error) {
            return `${(error as Error).name}: ${(error as Error).message}`;
          }
        },
        {
          backend: 'webgpu' as const,
          modelUrl: `${served.url}model/`,
          wasmPaths: `${served.url}ort/`,
          prompt: PROMPT,
          maxTokens: 1,
        },
      );
      expect(outcome).toMatch(/^UnsupportedCapabilityError: /);
      expect(outcome).toContain('--enable-unsafe-webgpu');
    }, 60_000);
  },
);
