export { dyspec, dyspecDrafter } from './dyspec.js';
export type { DyspecDrafter, DyspecOptions } from './dyspec.js';
export { dyspecDescriptor } from './descriptor.js';
