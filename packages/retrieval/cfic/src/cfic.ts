import {
  ContextLengthError,
  InvalidArgumentError,
  type CausalLM,
  type Sequence,
  type Tokenizer,
  invariant,
} from '@decodekit/core';
import { splitSentences, type Sentence } from './split-sentences.js';

/** Options of `cfic()`. */
export interface CficOptions {
  /** The reader model (the paper: an SFT'd LLaMA2-7B-chat; any CausalLM works zero-shot). */
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** Text between the document and the question. Default `'\n\nQuestion: '`. */
  readonly questionPrefix?: string;
  /** Text after the question, before the evidence is decoded. Default `'\nEvidence:'`. */
  readonly evidencePrefix?: string;
}

/** A document encoded once: its sentences, their token trie and a KV sequence holding it. */
export interface CficDocument {
  readonly text: string;
  readonly sentences: readonly Sentence[];
  /** Tokens in the KV cache (BOS + document). */
  readonly length: number;
  /** Releases the KV sequence. */
  dispose(): void;
}

/** One evidence span: a verbatim sentence of the document. */
export interface EvidenceSpan {
  readonly text: string;
  /** Character offsets in the document: `text === document.slice(start, end)`. */
  readonly start: number;
  readonly end: number;
  /** Index of the sentence. */
  readonly sentence: number;
  /** Mean log-probability of the decoded prefix tokens (the ranking score). */
  readonly score: number;
  /** Tokens decoded before the prefix was unique. */
  readonly prefixTokens: number;
}

/** Options of one retrieval. */
export interface RetrieveOptions {
  /** Spans to return (the paper: k = 3 starts). Default 3. */
  readonly topK?: number;
  /**
   * Skip decoding (default true): once a prefix identifies one sentence, jump to its end without forward
   * passes. false: decode the rest of the sentence token by token (the forced tokens each cost a forward), which
   * returns the same spans — the baseline that shows what skipping saves.
   */
  readonly skip?: boolean;
  readonly signal?: AbortSignal;
}

/** The spans, best first, and the forward passes spent on this question (question prefill included). */
export interface RetrieveResult {
  readonly spans: EvidenceSpan[];
  readonly forwardPasses: number;
}

/** The CFIC reader. */
export interface Cfic {
  /** Encodes a document once into a KV sequence (one forward). */
  encode(document: string, options?: { signal?: AbortSignal }): Promise<CficDocument>;
  /** Decodes evidence for `question` from an encoded document (forks its KV sequence; the document is not re-encoded). */
  retrieve(
    document: CficDocument,
    question: string,
    options?: RetrieveOptions,
  ): Promise<RetrieveResult>;
}

interface TrieNode {
  readonly children: Map<number, TrieNode>;
  /** Sentences whose token sequence passes through this node. */
  readonly sentences: number[];
  /** Sentences whose token sequence ends here. */
  readonly ends: number[];
}

interface Encoded extends CficDocument {
  readonly sequence: Sequence;
  readonly trie: TrieNode;
  readonly sentenceTokens: readonly (readonly number[])[];
  readonly owner: object;
}

interface Beam {
  readonly node: TrieNode;
  readonly depth: number;
  readonly sum: number;
  readonly sequence?: Sequence;
  readonly logProbs?: Float32Array;
}

/** The KV sequence of a beam that has been extended (only the search root's children lack one). */
function sequenceOf(beam: Beam): Sequence {
  invariant(beam.sequence !== undefined, 'an extended beam owns a sequence');
  return beam.sequence;
}

function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const value of logits) if (value > max) max = value;
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const log = max + Math.log(sum);
  return logits.map(value => value - log);
}

/** The sentence a node identifies: every sentence below it has the same tokens (duplicates go to the first). */
function uniqueSentence(
  node: TrieNode,
  sentenceTokens: readonly (readonly number[])[],
): number | undefined {
  const first = node.sentences[0];
  const tokens = sentenceTokens[first].join();
  return node.sentences.every(s => sentenceTokens[s].join() === tokens) ? first : undefined;
}

/**
 * CFIC, chunking-free in-context retrieval (Qian et al., ACL 2024, "Grounding Language Model with Chunking-Free
 * In-Context Retrieval"): the document is encoded once into the KV cache (a core `Sequence`); for a question the
 * cache is forked, the question fed, and the evidence decoded with Constrained Sentence Prefix Decoding — only
 * prefixes of the document's sentences may be generated (a token trie over the sentences), prefixes ranked by
 * mean log-probability with a beam of `topK` — and Skip Decoding — once a prefix identifies one sentence, the
 * span jumps to that sentence's end without further forward passes. Spans are verbatim document sentences with
 * character offsets.
 */
