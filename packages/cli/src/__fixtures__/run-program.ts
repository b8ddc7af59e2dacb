import { createProgram } from '../program.js';

/**
 * Runs `decodekit ARGS` in process, as the CLI integration tests do: returns what the command wrote to stdout,
 * silences stderr (progress bars) and lets errors propagate (a DecodingError rejects with it), unlike `runCli`,
 * which turns them into exit codes.
 */
export async function run(args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await createProgram().parseAsync(['node', 'decodekit', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return out;
}
