import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { join } from 'node:path';
import type { CostProfileStore } from '@decodekit/core';

/** Where cost profiles live inside the decodekit cache. `decodekit profile --reset` empties it. */
export const COST_PROFILE_FOLDER = 'cost-profiles';

/**
 * The file-backed cost profile of one model on one backend and machine (Node): measured once, then read by
 * every later run, so adaptive draft sizing — and every seeded output that depends on it — is the same in
 * every run on the machine, whatever the load at the time. The key covers the model's graph file (path,
 * size, mtime), the backend's cost-relevant settings, and the CPU. Delete the file (or the folder) to
 * measure again; pass `speculative({ costCurve })` to pin a curve instead.
 */
export function fileCostProfile({
  cacheDir,
  modelFolder,
  backendKey,
}: {
  cacheDir: string;
  modelFolder: string;
  backendKey: string;
}): CostProfileStore & { readonly path: string } {
  const path = join(cacheDir, COST_PROFILE_FOLDER, `${profileKey(modelFolder, backendKey)}.json`);
  return {
    path,
    load() {
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as { costs?: unknown };
        if (!Array.isArray(parsed.costs) || !parsed.costs.every(value => typeof value === 'number'))
          return undefined;
        return Float64Array.from(parsed.costs as number[]);
      } catch {
        return undefined; // none stored yet, or unreadable: measure again
      }
    },
    save(costs: Float64Array) {
      try {
        mkdirSync(join(cacheDir, COST_PROFILE_FOLDER), { recursive: true });
        const temporary = `${path}.${process.pid}.tmp`;
        const record = {
          modelFolder,
          backendKey,
          cpu: cpus()[0]?.model,
          measuredAt: new Date().toISOString(),
          costs: Array.from(costs),
        };
        writeFileSync(temporary, `${JSON.stringify(record, null, 1)}\n`);
        renameSync(temporary, path);
      } catch {
        // A read-only cache only costs a re-measurement in the next process.
      }
    },
  };
}

function profileKey(modelFolder: string, backendKey: string): string {
  const graph = join(modelFolder, 'onnx', 'model.onnx');
  let stamp = 'unknown';
  try {
    const stats = statSync(graph);
    stamp = `${stats.size}:${Math.round(stats.mtimeMs)}`;
  } catch {
    // Layouts without onnx/model.onnx: the folder path alone keys the profile.
  }
  const cpu = cpus();
  const fingerprint = JSON.stringify([
    modelFolder,
    stamp,
    backendKey,
    platform(),
    arch(),
    cpu[0]?.model,
    cpu.length,
  ]);
  return createHash('sha256').update(fingerprint).digest('hex').slice(0, 32);
}
