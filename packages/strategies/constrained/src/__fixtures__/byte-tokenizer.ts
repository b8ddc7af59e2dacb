import type { Tokenizer } from '@decodekit/core';

/**
 * A test tokenizer: id 0 is EOS (special), ids 1..256 are the single bytes 0..255, then the given
 * multi-byte pieces (UTF-8). Greedy longest-match encoding.
 */
export function byteTokenizer(pieces: readonly string[] = [], { eos = true, singleBytes = true }: { eos?: boolean; singleBytes?: boolean } = {}): Tokenizer & { idOf(piece: string): number } {
  const encoder = new TextEncoder();
  const vocab: (Uint8Array | undefined)[] = [undefined];
  for (let b = 0; b < 256; b++) vocab.push(singleBytes ? Uint8Array.of(b) : new Uint8Array(0));
  for (const piece of pieces) vocab.push(encoder.encode(piece));
  const text = (id: number): string => new TextDecoder().decode(vocab[id] ?? new Uint8Array(0));
  return {
    vocabSize: vocab.length,
    eosTokenIds: eos ? [0] : [],
    encode(input) {
      const bytes = encoder.encode(input);
      const ids: number[] = [];
      for (let i = 0; i < bytes.length; ) {
        let best = 1 + bytes[i];
        let length = 1;
        vocab.forEach((piece, id) => {
          if (piece && piece.length > length && piece.every((b, k) => bytes[i + k] === b)) {
            best = id;
            length = piece.length;
          }
        });
        ids.push(best);
        i += length;
      }
      return ids;
    },
    decode: ids => new TextDecoder().decode(Uint8Array.from(ids.flatMap(id => [...(vocab[id] ?? [])]))),
    idToToken: id => (id === 0 ? '</s>' : text(id)),
    tokenBytes: id => vocab[id],
    applyChatTemplate: messages => messages.map(m => m.content).join('\n'),
    idOf(piece) {
      const bytes = encoder.encode(piece);
      const id = vocab.findIndex(v => v !== undefined && v.length === bytes.length && v.every((b, k) => bytes[k] === b));
      if (id < 0) throw new Error(`no token ${piece}`);
      return id;
    },
  };
}
