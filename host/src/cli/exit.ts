/**
 * @module cli/exit
 * The CLI's exit codes, one table for every command, and the errors that carry them: a command
 * throws, `main` prints the message on stderr and exits with the error's code.
 */

/** Exit codes of every `wafer` command. */
export const EXIT = {
  ok: 0,
  /** The host answered an error (its JSON error code is printed), or the function answered a non-2xx status. */
  failed: 1,
  /** Bad flags or arguments, caught before anything is sent. */
  usage: 2,
  /** The host could not be reached. */
  unreachable: 3,
  /** The function's build failed. */
  buildFailed: 4,
  /** Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports a process killed by it. */
  interrupted: 130,
} as const;

/** The table as `--help` shows it, after every command's help. */
export const EXIT_HELP = `
Exit codes:
  0    success
  1    the host answered an error (its code is printed on stderr, e.g. "404 not_found: ..."),
       or the function answered a status other than 2xx (invoke)
  2    usage error: bad flags or arguments
  3    cannot reach the host
  4    the build failed (build, dev)
  130  interrupted (Ctrl-C)`;

/** An error a command reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

/** Bad flags or arguments (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The host did not answer (exit 3). */
export class UnreachableError extends CliError {
  constructor(message: string) {
    super(message, EXIT.unreachable);
  }
}

/** The function's build failed (exit 4); `output` is what the build printed. */
export class BuildError extends CliError {
  constructor(
    message: string,
    readonly output = '',
  ) {
    super(message, EXIT.buildFailed);
  }
}
