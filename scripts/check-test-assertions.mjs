#!/usr/bin/env node
// Lists the test files that assert nothing: no `expect`, no `assert`, and no call of a shared suite from
// @decodekit/conformance (run*Conformance, whose own source must assert). Exits 1 when there is one.
//   pnpm check-tests
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const files = execFileSync(
  'git',
  ['ls-files', '-co', '--exclude-standard', '*.test.ts', '*.test.tsx', '*.test.mts', '*.test-d.ts'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter(Boolean);

const ASSERTION = /\bexpect(Type)?(\.\w+)*\(|\bassert(\.\w+)?\(/;

// The shared suites: every exported run*Conformance function of @decodekit/conformance, kept only when the
// file that defines it asserts, or runs a suite that does (a suite built on another suite, transitively).
const suites = new Set();
const definitions = execFileSync(
  'git',
  ['ls-files', '-co', '--exclude-standard', 'packages/conformance/src/*.ts'],
  { encoding: 'utf8' },
)
  .split('\n')
  .filter(Boolean)
  .map(file => {
    const source = readFileSync(file, 'utf8');
    const names = [...source.matchAll(/export (?:async )?function (run\w*Conformance)\(/g)].map(
      ([, name]) => name,
    );
    return { source, names, asserts: ASSERTION.test(source) };
  })
  .filter(definition => definition.names.length > 0);
for (let grew = true; grew;) {
  grew = false;
  for (const { source, names, asserts } of definitions) {
    if (names.every(name => suites.has(name))) continue;
    const runsSuite = [...suites].some(name => source.includes(`${name}(`));
    if (!asserts && !runsSuite) continue;
    for (const name of names) suites.add(name);
    grew = true;
  }
}

const offenders = files.filter(file => {
  const source = readFileSync(file, 'utf8');
  if (ASSERTION.test(source)) return false;
  const usesSuite =
    source.includes("'@decodekit/conformance'") &&
    [...suites].some(name => source.includes(`${name}(`));
  return !usesSuite;
});

if (offenders.length > 0) {
  console.error(
    `${offenders.length} test file(s) assert nothing (no expect/assert, no shared conformance suite):`,
  );
  for (const file of offenders) console.error(`  ${file}`);
  console.error(
    'Make them assert, or move them to a script (a measurement is a benchmark, not a test).',
  );
  process.exit(1);
}
console.log(`${files.length} test files, each asserts something.`);
