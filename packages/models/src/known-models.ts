/** One pinned file of a known model. */
export interface KnownFile {
  /** File name inside the mirror folder and the cache. */
  readonly file: string;
  /** Pinned download URL (a fixed revision, never a branch). */
  readonly url: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** A model the resolver can fetch by id: llama2.c files converted on first use. */
export interface KnownModel {
  readonly ref: string;
  /** Other ids that mean the same model. */
  readonly aliases: readonly string[];
  /** Folder of the files inside an offline mirror (`DECODEKIT_MODELS`). */
  readonly mirrorPath: string;
  readonly checkpoint: KnownFile;
  readonly tokenizer: KnownFile;
  readonly license: string;
  readonly description: string;
}

const TINYLLAMAS =
  'https://huggingface.co/karpathy/tinyllamas/resolve/0bd21da7698eaf29a0d7de3992de8a46ef624add';

const TOK512: KnownFile = {
  file: 'tok512.bin',
  url: `${TINYLLAMAS}/stories260K/tok512.bin`,
  sha256: '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312',
  bytes: 6227,
};

/** Models known by id, with pinned URLs and sha256 (see the models README for credits and licences). */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    ref: 'karpathy/tinyllamas/stories260K',
    aliases: ['stories260K'],
    mirrorPath: 'karpathy/tinyllamas/stories260K',
    checkpoint: {
      file: 'stories260K.bin',
      url: `${TINYLLAMAS}/stories260K/stories260K.bin`,
      sha256: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696',
      bytes: 1056540,
    },
    tokenizer: TOK512,
    license: 'MIT (Andrej Karpathy, llama2.c / tinyllamas)',
    description:
      'Llama-2 architecture trained on TinyStories: dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512, context 512.',
  },
  {
    ref: 'llama2xs',
    aliases: ['saltyduckegg/llama2xs.c', 'saltyduckegg/llama2xs'],
    mirrorPath: 'llama2xs',
    checkpoint: {
      file: 'model.bin',
      url: 'https://raw.githubusercontent.com/saltyduckegg/llama2xs.c/31ec9eb758c41319858bbba19e5a0202e155b87f/out/model.bin',
      sha256: 'b1e0376c2456e18f294ffe062a2b44e5cb2e207c8aa53538209d2689122ea641',
      bytes: 1125148,
    },
    tokenizer: TOK512,
    license: 'MIT (saltyduckegg/llama2xs.c)',
    description:
      'A weaker TinyStories model with the tok512 vocabulary (dim 64, hidden 192, context 256): a draft model.',
  },
];

/** The known model with this id or alias, if any. */
export function findKnownModel(ref: string): KnownModel | undefined {
  return KNOWN_MODELS.find(model => model.ref === ref || model.aliases.includes(ref));
}
