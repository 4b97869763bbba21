/**
 * @module cli/deploy
 * `wafer deploy <name> <file.wasm>`: uploads a component as a new version of a function.
 */
import { openAsBlob } from 'node:fs';
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, CliError, Client, type ClientOptions } from './client.js';

interface DeployFlags extends ClientOptions {
  timeoutMs?: string;
  memoryMb?: string;
  instance?: string;
  fuel?: string;
  maxConcurrency?: string;
  env?: string[];
  invokeAuth?: string;
  json?: boolean;
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('upload a component as a new version of a function')
    .argument('<name>', 'function name: a-z, then up to 62 of a-z, 0-9, -')
    .argument('<file>', 'the component (.wasm)')
    .option('--timeout-ms <ms>', 'time quota per call')
    .option('--memory-mb <mb>', 'memory quota per instance')
    .option('--instance <mode>', 'fresh (an instance per call, the default) or reuse (warm instances kept per function; state survives between calls)')
    .option('--fuel <n>', 'fuel per call (wasmtime only): a call that uses it up fails with out_of_fuel')
    .option('--max-concurrency <n>', 'calls of this function running at once (default 8, at most the host\'s share per function)')
    .option('--env <KEY=VALUE>', 'environment variable the guest sees (repeatable; names only are shown back)', (v: string, all: string[] = []) => [...all, v])
    .option('--invoke-auth <mode>', 'none (the default) or token: calls need an invoke token (`wafer tokens`) or the management token')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, file: string, flags: DeployFlags) => {
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
      if (flags.fuel) query.set('fuel', flags.fuel);
      if (flags.maxConcurrency) query.set('max_concurrency', flags.maxConcurrency);
      for (const kv of flags.env ?? []) {
        if (kv.indexOf('=') < 1) throw new CliError(`--env must be KEY=VALUE, got ${JSON.stringify(kv)}`);
        query.append('env', kv);
      }
      if (flags.invokeAuth) query.set('invoke_auth', flags.invokeAuth);
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
