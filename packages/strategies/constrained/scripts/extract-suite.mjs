// Regenerates src/__fixtures__/json-schema-test-suite.json from a checkout of
// json-schema-org/JSON-Schema-Test-Suite (MIT, see the fixture's `license` field):
//   node scripts/extract-suite.mjs <suite-checkout> <commit>
// Only the schemas of the required (non-optional) draft2020-12 and draft7 files are kept: the constrained
// test generates its own instances and validates them with ajv, so the suite's instances are not needed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, commit] = process.argv.slice(2);
const groups = {};
for (const draft of ['draft2020-12', 'draft7']) {
  const dir = join(root, 'tests', draft);
  groups[draft] = readdirSync(dir)
    .filter(file => file.endsWith('.json'))
    .sort()
    .flatMap(file =>
      JSON.parse(readFileSync(join(dir, file), 'utf8')).map(({ description, schema }) => ({
        file,
        description,
        schema,
      })),
    );
}
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
writeFileSync(
  new URL('../src/__fixtures__/json-schema-test-suite.json', import.meta.url),
  JSON.stringify({
    source: 'https://github.com/json-schema-org/JSON-Schema-Test-Suite',
    commit,
    license,
    groups,
  }) + '\n',
);
