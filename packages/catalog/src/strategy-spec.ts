import { InvalidArgumentError } from '@decodekit/core';

/** A parsed `NAME[:key=value,...]` strategy spec. */
export interface StrategySpec {
  name: string;
  /** Raw values: `true`/`false` and numbers are converted, anything else stays a string. */
  options: Record<string, string | number | boolean>;
}

/** Options of {@link parseStrategySpec}. */
export interface ParseStrategySpecOptions {
  /** The argument named in errors. Default `--strategy` (the CLI's flag). */
  readonly argument?: string;
}

function parseValue(raw: string): string | number | boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const number = Number(raw);
  return raw.trim() !== '' && Number.isFinite(number) ? number : raw;
}

/**
 * Parses `token-recycling:budget=32,topK=8` into its name and raw option values. The values are checked
 * against a descriptor later (`parseStrategyOptions` in core).
 * @throws InvalidArgumentError for an empty name or a pair without `=`.
 */
export function parseStrategySpec(
  spec: string,
  { argument = '--strategy' }: ParseStrategySpecOptions = {},
): StrategySpec {
  const [name, rest] = spec.split(/:(.*)/s, 2) as [string, string | undefined];
  if (!name.trim())
    throw new InvalidArgumentError({ argument, message: `empty strategy name in "${spec}".` });
  const options: StrategySpec['options'] = {};
  for (const pair of (rest ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new InvalidArgumentError({
        argument,
        message: `expected key=value, got "${pair}" in "${spec}".`,
      });
    }
    options[pair.slice(0, eq).trim()] = parseValue(pair.slice(eq + 1).trim());
  }
  return { name: name.trim(), options };
}
