export { promptLookup } from './prompt-lookup.js';
export type { PromptLookupDrafter, PromptLookupOptions } from './prompt-lookup.js';
export { promptLookupDescriptor } from './descriptor.js';
