export { renderPlainChat } from './chat-template.js';
export { createTokenizer, type CreateTokenizerOptions } from './create-tokenizer.js';
export {
  createIncrementalDecoder,
  type IncrementalDecoder,
  type IncrementalDecoderOptions,
} from './incremental-decoder.js';
