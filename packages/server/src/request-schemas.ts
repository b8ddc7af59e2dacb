/**
 * JSON Schemas of the request bodies, checked by Fastify (Ajv) before a handler runs; a failure is a 400
 * in OpenAI's error shape. Unknown fields are allowed (clients send `user`, `metadata`, ...) and ignored.
 */

const stop = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
    { type: 'null' },
  ],
} as const;

const sampling = {
  model: { type: 'string', minLength: 1 },
  max_tokens: { type: ['integer', 'null'], minimum: 1 },
  temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
  top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
  n: { type: ['integer', 'null'], minimum: 1, maximum: 16 },
  stream: { type: ['boolean', 'null'] },
  stream_options: {
    anyOf: [
      { type: 'object', properties: { include_usage: { type: 'boolean' } } },
      { type: 'null' },
    ],
  },
  stop,
  seed: { type: ['integer', 'null'] },
  presence_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
  frequency_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
  decodekit: {
    type: 'object',
    properties: { strategy: { type: 'string', minLength: 1 }, ignore_eos: { type: 'boolean' } },
    additionalProperties: false,
  },
} as const;

const textPart = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: { type: 'string' } },
} as const;

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', items: textPart }] },
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    tool_calls: {
      type: 'array',
      items: {
        type: 'object',
        required: ['function'],
        properties: {
          id: { type: 'string' },
          type: { const: 'function' },
          function: {
            type: 'object',
            required: ['name', 'arguments'],
            properties: { name: { type: 'string' }, arguments: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

const tool = {
  type: 'object',
  required: ['type', 'function'],
  properties: {
    type: { const: 'function' },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1 },
        description: { type: 'string' },
        parameters: { type: 'object' },
        strict: { type: ['boolean', 'null'] },
      },
    },
  },
} as const;

/** `POST /v1/chat/completions`. */
export const chatCompletionSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    ...sampling,
    max_completion_tokens: { type: ['integer', 'null'], minimum: 1 },
    messages: { type: 'array', minItems: 1, items: message },
    logprobs: { type: ['boolean', 'null'] },
    top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            schema: { anyOf: [{ type: 'object' }, { type: 'boolean' }] },
            strict: { type: ['boolean', 'null'] },
          },
        },
      },
    },
    tools: { type: 'array', items: tool },
    tool_choice: {
      anyOf: [
        { enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type', 'function'],
          properties: {
            type: { const: 'function' },
            function: {
              type: 'object',
              required: ['name'],
              properties: { name: { type: 'string' } },
            },
          },
        },
      ],
    },
    parallel_tool_calls: { type: ['boolean', 'null'] },
  },
} as const;

/** `POST /v1/completions`. */
export const completionSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    ...sampling,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, items: { type: 'string' } },
        { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
        {
          type: 'array',
          minItems: 1,
          items: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
        },
      ],
    },
    logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
    echo: { type: ['boolean', 'null'] },
    suffix: { type: ['string', 'null'] },
    best_of: { type: ['integer', 'null'], minimum: 1 },
  },
} as const;

/** A chat message as OpenAI clients send it. */
export interface ChatMessageBody {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content?: string | null | { type: 'text'; text: string }[];
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id?: string; type?: 'function'; function: { name: string; arguments: string } }[];
}

/** Fields both endpoints share. */
export interface SamplingBody {
  model: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  /** decodekit's extension: `{ strategy: 'prompt-lookup' }` picks one of the server's strategies. */
  decodekit?: {
    strategy?: string;
    /** Keep generating past EOS until max_tokens (vLLM's `ignore_eos`; benchmarks and load tests). */
    ignore_eos?: boolean;
  };
}

/** The body of `POST /v1/chat/completions`. */
export interface ChatCompletionBody extends SamplingBody {
  max_completion_tokens?: number | null;
  messages: ChatMessageBody[];
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: {
    type: 'text' | 'json_object' | 'json_schema';
    json_schema?: {
      name: string;
      schema?: Record<string, unknown> | boolean;
      strict?: boolean | null;
    };
  };
  tools?: {
    type: 'function';
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
  }[];
  tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean | null;
}

/** The body of `POST /v1/completions`. */
export interface CompletionBody extends SamplingBody {
  prompt: string | string[] | number[] | number[][];
  logprobs?: number | null;
  echo?: boolean | null;
  suffix?: string | null;
  best_of?: number | null;
}
