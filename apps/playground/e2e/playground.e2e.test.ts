/**
 * End-to-end tests of the built playground in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser is ever downloaded). The app is built first, served by a node:http static
 * server on 127.0.0.1, and checked as a person would use it. Screenshots go to ../screenshots (gitignored).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertLlama2c } from '@decodekit/models';
import { startLocalHub, type LocalHub } from '@decodekit/models/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strategies } from '../src/catalog';
import { serveStatic, type StaticServer } from './static-server';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(appRoot, 'dist');
const screenshots = join(appRoot, 'screenshots');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const mirror =
  process.env.DECODEKIT_MODELS?.split(/[:;]/)[0] || resolve(appRoot, '../../../shared/models');
const goldenPath = join(mirror, 'golden/golden_stories260K_greedy.json');

/** DESIGN.md's flags for headless Chromium here. */
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Session {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly profile: string;
  /** Console errors and uncaught exceptions (CSP violations show up here). */
  readonly errors: string[];
  readonly dialogs: string[];
}

const sessions: Session[] = [];

async function openSession(extraFlags: readonly string[] = []): Promise<Session> {
  // A fresh --user-data-dir per session (playwright passes the folder as that flag).
  const profile = mkdtempSync(join(tmpdir(), 'playground-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumFlags, ...extraFlags],
    viewport: { width: 1360, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const session: Session = { context, page, profile, errors: [], dialogs: [] };
  page.on('console', message => {
    if (message.type() === 'error') session.errors.push(message.text());
  });
  page.on('pageerror', error => session.errors.push(`pageerror: ${error.message}`));
  page.on('dialog', dialog => {
    session.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  sessions.push(session);
  return session;
}

async function waitForModel(page: Page, timeout = 60_000): Promise<string> {
  const status = page.getByTestId('model-status');
  await page.waitForSelector(
    '[data-testid=model-status][data-state=ready], [data-testid=model-status][data-state=error]',
    { timeout },
  );
  const state = await status.getAttribute('data-state');
  if (state !== 'ready')
    throw new Error(`the model did not load: ${await page.getByTestId('error').textContent()}`);
  return (await status.textContent()) ?? '';
}

/** Clicks Generate and waits for the single run to finish; returns its output text (prompt included). */
async function generate(page: Page, timeout = 60_000): Promise<string> {
  await page.getByTestId('run').click();
  await page.waitForSelector(
    '[data-testid=single-status].done, [data-testid=single-status].failed, [data-testid=error]:not([hidden])',
    {
      timeout,
    },
  );
  const error = page.getByTestId('error');
  if (await error.isVisible()) throw new Error(`generation failed: ${await error.textContent()}`);
  return (await page.getByTestId('single-output').textContent()) ?? '';
}

async function stat(page: Page, testId: string, key: string): Promise<string> {
  return (await page.locator(`[data-testid=${testId}] [data-stat=${key}]`).textContent()) ?? '';
}

function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

const golden = existsSync(goldenPath)
  ? (
      JSON.parse(readFileSync(goldenPath, 'utf8')) as Record<
        string,
        { printed_text: string; n_generated: number }
      >
    )['Once upon a time']
  : undefined;

/** The golden greedy output for "Once upon a time"; throws when the mirror lacks it. */
function expectedGolden(): { printed_text: string; n_generated: number } {
  if (!golden)
    throw new Error(`${goldenPath} is missing: point DECODEKIT_MODELS at the model mirror.`);
  return golden;
}

describe.skipIf(!existsSync(chromiumPath))('playground in headless Chromium', () => {
  let server: StaticServer;

  beforeAll(() => {
    expectedGolden();
    // Build the app (the model folders are converted by the build): the tests check what ships.
    const vitePackage = createRequire(join(appRoot, 'package.json')).resolve('vite/package.json');
    const vite = join(dirname(vitePackage), 'bin/vite.js');
    // vitest sets NODE_ENV=test, which would make Vite build a non-production bundle.
    execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
      cwd: appRoot,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  beforeAll(async () => {
    server = await serveStatic(distDir);
  });

  afterAll(async () => {
    for (const session of sessions) {
      await session.context.close().catch(() => undefined);
      rmSync(session.profile, { recursive: true, force: true });
    }
    await server?.close();
  });

  describe('wasm', () => {
    let session: Session;

    beforeAll(async () => {
      session = await openSession();
    });

    it('loads the page and the model, with WebGPU shown as unavailable here', async () => {
      const { page } = session;
      await page.goto(
        `${server.url}?maxTokens=${expectedGolden().n_generated}&strategy=autoregressive`,
      );
      await expect(page.title()).resolves.toBe('decodekit playground');
      const status = await waitForModel(page);
      expect(status).toContain('stories260K');
      expect(status).toContain('onnx-wasm');
      // No --enable-unsafe-webgpu in this browser: the toggle is off and says why.
      await expect(page.getByTestId('backend-webgpu').isDisabled()).resolves.toBe(true);
      expect(await page.getByTestId('backend-note').textContent()).toMatch(/WebGPU off: .+/);
      await expect(page.getByTestId('backend-wasm').getAttribute('aria-pressed')).resolves.toBe(
        'true',
      );
    });

    it('T = 0 from "Once upon a time" shows the golden text', async () => {
      const { page } = session;
      const text = await generate(page);
      expect(text).toBe(expectedGolden().printed_text);
      expect(await stat(page, 'single', 'tokens')).toBe(String(expectedGolden().n_generated));
      expect(Number(await stat(page, 'single', 'tau'))).toBe(1);
      await screenshot(page, 'wasm-autoregressive-golden');
    });

    it('switching to token-recycling keeps the text identical, shows τ > 1 and a draft tree, and goes into the URL', async () => {
      const { page } = session;
      await page.getByTestId('side-a-strategy').selectOption('token-recycling');
      // Adaptive draft sizing times the backend, so its τ varies from run to run: the playground has it off.
      await expect(page.getByTestId('side-a-opt-adaptive').isChecked()).resolves.toBe(false);
      await page.getByTestId('side-a-opt-budget').fill('24');
      await page.getByTestId('side-a-opt-budget').dispatchEvent('change');
      const text = await generate(page);
      expect(text).toBe(expectedGolden().printed_text);
      const tau = Number(await stat(page, 'single', 'tau'));
      expect(tau).toBeGreaterThan(1);
      expect(await page.locator('[data-testid=single-output] .tok.draft').count()).toBeGreaterThan(
        0,
      );
      expect(
        await page.locator('[data-testid=single-tree] svg.tree .node').count(),
      ).toBeGreaterThan(1);
      expect(await page.locator('[data-testid=single-tree] svg.tree .node.bonus').count()).toBe(1);
      const url = new URL(page.url());
      expect(url.searchParams.get('strategy')).toBe('token-recycling');
      expect(url.searchParams.get('opt.budget')).toBe('24');
      await screenshot(page, 'wasm-token-recycling');

      // The URL is the configuration: opening it again restores the composer.
      await page.goto(url.href);
      await waitForModel(page);
      await expect(page.getByTestId('side-a-strategy').inputValue()).resolves.toBe(
        'token-recycling',
      );
      await expect(page.getByTestId('side-a-opt-budget').inputValue()).resolves.toBe('24');
    });

    it('every strategy in the composer reproduces the golden text at T = 0 (all are lossless)', async () => {
      const { page } = session;
      await page.goto(`${server.url}?maxTokens=${expectedGolden().n_generated}`);
      await waitForModel(page);
      const results: Record<
        string,
        { same: boolean; tau: string; tokensPerSecond: string; acceptance: string }
      > = {};
      for (const entry of strategies) {
        await page.getByTestId('side-a-strategy').selectOption(entry.id);
        const text = await generate(page);
        results[entry.id] = {
          same: text === expectedGolden().printed_text,
          tau: await stat(page, 'single', 'tau'),
          tokensPerSecond: await stat(page, 'single', 'tokens-per-second'),
          acceptance: await stat(page, 'single', 'acceptance'),
        };
      }
      console.info('strategies at T = 0 on wasm:', results);
      for (const [id, result] of Object.entries(results))
        expect({ id, same: result.same }).toEqual({ id, same: true });
      await screenshot(page, `wasm-${strategies[strategies.length - 1].id}`);
    }, 120_000);

    it('slow playback shows drafts step by step, and Stop ends the run', async () => {
      const { page } = session;
      await page.goto(
        `${server.url}?maxTokens=${expectedGolden().n_generated}&strategy=token-recycling&pace=250`,
      );
      await waitForModel(page);
      await expect(page.getByTestId('pace').inputValue()).resolves.toBe('250');
      await page.getByTestId('run').click();
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=single-output] .tok').length >= 3,
      );
      await page.getByTestId('stop').click();
      await expect(page.getByTestId('single-status').textContent()).resolves.toBe('stopped');
      const drawn = await page.locator('[data-testid=single-output] .tok').count();
      expect(drawn).toBeGreaterThanOrEqual(3);
      expect(drawn).toBeLessThan(expectedGolden().n_generated);
      await page.waitForTimeout(600);
      expect(await page.locator('[data-testid=single-output] .tok').count()).toBe(drawn);
      await expect(page.getByTestId('run').isEnabled()).resolves.toBe(true);
      await expect(page.getByTestId('error').isHidden()).resolves.toBe(true);
    });

    it('race mode runs both sides, shows the identical-output check and the speedup chart', async () => {
      const { page } = session;
      const search = new URLSearchParams({
        prompt: 'Once upon a time',
        maxTokens: String(expectedGolden().n_generated),
        mode: 'race',
        strategy: 'token-recycling',
        'b.strategy': 'autoregressive',
      });
      await page.goto(`${server.url}?${search}`);
      await waitForModel(page);
      await page.getByTestId('run').click();
      await page.waitForSelector('[data-testid=identical]', { timeout: 60_000 });
      await expect(page.getByTestId('identical').getAttribute('data-identical')).resolves.toBe(
        'true',
      );
      expect(await page.getByTestId('race-a-output').textContent()).toBe(
        expectedGolden().printed_text,
      );
      expect(await page.getByTestId('race-b-output').textContent()).toBe(
        expectedGolden().printed_text,
      );
      expect(await page.locator('[data-testid=race-chart] path.race-line').count()).toBe(2);
      expect(await page.getByTestId('speedup').textContent()).toMatch(/\d+\.\d\d×/);
      expect(Number(await stat(page, 'race-a', 'tau'))).toBeGreaterThan(1);
      expect(Number(await stat(page, 'race-b', 'tau'))).toBe(1);
      await screenshot(page, 'wasm-race');
    });

    it('shows a prompt containing HTML as text: no element, no script', async () => {
      const { page } = session;
      const prompt = 'Once upon a time <img src=x onerror=alert(1)> <b>bold</b>';
      await page.goto(
        `${server.url}?${new URLSearchParams({ prompt, maxTokens: '24', strategy: 'autoregressive' })}`,
      );
      await waitForModel(page);
      await expect(page.getByTestId('prompt').inputValue()).resolves.toBe(prompt);
      const text = await generate(page);
      expect(text.startsWith(prompt)).toBe(true);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('[data-testid=single-output] b').count()).toBe(0);
      await page.waitForTimeout(200);
      expect(session.dialogs).toEqual([]);
      await screenshot(page, 'wasm-html-prompt-as-text');
    });

    it('raised no console errors (CSP violations included)', () => {
      expect(session.errors).toEqual([]);
    });
  });

  it('works offline once loaded: a reload with the server gone still runs the model', async () => {
    const offlineServer = await serveStatic(distDir);
    const session = await openSession();
    const { page } = session;
    const url = `${offlineServer.url}?maxTokens=${expectedGolden().n_generated}&strategy=autoregressive`;
    await page.goto(url);
    await waitForModel(page);
    await page.waitForSelector('[data-testid=offline-note][data-ready=true]', { timeout: 60_000 });
    // The service worker has cached every file of the build (install finished before it activated).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, {
      timeout: 30_000,
    });
    await offlineServer.close();
    await expect(fetch(offlineServer.url)).rejects.toThrow();
    await page.reload();
    await waitForModel(page);
    expect(await generate(page)).toBe(expectedGolden().printed_text);
    await screenshot(page, 'offline-reload');
    expect(session.errors.filter(error => !/Failed to load resource|net::ERR/.test(error))).toEqual(
      [],
    );
  }, 90_000);

  describe('a hub model by id (local hub on 127.0.0.1, fetch + Cache Storage in the engine worker)', () => {
    const repo = 'decodekit-test/stories260K-onnx';
    const stalled = 'decodekit-test/stalled';
    const gated = 'decodekit-test/gated';
    const token = 'hf_playground_e2e';
    let hub: LocalHub;
    let session: Session;
    /** Every text the model status line showed since the page loaded (recorded by an init script). */
    const statusLog = (page: Page) =>
      page.evaluate(() => (window as unknown as { statusLog?: string[] }).statusLog ?? []);

    /** Fills the model fields, clicks Load and waits until that model is in use or the load ended. */
    async function loadFromHub(page: Page, id: string, dtype: string, token = ''): Promise<void> {
      await page.getByTestId('hub-model').fill(id);
      await page.getByTestId('hub-token').fill(token);
      await page.getByTestId('hub-dtype').selectOption(dtype);
      await page.getByTestId('hub-endpoint').fill(hub.endpoint);
      await page.getByTestId('hub-load').click();
      await page.waitForFunction(() => {
        const cancel = document.querySelector<HTMLButtonElement>('[data-testid=hub-cancel]');
        const load = document.querySelector<HTMLButtonElement>('[data-testid=hub-load]');
        return cancel?.disabled === true && load?.disabled === false;
      });
    }

    beforeAll(async () => {
      // A transformers.js-style repository converted from the llama2.c files: fp32 and q4 graphs.
      const source = {
        checkpoint: new Uint8Array(
          readFileSync(join(mirror, 'karpathy/tinyllamas/stories260K/stories260K.bin')),
        ),
        tokenizer: new Uint8Array(
          readFileSync(join(mirror, 'karpathy/tinyllamas/stories260K/tok512.bin')),
        ),
        plain: true,
      };
      const fp32 = convertLlama2c(source).files;
      const q4 = convertLlama2c({ ...source, dtype: 'q4' }).files;
      const files = { ...fp32, 'onnx/model_q4.onnx': q4['onnx/model.onnx'] };
      hub = await startLocalHub({
        [repo]: { files },
        [stalled]: { files },
        [gated]: { files, token },
      });
      session = await openSession();
      await session.page.addInitScript(() => {
        const log: string[] = [];
        (window as unknown as { statusLog: string[] }).statusLog = log;
        new MutationObserver(() => {
          const text = document.querySelector('[data-testid=model-status]')?.textContent ?? '';
          if (text !== log[log.length - 1]) log.push(text);
        }).observe(document, { childList: true, characterData: true, subtree: true });
      });
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('a link with ?model= loads it by id with one progress bar, runs it, and keeps the verified files in Cache Storage', async () => {
      const { page } = session;
      const link = `${server.url}?${new URLSearchParams({
        maxTokens: String(expectedGolden().n_generated),
        strategy: 'autoregressive',
        model: `${repo}@main`,
        hub: hub.endpoint,
      })}`;
      await page.goto(link);
      const commit = hub.commitOf(repo);
      expect(await waitForModel(page)).toContain(
        `${repo}@main · onnx/model.onnx @ ${commit.slice(0, 7)}`,
      );
      await expect(page.getByTestId('hub-model').inputValue()).resolves.toBe(`${repo}@main`);
      // One progress bar for the whole model: bytes of all its files against their total.
      const downloading = (await statusLog(page)).filter(text => text.startsWith('Downloading'));
      expect(downloading.length).toBeGreaterThan(0);
      for (const text of downloading) expect(text).toMatch(/^Downloading .+ · \d+ \/ \d+ KiB$/);
      // The branch was resolved once, then every file was fetched at its commit; q4 was not touched.
      const paths = hub.requests.map(request => request.path);
      expect(paths).toContain(`/api/models/${repo}/revision/main?blobs=true`);
      expect(paths).toContain(`/${repo}/resolve/${commit}/onnx/model.onnx`);
      expect(paths.some(path => path.includes('model_q4'))).toBe(false);
      expect(await generate(page)).toBe(expectedGolden().printed_text);
      await screenshot(page, 'hub-model-by-id');

      // Verified files are kept in Cache Storage keyed by commit (a reload reads them from there), the
      // listing last, once every file is in.
      const cached = await page.evaluate(async () =>
        (await (await caches.open('decodekit-hub')).keys()).map(request => request.url),
      );
      expect(cached.slice(0, -1).sort()).toEqual(
        [
          'config.json',
          'generation_config.json',
          'onnx/model.onnx',
          'tokenizer.json',
          'tokenizer_config.json',
        ].map(file => `${hub.endpoint}/${repo}/resolve/${commit}/${file}`),
      );
      expect(cached.at(-1)).toBe(`${hub.endpoint}/api/models/${repo}/revision/main?blobs=true`);
    });

    it('a gated repo needs the token; with it, dtype q4 picks onnx/model_q4.onnx (MatMulNBits)', async () => {
      const { page } = session;
      await loadFromHub(page, gated, 'q4');
      await expect(page.getByTestId('error').textContent()).resolves.toMatch(
        /^ModelDownloadError: .*gated/,
      );
      const seen = hub.requests.length;
      await loadFromHub(page, gated, 'q4', token);
      expect(await waitForModel(page)).toContain(`${gated}@main · onnx/model_q4.onnx`);
      await expect(page.getByTestId('error').isHidden()).resolves.toBe(true);
      const url = new URL(page.url());
      expect(url.searchParams.get('dtype')).toBe('q4');
      expect(url.href).not.toContain(token);
      // Every GET of the gated repo carries the token (a CORS preflight never does).
      const gets = hub.requests
        .slice(seen)
        .filter(request => request.method === 'GET' && request.path.includes(`/${gated}/`));
      expect(gets.some(request => request.path.endsWith('/onnx/model_q4.onnx'))).toBe(true);
      expect(new Set(gets.map(request => request.authorization))).toEqual(
        new Set([`Bearer ${token}`]),
      );
      const text = await generate(page);
      expect(text.length).toBeGreaterThan('Once upon a time'.length);
    });

    it('shows a typed error for an unknown id and keeps the model in use', async () => {
      const { page } = session;
      await loadFromHub(page, 'decodekit-test/missing', 'fp32');
      await expect(page.getByTestId('error').textContent()).resolves.toMatch(
        /^ModelNotFoundError: .*decodekit-test\/missing/,
      );
      expect(await waitForModel(page)).toMatch(
        /^Could not load decodekit-test\/missing \(fp32\); using /,
      );
      expect(new URL(page.url()).searchParams.get('model')).toBe(gated);
      await loadFromHub(page, 'not an id', 'fp32');
      await expect(page.getByTestId('error').textContent()).resolves.toMatch(
        /^InvalidArgumentError: .*not a hub id/,
      );
    });

    it('cancels a download in flight', async () => {
      const { page } = session;
      const fault = { path: 'onnx/model.onnx', kind: 'stall', afterBytes: 1000, times: 1 } as const;
      hub.faults.push({ ...fault });
      await page.getByTestId('hub-model').fill(stalled);
      await page.getByTestId('hub-dtype').selectOption('fp32');
      await page.getByTestId('hub-load').click();
      // The graph's download has started and hangs: cancel it.
      await expect.poll(() => hub.faults[0].times, { timeout: 10_000 }).toBe(0);
      await page.getByTestId('hub-cancel').click();
      await page.waitForFunction(() =>
        (document.querySelector('[data-testid=model-status]')?.textContent ?? '').startsWith(
          'Cancelled ',
        ),
      );
      await expect(page.getByTestId('error').isHidden()).resolves.toBe(true);
      await expect(page.getByTestId('run').isEnabled()).resolves.toBe(true);
      expect(new URL(page.url()).searchParams.get('model')).toBe(gated);
    });

    it('raised no console errors besides the refused requests (CORS included)', () => {
      expect(session.errors.filter(error => !/Failed to load resource/.test(error))).toEqual([]);
    });
  });

  it('WebGPU (SwiftShader): T = 0 from "Once upon a time" shows the golden text', async context => {
    const session = await openSession(['--enable-unsafe-webgpu']);
    const { page } = session;
    await page.goto(
      `${server.url}?maxTokens=${expectedGolden().n_generated}&strategy=autoregressive&backend=webgpu`,
    );
    await page.waitForSelector(
      '[data-testid=model-status][data-state=ready], [data-testid=model-status][data-state=error]',
      { timeout: 60_000 },
    );
    const note = (await page.getByTestId('backend-note').textContent()) ?? '';
    if (await page.getByTestId('backend-webgpu').isDisabled()) {
      context.skip(`WebGPU is not available in this browser: ${note}`);
    }
    const status = await waitForModel(page);
    expect(status).toContain('onnx-webgpu');
    await expect(page.getByTestId('backend-webgpu').getAttribute('aria-pressed')).resolves.toBe(
      'true',
    );
    const text = await generate(page, 90_000);
    expect(text).toBe(expectedGolden().printed_text);
    await screenshot(page, 'webgpu-autoregressive-golden');
    expect(session.errors).toEqual([]);
  }, 150_000);
});
