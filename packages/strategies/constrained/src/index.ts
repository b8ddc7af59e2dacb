export { jsonSchema } from './json-schema.js';
export { regex } from './regex.js';
export { grammar } from './grammar.js';
export type { GrammarOptions } from './grammar.js';
export { constraintFromCli } from './constraint-from-cli.js';
export type { CliConstraintOptions } from './constraint-from-cli.js';
export type {
  ConstraintOptions,
  ConstraintProcessor,
  ConstraintState,
} from './constraint-processor.js';
export { ConstraintDeadEndError, ConstraintViolationError } from './errors.js';
export {
  ANNOTATION_KEYWORDS,
  SUPPORTED_KEYWORDS,
  unsupportedSchemaFeatures,
} from './json-schema-compiler.js';
export type { JsonSchema } from './json-schema-compiler.js';
export {
  DEFAULT_TOOL_CALL_FORMAT,
  JSON_TOOL_CALL_FORMAT,
  formatToolCalls,
  normalizeJsonSchema,
  outputConstraint,
  parseToolCalls,
  readToolCalls,
  toolCallConstraint,
  toolCallStream,
  toolPrompt,
  validateTools,
  withToolPrompt,
} from './tool-calls.js';
export type {
  OutputFormat,
  ParsedToolCall,
  ToolAnswerDelta,
  ToolCallConstraintOptions,
  ToolCallDelta,
  ToolCallFormat,
  ToolCallStream,
  ToolChoice,
  ToolDefinition,
  ToolPromptOptions,
} from './tool-calls.js';
