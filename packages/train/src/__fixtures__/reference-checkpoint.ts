import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_MODEL } from '@decodekit/conformance';
import { defaultMirrors, findKnownModel, readLlama2cCheckpoint } from '@decodekit/models/node';
import { assert } from 'vitest';

/**
 * stories260K's llama2.c checkpoint from the DECODEKIT_MODELS mirrors (vitest.config.ts sets them): its config,
 * weights and file, for the tests and measure scripts that train from it.
 */
export function readReferenceCheckpoint() {
  const known = findKnownModel(REFERENCE_MODEL);
  assert(known, 'stories260K is a known model');
  const file = defaultMirrors()
    .map(mirror => join(mirror, known.mirrorPath, known.checkpoint.file))
    .find(path => existsSync(path));
  assert(file, 'stories260K.bin is in a DECODEKIT_MODELS mirror');
  return { ...readLlama2cCheckpoint(new Uint8Array(readFileSync(file)), file), file };
}
