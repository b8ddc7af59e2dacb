import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  invariant,
  logSoftmax,
  throwIfAborted,
  type CausalLM,
  type ForwardInput,
  type ForwardOutput,
  type LogitsProcessor,
  type Sequence,
} from '@decodekit/core';
import { BeamHypotheses, type EarlyStopping, type ScoredHypothesis } from './beam-hypotheses.js';

/**
 * How the beams' next-token logits are computed each step.
 * - `tree`: one forward per step. A shared sequence holds the longest common prefix of all beams; the
 *   beams' divergent suffixes are fed as one token tree (a trie) after it. Needs `capabilities.tree`.
 * - `per-beam`: every beam owns a forked sequence and is advanced by its own one-token forward.
 * - `auto`: `tree` while the trie stays within `maxTreeRows` rows, then `per-beam` for the rest of the
 *   generation; `per-beam` on backends without trees.
 */
export type BeamForwardMode = 'auto' | 'tree' | 'per-beam';

/** Input of `searchBeams`, the engine behind beam search and diverse beam search. */
export interface SearchBeamsInput {
  readonly model: CausalLM;
  /**
   * KV state holding the prompt minus its last token. In tree mode the engine forwards into it and commits
   * the beams' common prefix; it never disposes it.
   */
  readonly sequence: Sequence;
  /** Prompt ids (the last one is pending: its logits are not computed yet). */
  readonly prompt: readonly number[];
  readonly processor: LogitsProcessor<unknown>;
  /** Processor state after the whole prompt. */
  readonly processorState: unknown;
  /** Most generated tokens per hypothesis (EOS included). */
  readonly maxTokens: number;
  readonly eosTokenIds: readonly number[];
  /** Total beams (all groups together). */
  readonly numBeams: number;
  /** Beam groups (diverse beam search); `numBeams` must be a multiple. Default 1. */
  readonly numGroups?: number;
  /** Hamming diversity strength λ between groups. Default 0. */
  readonly diversityPenalty?: number;
  readonly lengthPenalty: number;
  readonly earlyStopping: EarlyStopping;
  readonly numReturnSequences: number;
  readonly forwardMode: BeamForwardMode;
  readonly maxTreeRows: number;
  /**
   * Runs a forward on `sequence` — the base sequence or a beam's fork — so a decoder counts it and checks
   * abort (`context.forward(input, { sequence })`). Defaults to `sequence.forward`.
   */
  readonly forward?: (input: ForwardInput, sequence: Sequence) => Promise<ForwardOutput>;
  readonly signal?: AbortSignal;
}

/** Output of `searchBeams`. */
export interface SearchBeamsResult {
  /** The best `numReturnSequences` hypotheses, best first. */
  readonly hypotheses: ScoredHypothesis[];
  /** Forward calls made (tree forwards, per-beam forwards and the switch-over chains). */
  readonly forwardPasses: number;
  /** Rows fed to the model over all forwards. */
  readonly forwardRows: number;
  /** Forward mode the search ended in. */
  readonly finalMode: 'tree' | 'per-beam';
}

interface Beam {
  /** Generated ids so far (the last one is pending). */
  readonly tokens: number[];
  readonly sumScore: number;
  readonly logProbability: number;
  /** Log-probability of each generated token under the processed distribution. [tokens] */
  readonly tokenLogProbabilities: readonly number[];
  readonly state: unknown;
  readonly group: number;
  /** Per-beam mode: KV of prompt + tokens minus the pending token. */
  sequence?: Sequence;
  /** Tree mode: row of the beam's pending token in the current trie. */
  row?: number;
}

interface Candidate {
  score: number;
  logProbability: number;
  /** Log-probability of `token` alone. */
  tokenLogProbability: number;
  beam: number;
  token: number;
}

/**
 * Beam search as in Hugging Face `generate(num_beams=...)`, with `numGroups > 1` as its group beam search
 * (Vijayakumar et al., 2016). Each step, every running beam proposes its best continuations; a group keeps
 * the top `numBeams / numGroups` non-EOS candidates out of its top 2× as running beams, and EOS candidates
 * among the first `numBeams / numGroups` become finished hypotheses.
 *
 * Scores are log-probabilities of the *processed* distribution: processors run on raw logits (with each
 * beam's own forked processor state), then log-softmax. Hugging Face instead runs processors on
 * log-softmaxed scores without renormalizing; the two agree when no processor is used.
 */
