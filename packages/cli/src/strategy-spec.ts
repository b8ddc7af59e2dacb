// The spec parser moved to @decodekit/catalog (the server and the AI SDK provider parse the same specs).
export { parseStrategySpec, type StrategySpec } from '@decodekit/catalog';
