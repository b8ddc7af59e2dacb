/**
 * An OpenAI-compatible server over stories260K, used by the official `openai` client: a streamed reply,
 * a JSON-schema answer and a tool call. Run: `pnpm --filter @decodekit/server example`.
 */
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { speculative } from '@decodekit/core';
import { createServer } from '@decodekit/server';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import OpenAI from 'openai';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const server = await createServer({
    models: { stories260K: model },
    strategies: { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) },
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
  try {
    write('Story: ');
    // `decodekit` is the server's extension field: it picks a decoding strategy.
    const request: OpenAI.ChatCompletionCreateParamsStreaming & {
      decodekit: { strategy: string };
    } = {
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
      max_tokens: 60,
      stream: true,
      decodekit: { strategy: 'prompt-lookup' },
    };
    const stream = await client.chat.completions.create(request);
    for await (const chunk of stream) write(chunk.choices[0]?.delta.content ?? '');

    const person = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Describe a child.' }],
      max_tokens: 60,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          schema: {
            type: 'object',
            properties: {
              name: { type: 'string', maxLength: 12 },
              age: { type: 'integer', minimum: 1, maximum: 12 },
            },
            required: ['name', 'age'],
          },
        },
      },
    });
    write(`\nPerson: ${person.choices[0].message.content}\n`);

    const call = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      max_tokens: 60,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: {
              type: 'object',
              properties: { city: { type: 'string', maxLength: 10 } },
              required: ['city'],
            },
          },
        },
      ],
      tool_choice: 'required',
    });
    const [toolCall] = call.choices[0].message
      .tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    write(`Tool call: ${toolCall.function.name}(${toolCall.function.arguments})\n`);
  } finally {
    await server.close();
    await model.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
