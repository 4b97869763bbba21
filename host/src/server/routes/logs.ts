/**
 * @module server/routes/logs
 * GET /v1/functions/{name}/logs[?since=&limit=&follow=1], on the management router (behind the
 * token). Answers one JSON page `{name, entries, next, more}`; with `follow=1`, server-sent
 * events: the same page, then each new entry as it is logged, a comment line as heartbeat, and
 * `event: end` when the function is deleted. `since` is a cursor (an entry's `seq`, or a page's
 * `next`: entries after it) or a time (RFC 3339: entries at or after it); without it the page is
 * the newest `limit` entries.
 */
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { InvalidInputError, OverloadedError } from '../../errors.js';
import type { FunctionService } from '../../functions/service.js';
import type { LogEntry, LogQuery } from '../../functions/logs.js';
import { DEFAULT_LOG_LIMIT, LOG_HEARTBEAT_MS, MAX_LOG_FOLLOWERS, MAX_LOG_LIMIT } from '../../limits.js';
import { lastParam, timeParam } from './views.js';

/** Bytes a following client may fall behind by before its stream is ended (it can reconnect with Last-Event-ID). */
const MAX_FOLLOWER_BACKLOG_BYTES = 4 * 1024 * 1024;
const CURSOR = /^\d{1,16}$/;

/** The query as the log store takes it, refusing anything malformed with `invalid_request`. */
export function logQuery(query: Record<string, string | string[] | undefined>, lastEventId?: string): LogQuery {
  const limitText = lastParam(query.limit);
  let limit = DEFAULT_LOG_LIMIT;
  if (limitText !== undefined) {
    limit = /^\d{1,6}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > MAX_LOG_LIMIT) throw new InvalidInputError('invalid_request', `limit must be an integer from 1 to ${MAX_LOG_LIMIT}, got ${JSON.stringify(limitText.slice(0, 20))}`);
  }
  const since = lastParam(query.since) ?? (lastEventId || undefined);
  if (since === undefined) return { limit };
  if (CURSOR.test(since)) return { after: Number(since), limit };
  const ms = timeParam(since, 'since (or a cursor: an entry\'s seq)')!;
  return { after: ms * 1000 - 1, limit };
}

function followParam(value: string | string[] | undefined): boolean {
  const text = lastParam(value);
  if (text === undefined || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new InvalidInputError('invalid_request', `follow must be 1 or 0, got ${JSON.stringify(text.slice(0, 20))}`);
}

function sse(entry: LogEntry): string {
  return `event: log\nid: ${entry.seq}\ndata: ${JSON.stringify(entry)}\n\n`;
}

/** Adds the log route to the management router. */
export function logRoutes(router: Router, service: FunctionService, guard: Middleware): void {
  let followers = 0;

  const follow = async (ctx: Context, name: string, query: LogQuery) => {
    if (followers >= MAX_LOG_FOLLOWERS) throw new OverloadedError(`${MAX_LOG_FOLLOWERS} log streams are open on this host, the most it serves; close one or retry later`);
    // Subscribe before reading the page, so nothing logged in between is missed.
    const live: Array<LogEntry | null> = [];
    let push: (entry: LogEntry | null) => void = (entry) => void live.push(entry);
    const unsubscribe = service.followLogs(name, (entry) => push(entry));
    followers++;
    const stream = new PassThrough();
    let heartbeat: NodeJS.Timeout | undefined;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      followers--;
      unsubscribe();
      clearInterval(heartbeat);
      stream.end();
    };
    let page;
    try {
      page = await service.logs(name, query);
    } catch (err) {
      close();
      throw err;
    }
    let last = page.entries.at(-1)?.seq ?? query.after ?? 0;
    const send = (entry: LogEntry | null) => {
      if (closed) return;
      if (entry === null) {
        stream.write('event: end\ndata: {"reason":"deleted"}\n\n');
        close();
        return;
      }
      if (entry.seq <= last) return;
      last = entry.seq;
      stream.write(sse(entry));
      if (stream.writableLength > MAX_FOLLOWER_BACKLOG_BYTES) close();
    };
    ctx.status = 200;
    ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    ctx.body = stream;
    stream.write(`: following ${name}\n\n`);
    for (const entry of page.entries) stream.write(sse(entry));
    for (const entry of live) send(entry);
    push = send;
    heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), LOG_HEARTBEAT_MS);
    heartbeat.unref();
    // The response's close, not the request's: a request without a body closes once it has been read.
    ctx.res.once('close', close);
  };

  router.get('/:name/logs', guard, async (ctx) => {
    const name = ctx.params.name!;
    const query = logQuery(ctx.query, ctx.get('last-event-id'));
    if (followParam(ctx.query.follow)) return follow(ctx, name, query);
    const { entries, more } = await service.logs(name, query);
    ctx.body = { name, entries, next: String(entries.at(-1)?.seq ?? query.after ?? 0), more };
  });
}
