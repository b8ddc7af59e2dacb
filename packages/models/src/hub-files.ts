import { InvalidArgumentError, invariant, ModelNotFoundError } from '@decodekit/core';

/**
 * Graph dtypes by transformers.js' file naming: `onnx/model{suffix}.onnx` (and the older
 * `onnx/decoder_model_merged{suffix}.onnx`).
 */
export const HUB_DTYPES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;

/** A graph dtype name (`fp32`, `fp16`, `q8`, `int8`, `uint8`, `q4`, `q4f16`, `bnb4`). */
export type HubDtype = keyof typeof HUB_DTYPES;

/** One file of a hub repository, as the hub API lists it. */
export interface HubSibling {
  /** Path inside the repository. */
  readonly path: string;
  /** Size in bytes, when listed. */
  readonly size?: number;
  /** sha256 (hex) of an LFS file: its LFS oid. */
  readonly sha256?: string;
  /** Git blob id (sha1 hex) of the file. */
  readonly blobId?: string;
}

/** What {@link selectHubFiles} picked. */
export interface HubFileSelection {
  /** `transformers.js` (config.json + onnx/ graphs) or `genai` (an onnxruntime-genai folder). */
  readonly layout: 'transformers.js' | 'genai';
  /** The dtype picked (`undefined` for a genai folder, whose graph has one dtype). */
  readonly dtype?: HubDtype;
  /** Repository path of the main graph. */
  readonly graph: string;
  /**
   * Repository path of an encoder-decoder export's encoder (`onnx/encoder_model{_dtype}.onnx`, the same dtype
   * as the decoder), when the picked graph is a decoder and the repository has one.
   */
  readonly encoder?: string;
  /** Every file to fetch: the graph(s), their external data, config and tokenizer files. */
  readonly files: readonly HubSibling[];
}

