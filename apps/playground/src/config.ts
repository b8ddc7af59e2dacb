import { HUB_DTYPES, isHubId } from '@decodekit/models';
import {
  fieldsOf,
  processorById,
  samplingFields,
  strategyById,
  type OptionField,
  type OptionValue,
} from './catalog';

/** A processor added in the composer. */
export interface ProcessorChoice {
  readonly id: string;
  readonly value: OptionValue;
}

/** One decoding configuration (a side of a race). */
export interface SideConfig {
  readonly strategy: string;
  /** Strategy options (speculative `budget`/`adaptive` included), keyed by field key. */
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly processors: readonly ProcessorChoice[];
  /** temperature, topK, topP, minP, typicalP, seed. */
  readonly sampling: Readonly<Record<string, number>>;
}

export type BackendChoice = 'wasm' | 'webgpu';
export type Mode = 'single' | 'race';

/** Everything the page is set to; it round-trips through the URL's query string. */
export interface PlaygroundConfig {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly backend: BackendChoice;
  readonly mode: Mode;
  /** Playback: milliseconds per verification step when showing events (0 = as fast as they come). */
  readonly pace: number;
  readonly a: SideConfig;
  readonly b: SideConfig;
  /** A hub model to load by id (`org/name[@revision]`), or '' for the built-in stories260K. */
  readonly hubModel: string;
  /** Graph dtype of the hub model (transformers.js naming). */
  readonly dtype: string;
  /** Hub base URL the hub model is downloaded from. */
  readonly hubEndpoint: string;
}

/** The hub models are downloaded from unless the page says otherwise. */
export const defaultHubEndpoint = 'https://huggingface.co';
/** The dtypes the model field offers (transformers.js file naming). */
export const hubDtypes: readonly string[] = Object.keys(HUB_DTYPES);

