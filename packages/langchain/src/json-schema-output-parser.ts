import { BaseOutputParser, OutputParserException } from '@langchain/core/output_parsers';
import { Validator } from '@langchain/core/utils/json_schema';

/**
 * Parses a model's JSON text and validates it against a plain JSON Schema object (LangChain's own
 * `JsonOutputParser` does not validate). Validation uses `@cfworker/json-schema`, the validator
 * `@langchain/core` ships; the draft follows the schema's `$schema` (draft-07 or 2020-12, default 2020-12).
 */
export class JsonSchemaOutputParser<
  // oxlint-disable-next-line typescript/no-explicit-any -- matches withStructuredOutput's TOutput (LangChain's constraint): interface types have no index signature
  T extends Record<string, any> = Record<string, any>,
> extends BaseOutputParser<T> {
  static lc_name(): string {
    return 'JsonSchemaOutputParser';
  }

  lc_namespace = ['decodekit', 'output_parsers'];

  private readonly validator: Validator;

  constructor(readonly schema: Record<string, unknown>) {
    super();
    const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
    const draft = declared.includes('draft-07')
      ? '7'
      : declared.includes('2019-09')
        ? '2019-09'
        : '2020-12';
    this.validator = new Validator(schema as never, draft);
  }

  async parse(text: string): Promise<T> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new OutputParserException(
        `Model output is not JSON: ${(cause as Error).message}`,
        text,
      );
    }
    const result = this.validator.validate(value);
    if (!result.valid) {
      const details = result.errors
        .map(error => `${error.instanceLocation}: ${error.error}`)
        .join('; ');
      throw new OutputParserException(
        `Model output does not match the JSON Schema: ${details}`,
        text,
      );
    }
    return value as T;
  }

  getFormatInstructions(): string {
    return `Answer with compact JSON that validates against this JSON Schema: ${JSON.stringify(this.schema)}`;
  }
}
