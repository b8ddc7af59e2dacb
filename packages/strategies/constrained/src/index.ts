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
  normalizeJsonSchema,
  outputConstraint,
  parseToolCall,
  toolCallReader,
  toolCallSchema,
  toolCalls,
  toolInstruction,
  validateTools,
} from './tool-calls.js';
export type {
  OutputFormat,
  ParsedToolCall as GeneratedToolCall,
  ToolCallReader,
  ToolDefinition,
} from './tool-calls.js';
export {
  DEFAULT_TOOL_CALL_FORMAT,
  formatToolCalls,
  parseToolCalls,
  toolCallConstraint,
  toolCallStream,
  toolPrompt,
} from './tool-call.js';
export type {
  ParsedToolCall,
  ToolCallConstraintOptions,
  ToolCallDelta,
  ToolCallFormat,
  ToolCallStream,
  ToolChoice,
  ToolPromptOptions,
  ToolSpec,
} from './tool-call.js';
