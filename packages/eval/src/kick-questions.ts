import { InvalidArgumentError, seededRandom } from '@decodekit/core';

/** A story the questions are built from (bench/stories.jsonl and bench/grounded.jsonl prompts). */
export interface KickStory {
  readonly id: string;
  readonly text: string;
}

/**
 * An in-context extraction question (LLM-KICK's in-context retrieval task, as a cloze a story model can
 * answer): `prompt` is the story followed by an unfinished sentence whose completion is `answer`.
 */
export interface KickQuestion {
  /** `<story id>/<kind>-<n>`. */
  readonly id: string;
  /** What is asked: a character's `name`, the `object` someone had, or a thing's `color`. */
  readonly kind: 'name' | 'object' | 'color';
  /** The story, a space, and the cloze (e.g. `... a little dog named Max. The dog's name was`). */
  readonly prompt: string;
  /** The words that complete the cloze (`Max`). */
  readonly answer: string;
  /** The answer and its distractors in a seeded order (multiple choice by summed log-probability). */
  readonly choices: readonly string[];
}

/** Options of {@link buildKickQuestions}. */
export interface BuildKickQuestionsOptions {
  /** Seed of the distractor choice and order (default 0). */
  readonly seed?: number;
  /** Choices per question, the answer included (default 4). */
  readonly choices?: number;
}

const COLORS = [
  'red',
  'blue',
  'green',
  'yellow',
  'pink',
  'white',
  'black',
  'brown',
  'purple',
  'orange',
];
/** Names common in TinyStories, to draw name distractors from alongside the stories' own names. */
const NAMES = [
  'Tom',
  'Lily',
  'Sue',
  'Ben',
  'Max',
  'Amy',
  'Mia',
  'Sam',
  'Tim',
  'Anna',
  'Jack',
  'Kate',
];
const ADJECTIVES = new Set([
  'little',
  'small',
  'big',
  'shy',
  'kind',
  'old',
  'happy',
  'sad',
  'tall',
]);

interface Found {
  readonly kind: KickQuestion['kind'];
  readonly cloze: string;
  readonly answer: string;
}

/** The facts one story states, in text order, by three fixed patterns (see {@link buildKickQuestions}). */
function factsOf(text: string): Found[] {
  const found: Found[] = [];
  // "a little dog named Max" → "The dog's name was" Max.
  for (const match of text.matchAll(
    /\b(?:a|an)\s+((?:[a-z]+,?\s+)*?)([a-z]+)\s+named\s+([A-Z][a-z]+)/g,
  )) {
    const noun = match[2];
    if (ADJECTIVES.has(noun)) continue;
    found.push({ kind: 'name', cloze: `The ${noun}'s name was`, answer: match[3] });
  }
  // "Tom had a red ball." → "Tom had a" red ball.
  for (const match of text.matchAll(
    /\b([A-Z][a-z]+) had an? ([a-z]+(?: [a-z]+){0,2}?)(?= named\b|[.,])/g,
  )) {
    found.push({ kind: 'object', cloze: `${match[1]} had a`, answer: match[2] });
  }
  // "a big, red ball" / "the big blue sea" → "The ball was" red.
  const colors = COLORS.join('|');
  for (const match of text.matchAll(
    new RegExp(`\\b(?:a|an|the)\\s+(?:[a-z]+,?\\s+)?(${colors})\\s+([a-z]+)`, 'g'),
  )) {
    found.push({ kind: 'color', cloze: `The ${match[2]} was`, answer: match[1] });
  }
  return found;
}

/**
 * Builds LLM-KICK-style in-context extraction questions from stories, deterministically (same stories and
 * seed, same questions on every machine). Only the first paragraph of each story is used. Three patterns:
 * - `a|an [adjectives] NOUN named NAME` → cloze `The NOUN's name was`, answer NAME;
 * - `NAME had a|an WORDS` (1–3 lower-case words up to `named`, `.` or `,`) → cloze `NAME had a`, answer WORDS;
 * - `a|an|the [adjective] COLOR NOUN` → cloze `The NOUN was`, answer COLOR.
 * Distractors come from the answers of the same kind across all stories plus a fixed list (names common in
 * TinyStories, ten colors), never a word of the story itself; the seeded generator picks and orders them.
 * Each (story, cloze) pair is asked once. Kinds with fewer than `choices - 1` possible distractors are skipped.
 *
 * @throws InvalidArgumentError when `choices` is below 2
 */
export function buildKickQuestions(
  stories: readonly KickStory[],
  options: BuildKickQuestionsOptions = {},
): KickQuestion[] {
  const choiceCount = options.choices ?? 4;
  if (!Number.isInteger(choiceCount) || choiceCount < 2) {
    throw new InvalidArgumentError({
      argument: 'choices',
      message: `must be an integer of at least 2, got ${choiceCount}.`,
    });
  }
  const random = seededRandom(options.seed ?? 0);
  const perStory = stories.map(story => {
    const context = story.text.split(/\n\s*\n/)[0].trim();
    const seen = new Set<string>();
    const facts = factsOf(context).filter(fact => {
      if (seen.has(fact.cloze)) return false;
      seen.add(fact.cloze);
      return true;
    });
    return { story, context, facts };
  });
  const pools: Record<KickQuestion['kind'], Set<string>> = {
    name: new Set(NAMES),
    object: new Set(),
    color: new Set(COLORS),
  };
  for (const { facts } of perStory) for (const fact of facts) pools[fact.kind].add(fact.answer);
  const questions: KickQuestion[] = [];
  for (const { story, context, facts } of perStory) {
    const counts: Record<string, number> = {};
    const words = new Set(context.toLowerCase().match(/[a-z]+/g) ?? []);
    for (const fact of facts) {
      const candidates = [...pools[fact.kind]].filter(
        option =>
          option !== fact.answer &&
          !option
            .toLowerCase()
            .split(' ')
            .some(word => words.has(word)),
      );
      if (candidates.length < choiceCount - 1) continue;
      const distractors: string[] = [];
      while (distractors.length < choiceCount - 1) {
        const index = Math.floor(random.next() * candidates.length);
        distractors.push(...candidates.splice(index, 1));
      }
      const choices = [fact.answer, ...distractors];
      for (let i = choices.length - 1; i > 0; i--) {
        const j = Math.floor(random.next() * (i + 1));
        [choices[i], choices[j]] = [choices[j], choices[i]];
      }
      counts[fact.kind] = (counts[fact.kind] ?? 0) + 1;
      questions.push({
        id: `${story.id}/${fact.kind}-${counts[fact.kind]}`,
        kind: fact.kind,
        prompt: `${context} ${fact.cloze}`,
        answer: fact.answer,
        choices,
      });
    }
  }
  return questions;
}