export async function searchBeams(input: SearchBeamsInput): Promise<SearchBeamsResult> {
  const { model, prompt, processor, maxTokens, signal } = input;
  const numGroups = input.numGroups ?? 1;
  const lambda = input.diversityPenalty ?? 0;
  const groupSize = input.numBeams / numGroups;
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new InvalidArgumentError({
      argument: 'numGroups',
      message: `numBeams (${input.numBeams}) must be a multiple of numGroups (${numGroups}).`,
    });
  }
  const vocab = model.info.vocabSize;
  const eos = new Set(input.eosTokenIds);
  const hypotheses = Array.from(
    { length: numGroups },
    () => new BeamHypotheses(groupSize, input.lengthPenalty, input.earlyStopping, maxTokens),
  );
  const done = Array.from({ length: numGroups }, () => false);
  const base = input.sequence;
  const forwardOn = (sequence: Sequence, forwardInput: ForwardInput): Promise<ForwardOutput> =>
    input.forward
      ? input.forward(forwardInput, sequence)
      : sequence.forward(forwardInput, { signal });
  const forwardBase = (forwardInput: ForwardInput): Promise<ForwardOutput> =>
    forwardOn(base, forwardInput);
  const baseStart = base.tokens.length;
  if (input.forwardMode === 'tree' && !model.capabilities.tree) {
    throw new UnsupportedCapabilityError({
      capability: 'tree',
      backendId: model.capabilities.backendId,
      hint: "Beam search's forwardMode 'tree' feeds all beams as one token tree; use 'auto' or 'per-beam'.",
    });
  }
  let mode: 'tree' | 'per-beam' =
    input.forwardMode !== 'per-beam' && model.capabilities.tree ? 'tree' : 'per-beam';
  // Hugging Face keeps max(2, 1 + #EOS ids) × beams candidates, so EOS candidates cannot starve the beams.
  const candidateCount = Math.max(2, 1 + eos.size) * groupSize;
  let forwardPasses = 0;
  let forwardRows = 0;
  /** Tree mode: how many tokens of prompt + beam tokens the base sequence holds. */
  let committed = baseStart;

  const full = (beam: Beam): number[] => [...prompt, ...beam.tokens];
  let beams: Beam[] = [];
  for (let group = 0; group < numGroups; group++) {
    // Every group starts from the prompt; groups > 0 are identical at step 1 but get pushed apart by λ.
    beams.push({
      tokens: [],
      sumScore: 0,
      logProbability: 0,
      tokenLogProbabilities: [],
      state: input.processorState,
      group,
    });
  }
  if (mode === 'per-beam') {
    // The groups' first beams are the same sequence: one fork, one forward at step 1.
    const start = base.fork();
    for (const beam of beams) beam.sequence = start;
  }

  const disposeAll = (list: readonly Beam[]): void => {
    for (const sequence of new Set(list.map(beam => beam.sequence))) sequence?.dispose();
  };

  try {
    for (let step = 1; step <= maxTokens; step++) {
      throwIfAborted(signal);
      const live = beams.filter(beam => !done[beam.group]);
      if (live.length === 0) break;

      // 1. Next-token logits of every live beam.
      let trie:
        | {
            tokens: number[];
            parents: number[];
            children: Map<number, number>[];
            rootChildren: Map<number, number>;
          }
        | undefined;
      if (mode === 'tree') {
        trie = buildTrie(live.map(full), committed);
        if (input.forwardMode === 'auto' && trie.tokens.length > input.maxTreeRows) {
          // Switch over: give each beam its own sequence holding its tokens minus the pending one.
          for (const beam of live) {
            const sequence = base.fork();
            const tokens = full(beam);
            const chain = tokens.slice(committed, tokens.length - 1);
            if (chain.length > 0) {
              await forwardOn(sequence, { tokens: Int32Array.from(chain) });
              forwardPasses += 1;
              forwardRows += chain.length;
              sequence.commit(range(chain.length));
            }
            beam.sequence = sequence;
          }
          mode = 'per-beam';
          trie = undefined;
        }
      }
      const rows: Float32Array[] = [];
      if (trie) {
        const tokens = Int32Array.from(trie.tokens);
        const isChain = trie.parents.every((parent, index) => parent === index - 1);
        const { logits } = await forwardBase(
          isChain ? { tokens } : { tokens, parents: Int32Array.from(trie.parents) },
        );
        forwardPasses += 1;
        forwardRows += tokens.length;
        for (const beam of live) {
          const row = trieRow(trie, full(beam), committed);
          beam.row = row;
          rows.push(logits.slice(row * vocab, (row + 1) * vocab));
        }
      } else {
        // Beams that are the same sequence (identical groups at λ = 0) share one forward.
        const byBeam = new Map<Sequence, Float32Array>();
        for (const beam of live) {
          const sequence = sequenceOf(beam);
          let row = byBeam.get(sequence);
          if (!row) {
            const pending = full(beam).at(-1);
            invariant(
              pending !== undefined,
              'a beam has a pending token (the prompt is not empty)',
            );
            const { logits } = await forwardOn(sequence, { tokens: Int32Array.of(pending) });
            forwardPasses += 1;
            forwardRows += 1;
            row = logits.slice(0, vocab);
            byBeam.set(sequence, row);
          }
          rows.push(row.slice());
        }
      }
      throwIfAborted(signal);

      // 2. Log-probabilities of the processed distribution, per beam with its own processor state.
      const logProbabilities = live.map((beam, index) => {
        processor.process(rows[index], beam.state);
        return logSoftmax(rows[index]);
      });

      // 3. Groups in order; later groups pay λ for each use of a token by earlier groups at this step.
      const usage = lambda > 0 ? new Float64Array(vocab) : undefined;
      const next: Beam[] = [];
      const parentsOf: number[] = []; // index into `live` of each next beam's parent
      for (let group = 0; group < numGroups; group++) {
        if (done[group]) continue;
        const members: number[] = [];
        live.forEach((beam, index) => beam.group === group && members.push(index));
        const candidates = topCandidates(
          members,
          live,
          logProbabilities,
          usage,
          lambda,
          candidateCount,
        );
        const chosen: Candidate[] = [];
        for (let rank = 0; rank < candidates.length && chosen.length < groupSize; rank++) {
          const candidate = candidates[rank];
          const parent = live[candidate.beam];
          if (eos.has(candidate.token)) {
            // An EOS below the top `groupSize` candidates would not have been a beam anyway.
            if (rank >= groupSize) continue;
            hypotheses[group].add(
              [...parent.tokens, candidate.token],
              candidate.score,
              candidate.logProbability,
              [...parent.tokenLogProbabilities, candidate.tokenLogProbability],
            );
          } else {
            chosen.push(candidate);
          }
        }
        const best = candidates.length > 0 ? candidates[0].score : -Infinity;
        if (chosen.length === 0 || hypotheses[group].isDone(best, step)) done[group] = true;
        for (const candidate of chosen) {
          const parent = live[candidate.beam];
          if (usage) usage[candidate.token] += 1;
          next.push({
            tokens: [...parent.tokens, candidate.token],
            sumScore: candidate.score,
            logProbability: candidate.logProbability,
            tokenLogProbabilities: [...parent.tokenLogProbabilities, candidate.tokenLogProbability],
            state: processor.advance(parent.state, candidate.token),
            group,
          });
          parentsOf.push(candidate.beam);
        }
      }
      // A group that is done keeps only its finished hypotheses (as Hugging Face's finalize does).
      const running = next.filter(beam => !done[beam.group]);
      const runningParents = parentsOf.filter((_, index) => !done[next[index].group]);

      if (step === maxTokens || running.length === 0) {
        disposeAll(live);
        beams = running;
        break;
      }

      // 4. Move the KV state to the new beams.
      if (mode === 'tree' && trie) {
        const target = commonPrefixLength(running.map(full), committed);
        const path =
          target > committed ? pathRows(trie, full(running[0]).slice(committed, target)) : [];
        base.commit(path);
        committed = target;
      } else {
        const childrenCount = new Map<Sequence, number>();
        runningParents.forEach(parentIndex => {
          const sequence = sequenceOf(live[parentIndex]);
          childrenCount.set(sequence, (childrenCount.get(sequence) ?? 0) + 1);
        });
        const committedSequences = new Set<Sequence>();
        for (const beam of live) {
          const sequence = sequenceOf(beam);
          if (!childrenCount.has(sequence)) {
            if (!committedSequences.has(sequence)) sequence.dispose();
            committedSequences.add(sequence);
          } else if (!committedSequences.has(sequence)) {
            sequence.commit([0]);
            committedSequences.add(sequence);
          }
        }
        running.forEach((beam, index) => {
          const sequence = sequenceOf(live[runningParents[index]]);
          const children = childrenCount.get(sequence);
          invariant(children !== undefined, 'a running beam descends from a counted parent');
          const left = children - 1;
          childrenCount.set(sequence, left);
          // The last child takes the parent's sequence; the others get forks (free: KV is shared).
          beam.sequence = left === 0 ? sequence : sequence.fork();
        });
      }
      beams = running;
    }
    // 5. Running beams of unfinished groups become hypotheses at their current length.
    for (const beam of beams) {
      if (!done[beam.group])
        hypotheses[beam.group].add(
          beam.tokens,
          beam.sumScore,
          beam.logProbability,
          beam.tokenLogProbabilities,
        );
    }
  } catch (error) {
    disposeAll(beams);
    throw error;
  } finally {
    if (mode === 'tree' && base.tokens.length > baseStart) base.truncate(baseStart);
  }

  const all = hypotheses.flatMap(group => group.hypotheses);
  all.sort((a, b) => b.score - a.score);
  return {
    hypotheses: all.slice(0, input.numReturnSequences),
    forwardPasses,
    forwardRows,
    finalMode: mode,
  };
}

