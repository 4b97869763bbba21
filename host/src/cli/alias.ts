/**
 * @module cli/alias
 * `wafer alias <name> [alias] [target]`: lists a function's aliases, shows one, points one at a
 * version (`3`) or splits it by weight (`3=90,4=10`), or removes one (`--rm`).
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { UsageError } from './exit.js';
import { printTable } from './table.js';
import type { AliasView } from './versions.js';

/** `3` → {version: 3}; `3=90,4=10` → {versions: {3: 90, 4: 10}}. The host checks the rest. */
export function parseTarget(text: string): { version: number } | { versions: Record<string, number> } {
  if (/^[0-9]+$/.test(text)) return { version: Number(text) };
  const versions: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^([0-9]+)=([0-9]+(?:\.[0-9]+)?)$/.exec(part.trim());
    if (!match) throw new UsageError(`bad target ${JSON.stringify(text)}: use a version (3) or version=weight pairs (3=90,4=10)`);
    versions[match[1]!] = Number(match[2]);
  }
  return { versions };
}

/** "3" or "3=90% 4=10%". */
function describe(alias: AliasView): string {
  if (alias.version !== undefined) return String(alias.version);
  const total = Object.values(alias.versions).reduce((a, b) => a + b, 0);
  return Object.entries(alias.versions)
    .map(([v, w]) => `${v}=${w} (${Math.round((w / total) * 1000) / 10}%)`)
    .join(' ');
}

export function registerAlias(program: Command): void {
  program
    .command('alias')
    .description('list, show, set or remove the aliases of a function; call one at /fn/<name>@<alias>')
    .argument('<name>', 'function name')
    .argument('[alias]', 'alias name: a-z, then up to 62 of a-z, 0-9, - (omit to list all)')
    .argument('[target]', 'a kept version (3), or version=weight pairs for a weighted split (3=90,4=10); omit to show the alias')
    .option('--rm', 'remove the alias')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, alias: string | undefined, target: string | undefined, flags: ClientOptions & { rm?: boolean; json?: boolean }) => {
      const client = new Client(flags);
      const base = `/v1/functions/${encodeURIComponent(name)}/aliases`;
      if (flags.rm) {
        if (alias === undefined || target !== undefined) throw new UsageError('--rm takes the alias to remove and no target');
        await client.json('DELETE', `${base}/${encodeURIComponent(alias)}`);
        if (!flags.json) console.log(`removed alias ${alias} of ${name}`);
        return;
      }
      if (alias === undefined) {
        const answer = await client.json<{ aliases: AliasView[] }>('GET', base);
        if (flags.json) console.log(JSON.stringify(answer, null, 2));
        else printTable([['ALIAS', 'VERSIONS'], ...answer.aliases.map((a) => [a.alias, describe(a)])]);
        return;
      }
      const body = target === undefined ? undefined : new TextEncoder().encode(JSON.stringify(parseTarget(target)));
      const answer = await client.json<AliasView>(target === undefined ? 'GET' : 'PUT', `${base}/${encodeURIComponent(alias)}`, {
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      if (flags.json) console.log(JSON.stringify(answer, null, 2));
      else console.log(`${name}@${answer.alias} → ${describe(answer)}`);
    });
}
