import { InvalidArgumentError } from '@decodekit/core';
import { parseHubId } from '@decodekit/models';
import { webGpuPackage } from 'virtual:decodekit-webgpu';
import { sideEditor } from './composer';
import {
  configFromSearch,
  configToSearch,
  defaultHubEndpoint,
  defaultPrompt,
  hubDtypes,
  maxTokensLimit,
  paceLimit,
  parseEndpoint,
  type BackendChoice,
  type PlaygroundConfig,
  type SideConfig,
} from './config';
import { strategyById } from './catalog';
import { h, replaceChildren } from './dom';
import { EngineClient } from './engine-client';
import type { HubModelRef, ModelRef, ModelSummary } from './protocol';
import { raceChart } from './race-chart';
import { RunView } from './run-view';

interface ModelsIndex {
  readonly models: Record<string, { readonly files: Record<string, number> }>;
}

const targetName = 'stories260K';
const draftName = 'llama2xs';

let config: PlaygroundConfig = configFromSearch(location.search);
const engine = new EngineClient();
let model: ModelSummary | undefined;
let modelsIndex: ModelsIndex | undefined;
let activeBackend: BackendChoice | undefined;
let webGpu: { available: boolean; reason: string } = { available: false, reason: 'checking…' };
let running: { views: RunView[] } | undefined;
/** A model load in progress (buttons that would start another are off meanwhile). */
let loading = false;
/** The hub fields of the model in use (undefined: the built-in model). */
let loadedHub: Pick<PlaygroundConfig, 'hubModel' | 'dtype' | 'hubEndpoint'> | undefined;
/** The hub download in flight (Cancel aborts it). */
let hubLoad: { cancel(): void } | undefined;
/** The generation in flight (the Stop button aborts it). */
let currentRun: { stop(): void } | undefined;
let stopRequested = false;

function setConfig(next: PlaygroundConfig): void {
  config = next;
  history.replaceState(null, '', `${location.pathname}?${configToSearch(config)}`);
}

// ---------------------------------------------------------------- layout

const modelStatus = h(
  'span',
  { class: 'model-status', 'data-testid': 'model-status', 'data-state': 'loading' },
  'Loading…',
);
const progressBar = h('progress', {
  class: 'progress',
  max: 1,
  value: 0,
  'data-testid': 'progress',
});
const backendNote = h('span', { class: 'backend-note', 'data-testid': 'backend-note' });
const wasmButton = h(
  'button',
  { type: 'button', class: 'segment', 'data-testid': 'backend-wasm' },
  'wasm',
);
const webGpuButton = h(
  'button',
  { type: 'button', class: 'segment', 'data-testid': 'backend-webgpu' },
  'WebGPU',
);
const promptInput = h('textarea', {
  rows: 3,
  'data-testid': 'prompt',
  'aria-label': 'prompt',
  maxlength: 4000,
  spellcheck: false,
});
const maxTokensInput = h('input', {
  type: 'number',
  min: 1,
  max: maxTokensLimit,
  'data-testid': 'max-tokens',
});
const paceInput = h('select', { 'data-testid': 'pace', 'aria-label': 'playback pace' });
const singleTab = h(
  'button',
  { type: 'button', class: 'segment', 'data-testid': 'mode-single' },
  'Single',
);
const raceTab = h(
  'button',
  { type: 'button', class: 'segment', 'data-testid': 'mode-race' },
  'Race A vs B',
);
const runButton = h(
  'button',
  { type: 'button', class: 'primary', 'data-testid': 'run', disabled: true },
  'Generate',
);
const stopButton = h('button', { type: 'button', 'data-testid': 'stop', disabled: true }, 'Stop');
const shareButton = h(
  'button',
  { type: 'button', 'data-testid': 'share', title: 'Copy a link to this configuration' },
  'Copy link',
);
const hubModelInput = h('input', {
  type: 'text',
  'data-testid': 'hub-model',
  'aria-label': 'hub model id',
  placeholder: 'org/name[@revision]',
  spellcheck: false,
  autocomplete: 'off',
});
const hubDtypeInput = h('select', { 'data-testid': 'hub-dtype', 'aria-label': 'graph dtype' });
for (const dtype of hubDtypes) hubDtypeInput.append(h('option', { value: dtype }, dtype));
const hubEndpointInput = h('input', {
  type: 'url',
  'data-testid': 'hub-endpoint',
  'aria-label': 'hub endpoint',
  spellcheck: false,
});
// The token stays in this page's memory: it is never written to the URL or to storage.
const hubTokenInput = h('input', {
  type: 'password',
  'data-testid': 'hub-token',
  'aria-label': 'hub access token',
  placeholder: 'hf_…',
  title: 'Access token for gated or private repositories',
  autocomplete: 'off',
  spellcheck: false,
});
const hubLoadButton = h(
  'button',
  { type: 'button', 'data-testid': 'hub-load', title: 'Download the model by id and load it' },
  'Load',
);
const hubCancelButton = h(
  'button',
  { type: 'button', 'data-testid': 'hub-cancel', disabled: true },
  'Cancel',
);
const builtinButton = h(
  'button',
  { type: 'button', 'data-testid': 'builtin-model', title: 'Go back to the built-in model' },
  'stories260K',
);
const editors = h('div', { class: 'editors' });
const results = h('div', { class: 'results', 'data-testid': 'results' });
const errorBox = h('div', { class: 'error', role: 'alert', 'data-testid': 'error', hidden: true });
const offlineNote = h('span', { class: 'offline-note', 'data-testid': 'offline-note' });

