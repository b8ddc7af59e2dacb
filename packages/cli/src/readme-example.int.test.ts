import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** The code blocks of a Markdown section, by heading. */
function codeBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`## ${heading}`);
  if (start < 0) return [];
  const end = markdown.indexOf('\n## ', start + 3);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map(match => match[1]);
}

describe('the root README', () => {
  const folders: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  it('"Ten lines" runs as written and prints a story and its speed', async () => {
    const readme = readFileSync(resolve(__dirname, '../../../README.md'), 'utf8');
    const [example] = codeBlocks(readme, 'Ten lines');
    expect(example, 'README.md has a ts block under "## Ten lines"').toBeDefined();
    expect(example.split('\n').filter(line => line.trim().length > 0).length).toBeLessThanOrEqual(
      12,
    );
    const folder = mkdtempSync(join(tmpdir(), 'decodekit-readme-'));
    folders.push(folder);
    const file = join(folder, 'ten-lines.ts');
    writeFileSync(file, example);
    let printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation(
      chunk => ((printed += String(chunk)), true),
    );
    vi.spyOn(console, 'log').mockImplementation(
      (...values) => void (printed += `${values.join(' ')}\n`),
    );
    await import(/* @vite-ignore */ file);
    expect(printed).toMatch(/\d+ tok\/s/);
    expect(printed.replace(/\d+ tok\/s/, '').trim().length).toBeGreaterThan(40);
  });
});
