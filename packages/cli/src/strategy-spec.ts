import { InvalidArgumentError } from '@decodekit/core';

/** A parsed `NAME[:key=value,...]` strategy spec. */
export interface StrategySpec {
  name: string;
  options: Record<string, string | number | boolean>;
}

function parseValue(raw: string): string | number | boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const number = Number(raw);
  return raw.trim() !== '' && Number.isFinite(number) ? number : raw;
}

/** Parses `token-recycling:budget=32,topK=8`. */
export function parseStrategySpec(spec: string): StrategySpec {
  const [name, rest] = spec.split(/:(.*)/s, 2) as [string, string | undefined];
  if (!name) throw new InvalidArgumentError({ argument: '--strategy', message: `empty strategy name in "${spec}".` });
  const options: StrategySpec['options'] = {};
  for (const pair of (rest ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new InvalidArgumentError({ argument: '--strategy', message: `expected key=value, got "${pair}" in "${spec}".` });
    }
    options[pair.slice(0, eq).trim()] = parseValue(pair.slice(eq + 1).trim());
  }
  return { name: name.trim(), options };
}
