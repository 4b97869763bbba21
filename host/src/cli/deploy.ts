/**
 * @module cli/deploy
 * `wafer deploy <name> <file.wasm>`: uploads a component as a new version of a function.
 */
import { openAsBlob } from 'node:fs';
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, CliError, Client, type ClientOptions } from './client.js';

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('upload a component as a new version of a function')
    .argument('<name>', 'function name: a-z, then up to 62 of a-z, 0-9, -')
    .argument('<file>', 'the component (.wasm)')
    .option('--timeout-ms <ms>', 'time quota per call')
    .option('--memory-mb <mb>', 'memory quota per instance')
    .option('--instance <mode>', 'fresh (an instance per call, the default) or reuse (warm instances kept per function; state survives between calls)')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, file: string, flags: ClientOptions & { timeoutMs?: string; memoryMb?: string; instance?: string; json?: boolean }) => {
      let blob: Blob;
      try {
        blob = await openAsBlob(file);
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const query = new URLSearchParams();
      if (flags.timeoutMs) query.set('timeout_ms', flags.timeoutMs);
      if (flags.memoryMb) query.set('memory_mb', flags.memoryMb);
      if (flags.instance) query.set('instance', flags.instance);
      const qs = query.size > 0 ? `?${query}` : '';
      const started = Date.now();
      const fn = await new Client(flags).json<{ name: string; version: number; digest: string; size: number }>(
        'PUT',
        `/v1/functions/${encodeURIComponent(name)}${qs}`,
        { body: blob, headers: { 'content-type': 'application/wasm' } },
      );
      if (flags.json) console.log(JSON.stringify(fn, null, 2));
      else console.log(`deployed ${fn.name} version ${fn.version} (${fn.size} bytes, ${fn.digest}) in ${Date.now() - started} ms`);
    });
}
