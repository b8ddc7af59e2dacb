/** Mixed into the generation's seed for drafting; any odd constant would do, this one is documented. */
const DRAFT_STREAM = 0x5f3759df;

/**
 * The seed of a generation's draft stream: drafts must never share random numbers with verification, and
 * every drafter that samples (speculative(), PEARL, judge decoding, ...) derives its stream the same way,
 * so a fixed seed fixes the drafts too.
 */
export function draftSeed(seed: number): number {
  return (seed ^ DRAFT_STREAM) >>> 0;
}
