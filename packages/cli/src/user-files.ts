import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@decodekit/core';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Bytes of a file named on the command line; a missing or unreadable file is an InvalidArgumentError. */
export function readUserBytes(path: string, argument: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : messageOf(error);
    throw new InvalidArgumentError({ argument, message: `cannot read "${path}": ${why}.` });
  }
}

/** A UTF-8 text file named on the command line; invalid UTF-8 is an InvalidArgumentError, never U+FFFD. */
export function readUserText(path: string, argument: string): string {
  const bytes = readUserBytes(path, argument);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError({
      argument,
      message: `"${path}" is not valid UTF-8 text; save it as UTF-8.`,
    });
  }
}

/** A JSON file named on the command line; a syntax error is an InvalidArgumentError that names the file. */
export function readUserJson(path: string, argument: string): unknown {
  const text = readUserText(path, argument);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError({
      argument,
      message: `"${path}" is not valid JSON: ${messageOf(error)}.`,
    });
  }
}
