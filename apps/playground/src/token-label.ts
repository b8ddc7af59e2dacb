import type { Tokenizer } from '@decodekit/core';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** A short display string for one token: its bytes as text, with spaces and newlines made visible. */
export function tokenLabel(tokenizer: Tokenizer, id: number): string {
  const bytes = tokenizer.tokenBytes(id);
  if (bytes === undefined) return tokenizer.idToToken(id) ?? `#${id}`;
  let text = decoder.decode(bytes);
  if (text.includes('\uFFFD') || text.length === 0) {
    text = `<0x${[...bytes].map(byte => byte.toString(16).padStart(2, '0').toUpperCase()).join('')}>`;
  }
  return text.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
}
