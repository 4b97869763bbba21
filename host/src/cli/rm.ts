/**
 * @module cli/rm
 * `wafer rm <name>`: removes a function (its blobs and compiled cache stay for other names).
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';

export function registerRm(program: Command): void {
  program
    .command('rm')
    .description('remove a deployed function')
    .argument('<name>', 'function name')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, flags: ClientOptions) => {
      await new Client(flags).json('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
      console.log(`removed ${name}`);
    });
}
