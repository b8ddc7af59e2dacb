export { CPPD_END_TOKEN, PADDLE_EN_CHARACTERS, cppd, cppdCharset, cppdDecode } from './cppd.js';
export type { CppdDecoder, CppdOptions, CppdResult, NarModel, NarOutput } from './cppd.js';
