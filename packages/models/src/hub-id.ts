import { InvalidArgumentError } from '@decodekit/core';

/** A Hugging Face repository id with the revision to use. */
export interface HubId {
  /** `org/name`. */
  readonly id: string;
  /** Branch, tag or commit (default `main`). */
  readonly revision: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** True when `ref` has the shape of a hub id (`org/name` or `org/name@revision`). */
export function isHubId(ref: string): boolean {
  const [path, ...revision] = ref.split('@');
  const parts = path.split('/');
  return (
    revision.length <= 1 &&
    parts.length === 2 &&
    parts.every(part => NAME.test(part) && !part.includes('..')) &&
    (revision.length === 0 || revision[0].length > 0)
  );
}

/** True when `revision` is a full commit hash (a pinned revision, never resolved again). */
export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/**
 * Parses `org/name` or `org/name@revision` (a branch, tag or commit; default `main`).
 *
 * @throws InvalidArgumentError when `ref` is not a hub id
 */
export function parseHubId(ref: string): HubId {
  if (!isHubId(ref)) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: `"${ref}" is not a hub id. Write org/name or org/name@revision (a branch, tag or commit), e.g. onnx-community/Qwen2.5-0.5B-Instruct@main.`,
    });
  }
  const [id, revision] = ref.split('@');
  return { id, revision: revision ?? 'main' };
}
