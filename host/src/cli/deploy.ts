/**
 * @module cli/deploy
 * `wafer deploy <name> <file.wasm>`: uploads a component as a new version of a function. The
 * upload is streamed and counted, so an upload that takes over a second draws a byte bar on a
 * terminal, then a spinner while the host compiles.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { UsageError } from './exit.js';
import { Progress } from './progress.js';

/** The host's answer to a deploy (PUT /v1/functions/{name}). */
export interface Deployed {
  name: string;
  version: number;
  digest: string;
  size: number;
}

/** Uploads `file` as a new version of `name` with the deploy `query` (timeout_ms, …), drawing its progress. */
export async function deployFile(
  client: Client,
  name: string,
  file: string,
  query: URLSearchParams,
  progress = new Progress(),
  signal?: AbortSignal,
): Promise<Deployed> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  progress.bytes('uploading', size);
  const counted = (Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        progress.add(chunk.byteLength);
        controller.enqueue(chunk);
      },
      // Every byte is handed to the connection: what is left is the host validating and compiling.
      flush: () => progress.wait('compiling'),
    }),
  );
  const qs = query.size > 0 ? `?${query}` : '';
  try {
    return await client.json<Deployed>('PUT', `/v1/functions/${encodeURIComponent(name)}${qs}`, {
      body: counted,
      headers: { 'content-type': 'application/wasm', 'content-length': String(size) },
      signal,
    });
  } finally {
    progress.stop();
  }
}

/** The deploy settings flags (`dev` takes the first three). */
export interface SettingsFlags {
  timeoutMs?: string;
  memoryMb?: string;
  instance?: string;
  fuel?: string;
  maxConcurrency?: string;
  env?: string[];
  invokeAuth?: string;
  outbound?: string;
}

/** The deploy query from the settings flags. */
export function deployQuery(flags: SettingsFlags): URLSearchParams {
  const query = new URLSearchParams();
  if (flags.timeoutMs) query.set('timeout_ms', flags.timeoutMs);
  if (flags.memoryMb) query.set('memory_mb', flags.memoryMb);
  if (flags.instance) query.set('instance', flags.instance);
  if (flags.fuel) query.set('fuel', flags.fuel);
  if (flags.maxConcurrency) query.set('max_concurrency', flags.maxConcurrency);
  for (const kv of flags.env ?? []) {
    if (kv.indexOf('=') < 1) throw new UsageError(`--env must be KEY=VALUE, got ${JSON.stringify(kv)}`);
    query.append('env', kv);
  }
  if (flags.invokeAuth) query.set('invoke_auth', flags.invokeAuth);
  if (flags.outbound !== undefined) query.set('outbound', flags.outbound);
  return query;
}

interface DeployFlags extends ClientOptions, SettingsFlags {
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
    .option('--outbound <hosts>', 'hosts its outbound HTTP may reach: comma-separated (api.example.com,*.example.org,host:8080) or * (default none)')
    .option('--json', 'print the host\'s JSON answer')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, file: string, flags: DeployFlags) => {
      const started = Date.now();
      const fn = await deployFile(new Client(flags), name, file, deployQuery(flags));
      if (flags.json) console.log(JSON.stringify(fn, null, 2));
      else console.log(`deployed ${fn.name} version ${fn.version} (${fn.size} bytes, ${fn.digest}) in ${Date.now() - started} ms`);
    });
}
