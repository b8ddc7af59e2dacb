import { loadModel } from '@decodekit/backend-onnx';
import { speculative, type LoadedModel, type LogitsProcessor } from '@decodekit/core';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type DecodekitServer } from './index.js';

// Real clients against a real listener on 127.0.0.1, with stories260K from DECODEKIT_MODELS.
const MODEL = 'stories260K';
let model: LoadedModel;
let server: DecodekitServer;
let client: OpenAI;
let baseURL: string;

/** Counts (and slows) decode steps, so a test can tell that an aborted generation really stopped. */
const steps = { count: 0 };
const countingProcessor: LogitsProcessor<undefined> = {
  name: 'counting',
  init: () => undefined,
  advance: state => state,
  process() {
    steps.count++;
    const until = performance.now() + 2;
    while (performance.now() < until); // 2 ms per step: a 400-token generation takes about a second
  },
};

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  server = await createServer({
    models: { [MODEL]: model },
    strategies: {
      'prompt-lookup': () => speculative({ drafter: promptLookup() }),
      counting: () => ({ processors: [countingProcessor] }),
    },
    concurrency: 1,
    maxQueued: 2,
  });
  baseURL = `${await server.listen({ host: '127.0.0.1', port: 0 })}/v1`;
  client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await model?.dispose();
});

const story = [{ role: 'user' as const, content: 'Once upon a time, there was a little cat.' }];

