import { CommanderError, type Command } from 'commander';
import { DecodingError } from '@decodekit/core';
import { createProgram } from './program.js';

/** Where {@link runCli} writes its diagnostics (stdout stays the command's own output). */
export interface CliIo {
  readonly writeErr: (text: string) => void;
}

const defaultIo: CliIo = { writeErr: text => void process.stderr.write(text) };

/**
 * Runs the `decodekit` command line on `argv` (as `process.argv`: node, script, arguments...) and returns
 * the exit code: 0 on success, 2 for a user error (a DecodingError or a usage error, reported as one line on
 * stderr without a stack), 1 for an unexpected failure (a bug: reported with its stack).
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = createProgram();
  const hint = ' (decodekit --help lists the commands, decodekit <command> --help their options)';
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({
      writeErr: io.writeErr,
      outputError: (text, write) =>
        write(`decodekit: ${oneLine(text.trim().replace(/^error: /, ''))}${hint}\n`),
    });
  }
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0; usage errors are already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (DecodingError.isInstance(error)) {
      io.writeErr(`decodekit: ${oneLine(error.message)}\n`);
      return 2;
    }
    io.writeErr(
      `decodekit: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** A multi-line message (a list of places looked at) as one line: items joined by "; ". */
function oneLine(message: string): string {
  return message
    .replace(/:\s*\n\s*-\s+/g, ': ')
    .replace(/\s*\n\s*-\s+/g, '; ')
    .replace(/\s*\n\s*/g, ' ');
}