/** The top `count` (beam, token) candidates of `members`, best first; ties go to the lower beam, then token. */
function topCandidates(
  members: readonly number[],
  live: readonly Beam[],
  logProbabilities: readonly Float32Array[],
  usage: Float64Array | undefined,
  lambda: number,
  count: number,
): Candidate[] {
  const top: Candidate[] = [];
  const better = (a: Candidate, b: Candidate): boolean =>
    a.score > b.score ||
    (a.score === b.score && (a.beam < b.beam || (a.beam === b.beam && a.token < b.token)));
  for (const index of members) {
    const beam = live[index];
    const row = logProbabilities[index];
    for (let token = 0; token < row.length; token++) {
      const logProbability = row[token];
      if (logProbability === -Infinity) continue;
      const score = beam.sumScore + logProbability - (usage ? lambda * usage[token] : 0);
      if (top.length === count && score < top[count - 1].score) continue;
      const candidate = {
        score,
        logProbability: beam.logProbability + logProbability,
        tokenLogProbability: logProbability,
        beam: index,
        token,
      };
      let at = top.length;
      while (at > 0 && better(candidate, top[at - 1])) at--;
      if (at >= count) continue;
      top.splice(at, 0, candidate);
      if (top.length > count) top.pop();
    }
  }
  return top;
}

