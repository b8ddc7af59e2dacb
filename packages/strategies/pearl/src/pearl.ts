import {
  DraftSession,
  InvalidArgumentError,
  chainTree,
  draftSeed,
  rejectionSampling,
  verifyTree,
  invariant,
} from '@decodekit/core';
import type { CausalLM, ForwardOutput, Strategy, StrategyContext, Verifier } from '@decodekit/core';

/** Options of `pearl()`. */
export interface PearlOptions {
  /** The draft model; must share the target's vocabulary. */
  model: CausalLM;
  /** Draft tokens per round (the paper's γ; 3–5 there). Default 4. */
  gamma?: number;
  /**
   * 0 (default): greedy drafts. > 0: drafts sampled from softmax(logits / temperature) and verified by
   * speculative sampling. The output follows the target either way; match the decoder's temperature.
   */
  temperature?: number;
  /**
   * true (default): the target's verification forward and the draft's next chain are issued together
   * (Promise.all) so two backends that run forwards off the JS thread overlap them. false: one after the
   * other (same output, for comparison).
   */
  concurrent?: boolean;
  /** Verification rule. Default rejection sampling (greedy match at temperature 0). */
  verifier?: Verifier;
}

/** Counters of a PEARL strategy (over all its generations). */
export interface PearlStats {
  /** Rounds in pre-verify / post-verify mode. */
  preVerifyRounds: number;
  postVerifyRounds: number;
  /** Draft tokens drafted, verified, accepted; drafted-but-discarded = drafted − verified. */
  draftedTokens: number;
  verifiedTokens: number;
  acceptedTokens: number;
  draftForwards: number;
}