describe('decodekit serve with the openai client', () => {
  it('lists the models', async () => {
    const page = await client.models.list();
    expect(page.data.map(entry => entry.id)).toEqual([MODEL]);
  });

  it('answers a chat completion, and streams the same text', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0,
      max_tokens: 40,
    });
    const text = completion.choices[0].message.content ?? '';
    expect(text.length).toBeGreaterThan(10);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(40);
    expect(completion.usage?.prompt_tokens).toBe(
      model.tokenizer.encode(model.tokenizer.applyChatTemplate(story)).length,
    );

    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0,
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      chunks++;
      streamed += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(streamed).toBe(text);
    expect(chunks).toBeGreaterThan(5);
    expect(finish).toBe(completion.choices[0].finish_reason);
    expect(usage?.completion_tokens).toBe(completion.usage?.completion_tokens);
  });

  it('answers text completions, several prompts times n', async () => {
    const completion = await client.completions.create({
      model: MODEL,
      prompt: ['Once upon a time', 'The dog'],
      max_tokens: 12,
      temperature: 0,
      n: 2,
    });
    expect(completion.choices.map(choice => choice.index)).toEqual([0, 1, 2, 3]);
    expect(completion.choices[0].text).toBe(completion.choices[1].text); // greedy: both choices agree
    expect(completion.choices[0].text).not.toBe(completion.choices[2].text);
  });

  it('constrains the answer to a JSON schema (response_format json_schema)', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 12 },
        age: { type: 'integer', minimum: 1, maximum: 99 },
        pet: { enum: ['cat', 'dog'] },
      },
      required: ['name', 'age', 'pet'],
      additionalProperties: false,
    };
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: story,
        temperature: 1,
        seed,
        max_tokens: 60,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'person', schema, strict: true },
        },
      });
      const value = JSON.parse(completion.choices[0].message.content ?? '');
      expect(Object.keys(value)).toEqual(['name', 'age', 'pet']);
      expect(value.name.length).toBeLessThanOrEqual(12);
      expect(Number.isInteger(value.age) && value.age >= 1 && value.age <= 99).toBe(true);
      expect(['cat', 'dog']).toContain(value.pet);
    }
  });

  const weather: OpenAI.ChatCompletionTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city.',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string', maxLength: 10 },
          days: { type: 'integer', minimum: 1, maximum: 7 },
        },
        required: ['city', 'days'],
      },
    },
  };
  const add: OpenAI.ChatCompletionTool = {
    type: 'function',
    function: {
      name: 'add',
      parameters: {
        type: 'object',
        properties: { a: { type: 'integer' }, b: { type: 'integer' } },
        required: ['a', 'b'],
      },
    },
  };

  it('calls a tool with arguments valid under its schema, honouring tool_choice', async () => {
    const required = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0.8,
      seed: 3,
      max_tokens: 60,
      tools: [weather, add],
      tool_choice: 'required',
    });
    const [call] = required.choices[0].message.tool_calls ?? [];
    expect(required.choices[0].finish_reason).toBe('tool_calls');
    expect(call.type).toBe('function');
    expect(['get_weather', 'add']).toContain(
      (call as OpenAI.ChatCompletionMessageFunctionToolCall).function.name,
    );

    const named = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0.8,
      seed: 5,
      max_tokens: 60,
      tools: [weather, add],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const namedCall = named.choices[0].message
      .tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(namedCall.function.name).toBe('get_weather');
    const args = JSON.parse(namedCall.function.arguments);
    expect(typeof args.city).toBe('string');
    expect(args.city.length).toBeLessThanOrEqual(10);
    expect(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7).toBe(true);

    // A conversation with the call and its result renders and continues; "none" answers in text.
    const followUp = await client.chat.completions.create({
      model: MODEL,
      temperature: 0,
      max_tokens: 20,
      tools: [weather],
      tool_choice: 'none',
      messages: [
        ...story,
        named.choices[0].message,
        { role: 'tool', tool_call_id: namedCall.id, content: 'sunny' },
      ],
    });
    expect(followUp.choices[0].message.tool_calls ?? []).toEqual([]);
    expect(followUp.choices[0].message.content?.length).toBeGreaterThan(0);
  });

  it('streams a tool call as tool_calls deltas: the name first, then the arguments as they are generated', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0,
      max_tokens: 60,
      tools: [add],
      tool_choice: 'required',
      stream: true,
    });
    let name = '';
    let args = '';
    let argumentChunks = 0;
    const ids = new Set<string>();
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(delta.index).toBe(0);
        if (delta.id) ids.add(delta.id);
        name += delta.function?.name ?? '';
        if (delta.function?.arguments) argumentChunks++;
        args += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('add');
    expect(ids.size).toBe(1);
    expect(argumentChunks).toBeGreaterThan(2);
    const parsed = JSON.parse(args);
    expect(Number.isInteger(parsed.a) && Number.isInteger(parsed.b)).toBe(true);
    expect(finish).toBe('tool_calls');
  });

  it('stops before a stop string', async () => {
    const full = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 40,
      temperature: 0,
    });
    const text = full.choices[0].text;
    const words = text.trim().split(/\s+/);
    const stop = ` ${words[Math.floor(words.length / 2)]}`;
    const cut = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 40,
      temperature: 0,
      stop: [stop],
    });
    expect(cut.choices[0].text).toBe(text.slice(0, text.indexOf(stop)));
    expect(cut.choices[0].finish_reason).toBe('stop');
  });

  it('samples reproducibly with a seed, and n choices differ', async () => {
    const request = {
      model: MODEL,
      messages: story,
      temperature: 1,
      max_tokens: 30,
      seed: 1234,
      n: 2,
    };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    expect(second.choices.map(choice => choice.message.content)).toEqual(
      first.choices.map(choice => choice.message.content),
    );
    expect(first.choices[0].message.content).not.toBe(first.choices[1].message.content);
    const other = await client.chat.completions.create({ ...request, seed: 99 });
    expect(other.choices[0].message.content).not.toBe(first.choices[0].message.content);
  });

  it('returns log-probabilities of the chosen tokens and the top alternatives', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: story,
      temperature: 0,
      max_tokens: 10,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = completion.choices[0].logprobs?.content ?? [];
    expect(content.length).toBe(completion.usage?.completion_tokens);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      expect(entry.top_logprobs[0].logprob).toBeGreaterThanOrEqual(entry.top_logprobs[1].logprob);
      expect(entry.top_logprobs[0].logprob).toBeCloseTo(entry.logprob, 5); // greedy picks the most likely token
    }
    expect(content.map(entry => entry.token).join('')).toContain(
      (completion.choices[0].message.content ?? '').slice(0, 5),
    );
  });

  it('picks a strategy through the decodekit extension field (same greedy text, τ in /metrics)', async () => {
    const plain = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 60,
      temperature: 0,
    });
    const fast = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 60,
      temperature: 0,
      // @ts-expect-error decodekit's extension field
      decodekit: { strategy: 'prompt-lookup' },
    });
    expect(fast.choices[0].text).toBe(plain.choices[0].text);
    expect(fast.system_fingerprint).toBe('decodekit-prompt-lookup');
    const metrics = await (await fetch(`${baseURL.replace('/v1', '')}/metrics`)).text();
    expect(metrics).toMatch(
      /decodekit_mean_accepted_tokens_count\{model="stories260K",strategy="prompt-lookup"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /decodekit_generated_tokens_total\{model="stories260K",strategy="autoregressive"\} [1-9]/,
    );
    expect(metrics).toContain('decodekit_queue_depth 0');
  });

  it('builds catalogue strategies named NAME[:key=value,...], options checked like everywhere else', async () => {
    const plain = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 40,
      temperature: 0,
    });
    for (const strategy of [
      'token-recycling:topK=4,budget=16',
      'lookahead:windowSize=3',
      'greedy',
    ]) {
      const fast = await client.completions.create({
        model: MODEL,
        prompt: 'Once upon a time',
        max_tokens: 40,
        temperature: 0,
        // @ts-expect-error decodekit's extension field
        decodekit: { strategy },
      });
      expect({ strategy, text: fast.choices[0].text }).toEqual({
        strategy,
        text: plain.choices[0].text,
      });
    }
    const cases: [string, RegExp][] = [
      ['token-recycling:topK=0', /"token-recycling" option "topK" must be in 1\.\.64, got 0/],
      [
        'token-recycling:width=3',
        /"token-recycling" has no option "width"; it accepts: budget, adaptive, topK/,
      ],
      ['prompt-lookup:prefer', /expected key=value, got "prefer"/],
      ['draft-model', /"draft-model" needs a draft model/],
      ['aded:store=/etc/hostname', /no file access/],
    ];
    for (const [strategy, message] of cases) {
      const error = await client.chat.completions
        .create({ model: MODEL, messages: story, decodekit: { strategy } } as never)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect({ strategy, status: (error as InstanceType<typeof OpenAI.APIError>).status }).toEqual({
        strategy,
        status: 400,
      });
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(message);
    }
  });

  it('rejects bad requests with OpenAI-style errors', async () => {
    const cases: [Record<string, unknown>, number, RegExp, string?][] = [
      [{ model: MODEL, messages: story, temperature: 5 }, 400, /temperature/, 'temperature'],
      [{ model: MODEL }, 400, /messages/, 'messages'],
      [
        { model: MODEL, messages: [{ role: 'robot', content: 'hi' }] },
        400,
        /role/,
        'messages.0.role',
      ],
      [{ model: 'gpt-4o', messages: story }, 404, /does not exist/],
      [
        { model: MODEL, messages: story, decodekit: { strategy: 'warp-drive' } },
        400,
        /unknown strategy "warp-drive"/,
      ],
      [{ model: MODEL, messages: story, max_tokens: 100_000 }, 400, /context/],
      [
        {
          model: MODEL,
          messages: story,
          tools: [add],
          tool_choice: { type: 'function', function: { name: 'nope' } },
        },
        400,
        /nope/,
      ],
      [
        {
          model: MODEL,
          messages: story,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'x', schema: { type: 'string', format: 'email' } },
          },
        },
        400,
        /format/,
      ],
    ];
    for (const [body, status, message, param] of cases) {
      const error = await client.chat.completions.create(body as never).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(message);
      expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('invalid_request_error');
      if (param) expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe(param);
    }
  });

  it('refuses with 429 when the queue is full, and serves the rest', async () => {
    // concurrency 1 + maxQueued 2: of 6 simultaneous slow requests, 3 are served and 3 refused at once.
    const slow = {
      model: MODEL,
      prompt: 'Once',
      max_tokens: 60,
      temperature: 0,
      decodekit: { strategy: 'counting', ignore_eos: true },
    };
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => client.completions.create(slow as never)),
    );
    const refused = results.filter(result => result.status === 'rejected');
    expect(results.filter(result => result.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const result of refused) {
      const error = (result as PromiseRejectedResult).reason as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(error.status).toBe(429);
      expect(error.headers?.get('retry-after')).toBe('1');
    }
    const metrics = await (await fetch(`${baseURL.replace('/v1', '')}/metrics`)).text();
    expect(metrics).toMatch(
      /decodekit_http_requests_total\{endpoint="\/v1\/completions",status="429"\} 3/,
    );
  });

  it('aborts the generation when the client disconnects', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: MODEL,
        messages: story,
        temperature: 0,
        max_tokens: 400,
        stream: true,
        decodekit: { strategy: 'counting', ignore_eos: true },
      } as never,
      { signal: controller.signal },
    );
    const before = steps.count;
    let received = 0;
    try {
      for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 3) controller.abort();
      }
    } catch (error) {
      expect((error as Error).name).toMatch(/Abort/);
    }
    expect(received).toBe(3);
    const deadline = performance.now() + 5000;
    while (server.queue.active > 0 && performance.now() < deadline)
      await new Promise(resolve => setTimeout(resolve, 10));
    expect(server.queue.active).toBe(0);
    const stopped = steps.count;
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(steps.count).toBe(stopped); // nothing runs any more
    expect(stopped - before).toBeLessThan(300); // far from the 400 steps a finished generation takes
  });

  it('reports health', async () => {
    const health = await (await fetch(`${baseURL.replace('/v1', '')}/health`)).json();
    expect(health).toEqual({
      status: 'ok',
      models: [MODEL],
      queue: { active: 0, queued: 0, capacity: 2 },
    });
  });
});

describe('graceful shutdown', () => {
  it('finishes running requests, refuses new ones, then closes', async () => {
    const local = await createServer({
      models: { [MODEL]: model },
      strategies: { counting: () => ({ processors: [countingProcessor] }) },
    });
    const url = await local.listen({ host: '127.0.0.1', port: 0 });
    const localClient = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const running = localClient.completions.create({
      model: MODEL,
      prompt: 'Once',
      max_tokens: 100,
      temperature: 0,
      decodekit: { strategy: 'counting', ignore_eos: true },
    } as never);
    const deadline = performance.now() + 5000;
    while (local.queue.active === 0 && performance.now() < deadline)
      await new Promise(resolve => setTimeout(resolve, 5));
    expect(local.queue.active).toBe(1);
    const closed = local.close();
    const late = await fetch(`${url}/health`).then(
      response => response.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(late);
    const completion = await running;
    expect(completion.usage?.completion_tokens).toBe(100);
    expect(local.close()).toBe(closed); // closing twice waits for the same shutdown
    await closed;
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
