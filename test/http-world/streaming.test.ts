/**
 * Streaming in the `wasi:http/proxy` world on wasmtime, over real HTTP: the request body reaches
 * the guest as it arrives and the response leaves as the guest writes it. Once the head has gone
 * out, a failure (a trap, the deadline, a limit, a body off its declared length) cuts the
 * connection: the client sees an error, never a truncated success. Streamed calls are metered and
 * logged like any other, when they end.
 *
 * Guest: test/fixtures/dist/http-probe.wasm (test/fixtures/http-probe/), routes `/interleave`,
 * `/drip`, `/flood`, `/declared`, `/trap-after`, `/big`, `/unfinished`, `/echo`.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

/** What a client got: status, headers, the body bytes, trailers, and whether the answer was complete. */
interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
  /** False when the connection was cut before the answer ended. */
  complete: boolean;
}

/**
 * One request through Node's HTTP client, reading the answer to its end or its cut. A `body`
 * array is sent chunked, one write per element.
 */
function get(host: TestHost, path: string, init: { method?: string; body?: Buffer | Buffer[] } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${host.url}${path}`, { method: init.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers, complete: res.complete });
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', reject);
    if (Array.isArray(init.body)) {
      for (const chunk of init.body) req.write(chunk);
      req.end();
    } else {
      req.end(init.body);
    }
  });
}

/** A raw connection: everything received so far, and a wait for a string to show up (or the end). */
function raw(host: TestHost): { socket: Socket; text: () => string; until: (s: string) => Promise<string>; closed: Promise<void> } {
  const { port } = new URL(host.url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    wake();
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => (wake(), resolve())));
  socket.on('error', () => {});
  const until = async (s: string): Promise<string> => {
    while (!text.includes(s) && !socket.destroyed) await new Promise<void>((r) => waiters.push(r));
    if (!text.includes(s)) throw new Error(`connection closed before ${JSON.stringify(s)}; got ${JSON.stringify(text.slice(0, 300))}`);
    return text;
  };
  return { socket, text: () => text, until, closed };
}

/** Polls `check` until it answers true (the function log and usage are written when a call ends). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never happened');
}

interface LogEntry {
  invocation_id: string;
  code: string;
  status: number;
  duration_us: number;
  stdout?: string;
}

async function logEntries(host: TestHost, name: string): Promise<LogEntry[]> {
  const body = (await (await host.api('GET', `/v1/functions/${name}/logs`)).json()) as { entries: LogEntry[] };
  return body.entries;
}

describe('wasi:http/proxy streaming on wasmtime', () => {
  let host: TestHost;
  let big: TestHost;

  beforeAll(async () => {
    const probe = await fixture('http-probe');
    // A small response limit, so the over-long body cases need no megabytes.
    host = await startTestHost('wasmtime', { maxResponseBytes: 64 * 1024, maxRequestBytes: 256 * 1024 });
    await host.deploy('probe', probe);
    await host.deploy('probe-short', probe, '?timeout_ms=300');
    await host.deploy('probe-reused', probe, '?instance=reuse');
    // Room for megabytes both ways.
    big = await startTestHost('wasmtime', { maxResponseBytes: 64 * 1024 * 1024, maxRequestBytes: 8 * 1024 * 1024 });
    await big.deploy('probe', probe);
    await big.deploy('probe-1s', probe, '?timeout_ms=1000');
  });
  afterAll(async () => {
    await host?.destroy();
    await big?.destroy();
  });

  describe('the response streams', () => {
    it('sends the head and the first chunk before the guest has finished, and the request body as it arrives', async () => {
      // The guest writes `first`, then reads the request body to its end: it cannot finish
      // before this client ends its body, which it does only once it has seen `first`.
      const c = raw(host);
      c.socket.write('POST /fn/probe/interleave HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
      const early = await c.until('first\n');
      expect(early).toMatch(/^HTTP\/1\.1 200 /);
      expect(early.toLowerCase()).toContain('transfer-encoding: chunked');
      expect(early.toLowerCase()).toContain('x-wafer-invocation-id:');
      expect(early).not.toContain('last');
      c.socket.write('6\r\n world\r\n0\r\n\r\n');
      await c.closed;
      const text = c.text();
      expect(text).toContain('hello world');
      expect(text).toContain('last\n');
      // The answer ends properly: the last chunk, then the duration trailer.
      expect(text).toMatch(/\r\n0\r\nx-wafer-duration-us: \d+\r\n\r\n$/i);
    });

    it('answers chunks written over time in order, with the duration as a trailer', async () => {
      const res = await get(host, '/fn/probe/drip?chunks=3&ms=20');
      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.body.toString()).toBe('drip 0\ndrip 1\ndrip 2\n');
      expect(res.headers['x-wafer-duration-us']).toBeUndefined();
      expect(Number(res.trailers['x-wafer-duration-us'])).toBeGreaterThan(0);
    });

    it('answers a small body written at once whole, with its length and the duration header', async () => {
      const res = await get(host, '/fn/probe/declared?len=10&actual=10');
      expect(res.complete).toBe(true);
      expect(res.headers['content-length']).toBe('10');
      expect(Number(res.headers['x-wafer-duration-us'])).toBeGreaterThan(0);
      expect(res.body.toString()).toBe('dddddddddd');
    });

    it('sends the length the guest declared as content-length on a streamed answer, when the body matches it', async () => {
      const res = await get(host, '/fn/probe/declared?len=10&actual=10&ms=20');
      expect(res.complete).toBe(true);
      expect(res.headers['content-length']).toBe('10');
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(res.body.toString()).toBe('dddddddddd');
    });

    it('echoes a request body of several MiB, streamed both ways', async () => {
      const body = Buffer.alloc(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
      const res = await get(big, '/fn/probe/echo', { method: 'POST', body });
      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.body.equals(body)).toBe(true);
    });

    it('refuses a declared request body over the limit with payload_too_large before the guest starts', async () => {
      const res = await host.call('probe', '/echo', { method: 'POST', body: Buffer.alloc(256 * 1024 + 1) });
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('payload_too_large');
    });

    it('fails the call with payload_too_large when a chunked body grows past the limit, whatever the guest made of it', async () => {
      // /echo reads the whole body before it answers: the answer is still the JSON error.
      const before = await get(host, '/fn/probe/echo', { method: 'POST', body: Array.from({ length: 5 }, () => Buffer.alloc(64 * 1024, 1)) });
      expect(before.status).toBe(413);
      expect(JSON.parse(before.body.toString()).error.code).toBe('payload_too_large');
      // Once /interleave has sent its head, the rest of the body passes the limit: the connection is cut.
      const c = raw(host);
      c.socket.write('POST /fn/probe/interleave HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n');
      const head = await c.until('first\n');
      const id = /x-wafer-invocation-id: ([^\r]+)/i.exec(head)![1]!;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let i = 0; i < 5 && !c.socket.destroyed; i++) c.socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      await c.closed;
      expect(c.text()).not.toMatch(/\r\n0\r\n/);
      await eventually(async () => (await logEntries(host, 'probe')).some((e) => e.invocation_id === id && e.code === 'payload_too_large'));
    });
  });

  describe('a failure after the head cuts the connection', () => {
    it('a trap after the headers and part of the body', async () => {
      const res = await get(host, '/fn/probe/trap-after');
      expect(res.status).toBe(200);
      expect(res.complete).toBe(false);
    });

    it('a body never finished', async () => {
      expect((await get(host, '/fn/probe/unfinished')).complete).toBe(false);
    });

    it('the deadline hit mid-stream', async () => {
      const res = await get(host, '/fn/probe-short/drip?chunks=100&ms=50');
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/^drip 0\n/);
      expect(res.complete).toBe(false);
    });

    it('a body over the response limit', async () => {
      const res = await get(host, `/fn/probe/big?n=${64 * 1024 + 1}`);
      expect(res.status).toBe(200);
      expect(res.complete).toBe(false);
      expect(res.body.length).toBeLessThanOrEqual(64 * 1024);
    });

    // The guest sleeps after setting its response, so the head is out before its body breaks the length.
    it('a body longer than its declared content-length', async () => {
      const res = await get(host, '/fn/probe/declared?len=5&actual=10&ms=20');
      expect(res.headers['content-length']).toBe('5');
      expect(res.complete).toBe(false);
    });

    it('a body shorter than its declared content-length', async () => {
      const res = await get(host, '/fn/probe/declared?len=10&actual=5&ms=20');
      expect(res.headers['content-length']).toBe('10');
      expect(res.complete).toBe(false);
    });

    it('a raw client sees no last chunk after a trap', async () => {
      const c = raw(host);
      c.socket.write('GET /fn/probe/trap-after HTTP/1.1\r\nhost: x\r\n\r\n');
      await c.closed;
      expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
      expect(c.text()).not.toMatch(/\r\n0\r\n/);
    });
  });

  describe('failures before the head answer as the wafer ABI does', () => {
    it('a declared content-length over the response limit: 502 bad_response', async () => {
      const res = await host.call('probe', `/declared?len=${64 * 1024 + 1}&actual=0`);
      expect(res.status).toBe(502);
      expect((await errorOf(res)).code).toBe('bad_response');
    });

    it('a body off its declared content-length, written before the head went out: 502 bad_response', async () => {
      for (const path of ['/declared?len=5&actual=10', '/declared?len=10&actual=5']) {
        const res = await host.call('probe', path);
        expect(res.status).toBe(502);
        expect((await errorOf(res)).message).toMatch(/declared content-length/);
      }
    });

    it('a trap before the response: 500 trap', async () => {
      const res = await host.call('probe', '/trap');
      expect(res.status).toBe(500);
      expect((await errorOf(res)).code).toBe('trap');
    });
  });

  describe('a slow client', () => {
    it('holds the guest up rather than host memory, and the call still ends at its deadline', async () => {
      // 50 MiB the client never reads: the host takes no more than its bounded in-flight bytes
      // (host/native/src/stream.rs) plus the socket's buffers, and the guest waits in its write
      // until the deadline ends the call.
      const before = (await logEntries(big, 'probe-1s')).length;
      const c = raw(big);
      c.socket.pause();
      c.socket.write(`GET /fn/probe-1s/flood?n=${50 * 1024 * 1024} HTTP/1.1\r\nhost: x\r\n\r\n`);
      await eventually(async () => (await logEntries(big, 'probe-1s')).length > before);
      const entry = (await logEntries(big, 'probe-1s')).at(-1)!;
      expect(entry.code).toBe('timeout');
      c.socket.resume();
      await c.closed;
      // Cut, not finished, and nowhere near the 50 MiB the guest meant to send.
      expect(c.text()).not.toMatch(/\r\n0\r\n\r\n$/);
      expect(c.text().length).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('metering and logs', () => {
    it('writes the log entry and the usage of a streamed call when it ends, the failures too', async () => {
      const before = (await logEntries(host, 'probe-reused')).length;
      // A call that succeeds has a log entry when it wrote to stdout or stderr (functions/logs.ts).
      const ok = await get(host, '/fn/probe-reused/log');
      expect(ok.complete).toBe(true);
      expect(ok.body.toString()).toBe('logged');
      const cut = await get(host, '/fn/probe-reused/trap-after');
      expect(cut.complete).toBe(false);
      await eventually(async () => (await logEntries(host, 'probe-reused')).length >= before + 2);
      const entries = (await logEntries(host, 'probe-reused')).slice(before);
      const byId = new Map(entries.map((e) => [e.invocation_id, e]));
      const okEntry = byId.get(String(ok.headers['x-wafer-invocation-id']))!;
      expect(okEntry).toMatchObject({ code: 'ok', status: 200, stdout: 'probe says hello on stdout\n' });
      // Written at once, the answer went out whole: the duration is a header.
      expect(okEntry.duration_us).toBe(Number(ok.headers['x-wafer-duration-us']));
      expect(byId.get(String(cut.headers['x-wafer-invocation-id']))).toMatchObject({ code: 'trap' });
      const usage = (await (await host.api('GET', '/v1/functions/probe-reused/usage')).json()) as { totals: { invocations: number; errors: Record<string, number> } };
      expect(usage.totals.invocations).toBeGreaterThanOrEqual(2);
      expect(usage.totals.errors).toMatchObject({ trap: 1 });
    });

    it('keeps a reused instance serving after streamed calls', async () => {
      const res = await get(host, '/fn/probe-reused/echo', { method: 'POST', body: Buffer.from('still here') });
      expect(res.body.toString()).toBe('still here');
    });
  });
});