/** Options of {@link selectHubFiles}. */
export interface SelectHubFilesOptions {
  /** Which graph to pick (default `fp32`, i.e. `onnx/model.onnx`). Ignored for genai folders. */
  readonly dtype?: string;
  /** Folder inside the repository holding the model (for repos with several genai folders). */
  readonly subfolder?: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** External data of a graph: `x.onnx_data`, `x.onnx.data`, and numbered shards (`x.onnx_data_1`, ...). */
function externalDataOf(graph: string, siblings: readonly HubSibling[]): HubSibling[] {
  const pattern = new RegExp(`^${escapeRegExp(graph)}(_data|\\.data)(_\\d+)?$`);
  return siblings.filter(sibling => pattern.test(sibling.path));
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Config, generation, tokenizer and chat-template files directly inside `folder`. */
function metadataFiles(folder: string, siblings: readonly HubSibling[]): HubSibling[] {
  return siblings.filter(
    sibling =>
      folderOf(sibling.path) === folder &&
      /\.(json|jinja|txt)$/.test(sibling.path) &&
      !/(^|\/)README/i.test(sibling.path),
  );
}

/** Checks a dtype name. */
export function parseHubDtype(dtype: string): HubDtype {
  if (!Object.hasOwn(HUB_DTYPES, dtype)) {
    throw new InvalidArgumentError({
      argument: 'dtype',
      message: `unknown dtype "${dtype}"; use one of ${Object.keys(HUB_DTYPES).join(', ')}.`,
    });
  }
  return dtype as HubDtype;
}

/** The dtypes a repository offers under `onnx/` (transformers.js naming). */
export function availableHubDtypes(
  siblings: readonly HubSibling[],
  subfolder = 'onnx',
): HubDtype[] {
  const paths = new Set(siblings.map(sibling => sibling.path));
  return (Object.entries(HUB_DTYPES) as [HubDtype, string][])
    .filter(([, suffix]) =>
      ['model', 'decoder_model_merged'].some(base =>
        paths.has(`${subfolder}/${base}${suffix}.onnx`),
      ),
    )
    .map(([dtype]) => dtype);
}

/**
 * Picks the files decodekit needs from a repository listing: for a transformers.js layout, the graph for
 * `dtype` (`onnx/model{suffix}.onnx`, else the older `onnx/decoder_model_merged{suffix}.onnx`, else the split
 * `decoder_model{suffix}` + `decoder_with_past_model{suffix}` pair) with its external data and the root
 * config/tokenizer files; for an onnxruntime-genai folder (`genai_config.json`), every file of that folder.
 *
 * @throws ModelNotFoundError when the repository has no graph for `dtype` (the message lists those it has);
 *   InvalidArgumentError for an unknown dtype or an ambiguous genai repository
 */
export function selectHubFiles(
  ref: string,
  siblings: readonly HubSibling[],
  options: SelectHubFilesOptions = {},
): HubFileSelection {
  const subfolder = options.subfolder?.replace(/^\/+|\/+$/g, '');
  const byPath = new Map(siblings.map(sibling => [sibling.path, sibling]));
  const prefix = subfolder ? `${subfolder}/` : '';
  const onnxFolder = `${prefix}onnx`;
  const hasTransformersLayout = siblings.some(
    sibling => sibling.path.startsWith(`${onnxFolder}/`) && sibling.path.endsWith('.onnx'),
  );

  if (!hasTransformersLayout) {
    const genaiFolders = siblings
      .filter(
        sibling =>
          sibling.path === `${prefix}genai_config.json` ||
          (!subfolder && sibling.path.endsWith('/genai_config.json')),
      )
      .map(sibling => folderOf(sibling.path));
    if (genaiFolders.length > 1) {
      throw new InvalidArgumentError({
        argument: 'subfolder',
        message: `"${ref}" holds several onnxruntime-genai folders (${genaiFolders.join(', ')}); pick one with the subfolder option.`,
      });
    }
    if (genaiFolders.length === 1) {
      const folder = genaiFolders[0];
      const files = siblings.filter(
        sibling => folderOf(sibling.path) === folder && !/(^|\/)README/i.test(sibling.path),
      );
      const graphs = files.filter(sibling => sibling.path.endsWith('.onnx'));
      if (graphs.length > 0) {
        return { layout: 'genai', graph: graphs[0].path, files };
      }
    }
    throw new ModelNotFoundError({
      ref,
      searched: [`${onnxFolder}/*.onnx`, `${prefix || '*/'}genai_config.json`],
      hint: `"${ref}" has neither ONNX graphs under ${onnxFolder}/ (transformers.js layout) nor an onnxruntime-genai folder. Pick a repository with an ONNX export (e.g. from onnx-community) or export the model first.`,
    });
  }

  const dtype = parseHubDtype(options.dtype ?? 'fp32');
  const suffix = HUB_DTYPES[dtype];
  const candidates = [
    [`model${suffix}`],
    [`decoder_model_merged${suffix}`],
    [`decoder_model${suffix}`, `decoder_with_past_model${suffix}`],
  ].map(bases => bases.map(base => `${onnxFolder}/${base}.onnx`));
  const graphs = candidates.find(paths => paths.every(path => byPath.has(path)));
  if (!graphs) {
    const available = availableHubDtypes(siblings, onnxFolder);
    throw new ModelNotFoundError({
      ref,
      searched: candidates.flat(),
      hint: `"${ref}" has no ${dtype} graph. It offers: ${available.length > 0 ? available.join(', ') : 'no transformers.js-named graph'}. Pass one of those as dtype (--dtype on the CLI).`,
    });
  }
  // An encoder-decoder export (optimum / transformers.js seq2seq): the encoder of the same dtype comes along.
  const encoderPath = `${onnxFolder}/encoder_model${suffix}.onnx`;
  const isDecoder = !graphs[0].endsWith(`/model${suffix}.onnx`);
  const encoder = isDecoder && byPath.has(encoderPath) ? encoderPath : undefined;
  if (isDecoder && encoder === undefined) {
    const otherEncoders = siblings
      .map(sibling => sibling.path)
      .filter(path => path.startsWith(`${onnxFolder}/encoder_model`) && path.endsWith('.onnx'));
    if (otherEncoders.length > 0) {
      throw new ModelNotFoundError({
        ref,
        searched: [encoderPath],
        hint: `"${ref}" is an encoder-decoder export without a ${dtype} encoder (it has ${otherEncoders.join(', ')}). Pick the dtype of one of those (--dtype on the CLI).`,
      });
    }
  }
  const files = new Map<string, HubSibling>();
  for (const sibling of metadataFiles(subfolder ?? '', siblings)) files.set(sibling.path, sibling);
  for (const graph of encoder === undefined ? graphs : [...graphs, encoder]) {
    const sibling = byPath.get(graph);
    invariant(sibling !== undefined, `the chosen graph ${graph} is one of the siblings`);
    files.set(graph, sibling);
    for (const data of externalDataOf(graph, siblings)) files.set(data.path, data);
  }
  return {
    layout: 'transformers.js',
    dtype,
    graph: graphs[0],
    ...(encoder === undefined ? {} : { encoder }),
    files: [...files.values()],
  };
}
