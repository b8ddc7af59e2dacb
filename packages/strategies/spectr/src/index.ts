export { spectr, spectrDrafter } from './spectr.js';
export type { SpectrDrafter, SpectrOptions } from './spectr.js';
export { acceptanceMass, kSeqSelect, solveRho } from './k-seq.js';
export type { KSeqArgs } from './k-seq.js';
export { spectrDescriptor } from './descriptor.js';
