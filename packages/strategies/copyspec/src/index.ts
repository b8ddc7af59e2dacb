export { copyspec } from './copyspec.js';
export type { CopySpecDrafter, CopySpecOptions, CopySpecStats } from './copyspec.js';
export { CopyIndex } from './copy-index.js';
export { copyspecDescriptor } from './descriptor.js';