for (const [value, label] of [
  [0, 'real time'],
  [60, 'slow (60 ms/step)'],
  [250, 'slower (250 ms/step)'],
] as const) {
  paceInput.append(h('option', { value }, label));
}

const app = document.getElementById('app');
if (!app) throw new Error('index.html has no #app element');
app.append(
  h(
    'header',
    { class: 'topbar' },
    h('h1', {}, h('span', { class: 'brand' }, 'decodekit'), ' playground'),
    h(
      'div',
      { class: 'backend', role: 'group', 'aria-label': 'backend' },
      h('span', { class: 'label' }, 'Backend'),
      h('span', { class: 'segments' }, wasmButton, webGpuButton),
      backendNote,
    ),
    h('div', { class: 'model' }, modelStatus, progressBar),
  ),
  h(
    'main',
    { class: 'layout' },
    h(
      'aside',
      { class: 'composer', 'aria-label': 'composer' },
      h(
        'fieldset',
        { class: 'hub', 'aria-label': 'model from a hub' },
        h('legend', {}, 'Model from a hub'),
        h(
          'div',
          { class: 'row' },
          h('label', { class: 'field grow' }, h('span', {}, 'id'), hubModelInput),
          h('label', { class: 'field' }, h('span', {}, 'dtype'), hubDtypeInput),
        ),
        h(
          'div',
          { class: 'row' },
          h('label', { class: 'field grow' }, h('span', {}, 'hub'), hubEndpointInput),
          h('label', { class: 'field' }, h('span', {}, 'token'), hubTokenInput),
        ),
        h('div', { class: 'actions' }, hubLoadButton, hubCancelButton, builtinButton),
      ),
      h('label', { class: 'block' }, h('span', {}, 'Prompt'), promptInput),
      h(
        'div',
        { class: 'row' },
        h('label', { class: 'field' }, h('span', {}, 'max tokens'), maxTokensInput),
        h('label', { class: 'field' }, h('span', {}, 'playback'), paceInput),
      ),
      h('div', { class: 'segments mode', role: 'group', 'aria-label': 'mode' }, singleTab, raceTab),
      editors,
      h('div', { class: 'actions' }, runButton, stopButton, shareButton),
      errorBox,
    ),
    h('section', { class: 'stage', 'aria-label': 'output' }, results),
  ),
  h(
    'footer',
    { class: 'footer' },
    h(
      'span',
      { class: 'legend' },
      h('span', { class: 'tok target' }, 'target token'),
      h('span', { class: 'tok draft' }, 'accepted draft token'),
      h('span', { class: 'tok bonus' }, 'bonus token'),
    ),
    h(
      'span',
      {},
      'Model: stories260K by Andrej Karpathy (MIT), converted from llama2.c by @decodekit/models at build time.',
    ),
    offlineNote,
  ),
);

// ---------------------------------------------------------------- composer

