/**
 * decodekit in LangChain.js: a streamed story from ChatDecodekit, a schema-constrained object, a
 * grammar-constrained tool call, and a BM25 retriever feeding a prompt | model | parser chain.
 * Run: `pnpm --filter @decodekit/langchain example`.
 */
import { pathToFileURL } from 'node:url';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import type { DocumentInterface } from '@langchain/core/documents';
import type { AIMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { ChatDecodekit, DecodekitRetriever, bm25Index } from '@decodekit/langchain';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  // stories260K (the default model) is loaded on first use; sampling settings are the model's options.
  const model = new ChatDecodekit({ maxTokens: 96, temperature: 0.8, topK: 40, seed: 42 });

  write('Story: ');
  for await (const chunk of await model.stream('Tell me a story about a cat.')) write(chunk.text);
  write('\n');

  // Structured output: the JSON Schema of the zod object constrains every token.
  const character = z.object({
    name: z.string().max(12),
    age: z.number().int().min(1).max(12),
    pet: z.enum(['cat', 'dog', 'fish']),
  });
  const parsed = await model
    .withStructuredOutput(character)
    .invoke('Describe a child from the story.', { maxTokens: 40 });
  write(`Character: ${JSON.stringify(parsed)}\n`);

  // Tool calling: the answer is constrained to a call of a bound tool with arguments valid under its
  // schema (tool_choice "any": a 260K story model would never decide to call one by itself).
  const add = tool(({ a, b }) => String(a + b), {
    name: 'add',
    description: 'Adds two integers.',
    schema: z.object({ a: z.number().int().min(0).max(99), b: z.number().int().min(0).max(99) }),
  });
  const reply = (await model
    .bindTools([add], { tool_choice: 'any' })
    .invoke('What is 2 plus 3?', { maxTokens: 100 })) as AIMessage;
  const [call] = reply.tool_calls ?? [];
  const result = await add.invoke(call);
  write(`Tool call: ${call.name}(${JSON.stringify(call.args)}) = ${String(result.content)}\n`);

  // Retrieval: BM25 over a few notes; the best note fills the system prompt of a chain.
  const retriever = new DecodekitRetriever({
    index: bm25Index([{ text: 'Tom has a red kite.' }, { text: 'Lily bakes a big cake.' }]),
    k: 1,
  });
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'Story notes: {context}'],
    ['human', '{question}'],
  ]);
  const chain = RunnableSequence.from([
    {
      context: retriever.pipe((documents: DocumentInterface[]) =>
        documents.map(document => document.pageContent).join(' '),
      ),
      question: new RunnablePassthrough(),
    },
    prompt,
    model,
    new StringOutputParser(),
  ]);
  write(`Answer: ${await chain.invoke('What does Lily bake?')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
