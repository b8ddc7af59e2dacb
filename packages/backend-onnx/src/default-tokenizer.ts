import { createTokenizer } from '@decodekit/core';
import type { TokenizerFactory } from './onnx-backend';

/** core's tokenizer (tokenizer.json through @huggingface/tokenizers). */
export const defaultTokenizerFactory: TokenizerFactory = createTokenizer;