/** A PEARL strategy; `stats` counts its rounds and draft tokens. */
export interface PearlStrategy extends Strategy {
  readonly stats: Readonly<PearlStats>;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A chain of draft tokens with their draft distributions (sampling drafts only). */
interface Draft {
  tokens: number[];
  q: (Float32Array | undefined)[];
}

/**
 * PEARL (Liu et al., 2024, https://arxiv.org/abs/2408.11850): parallel speculative decoding. Each round the
 * target's forward and the draft's next chain run at the same time.
 *
 * - Pre-verify: the target runs the pending token alone (one row) while the draft makes γ tokens; the
 *   first draft token is verified against that row. Rejected: the residual token is emitted and the
 *   draft is rolled back. Accepted: it is emitted and the other γ − 1 tokens move to post-verify.
 * - Post-verify: the target verifies the carried chain (one forward) while the draft makes γ more tokens
 *   after it. All accepted: the first new draft token is verified against the target's last row right
 *   away, the rest carry on; otherwise the accepted prefix and a residual token are emitted, the new
 *   draft is dropped, and the next round pre-verifies.
 *
 * Verification is speculative sampling with the processor state advanced along the chain, so the output
 * follows the target distribution (token-identical to greedy at temperature 0); drafting concurrently only
 * decides what gets verified.
 *
 * @example
 * const decoder = createDecoder({ model: target }).use(pearl({ model: draft, gamma: 4 }));
 */
export function pearl(options: PearlOptions): PearlStrategy {
  const {
    model: draft,
    gamma = 4,
    temperature = 0,
    concurrent = true,
    verifier = rejectionSampling(),
  } = options ?? ({} as PearlOptions);
  DraftSession.validate({ model: draft, temperature });
  if (!Number.isInteger(gamma) || gamma < 1) {
    throw new InvalidArgumentError({
      argument: 'gamma',
      message: `must be a positive integer, got ${String(gamma)}.`,
    });
  }
  if (typeof concurrent !== 'boolean') {
    throw new InvalidArgumentError({
      argument: 'concurrent',
      message: `must be a boolean, got ${String(concurrent)}.`,
    });
  }
  if (!verifier || typeof verifier.step !== 'function') {
    throw new InvalidArgumentError({
      argument: 'verifier',
      message: 'must be a Verifier (e.g. rejectionSampling()).',
    });
  }
  const vocabSize = draft.info.vocabSize;
  const stats: PearlStats = {
    preVerifyRounds: 0,
    postVerifyRounds: 0,
    draftedTokens: 0,
    verifiedTokens: 0,
    acceptedTokens: 0,
    draftForwards: 0,
  };

  /** Drafts `count` tokens after `context` with `session` (synced to the longest common prefix first). */
  async function makeDraft(
    session: DraftSession,
    context: readonly number[],
    count: number,
    signal?: AbortSignal,
  ): Promise<Draft> {
    if (count < 1) return { tokens: [], q: [] };
    const forwardsBefore = session.forwards;
    const tree = await session.draftChain(context, { count, signal });
    stats.draftForwards += session.forwards - forwardsBefore;
    stats.draftedTokens += tree.tokens.length;
    const { qDistributions } = tree;
    return {
      tokens: Array.from(tree.tokens),
      q: Array.from(tree.tokens, (_, row) =>
        qDistributions?.subarray(row * vocabSize, (row + 1) * vocabSize),
      ),
    };
  }

  return {
    kind: 'strategy',
    name: 'pearl',
    lossless: verifier.lossless,
    stats,
    async run(context: StrategyContext) {
      const { model: target, processor, sampler, random } = context;
      // Drafts never share random numbers with verification (same derivation as speculative()). The
      // draft continues after a carried chain that verification may still reject: no trusted prefix.
      const session = new DraftSession(draft, {
        temperature,
        seed: draftSeed(context.seed),
        trustPrefix: false,
      });
      session.begin({ model: target });
      const contextLength = Math.min(target.info.contextLength, draft.info.contextLength);

      /** Runs the target forward and the next draft together (or one after the other). */
      async function both(input: Int32Array, draftContext: readonly number[], count: number) {
        const start = now();
        let verifyMs = 0;
        let draftMs = 0;
        const forward = context
          .forward({ tokens: input })
          .then(out => ((verifyMs = now() - start), out));
        const next = (): Promise<Draft> =>
          makeDraft(session, draftContext, count, context.signal).then(
            d => ((draftMs = now() - start), d),
          );
        let out: ForwardOutput;
        let drafted: Draft;
        if (concurrent) {
          [out, drafted] = await Promise.all([forward, next()]);
        } else {
          out = await forward;
          const draftStart = now();
          drafted = await next();
          draftMs = now() - draftStart;
        }
        return { logits: out.logits, drafted, verifyMs, draftMs };
      }

      try {
        // Pre-verify starts with no carried chain; post-verify carries `pending`.
        let carried: Draft = { tokens: [], q: [] };
        for (;;) {
          const tokens = context.tokens.slice();
          const remaining = context.remaining();
          const room = contextLength - tokens.length;
          // Rows this round's target forward verifies (the carried chain, cut to what can be emitted/fit).
          const k = Math.max(0, Math.min(carried.tokens.length, remaining - 1, room - 1));
          const chain = carried.tokens.slice(0, k);
          const input = Int32Array.from([tokens[tokens.length - 1], ...chain]);
          // The draft continues after the carried chain: it is what the context becomes if all of it is accepted.
          const draftCount = Math.max(0, Math.min(gamma, remaining - k, room - k - 1));
          if (k > 0) stats.postVerifyRounds++;
          else stats.preVerifyRounds++;
          const { logits, drafted, verifyMs, draftMs } = await both(
            input,
            [...tokens, ...chain],
            draftCount,
          );

          // The carried chain, then the first new draft token, verified against the forward's last row
          // (a row the forward did not run: accepting it ends the walk without a bonus token).
          const verifiedTokens = drafted.tokens.length > 0 ? [...chain, drafted.tokens[0]] : chain;
          const verifiedQ = [
            ...carried.q.slice(0, k),
            ...(drafted.tokens.length > 0 ? [drafted.q[0]] : []),
          ];
          const walk = verifyTree({
            output: { logits },
            tree: {
              ...chainTree(verifiedTokens),
              qDistributions: temperature > 0 ? concatRows(verifiedQ, vocabSize) : undefined,
            },
            vocabSize,
            processor,
            processorState: context.processorState,
            sampler,
            verifier,
            random,
          });
          const accepted = Math.min(walk.acceptedRows.length, k);
          const firstNewAccepted = walk.acceptedRows.length > k;
          const residual = walk.bonus;
          context.sequence.commit(Array.from({ length: accepted + 1 }, (_, i) => i));
          const verified =
            k + (drafted.tokens.length > 0 && (residual === undefined || accepted === k) ? 1 : 0);
          const acceptedCount = accepted + (firstNewAccepted ? 1 : 0);
          stats.verifiedTokens += verified;
          stats.acceptedTokens += acceptedCount;
          context.recordDraft({ proposed: verified, accepted: acceptedCount, draftMs, verifyMs });
          const acceptedTokens = chain.slice(0, accepted);
          if (firstNewAccepted) acceptedTokens.push(drafted.tokens[0]);
          context.report({
            type: 'verify',
            acceptedRows: acceptedTokens.map((_, i) => i),
            acceptedTokens,
            bonusToken: residual,
          });
          for (const token of chain.slice(0, accepted)) if (!context.emit(token, 'draft')) return;
          if (firstNewAccepted) {
            if (!context.emit(drafted.tokens[0], 'draft')) return;
            // Post-verify next: the rest of the new draft is carried.
            carried = { tokens: drafted.tokens.slice(1), q: drafted.q.slice(1) };
          } else {
            invariant(
              residual !== undefined,
              'a rejection or a full acceptance yields a bonus token',
            );
            if (!context.emit(residual, drafted.tokens.length > 0 || k > 0 ? 'bonus' : 'target'))
              return;
            // A rejection (or no draft): the new draft was built on rejected tokens; pre-verify next.
            carried = { tokens: [], q: [] };
          }
        }
      } finally {
        session.end();
      }
    },
  };
}

/** Rows of draft distributions as one [rows, vocab] array (absent rows stay zero: greedy drafts). */
function concatRows(rows: readonly (Float32Array | undefined)[], vocabSize: number): Float32Array {
  const out = new Float32Array(rows.length * vocabSize);
  rows.forEach((row, index) => row && out.set(row, index * vocabSize));
  return out;
}
