/**
 * @decodekit/models/node — everything from the browser-safe entry plus the Node-only parts: model
 * resolution (folder, cache, mirrors, download), folder reading and atomic writing, the llama2.c folder
 * converter.
 */
export * from './index.js';
export type { ConvertLlama2cToFolderOptions } from './convert-llama2c-node.js';
export { convertLlama2cToFolder } from './convert-llama2c-node.js';
export type { ConvertLlama2cTwinOptions, ConvertedTwin } from './convert-twin-node.js';
export { TWIN_DATA_FILE, convertLlama2cToTwin } from './convert-twin-node.js';
export type { WriteModelFolderOptions } from './write-model-folder.js';
export { writeModelFolder } from './write-model-folder.js';
export type { Llama2cFolder } from './model-folder.js';
export {
  ONNX_PATH,
  findLlama2cFiles,
  isModelFolder,
  readModelFiles,
  tokenizerVocabSize,
  validateModelFolder,
} from './model-folder.js';
export type { DownloadProgress } from './download-file.js';
export type { CachedModel, ResolveModelOptions } from './resolve-model.js';
export {
  defaultCacheDir,
  defaultMirrors,
  hubOptionsFromEnv,
  listModels,
  LLAMA2C_MANIFEST,
  resolveModel,
} from './resolve-model.js';
export type { HubBlobRequest } from './hub-download-node.js';
export { downloadHubBlob } from './hub-download-node.js';
export type { HubDownloadProgress, HubModel, ResolveHubModelOptions } from './resolve-hub-model.js';
export { findCachedHubModel, folderForDtype, resolveHubModel } from './resolve-hub-model.js';
export type {
  AddTreeAttentionToFolderOptions,
  TreeAttentionFolder,
} from './tree-attention-node.js';
export { addTreeAttentionToFolder } from './tree-attention-node.js';
