export { ChatDecodekit } from './chat-decodekit.js';
export type {
  ChatDecodekitCallOptions,
  ChatDecodekitInput,
  DecodekitResponseFormat,
  DecodekitResponseMetadata,
} from './chat-decodekit.js';
export { DecodekitLLM } from './decodekit-llm.js';
export type { DecodekitLLMCallOptions, DecodekitLLMInput } from './decodekit-llm.js';
export type { DecodekitDecodeOptions } from './decode-options.js';
export { DecodekitRetriever } from './decodekit-retriever.js';
export type { DecodekitRetrieverInput } from './decodekit-retriever.js';
export { bm25Index, defaultTokenize } from './bm25-index.js';
export type {
  Bm25Index,
  Bm25Options,
  IndexDocument,
  SearchHit,
  SearchIndex,
} from './bm25-index.js';
export { JsonSchemaOutputParser } from './json-schema-output-parser.js';
export { toChatMessages } from './to-chat-messages.js';
export { DEFAULT_MODEL, disposeSharedModels } from './resolve-model.js';
export type { DecodekitModelInput } from './resolve-model.js';
