/**
 * decodekit in LangChain.js: SPLADE's BM25 index behind a `DecodekitRetriever`, and a `ChatDecodekit`
 * decoding with a speculative strategy, in one prompt | model | parser chain.
 * Run: `pnpm --filter @decodekit/examples exec tsx langchain.ts`.
 */
import { pathToFileURL } from 'node:url';
import { speculative } from '@decodekit/core';
import { ChatDecodekit, DecodekitRetriever } from '@decodekit/langchain';
import { memorySparseStore, sparseIndex } from '@decodekit/retrieval-splade';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import type { DocumentInterface } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const notes = sparseIndex({ store: memorySparseStore() });
  await notes.add([
    { id: '1', text: 'Tom has a red kite.' },
    { id: '2', text: 'Lily bakes a big cake.' },
  ]);
  const retriever = new DecodekitRetriever({ index: notes.asRetriever('bm25'), k: 1 });
  const model = new ChatDecodekit({
    strategy: speculative({ drafter: promptLookup() }),
    maxTokens: 48,
    temperature: 0,
  });
  const chain = RunnableSequence.from([
    {
      context: retriever.pipe((documents: DocumentInterface[]) =>
        documents.map(document => document.pageContent).join(' '),
      ),
      question: new RunnablePassthrough(),
    },
    ChatPromptTemplate.fromMessages([
      ['system', 'Story notes: {context}'],
      ['human', '{question}'],
    ]),
    model,
    new StringOutputParser(),
  ]);
  const context = await retriever.invoke('What does Lily bake?');
  write(`Retrieved: ${context[0]?.pageContent}\n`);
  write(`Answer: ${await chain.invoke('What does Lily bake?')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
