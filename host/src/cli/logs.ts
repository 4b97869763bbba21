/**
 * @module cli/logs
 * `wafer logs <name> [--follow] [--since S] [--limit N] [--json]`: prints a function's log
 * (GET /v1/functions/{name}/logs), one header line per call and its output indented under it;
 * with --follow it keeps printing new entries (server-sent events) until interrupted.
 */
import type { Command } from 'commander';
import type { LogEntry } from '../functions/logs.js';
import { CLIENT_OPTION_HELP, CliError, Client, describeError, type ClientOptions } from './client.js';
import { interruptSignal } from './interrupt.js';

interface LogsFlags extends ClientOptions {
  follow?: boolean;
  since?: string;
  limit?: string;
  json?: boolean;
}

/** An entry as text: `<time> v<version> <invocation id> <status> <code> <µs> [cold]`, then `  out| ` and `  err| ` lines. */
export function formatEntry(entry: LogEntry): string {
  const head = `${entry.time} v${entry.version} ${entry.invocation_id} ${entry.status} ${entry.code} ${entry.duration_us}µs${entry.start === 'cold' ? ' cold' : ''}`;
  const lines = [head];
  for (const [tag, text] of [['out', entry.stdout], ['err', entry.stderr]] as const) {
    if (text === undefined) continue;
    for (const line of (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n')) lines.push(`  ${tag}| ${line}`);
  }
  return lines.join('\n');
}

/** Reads server-sent events from `body`, calling `onEvent` with each event's name and data. */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: string, data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
  }
}

/**
 * Streams `name`'s log entries after `query`'s cursor to `onEntry` until the function is deleted
 * (resolves true) or `signal` aborts (resolves false).
 */
export async function followLogs(client: Client, name: string, query: URLSearchParams, onEntry: (entry: LogEntry) => void, signal?: AbortSignal): Promise<boolean> {
  query.set('follow', '1');
  const path = `/v1/functions/${encodeURIComponent(name)}/logs?${query}`;
  let ended = false;
  try {
    const response = await client.request('GET', path, { headers: { accept: 'text/event-stream' }, signal });
    if (!response.ok) throw new CliError(await describeError(response));
    await readEvents(response.body!, (event, data) => {
      if (event === 'log') onEntry(JSON.parse(data) as LogEntry);
      if (event === 'end') ended = true;
    });
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
  return ended;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a function's log: each call that wrote output or failed, oldest first (the newest --limit without --since)")
    .argument('<name>', 'function name')
    .option('-f, --follow', 'keep printing new entries as calls log them, until interrupted')
    .option('--since <cursor|time>', 'entries after a cursor (an entry\'s seq, or the previous page\'s next) or from an RFC 3339 time')
    .option('--limit <n>', 'entries per request, 1 to 1000 (default 100)')
    .option('--json', 'print each entry as one line of JSON')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .action(async (name: string, flags: LogsFlags) => {
      const client = new Client(flags);
      const query = new URLSearchParams();
      if (flags.since !== undefined) query.set('since', flags.since);
      if (flags.limit !== undefined) query.set('limit', flags.limit);
      const print = (entry: LogEntry) => console.log(flags.json ? JSON.stringify(entry) : formatEntry(entry));
      const path = `/v1/functions/${encodeURIComponent(name)}/logs`;
      if (!flags.follow) {
        const page = await client.json<{ entries: LogEntry[] }>('GET', `${path}?${query}`);
        page.entries.forEach(print);
        return;
      }
      if (await followLogs(client, name, query, print, interruptSignal())) console.error(`wafer: ${name} was deleted`);
    });
}
