/**
 * @module cli/versions
 * `wafer versions <name>`: lists a function's kept versions, newest first, marking the current
 * one and the aliases that name each.
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { formatBytes, printTable } from './table.js';

interface VersionView {
  version: number;
  digest: string;
  size: number;
  limits: { timeout_ms: number; memory_mb: number };
  created_at: string;
  world: string;
}

/** An alias as the host answers it (GET /v1/functions/{name}/aliases). */
export interface AliasView {
  alias: string;
  version?: number;
  versions: Record<string, number>;
}

export function registerVersions(program: Command): void {
  program
    .command('versions')
    .description('list the kept versions of a function, newest first (* marks the current one)')
    .argument('<name>', 'function name')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, flags: ClientOptions & { json?: boolean }) => {
      const client = new Client(flags);
      const path = `/v1/functions/${encodeURIComponent(name)}`;
      const answer = await client.json<{ name: string; current: number; versions: VersionView[] }>('GET', `${path}/versions`);
      if (flags.json) {
        console.log(JSON.stringify(answer, null, 2));
        return;
      }
      const { aliases } = await client.json<{ aliases: AliasView[] }>('GET', `${path}/aliases`);
      const rows = [['', 'VERSION', 'CREATED', 'SIZE', 'TIMEOUT', 'MEMORY', 'DIGEST', 'ALIASES']];
      for (const v of answer.versions) {
        const named = aliases.filter((a) => (a.versions[String(v.version)] ?? 0) > 0).map((a) => a.alias);
        rows.push([
          v.version === answer.current ? '*' : '',
          String(v.version),
          v.created_at,
          formatBytes(v.size),
          `${v.limits.timeout_ms} ms`,
          `${v.limits.memory_mb} MiB`,
          v.digest.slice(0, 19),
          named.join(','),
        ]);
      }
      printTable(rows);
    });
}
