import {
  AbortedError,
  ContextLengthError,
  type LoadedModel,
  type LogitsProcessor,
} from '@decodekit/core';
import { ContextOverflowError, ModelAbortError } from '@langchain/core/errors';
import type { AIMessageChunk } from '@langchain/core/messages';
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { ChatDecodekit } from './chat-decodekit.js';
import { DecodekitLLM } from './decodekit-llm.js';

let model: LoadedModel;
let tooLong: string;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
  tooLong = 'The cat sat on the mat. '.repeat(Math.ceil(model.info.contextLength / 4));
});

async function caught(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('decodekit errors become @langchain/core errors (the decodekit error is the cause)', () => {
  it('a prompt longer than the context: ContextOverflowError (invoke, stream, structured output, LLM)', async () => {
    const chat = new ChatDecodekit({ maxTokens: 8 });
    const runs: [string, () => Promise<unknown>][] = [
      ['invoke', () => chat.invoke(tooLong)],
      [
        'stream',
        async () => {
          for await (const _ of await chat.stream(tooLong));
        },
      ],
      ['withStructuredOutput', () => chat.withStructuredOutput({ type: 'object' }).invoke(tooLong)],
      ['DecodekitLLM', () => new DecodekitLLM({ maxTokens: 8 }).invoke(tooLong)],
    ];
    for (const [name, run] of runs) {
      const error = await caught(run);
      expect(ContextOverflowError.isInstance(error), `${name}: ${String(error)}`).toBe(true);
      const cause = (error as ContextOverflowError).cause;
      expect(ContextLengthError.isInstance(cause), name).toBe(true);
      expect((error as Error).message).toMatch(/context/);
    }
  });

  it('an aborted signal: ModelAbortError, before the call and mid-call with the partial output', async () => {
    const chat = new ChatDecodekit({ maxTokens: 200 });
    const before = await caught(() => chat.invoke('Hello', { signal: AbortSignal.abort() }));
    expect(ModelAbortError.isInstance(before), String(before)).toBe(true);

    // Mid-call: a processor aborts the call's signal at the fourth step (invoke, and invoke through the
    // token stream); the error carries the text decoded before the abort.
    for (const streaming of [false, true]) {
      const controller = new AbortController();
      let steps = 0;
      const aborter: LogitsProcessor<undefined> = {
        name: 'aborter',
        init: () => undefined,
        advance: state => state,
        process: () => {
          steps += 1;
          if (steps === 4) controller.abort(new Error('enough'));
        },
      };
      const during = await caught(() =>
        new ChatDecodekit({ maxTokens: 50, streaming, processors: [aborter] }).invoke(
          'Once upon a time',
          { signal: controller.signal },
        ),
      );
      expect(ModelAbortError.isInstance(during), String(during)).toBe(true);
      const partial = (during as ModelAbortError).partialOutput as AIMessageChunk | undefined;
      const full = await new ChatDecodekit({ maxTokens: 50 }).invoke('Once upon a time');
      expect(partial?.text.length).toBeGreaterThan(0);
      assert(partial, 'the abort carries the partial output');
      expect(full.text.startsWith(partial.text)).toBe(true);
      expect(AbortedError.isInstance((during as Error).cause)).toBe(true);
    }

    const llmError = await caught(() =>
      new DecodekitLLM({ maxTokens: 8 }).invoke('Hello', { signal: AbortSignal.abort() }),
    );
    expect(ModelAbortError.isInstance(llmError), String(llmError)).toBe(true);
  });
});
