/**
 * @decodekit/models/testing — a Hugging Face-compatible hub on 127.0.0.1 for tests of code that downloads
 * models by id, and test model folders converted from the offline mirror (decodekit's own tests use them;
 * so can yours). Node only.
 */
export type { LocalHub, LocalHubFault, LocalHubRepo, LocalHubRequest } from './local-hub.js';
export { startLocalHub } from './local-hub.js';
export type { FixtureFolders, FixtureFoldersOptions } from './fixture-folders.js';
export { fixtureFolders } from './fixture-folders.js';
