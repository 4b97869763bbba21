/**
 * @module cli/tokens
 * `wafer tokens <name> [--create [--label L] | --revoke ID]`: lists, makes or revokes a
 * function's invoke tokens (calls of a version deployed with `--invoke-auth token` need one).
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, CliError, Client, type ClientOptions } from './client.js';
import { printTable } from './table.js';

interface TokenView {
  id: string;
  label: string | null;
  created_at: string;
}

interface TokensFlags extends ClientOptions {
  create?: boolean;
  label?: string;
  revoke?: string;
  json?: boolean;
}

export function registerTokens(program: Command): void {
  program
    .command('tokens')
    .description('list a function\'s invoke tokens, make one (--create; the token is shown once), or revoke one (--revoke ID)')
    .argument('<name>', 'function name')
    .option('--create', 'make a token and print it (it cannot be shown again)')
    .option('--label <label>', 'a name for the token made with --create')
    .option('--revoke <id>', 'revoke the token with this id: calls presenting it are refused at once')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, flags: TokensFlags) => {
      if (flags.create && flags.revoke !== undefined) throw new CliError('--create and --revoke cannot go together');
      if (flags.label !== undefined && !flags.create) throw new CliError('--label goes with --create');
      const client = new Client(flags);
      const base = `/v1/functions/${encodeURIComponent(name)}/tokens`;
      if (flags.create) {
        const body = flags.label === undefined ? undefined : Buffer.from(JSON.stringify({ label: flags.label }));
        const made = await client.json<TokenView & { token: string }>('POST', base, body ? { body, headers: { 'content-type': 'application/json' } } : {});
        if (flags.json) console.log(JSON.stringify(made, null, 2));
        else console.log(`${made.token}\n(token ${made.id} of ${name}; shown once: keep it now)`);
        return;
      }
      if (flags.revoke !== undefined) {
        await client.json('DELETE', `${base}/${encodeURIComponent(flags.revoke)}`);
        if (!flags.json) console.log(`revoked token ${flags.revoke} of ${name}`);
        return;
      }
      const list = await client.json<{ name: string; tokens: TokenView[] }>('GET', base);
      if (flags.json) console.log(JSON.stringify(list, null, 2));
      else if (list.tokens.length === 0) console.log(`${name} has no invoke tokens`);
      else printTable([['ID', 'LABEL', 'CREATED'], ...list.tokens.map((t) => [t.id, t.label ?? '', t.created_at])]);
    });
}
