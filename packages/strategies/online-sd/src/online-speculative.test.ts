import {
  InvalidArgumentError,
  VocabMismatchError,
  createDecoder,
  mockModel,
} from '@decodekit/core';
import type {
  CausalLM,
  DecodeEvent,
  DraftTrainingSample,
  DraftUpdater,
  MockModel,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { onlineSd } from './index.js';

const V = 8;
/** Target: strongly prefers (last + 3) mod V, a little (last + 1). */
const target = () =>
  mockModel({
    vocabSize: V,
    logits(context) {
      const out = new Float32Array(V);
      out[(context[context.length - 1] + 3) % V] = 4;
      out[(context[context.length - 1] + 1) % V] = 2;
      return out;
    },
  });
/** A draft preferring (last + shift) mod V, recording whether it was disposed. */
function shiftDraft(shift: number, name = `shift-${shift}`): MockModel & { disposed: boolean } {
  const model = mockModel({
    vocabSize: V,
    name,
    logits(context) {
      const out = new Float32Array(V);
      out[(context[context.length - 1] + shift) % V] = 3;
      return out;
    },
  });
  const tracked = Object.assign(Object.create(model) as MockModel, { disposed: false });
  tracked.dispose = async () => {
    tracked.disposed = true;
    await model.dispose();
  };
  return tracked;
}

/** An updater that records what it was given and answers with the next draft of `drafts`. */
function scriptedUpdater(drafts: CausalLM[]) {
  const calls: DraftTrainingSample[][] = [];
  const updater: DraftUpdater = {
    name: 'scripted',
    async update(samples) {
      calls.push([...samples]);
      const next = drafts[calls.length - 1];
      if (!next) throw new Error('no draft left');
      return next;
    },
  };
  return { updater, calls };
}

/** Rejected positions recomputed from the stream's own draft / verify / token events. */
function rejectedFromEvents(events: DecodeEvent[], promptLength: number) {
  const positions: { position: number; draftToken: number }[] = [];
  let emitted = 0;
  let draft: Int32Array | undefined;
  for (const event of events) {
    if (event.type === 'token') emitted++;
    if (event.type === 'draft') draft = event.tree.tokens;
    if (event.type === 'verify' && draft) {
      const accepted = event.acceptedRows.length;
      if (accepted < draft.length)
        positions.push({
          position: promptLength + emitted + accepted,
          draftToken: draft[accepted],
        });
      draft = undefined;
    }
  }
  return positions;
}

/** First draft positions of every verified step after the first, from the stream's events. */
function stepStartsFromEvents(events: DecodeEvent[], promptLength: number) {
  const positions: number[] = [];
  let emitted = 0;
  let steps = 0;
  for (const event of events) {
    if (event.type === 'token') emitted++;
    if (event.type === 'draft' && steps++ > 0) positions.push(promptLength + emitted);
  }
  return positions;
}

describe('onlineSd', () => {
  it('validates its options', () => {
    const model = shiftDraft(1);
    expect(() => onlineSd(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, updateInterval: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, updateInterval: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, draftLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, topK: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, updater: {} as never })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, onSample: 3 as never })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, recordVerified: 1 as never })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, temperature: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => onlineSd({ model, skipLayers: [99] })).toThrow(InvalidArgumentError);
  });

  it('rejects a draft model with another vocabulary', async () => {
    const strategy = onlineSd({
      model: mockModel({ vocabSize: V + 1, logits: () => new Float32Array(V + 1) }),
    });
    await expect(
      createDecoder({ model: target() })
        .use(strategy)
        .generate({ tokens: [1] }, { maxTokens: 4 }),
    ).rejects.toThrow(VocabMismatchError);
  });

  it.each([0, 0.8])(
    'exports exactly the rejected positions, with the target logits there (T = %s)',
    async temperature => {
      const samples: DraftTrainingSample[] = [];
      const strategy = onlineSd({ model: shiftDraft(1), onSample: s => samples.push(s), topK: 3 });
      const model = target();
      for (let run = 0; run < 4; run++) {
        const events: DecodeEvent[] = [];
        const prompt = [run % V, (run + 2) % V];
        for await (const event of createDecoder({ model })
          .use(strategy)
          .stream({ tokens: prompt }, { maxTokens: 20, temperature, seed: run }))
          events.push(event);
        const done = events.find(event => event.type === 'done');
        if (done?.type !== 'done') throw new Error('no done event');
        const sample = samples[run];
        const expected = rejectedFromEvents(events, prompt.length);
        expect(expected.length).toBeGreaterThan(0);
        expect(
          sample.rejected.map(r => ({ position: r.position, draftToken: r.draftToken })),
        ).toEqual(expected);
        const all = [...prompt, ...done.tokens];
        for (const rejected of sample.rejected) {
          expect(rejected.targetToken).toBe(all[rejected.position]);
          expect(rejected.targetToken).not.toBe(rejected.draftToken);
          expect(sample.tokens.slice(0, rejected.position + 1)).toEqual(
            all.slice(0, rejected.position + 1),
          );
          // The target's logits after the context: the mock's own function of the last token.
          const context = all.slice(0, rejected.position);
          const wanted = (context[context.length - 1] + 3) % V;
          expect(rejected.targetTopK.tokens[0]).toBe(wanted);
          expect(rejected.targetTopK.tokens).toHaveLength(3);
          const logZ = Math.log(
            Array.from(rejected.targetLogits).reduce((s, x) => s + Math.exp(x), 0),
          );
          expect(rejected.targetTopK.logprobs[0]).toBeCloseTo(
            rejected.targetLogits[wanted] - logZ,
            5,
          );
        }
      }
    },
  );

  it.each([0, 0.8])(
    'exports the first draft position of every step after the first (the official trainer positions) and every verified position, with the target logits there (T = %s)',
    async temperature => {
      const samples: DraftTrainingSample[] = [];
      const strategy = onlineSd({
        model: shiftDraft(1),
        onSample: s => samples.push(s),
        recordVerified: true,
      });
      const model = target();
      for (let run = 0; run < 3; run++) {
        const events: DecodeEvent[] = [];
        const prompt = [run % V, (run + 5) % V];
        for await (const event of createDecoder({ model })
          .use(strategy)
          .stream({ tokens: prompt }, { maxTokens: 24, temperature, seed: run }))
          events.push(event);
        const done = events.find(event => event.type === 'done');
        if (done?.type !== 'done') throw new Error('no done event');
        const starts = samples[run].stepStarts ?? [];
        const expected = stepStartsFromEvents(events, prompt.length);
        expect(expected.length).toBeGreaterThan(1);
        expect(starts.map(s => s.position)).toEqual(expected);
        const all = [...prompt, ...done.tokens];
        // Every emitted position, each scored by its verification row.
        const verified = samples[run].verified ?? [];
        expect(verified.map(v => v.position)).toEqual(
          Array.from({ length: verified.length }, (_, i) => prompt.length + i),
        );
        expect(verified.length).toBeGreaterThan(starts.length);
        expect(verified.length).toBeLessThanOrEqual(done.tokens.length);
        for (const { position, targetLogits } of [...starts, ...verified]) {
          // Row 0 of that step: the target's logits after tokens[0..position − 1].
          const last = all[position - 1];
          const want = new Float32Array(V);
          want[(last + 3) % V] = 4;
          want[(last + 1) % V] = 2;
          expect(Array.from(targetLogits)).toEqual(Array.from(want));
        }
      }
    },
  );

  it('records the paper α: Σ min(p, q) over the verified rows (T = 0: the accepted rows; a draft equal to the target: 1 per row)', async () => {
    const greedy = onlineSd({ model: shiftDraft(1) });
    await createDecoder({ model: target() })
      .use(greedy)
      .generate({ tokens: [2] }, { maxTokens: 24, temperature: 0 });
    const [record] = greedy.drafter.history;
    expect(record.verifiedRows).toBe(record.accepted + record.rejected);
    expect(record.alphaSum).toBe(record.accepted);

    const same = onlineSd({ model: target() });
    await createDecoder({ model: target() })
      .use(same)
      .generate({ tokens: [2] }, { maxTokens: 24, temperature: 0.8, seed: 1 });
    const [exact] = same.drafter.history;
    expect(exact.verifiedRows).toBeGreaterThan(0);
    expect(exact.alphaSum).toBeCloseTo(exact.verifiedRows, 4);

    const off = onlineSd({ model: shiftDraft(1) });
    await createDecoder({ model: target() })
      .use(off)
      .generate({ tokens: [2] }, { maxTokens: 24, temperature: 0.8, seed: 1 });
    const [sampled] = off.drafter.history;
    expect(sampled.alphaSum).toBeGreaterThan(0);
    expect(sampled.alphaSum).toBeLessThan(0.5 * sampled.verifiedRows);
  });

  it('hands every N generations to the updater and swaps the new draft in before the next one', async () => {
    const good = shiftDraft(3, 'updated-1');
    const better = shiftDraft(3, 'updated-2');
    const { updater, calls } = scriptedUpdater([good, better]);
    const strategy = onlineSd({ model: shiftDraft(1), updater, updateInterval: 3 });
    const { drafter } = strategy;
    const model = target();
    const rates: number[] = [];
    for (let run = 0; run < 7; run++) {
      const { stats } = await createDecoder({ model })
        .use(strategy)
        .generate({ tokens: [run % V] }, { maxTokens: 16, temperature: 0 });
      rates.push((stats.acceptedDraftTokens ?? 0) / (stats.draftTokens ?? 1));
    }
    expect(calls.map(call => call.length)).toEqual([3, 3]);
    expect(calls[0].every(sample => sample.rejected.length > 0)).toBe(true);
    expect(drafter.history.map(record => record.draftVersion)).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(drafter.model.info.name).toBe('updated-2');
    expect(drafter.updates).toBe(2);
    expect(good.disposed).toBe(true); // swapped out: the drafter owned it
    expect(drafter.buffer).toHaveLength(1);
    expect(rates.slice(0, 3).every(rate => rate === 0)).toBe(true);
    expect(rates.slice(3).every(rate => rate === 1)).toBe(true);
    await drafter.dispose();
    expect(better.disposed).toBe(true);
  });

  it('keeps drafting with the old draft and warns when an update fails', async () => {
    const { updater } = scriptedUpdater([]);
    const first = shiftDraft(1);
    const strategy = onlineSd({ model: first, updater, updateInterval: 1 });
    const model = target();
    await createDecoder({ model })
      .use(strategy)
      .generate({ tokens: [1] }, { maxTokens: 8 });
    const warnings: string[] = [];
    for await (const event of createDecoder({ model })
      .use(strategy)
      .stream({ tokens: [2] }, { maxTokens: 8 }))
      if (event.type === 'warning') warnings.push(event.code);
    expect(warnings).toEqual(['online-sd-update-failed']);
    expect(strategy.drafter.model).toBe(first);
    expect(String(strategy.drafter.lastUpdateError)).toContain('no draft left');
    expect(first.disposed).toBe(false); // the caller's draft is never disposed by the drafter
  });

  it('stays exact across swaps: greedy output equals plain greedy decoding', async () => {
    const drafts = Array.from({ length: 6 }, (_, i) => shiftDraft(i % 2 === 0 ? 3 : 5));
    const { updater } = scriptedUpdater(drafts);
    const strategy = onlineSd({ model: shiftDraft(1), updater, updateInterval: 1, draftLength: 3 });
    const model = target();
    for (let run = 0; run < 6; run++) {
      const prompt = [run % V, (run * 3) % V];
      const ar = await createDecoder({ model }).generate(
        { tokens: prompt },
        { maxTokens: 20, temperature: 0 },
      );
      const spec = await createDecoder({ model })
        .use(strategy)
        .generate({ tokens: prompt }, { maxTokens: 20, temperature: 0 });
      expect(spec.tokens).toEqual(ar.tokens);
    }
    expect(strategy.drafter.updates).toBe(5);
  });

  it('records telemetry but buffers nothing without an updater', async () => {
    const samples: DraftTrainingSample[] = [];
    const strategy = onlineSd({ model: shiftDraft(1), onSample: s => samples.push(s) });
    await createDecoder({ model: target() })
      .use(strategy)
      .generate({ tokens: [1] }, { maxTokens: 8, temperature: 0 });
    expect(samples).toHaveLength(1);
    expect(samples[0].rejected.length).toBeGreaterThan(0);
    expect(strategy.drafter.buffer).toHaveLength(0);
    expect(strategy.drafter.history).toHaveLength(1);
  });
});
