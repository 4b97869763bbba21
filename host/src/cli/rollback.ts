/**
 * @module cli/rollback
 * `wafer rollback <name> [--version N]`: makes the previous kept version (or version N) current.
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { UsageError } from './exit.js';

export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .description('serve the previous kept version of a function again (or --version N); no new version is made, the next deploy gets a new number')
    .argument('<name>', 'function name')
    .option('--version <n>', 'the kept version to serve (see `wafer versions <name>`)')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, flags: ClientOptions & { version?: string; json?: boolean }) => {
      if (flags.version !== undefined && !/^[1-9][0-9]*$/.test(flags.version)) {
        throw new UsageError(`--version must be a version number, got ${JSON.stringify(flags.version)}`);
      }
      const query = flags.version === undefined ? '' : `?version=${flags.version}`;
      const fn = await new Client(flags).json<{ name: string; version: number; rolled_back_from: number }>(
        'POST',
        `/v1/functions/${encodeURIComponent(name)}/rollback${query}`,
      );
      if (flags.json) console.log(JSON.stringify(fn, null, 2));
      else console.log(`${fn.name} now serves version ${fn.version} (was ${fn.rolled_back_from})`);
    });
}