function drawEditors(): void {
  const a = sideEditor(config.a, side => setConfig({ ...config, a: side }), 'side-a');
  if (config.mode === 'single') {
    replaceChildren(editors, a);
  } else {
    const b = sideEditor(config.b, side => setConfig({ ...config, b: side }), 'side-b');
    replaceChildren(
      editors,
      h('div', { class: 'side side-a' }, h('h2', {}, 'A'), a),
      h('div', { class: 'side side-b' }, h('h2', {}, 'B'), b),
    );
  }
  singleTab.classList.toggle('active', config.mode === 'single');
  raceTab.classList.toggle('active', config.mode === 'race');
  singleTab.setAttribute('aria-pressed', String(config.mode === 'single'));
  raceTab.setAttribute('aria-pressed', String(config.mode === 'race'));
}

function drawBackend(): void {
  wasmButton.classList.toggle('active', activeBackend === 'wasm');
  webGpuButton.classList.toggle('active', activeBackend === 'webgpu');
  wasmButton.setAttribute('aria-pressed', String(activeBackend === 'wasm'));
  webGpuButton.setAttribute('aria-pressed', String(activeBackend === 'webgpu'));
  const busy = running !== undefined || loading;
  webGpuButton.disabled = !webGpu.available || busy;
  wasmButton.disabled = busy;
  hubLoadButton.disabled = busy;
  builtinButton.disabled = busy || (config.hubModel === '' && model !== undefined);
  hubCancelButton.disabled = hubLoad === undefined;
  webGpuButton.title = webGpu.available
    ? 'Run the model with WebGPU'
    : `WebGPU is off: ${webGpu.reason}`;
  backendNote.textContent = webGpu.available ? '' : `WebGPU off: ${webGpu.reason}`;
}

hubModelInput.value = config.hubModel;
hubDtypeInput.value = config.dtype;
hubEndpointInput.value = config.hubEndpoint;
hubLoadButton.addEventListener('click', () => void loadFromHub());
hubModelInput.addEventListener('keydown', event => {
  if (event.key === 'Enter') {
    event.preventDefault();
    void loadFromHub();
  }
});
hubCancelButton.addEventListener('click', () => hubLoad?.cancel());
builtinButton.addEventListener('click', () => {
  if (running || loading) return;
  clearError();
  setConfig({ ...config, hubModel: '' });
  hubModelInput.value = '';
  void loadOn(activeBackend ?? 'wasm');
});
promptInput.value = config.prompt;
maxTokensInput.value = String(config.maxTokens);
paceInput.value = String(config.pace);
promptInput.addEventListener('input', () => setConfig({ ...config, prompt: promptInput.value }));
promptInput.addEventListener('keydown', event => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    void run();
  }
});
maxTokensInput.addEventListener('change', () => {
  const value = Math.round(Number(maxTokensInput.value));
  const maxTokens = Number.isFinite(value)
    ? Math.min(maxTokensLimit, Math.max(1, value))
    : config.maxTokens;
  maxTokensInput.value = String(maxTokens);
  setConfig({ ...config, maxTokens });
});
paceInput.addEventListener('change', () =>
  setConfig({ ...config, pace: Math.min(paceLimit, Number(paceInput.value) || 0) }),
);
singleTab.addEventListener('click', () => {
  setConfig({ ...config, mode: 'single' });
  drawEditors();
  drawIdle();
});
raceTab.addEventListener('click', () => {
  setConfig({ ...config, mode: 'race' });
  drawEditors();
  drawIdle();
});
wasmButton.addEventListener('click', () => void switchBackend('wasm'));
webGpuButton.addEventListener('click', () => void switchBackend('webgpu'));
runButton.addEventListener('click', () => void run());
stopButton.addEventListener('click', () => currentRun?.stop());
shareButton.addEventListener('click', async () => {
  const url = location.href;
  try {
    await navigator.clipboard.writeText(url);
    shareButton.textContent = 'Link copied';
  } catch {
    shareButton.textContent = 'Copy the address bar';
  }
  setTimeout(() => (shareButton.textContent = 'Copy link'), 1500);
});

