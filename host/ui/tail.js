/**
 * @module ui/tail
 * Follows a function's log: `GET …/logs?follow=1` is server-sent events, read here with fetch()
 * and a stream reader because EventSource cannot send the Authorization header. Reconnects from
 * the last entry seen (`since`) until its signal aborts.
 */
import { authHeaders, fnPath } from './api.js';

/** Bytes of one event block accepted before the stream is given up (entries carry ≤ 2 × 64 KiB of output). */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;
const RETRY_MS = 2000;

/** Yields `{event, id, data}` for each event of a server-sent events body. */
export async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { event: 'message', id: null, data: [] };
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data.push(value);
          else if (field === 'event') event.event = value;
          else if (field === 'id') event.id = value;
        }
        if (event.data.length) yield { ...event, data: event.data.join('\n') };
      }
      if (buffer.length > MAX_EVENT_BYTES) throw new Error('a log event was too large');
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Follows `name`'s log: the newest `limit` entries, then each new one, passed to `onEntry`;
 * `onStatus(text, kind)` says how the stream is (`wait`, `ok`, `error`), `onUnauthorized` runs
 * on a 401. Ends when `signal` aborts, the function is deleted, or the host refuses the token.
 */
export async function followLog(name, { signal, limit = 50, onEntry, onStatus, onUnauthorized }) {
  let since = null;
  while (!signal.aborted) {
    try {
      onStatus('connecting', 'wait');
      const query = since === null ? `follow=1&limit=${limit}` : `follow=1&since=${encodeURIComponent(since)}`;
      const res = await fetch(fnPath(name, `/logs?${query}`), { signal, cache: 'no-store', headers: { ...authHeaders(), accept: 'text/event-stream' } });
      if (res.status === 401) return onUnauthorized();
      if (res.status === 404) return onStatus('no such function', 'error');
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onStatus('live', 'ok');
      for await (const event of serverSentEvents(res.body)) {
        if (signal.aborted) return;
        if (event.event === 'end') return onStatus('ended: the function was deleted', 'error');
        if (event.event !== 'log') continue;
        if (event.id !== null) since = event.id;
        onEntry(JSON.parse(event.data));
      }
    } catch {
      if (signal.aborted) return;
    }
    onStatus('reconnecting', 'wait');
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
