import { InvalidArgumentError } from '@decodekit/core';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { DocumentInterface } from '@langchain/core/documents';
import type { BaseMessage } from '@langchain/core/messages';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { describe, expect, it } from 'vitest';
import { bm25Index, type SearchIndex } from './bm25-index.js';
import { ChatDecodekit } from './chat-decodekit.js';
import { DecodekitRetriever } from './decodekit-retriever.js';

const stories = [
  {
    id: 'ball',
    text: 'Lily had a red ball. She played with the ball in the park every day.',
    metadata: { page: 1 },
  },
  { id: 'cake', text: 'Tom baked a big chocolate cake for his mom.', metadata: { page: 2 } },
  {
    id: 'dog',
    text: 'A small dog named Max liked to run and bark at the birds.',
    metadata: { page: 3 },
  },
  { id: 'boat', text: 'Sue and her dad sailed a little boat on the lake.', metadata: { page: 4 } },
];

class PromptRecorder extends BaseCallbackHandler {
  name = 'prompts';
  messages: BaseMessage[][] = [];
  override handleChatModelStart(_llm: unknown, messages: BaseMessage[][]): void {
    this.messages.push(...messages);
  }
}

describe('DecodekitRetriever', () => {
  it('turns BM25 hits into Documents with id and score', async () => {
    const retriever = new DecodekitRetriever({ index: bm25Index(stories), k: 2 });
    const documents = await retriever.invoke('Who played with a red ball?');
    expect(documents.map(document => document.id)).toEqual(['ball', 'cake']);
    expect(documents[0].pageContent).toBe(stories[0].text);
    expect(documents[0].metadata).toMatchObject({ id: 'ball', page: 1 });
    expect(documents[0].metadata.score).toBeGreaterThan(documents[1].metadata.score);
  });

  it('searches any SearchIndex (the interface the SPLADE store implements)', async () => {
    const calls: [string, number][] = [];
    const index: SearchIndex = {
      async search(query, k) {
        calls.push([query, k]);
        return [{ id: 'x', text: 'found', score: 3.5 }];
      },
    };
    const [document] = await new DecodekitRetriever({ index }).invoke('anything');
    expect(calls).toEqual([['anything', 4]]);
    expect(document.metadata).toEqual({ id: 'x', score: 3.5 });
  });

  it('rejects a missing index and a bad k', () => {
    expect(() => new DecodekitRetriever({} as never)).toThrow(InvalidArgumentError);
    expect(() => new DecodekitRetriever({ index: bm25Index(), k: 0 })).toThrow(/positive integer/);
  });

  it('feeds retrieved context to ChatDecodekit in a chain', async () => {
    const retriever = new DecodekitRetriever({ index: bm25Index(stories), k: 1 });
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Answer from this story: {context}'],
      ['human', '{question}'],
    ]);
    const chain = RunnableSequence.from([
      {
        context: retriever.pipe((documents: DocumentInterface[]) =>
          documents.map(document => document.pageContent).join('\n'),
        ),
        question: new RunnablePassthrough(),
      },
      prompt,
      new ChatDecodekit({ maxTokens: 24 }),
      new StringOutputParser(),
    ]);
    const recorder = new PromptRecorder();
    const answer = await chain.invoke('What did Tom bake?', { callbacks: [recorder] });
    expect(typeof answer).toBe('string');
    expect(answer.length).toBeGreaterThan(0);
    expect(recorder.messages).toHaveLength(1);
    const [system, human] = recorder.messages[0];
    expect(system.content).toBe(`Answer from this story: ${stories[1].text}`);
    expect(human.content).toBe('What did Tom bake?');
  });
});
