/**
 * @module cli/main
 * The `wafer` program: one file per command under cli/, composed here.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { WAFER_VERSION } from '../version.js';
import { CliError, EXIT, EXIT_HELP } from './exit.js';
import { registerAlias } from './alias.js';
import { registerBench } from './bench.js';
import { registerBuild } from './build.js';
import { registerDeploy } from './deploy.js';
import { registerDev } from './dev.js';
import { registerNew } from './new.js';
import { registerInvoke } from './invoke.js';
import { registerLogs } from './logs.js';
import { registerLs } from './ls.js';
import { registerRm } from './rm.js';
import { registerRollback } from './rollback.js';
import { registerVersions } from './versions.js';
import { registerServe } from './serve.js';
import { registerTokens } from './tokens.js';
import { registerTrigger } from './trigger.js';

export function createProgram(): Command {
  const program = new Command('wafer')
    .description('wafer: a WebAssembly function host. Upload components over HTTP, call them as functions under quotas.')
    .version(WAFER_VERSION)
    // The program's own options (-V, --version) only before a command, so that
    // `wafer rollback <name> --version N` reaches the command.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerDeploy(program);
  registerInvoke(program);
  registerLs(program);
  registerRm(program);
  registerVersions(program);
  registerRollback(program);
  registerAlias(program);
  registerLogs(program);
  registerTokens(program);
  registerTrigger(program);
  registerBuild(program);
  registerNew(program);
  registerBench(program);
  registerDev(program);
  program.addHelpText('after', EXIT_HELP);
  for (const command of program.commands) command.addHelpText('after', EXIT_HELP);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    // Commander has printed the help or the usage error; only help and --version succeed.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError || err instanceof ConfigError) {
      console.error(`wafer: ${err.message}`);
      return err instanceof CliError ? err.exitCode : EXIT.usage;
    }
    throw err;
  }
}
