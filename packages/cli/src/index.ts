export { createProgram } from './program.js';
export { parseStrategySpec } from './strategy-spec.js';