function showError(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError(): void {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

// ---------------------------------------------------------------- model

function modelRef(name: string): ModelRef {
  const entry = modelsIndex?.models[name];
  if (!entry) throw new Error(`models/index.json lists no ${name}: the build did not convert it.`);
  return { name, url: new URL(`models/${name}`, document.baseURI).href, files: entry.files };
}

async function detectWebGpu(): Promise<void> {
  if (!webGpuPackage) {
    webGpu = {
      available: false,
      reason: 'this build has no @decodekit/backend-webgpu package yet',
    };
    return;
  }
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) {
    webGpu = { available: false, reason: 'this browser has no navigator.gpu' };
    return;
  }
  try {
    const adapter = await gpu.requestAdapter();
    webGpu = adapter
      ? { available: true, reason: '' }
      : { available: false, reason: 'no GPU adapter was found' };
  } catch (error) {
    webGpu = { available: false, reason: `requestAdapter failed: ${(error as Error).message}` };
  }
}

function showProgress({ phase, loaded, total }: { phase: string; loaded: number; total: number }) {
  modelStatus.textContent =
    total > 1
      ? `${phase} · ${(loaded / 1024).toFixed(0)} / ${(total / 1024).toFixed(0)} KiB`
      : `${phase}…`;
  progressBar.value = total > 0 ? loaded / total : 0;
}

/** The status line of a loaded model. */
function describeModel(summary: ModelSummary, seconds?: number): string {
  const source = summary.hub ? ` · ${summary.hub.graph} @ ${summary.hub.commit.slice(0, 7)}` : '';
  const ready = seconds === undefined ? '' : ` · ready in ${seconds.toFixed(1)} s`;
  return (
    `${summary.name}${source} · ${summary.backendId} · ${summary.numLayers} layers, vocab ${summary.vocabSize}` +
    ` · tree ${summary.capabilities.tree ? 'yes' : 'no'}${ready}`
  );
}

function setLoading(next: boolean): void {
  loading = next;
  runButton.disabled = next || running !== undefined || !model;
  if (next) {
    modelStatus.dataset.state = 'loading';
    progressBar.hidden = false;
    progressBar.value = 0;
  } else {
    progressBar.hidden = true;
  }
  drawBackend();
}

function modelLoaded(summary: ModelSummary, backend: BackendChoice, started: number): void {
  model = summary;
  activeBackend = backend;
  modelStatus.dataset.state = 'ready';
  modelStatus.dataset.backend = summary.backendId;
  modelStatus.textContent = describeModel(summary, (performance.now() - started) / 1000);
  drawIdle();
}

/** Reads models/index.json (the built-in models, the draft model among them) once. */
async function loadModelsIndex(): Promise<void> {
  if (modelsIndex) return;
  const response = await fetch(new URL('models/index.json', document.baseURI));
  if (!response.ok)
    throw new Error(
      `models/index.json answered HTTP ${response.status}: the model folders were not built.`,
    );
  modelsIndex = (await response.json()) as ModelsIndex;
}

/** The hub model of the configuration, checked (a typed InvalidArgumentError names what is wrong). */
function hubModelRef(): HubModelRef {
  parseHubId(config.hubModel);
  const token = hubTokenInput.value.trim();
  return {
    id: config.hubModel,
    dtype: config.dtype,
    endpoint: config.hubEndpoint,
    ...(token ? { token } : {}),
  };
}

/** Loads the configured model (the hub model when one is set, else the built-in one) on `backend`. */
async function loadOn(backend: BackendChoice): Promise<void> {
  if (config.hubModel !== '') {
    await loadHubOn(backend);
    return;
  }
  model = undefined;
  setLoading(true);
  const started = performance.now();
  try {
    await loadModelsIndex();
    modelLoaded(await engine.load(backend, modelRef(targetName), showProgress), backend, started);
    loadedHub = undefined;
  } catch (error) {
    modelStatus.dataset.state = 'error';
    modelStatus.textContent = `Could not load ${targetName} on ${backend}`;
    showError(error);
  }
  setLoading(false);
}

/**
 * Downloads the configured hub model in the engine worker (resolveHubFiles: fetch + Cache Storage) and
 * loads it. Until it is ready the model loaded before stays in use; when it fails or is cancelled, that
 * model stays, and the error (typed: ModelNotFoundError, ModelDownloadError, ModelFormatError...) is shown.
 */
async function loadHubOn(backend: BackendChoice): Promise<void> {
  const previous = model;
  setLoading(true);
  const started = performance.now();
  let ref: HubModelRef | undefined;
  try {
    ref = hubModelRef();
    await loadModelsIndex(); // the draft model of draft-model strategies stays a built-in one
    const handle = engine.loadHub(backend, ref, showProgress);
    hubLoad = handle;
    drawBackend();
    modelLoaded(await handle.done, backend, started);
    loadedHub = { hubModel: ref.id, dtype: ref.dtype, hubEndpoint: ref.endpoint };
  } catch (error) {
    const what = ref ? `${ref.id} (${ref.dtype})` : config.hubModel;
    const cancelled = isAbort(error);
    if (!cancelled) showError(error);
    if (previous) {
      // The engine still holds the previous model: keep using it.
      modelStatus.dataset.state = 'ready';
      modelStatus.textContent = `${cancelled ? 'Cancelled' : 'Could not load'} ${what}; using ${describeModel(previous)}`;
    } else {
      modelStatus.dataset.state = cancelled ? 'cancelled' : 'error';
      modelStatus.textContent = `${cancelled ? 'Cancelled loading' : 'Could not load'} ${what} on ${backend}`;
    }
    // The configuration (and the URL) goes back to the model that is still in use.
    if (previous) setConfig({ ...config, ...(loadedHub ?? { hubModel: '' }) });
  } finally {
    hubLoad = undefined;
  }
  setLoading(false);
}

/** The Load button: takes the id, dtype and endpoint from the fields and loads that model. */
async function loadFromHub(): Promise<void> {
  if (running || loading) return;
  clearError();
  const endpoint = parseEndpoint(hubEndpointInput.value || defaultHubEndpoint);
  if (!endpoint) {
    showError(
      new InvalidArgumentError({
        argument: 'hub',
        message: `"${hubEndpointInput.value}" is not an http(s) URL. Write the hub's address, e.g. ${defaultHubEndpoint}.`,
      }),
    );
    return;
  }
  hubEndpointInput.value = endpoint;
  setConfig({
    ...config,
    hubModel: hubModelInput.value.trim(),
    dtype: hubDtypeInput.value,
    hubEndpoint: endpoint,
  });
  await loadHubOn(activeBackend ?? 'wasm');
}

async function switchBackend(backend: BackendChoice): Promise<void> {
  if (backend === activeBackend || running) return;
  if (backend === 'webgpu' && !webGpu.available) return;
  clearError();
  setConfig({ ...config, backend });
  await loadOn(backend);
}

// ---------------------------------------------------------------- runs

function labelOf(side: SideConfig): string {
  return strategyById(side.strategy)?.label ?? side.strategy;
}

function drawIdle(): void {
  if (running || !model) return;
  if (config.mode === 'single') {
    const view = new RunView({ labels: model.labels, pace: 0, showTree: true, testId: 'single' });
    replaceChildren(results, view.element);
  } else {
    const a = new RunView({
      title: `A · ${labelOf(config.a)}`,
      labels: model.labels,
      pace: 0,
      showTree: false,
      testId: 'race-a',
    });
    const b = new RunView({
      title: `B · ${labelOf(config.b)}`,
      labels: model.labels,
      pace: 0,
      showTree: false,
      testId: 'race-b',
    });
    replaceChildren(results, h('div', { class: 'race' }, a.element, b.element));
  }
}

function setRunning(next: typeof running): void {
  running = next;
  runButton.disabled = next !== undefined || loading || !model;
  stopButton.disabled = next === undefined;
  drawBackend();
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortedError';
}

/** Runs one side into a view and waits until every event has been drawn. */
async function runInto(view: RunView, setup: PlaygroundConfig, side: SideConfig): Promise<void> {
  view.start(setup.prompt);
  const handle = engine.run(
    { prompt: setup.prompt, maxTokens: setup.maxTokens, side, draftModel: modelRef(draftName) },
    {
      onEvents: events => view.push(events),
      onProgress: ({ phase }) => view.setStatus('running', `${phase}…`),
    },
  );
  currentRun = {
    stop: () => {
      stopRequested = true;
      handle.stop(); // aborts the generation in the worker, if it is still running
      view.cancel(); // and the playback of what already arrived
      view.setStatus('stopped', 'stopped');
    },
  };
  try {
    await handle.done;
    await view.drained();
  } catch (error) {
    view.cancel();
    view.setStatus(isAbort(error) ? 'stopped' : 'failed', isAbort(error) ? 'stopped' : 'failed');
    throw error;
  } finally {
    currentRun = undefined;
  }
}

async function run(): Promise<void> {
  if (running || loading || !model) return;
  clearError();
  const labels = model.labels;
  // Edits made while it runs apply to the next run: both sides of a race see the same prompt.
  const setup = config;
  const pace = setup.pace;
  stopRequested = false;
  try {
    if (setup.mode === 'single') {
      const view = new RunView({ labels, pace, showTree: true, testId: 'single' });
      replaceChildren(results, view.element);
      setRunning({ views: [view] });
      await runInto(view, setup, setup.a);
    } else {
      const a = new RunView({
        title: `A · ${labelOf(setup.a)}`,
        labels,
        pace,
        showTree: false,
        testId: 'race-a',
      });
      const b = new RunView({
        title: `B · ${labelOf(setup.b)}`,
        labels,
        pace,
        showTree: false,
        testId: 'race-b',
      });
      const verdict = h(
        'div',
        { class: 'verdict', 'data-testid': 'race-verdict' },
        'A runs first, then B, on the same model and prompt.',
      );
      replaceChildren(results, h('div', { class: 'race' }, a.element, b.element), verdict);
      setRunning({ views: [a, b] });
      b.setStatus('waiting', 'waiting for A');
      await runInto(a, setup, setup.a);
      if (stopRequested) {
        b.setStatus('stopped', 'not run');
        return;
      }
      await runInto(b, setup, setup.b);
      if (stopRequested) return;
      const same =
        a.tokenIds.length === b.tokenIds.length &&
        a.tokenIds.every((id, index) => id === b.tokenIds[index]);
      let firstDifference = -1;
      if (!same) {
        firstDifference = a.tokenIds.findIndex((id, index) => id !== b.tokenIds[index]);
        if (firstDifference < 0) firstDifference = Math.min(a.tokenIds.length, b.tokenIds.length);
      }
      const rate = (view: RunView): number => view.liveStats.final?.tokensPerSecond ?? 0;
      replaceChildren(
        verdict,
        h(
          'p',
          {
            class: `identical ${same ? 'yes' : 'no'}`,
            'data-testid': 'identical',
            'data-identical': String(same),
          },
          same
            ? `✓ Identical output: ${a.tokenIds.length} tokens, token for token.`
            : `✗ Outputs differ from token ${firstDifference + 1} (expected when sampling or with a lossy setting).`,
        ),
        raceChart(
          {
            label: 'A',
            name: `A · ${labelOf(setup.a)}`,
            times: a.timeline.times,
            tokensPerSecond: rate(a),
            className: 'a',
          },
          {
            label: 'B',
            name: `B · ${labelOf(setup.b)}`,
            times: b.timeline.times,
            tokensPerSecond: rate(b),
            className: 'b',
          },
        ),
      );
    }
  } catch (error) {
    if (!isAbort(error)) showError(error);
  } finally {
    setRunning(undefined);
  }
}

// ---------------------------------------------------------------- start

async function registerServiceWorker(): Promise<void> {
  if (import.meta.env.DEV) {
    offlineNote.textContent = 'Offline cache: off in dev mode.';
    return;
  }
  if (!('serviceWorker' in navigator)) {
    offlineNote.textContent = 'Offline cache: this browser has no service workers here.';
    return;
  }
  try {
    await navigator.serviceWorker.register(new URL('sw.js', document.baseURI), { scope: './' });
    await navigator.serviceWorker.ready;
    offlineNote.textContent = 'Offline ready: app and models are cached.';
    offlineNote.dataset.ready = 'true';
  } catch (error) {
    offlineNote.textContent = `Offline cache unavailable: ${(error as Error).message}`;
  }
}

drawEditors();
drawBackend();
if (config.prompt === '') promptInput.placeholder = defaultPrompt;
void (async () => {
  await detectWebGpu();
  drawBackend();
  const wanted: BackendChoice = config.backend === 'webgpu' && webGpu.available ? 'webgpu' : 'wasm';
  if (config.backend !== wanted) setConfig({ ...config, backend: wanted });
  await loadOn(wanted);
})();
void registerServiceWorker();
