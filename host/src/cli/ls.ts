/**
 * @module cli/ls
 * `wafer ls`: lists the deployed functions.
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { formatBytes, printTable } from './table.js';

interface FunctionView {
  name: string;
  version: number;
  digest: string;
  size: number;
  limits: { timeout_ms: number; memory_mb: number };
  created_at: string;
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list deployed functions')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (flags: ClientOptions & { json?: boolean }) => {
      const { functions } = await new Client(flags).json<{ functions: FunctionView[] }>('GET', '/v1/functions');
      if (flags.json) {
        console.log(JSON.stringify({ functions }, null, 2));
        return;
      }
      const rows = [['NAME', 'VERSION', 'SIZE', 'TIMEOUT', 'MEMORY', 'DIGEST']];
      for (const fn of functions) {
        rows.push([fn.name, String(fn.version), formatBytes(fn.size), `${fn.limits.timeout_ms} ms`, `${fn.limits.memory_mb} MiB`, fn.digest.slice(0, 19)]);
      }
      printTable(rows);
    });
}
