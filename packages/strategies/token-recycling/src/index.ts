export { tokenRecycling } from './token-recycling.js';
export type { TokenRecyclingDrafter, TokenRecyclingOptions } from './token-recycling.js';
export { TREE_TEMPLATE_2_2_2, compileTreeTemplate } from './tree-template.js';
export type { CompiledTemplate, TreeTemplate } from './tree-template.js';
export { tokenRecyclingDescriptor } from './descriptor.js';