interface Trie {
  tokens: number[];
  parents: number[];
  children: Map<number, number>[];
  rootChildren: Map<number, number>;
}

/** A token trie of every sequence's tokens after `start`: rows in creation order, parents before children. */
function buildTrie(sequences: readonly number[][], start: number): Trie {
  const trie: Trie = { tokens: [], parents: [], children: [], rootChildren: new Map() };
  for (const tokens of sequences) {
    let parent = -1;
    for (let position = start; position < tokens.length; position++) {
      const siblings = parent < 0 ? trie.rootChildren : trie.children[parent];
      let row = siblings.get(tokens[position]);
      if (row === undefined) {
        row = trie.tokens.length;
        trie.tokens.push(tokens[position]);
        trie.parents.push(parent);
        trie.children.push(new Map());
        siblings.set(tokens[position], row);
      }
      parent = row;
    }
  }
  return trie;
}

/** Rows of the trie path spelling `tokens` from the root. */
function pathRows(trie: Trie, tokens: readonly number[]): number[] {
  const rows: number[] = [];
  let parent = -1;
  for (const token of tokens) {
    const row = (parent < 0 ? trie.rootChildren : trie.children[parent]).get(token);
    if (row === undefined) throw new Error(`invariant: token ${token} is not in the beam trie`);
    rows.push(row);
    parent = row;
  }
  return rows;
}

function trieRow(trie: Trie, tokens: readonly number[], start: number): number {
  const row = pathRows(trie, tokens.slice(start)).at(-1);
  invariant(row !== undefined, 'a beam has at least its pending token past the committed prefix');
  return row;
}

/** The KV sequence of a beam in per-beam mode, where every live beam owns one. */
function sequenceOf(beam: Beam): Sequence {
  invariant(beam.sequence !== undefined, 'every live beam owns a sequence in per-beam mode');
  return beam.sequence;
}

/**
 * The longest common prefix of all sequences, at least `start`, and short enough that every sequence
 * keeps its last (pending) token outside it.
 */
function commonPrefixLength(sequences: readonly number[][], start: number): number {
  const limit = Math.min(...sequences.map(tokens => tokens.length - 1));
  let length = start;
  while (length < limit && sequences.every(tokens => tokens[length] === sequences[0][length]))
    length++;
  return length;
}

function range(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}
