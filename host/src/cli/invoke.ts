/**
 * @module cli/invoke
 * `wafer invoke <name>`: calls a function over HTTP and prints its response body.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, CliError, Client, describeError, type ClientOptions } from './client.js';
import { EXIT, UsageError } from './exit.js';

interface InvokeFlags extends ClientOptions {
  request: string;
  data?: string;
  dataFile?: string;
  header: string[];
  include?: boolean;
  token?: string;
  json?: boolean;
}

/** What `wafer invoke --json` prints: the body as text when it is UTF-8, else base64. */
export interface InvokeView {
  status: number;
  headers: Record<string, string>;
  body: string;
  body_encoding: 'utf8' | 'base64';
}

/** The response as one JSON-able object (header names lower-case; repeated ones joined by ", "). */
export function invokeView(status: number, headers: Headers, body: Uint8Array): InvokeView {
  const named: Record<string, string> = {};
  headers.forEach((value, key) => (named[key] = value));
  try {
    return { status, headers: named, body: new TextDecoder('utf-8', { fatal: true }).decode(body), body_encoding: 'utf8' };
  } catch {
    return { status, headers: named, body: Buffer.from(body).toString('base64'), body_encoding: 'base64' };
  }
}

export function registerInvoke(program: Command): void {
  program
    .command('invoke')
    .description('call a function and print its response body (status and headers with -i); exits 1 if it answers a status other than 2xx')
    .argument('<name>', 'function name; name@alias or name@N calls an alias or a kept version')
    .argument('[path]', 'path and query after /fn/<name>, e.g. /greet?name=Ada', '')
    .option('-X, --request <method>', 'HTTP method', '')
    .option('-d, --data <text>', 'request body (implies POST)')
    .option('--data-file <file>', 'read the request body from a file ("-" for stdin; implies POST)')
    .option('-H, --header <header>', 'request header "name: value" (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('-i, --include', 'print the status line and headers before the body')
    .option('--json', 'print {status, headers, body, body_encoding} as JSON: body is the text when it is UTF-8 (body_encoding "utf8"), else base64')
    .option('--token <token>', 'invoke token of a function deployed with --invoke-auth token (default $WAFER_INVOKE_TOKEN)')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .action(async (name: string, path: string, flags: InvokeFlags) => {
      let body: Uint8Array | undefined;
      if (flags.data !== undefined) body = Buffer.from(flags.data);
      else if (flags.dataFile === '-') body = await readStdin();
      else if (flags.dataFile) body = await readFile(flags.dataFile);
      const headers: Record<string, string> = {};
      for (const line of flags.header) {
        const colon = line.indexOf(':');
        if (colon < 1) throw new UsageError(`bad header ${JSON.stringify(line)}: use "name: value"`);
        headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      // The invoke token only: the management token is never sent to a function unasked.
      const token = flags.token || process.env.WAFER_INVOKE_TOKEN;
      if (token && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Bearer ${token}`;
      const method = flags.request || (body ? 'POST' : 'GET');
      const suffix = path && !path.startsWith('/') && !path.startsWith('?') ? `/${path}` : path;
      const response = await new Client({ ...flags, token: '' }).request(method, `/fn/${name.split('@').map(encodeURIComponent).join('@')}${suffix}`, {
        body,
        headers,
        auth: false,
      });
      if (flags.json) {
        if (!response.ok && !response.headers.get('x-wafer-invocation-id')) throw new CliError(await describeError(response));
        console.log(JSON.stringify(invokeView(response.status, response.headers, new Uint8Array(await response.arrayBuffer())), null, 2));
        if (!response.ok) process.exitCode = EXIT.failed;
        return;
      }
      if (flags.include) {
        process.stdout.write(`HTTP ${response.status} ${response.statusText}\n`);
        response.headers.forEach((value, key) => process.stdout.write(`${key}: ${value}\n`));
        process.stdout.write('\n');
      }
      if (!response.ok && !response.headers.get('x-wafer-invocation-id')) throw new CliError(await describeError(response));
      process.stdout.write(Buffer.from(await response.arrayBuffer()));
      if (!response.ok) process.exitCode = EXIT.failed;
    });
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