/** An http(s) URL without a trailing slash, or undefined when `text` is not one. */
export function parseEndpoint(text: string): string | undefined {
  try {
    const url = new URL(text.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.href.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

export const defaultPrompt = 'Once upon a time';
export const maxTokensLimit = 500;
export const paceLimit = 1000;

export function defaultSide(strategy = 'autoregressive'): SideConfig {
  return {
    strategy,
    options: {},
    processors: [],
    sampling: Object.fromEntries(samplingFields.map(field => [field.key, field.default])),
  };
}

export function defaultConfig(): PlaygroundConfig {
  return {
    prompt: defaultPrompt,
    maxTokens: 128,
    backend: 'wasm',
    mode: 'single',
    pace: 0,
    a: defaultSide('token-recycling'),
    b: defaultSide('autoregressive'),
    hubModel: '',
    dtype: 'fp32',
    hubEndpoint: defaultHubEndpoint,
  };
}

/** The value of a field, parsed from text and kept in range; undefined when it does not parse. */
export function parseField(field: OptionField, text: string): OptionValue | undefined {
  switch (field.kind) {
    case 'int':
    case 'number': {
      if (text.trim() === '') return undefined;
      const value = Number(text);
      if (!Number.isFinite(value)) return undefined;
      const rounded = field.kind === 'int' ? Math.round(value) : value;
      return Math.min(field.max, Math.max(field.min, rounded));
    }
    case 'select':
      return field.choices.includes(text) ? text : undefined;
    case 'bool':
      return text === 'true' || text === '1'
        ? true
        : text === 'false' || text === '0'
          ? false
          : undefined;
    case 'text':
      return text.slice(0, 200);
  }
}

/** An option's value, or its default. */
export function optionValue(side: SideConfig, field: OptionField): OptionValue {
  return side.options[field.key] ?? field.default;
}

function readSide(params: URLSearchParams, prefix: string, fallback: SideConfig): SideConfig {
  const strategy =
    strategyById(params.get(`${prefix}strategy`) ?? '') ?? strategyById(fallback.strategy);
  if (!strategy) return fallback;
  const options: Record<string, OptionValue> = {};
  for (const field of fieldsOf(strategy)) {
    const text = params.get(`${prefix}opt.${field.key}`);
    if (text === null) continue;
    const value = parseField(field, text);
    if (value !== undefined) options[field.key] = value;
  }
  const processors: ProcessorChoice[] = [];
  for (const item of params.getAll(`${prefix}proc`)) {
    const colon = item.indexOf(':');
    const entry = processorById(colon < 0 ? item : item.slice(0, colon));
    if (!entry) continue;
    const value = colon < 0 ? entry.field.default : parseField(entry.field, item.slice(colon + 1));
    if (value !== undefined) processors.push({ id: entry.id, value });
  }
  const sampling: Record<string, number> = {};
  for (const field of samplingFields) {
    const text = params.get(`${prefix}${field.key}`);
    const value = text === null ? undefined : parseField(field, text);
    sampling[field.key] = typeof value === 'number' ? value : field.default;
  }
  return { strategy: strategy.id, options, processors, sampling };
}

function writeSide(params: URLSearchParams, prefix: string, side: SideConfig): void {
  params.set(`${prefix}strategy`, side.strategy);
  const strategy = strategyById(side.strategy);
  for (const field of strategy ? fieldsOf(strategy) : []) {
    const value = side.options[field.key];
    if (value !== undefined && value !== field.default)
      params.set(`${prefix}opt.${field.key}`, String(value));
  }
  for (const processor of side.processors)
    params.append(`${prefix}proc`, `${processor.id}:${processor.value}`);
  for (const field of samplingFields) {
    const value = side.sampling[field.key];
    if (value !== undefined && value !== field.default)
      params.set(`${prefix}${field.key}`, String(value));
  }
}

/** Reads a configuration from a query string; anything missing or invalid takes its default. */
export function configFromSearch(search: string): PlaygroundConfig {
  const params = new URLSearchParams(search);
  const defaults = defaultConfig();
  const maxTokens = Number(params.get('maxTokens'));
  const pace = Number(params.get('pace'));
  return {
    prompt: params.get('prompt') ?? defaults.prompt,
    maxTokens:
      Number.isInteger(maxTokens) && maxTokens >= 1
        ? Math.min(maxTokens, maxTokensLimit)
        : defaults.maxTokens,
    backend: params.get('backend') === 'webgpu' ? 'webgpu' : 'wasm',
    mode: params.get('mode') === 'race' ? 'race' : 'single',
    pace: Number.isFinite(pace) && pace > 0 ? Math.min(pace, paceLimit) : 0,
    a: readSide(params, '', defaults.a),
    b: readSide(params, 'b.', defaults.b),
    hubModel: isHubId(params.get('model') ?? '') ? (params.get('model') ?? '') : '',
    dtype: hubDtypes.includes(params.get('dtype') ?? '')
      ? (params.get('dtype') ?? defaults.dtype)
      : defaults.dtype,
    hubEndpoint: parseEndpoint(params.get('hub') ?? '') ?? defaults.hubEndpoint,
  };
}

/** The query string of a configuration (without the leading '?'). */
export function configToSearch(config: PlaygroundConfig): string {
  const params = new URLSearchParams();
  params.set('prompt', config.prompt);
  params.set('maxTokens', String(config.maxTokens));
  if (config.backend !== 'wasm') params.set('backend', config.backend);
  if (config.mode !== 'single') params.set('mode', config.mode);
  if (config.pace > 0) params.set('pace', String(config.pace));
  if (config.hubModel !== '') {
    params.set('model', config.hubModel);
    if (config.dtype !== 'fp32') params.set('dtype', config.dtype);
    if (config.hubEndpoint !== defaultHubEndpoint) params.set('hub', config.hubEndpoint);
  }
  writeSide(params, '', config.a);
  if (config.mode === 'race') writeSide(params, 'b.', config.b);
  return params.toString();
}
