export { createDecodekit } from './decodekit-provider.js';
export type { DecodekitProvider, DecodekitProviderSettings } from './decodekit-provider.js';
export { DecodekitLanguageModel } from './decodekit-language-model.js';
export type { DecodekitProviderOptions } from './decodekit-language-model.js';
export { toChatMessages } from './to-chat-messages.js';
export type { StrategyFactory, StrategySetup } from './strategy-registry.js';
