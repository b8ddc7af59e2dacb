export { swift } from './swift.js';
export type { SwiftOptions, SwiftSearchState, SwiftStrategy } from './swift.js';
export { BayesSearch } from './bayes-search.js';
export { swiftDescriptor } from './descriptor.js';