export function cfic({
  model,
  tokenizer,
  questionPrefix = '\n\nQuestion: ',
  evidencePrefix = '\nEvidence:',
}: CficOptions): Cfic {
  if (!model || typeof model.createSequence !== 'function')
    throw new InvalidArgumentError({ argument: 'model', message: 'cfic() needs a CausalLM.' });
  if (!tokenizer || typeof tokenizer.encode !== 'function')
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: "cfic() needs the model's tokenizer.",
    });
  const owner = {};
  const vocab = model.info.vocabSize;
  const encode = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });

  return {
    async encode(text, { signal } = {}) {
      if (typeof text !== 'string' || text.trim() === '')
        throw new InvalidArgumentError({
          argument: 'document',
          message: 'must be a non-empty string',
        });
      const sentences = splitSentences(text);
      const sentenceTokens = sentences.map(sentence => encode(sentence.text));
      const trie: TrieNode = { children: new Map(), sentences: [], ends: [] };
      sentenceTokens.forEach((tokens, s) => {
        let node = trie;
        node.sentences.push(s);
        for (const token of tokens) {
          let child = node.children.get(token);
          if (!child)
            node.children.set(token, (child = { children: new Map(), sentences: [], ends: [] }));
          child.sentences.push(s);
          node = child;
        }
        node.ends.push(s);
      });
      const bos = tokenizer.bosTokenId ?? model.info.bosTokenId;
      const tokens = [...(bos === undefined ? [] : [bos]), ...encode(text)];
      if (tokens.length >= model.info.contextLength) {
        throw new ContextLengthError({
          length: tokens.length + 1,
          contextLength: model.info.contextLength,
        });
      }
      const sequence = model.createSequence();
      await sequence.forward({ tokens: Int32Array.from(tokens) }, { signal });
      sequence.commit(tokens.map((_, i) => i));
      const document: Encoded = {
        text,
        sentences,
        length: tokens.length,
        sequence,
        trie,
        sentenceTokens,
        owner,
        dispose: () => sequence.dispose(),
      };
      return document;
    },

    async retrieve(document, question, { topK = 3, skip = true, signal } = {}) {
      const encoded = document as Encoded;
      if (encoded.owner !== owner)
        throw new InvalidArgumentError({
          argument: 'document',
          message: 'was not encoded by this cfic() reader',
        });
      if (!Number.isInteger(topK) || topK < 1)
        throw new InvalidArgumentError({
          argument: 'topK',
          message: `must be a positive integer, got ${topK}`,
        });
      const longest = Math.max(0, ...encoded.sentenceTokens.map(tokens => tokens.length));
      const query = encode(`${questionPrefix}${question}${evidencePrefix}`);
      if (encoded.length + query.length + longest > model.info.contextLength) {
        throw new ContextLengthError({
          length: encoded.length + query.length + longest,
          contextLength: model.info.contextLength,
        });
      }
      let forwardPasses = 0;
      const owned: Sequence[] = [];
      const step = async (sequence: Sequence, tokens: number[]): Promise<Float32Array> => {
        const { logits } = await sequence.forward({ tokens: Int32Array.from(tokens) }, { signal });
        forwardPasses++;
        sequence.commit(tokens.map((_, i) => i));
        return logSoftmax(logits.slice((tokens.length - 1) * vocab, tokens.length * vocab));
      };
      try {
        const root = encoded.sequence.fork();
        owned.push(root);
        let beams: Beam[] = [
          {
            node: encoded.trie,
            depth: 0,
            sum: 0,
            sequence: root,
            logProbs: await step(root, query),
          },
        ];
        const done: { sentence: number; score: number; depth: number }[] = [];
        // Constrained sentence-prefix beam search: expand every open prefix by each allowed next token.
        while (beams.length > 0 && done.length < topK) {
          const candidates: {
            parent: Beam;
            token: number;
            node: TrieNode;
            sum: number;
            depth: number;
          }[] = [];
          for (const beam of beams) {
            const { logProbs } = beam;
            invariant(logProbs !== undefined, 'a live beam was scored by its last step');
            for (const [token, node] of beam.node.children) {
              candidates.push({
                parent: beam,
                token,
                node,
                sum: beam.sum + logProbs[token],
                depth: beam.depth + 1,
              });
            }
          }
          candidates.sort(
            (a, b) =>
              b.sum / b.depth - a.sum / a.depth || a.node.sentences[0] - b.node.sentences[0],
          );
          const next: Beam[] = [];
          for (const candidate of candidates) {
            if (done.length + next.length >= topK) break;
            const unique = uniqueSentence(candidate.node, encoded.sentenceTokens);
            const beam: Beam = {
              node: candidate.node,
              depth: candidate.depth,
              sum: candidate.sum,
              sequence: candidate.parent.sequence,
            };
            if (unique !== undefined) {
              done.push({
                sentence: unique,
                score: candidate.sum / candidate.depth,
                depth: candidate.depth,
              });
              if (!skip) {
                // No skip: feed the forced rest of the sentence one token per forward.
                const sequence = sequenceOf(candidate.parent).fork();
                owned.push(sequence);
                const tokens = encoded.sentenceTokens[unique];
                for (let i = candidate.depth - 1; i < tokens.length - 1; i++)
                  await step(sequence, [tokens[i]]);
              }
              continue;
            }
            // A whole sentence that is also a prefix of a longer one ends here too.
            if (
              candidate.node.ends.length > 0 &&
              !done.some(d => d.sentence === candidate.node.ends[0])
            ) {
              done.push({
                sentence: candidate.node.ends[0],
                score: candidate.sum / candidate.depth,
                depth: candidate.depth,
              });
              if (done.length + next.length >= topK) break;
            }
            const sequence = sequenceOf(candidate.parent).fork();
            owned.push(sequence);
            next.push({ ...beam, sequence, logProbs: await step(sequence, [candidate.token]) });
          }
          beams = next;
        }
        done.sort((a, b) => b.score - a.score || a.sentence - b.sentence);
        const spans = done.slice(0, topK).map(({ sentence, score, depth }) => {
          const { text, start, end } = encoded.sentences[sentence];
          return { text, start, end, sentence, score, prefixTokens: depth };
        });
        return { spans, forwardPasses };
      } finally {
        for (const sequence of owned) sequence.dispose();
      }
    },
  };
}
