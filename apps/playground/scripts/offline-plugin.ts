import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vite';

/** The string literal in src/sw.ts that becomes the JSON text of `{ version, files }` (any quote style). */
const precachePlaceholder = /(["'`])__DECODEKIT_PRECACHE__\1/;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/**
 * Writes the precache list into the service worker (dist/sw.js): every emitted file and every file of the
 * public folder (the converted models), plus a version hashed from their names and contents, so a new build
 * installs a new cache and the old one is dropped.
 */
export function offlinePlugin(): Plugin {
  let publicDir = '';
  return {
    name: 'decodekit:offline',
    apply: 'build',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const files = new Set<string>(['./']);
      for (const [fileName, output] of Object.entries(bundle)) {
        if (fileName === 'sw.js' || fileName.endsWith('.map')) continue;
        files.add(`./${fileName}`);
        hash.update(fileName);
        hash.update(output.type === 'chunk' ? output.code : output.source);
      }
      for (const path of listFiles(publicDir)) {
        const url = `./${relative(publicDir, path).split(sep).join('/')}`;
        files.add(url);
        hash.update(url);
        hash.update(readFileSync(path));
      }
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk' || !precachePlaceholder.test(sw.code)) {
        this.error('sw.js was not emitted or lost its precache placeholder.');
      }
      const manifest = { version: hash.digest('hex').slice(0, 16), files: [...files].sort() };
      sw.code = sw.code.replace(precachePlaceholder, () =>
        JSON.stringify(JSON.stringify(manifest)),
      );
    },
  };
}
