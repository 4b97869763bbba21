/**
 * Hostile HTTP: slow clients and many connections (issue 8 #6). Headers dribbled a line at a
 * time (slowloris), a body trickled byte by byte, a connection that never says anything, and an
 * idle keep-alive connection are all cut off within their configured times, answered 408
 * `request_timeout` where an answer is possible, while a healthy function keeps answering.
 * Connections past `maxConnections` are closed as they arrive. Timeouts are small here so the
 * cases run in seconds; the bounds asserted are generous (a second of Node's checking period
 * plus slack), never a speed.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { collect, openSocket, rawErrorCode, send } from './http-kit.js';

const TIMEOUTS = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 500 };

/** Writes `line` to `socket` every `everyMs` until the socket closes; returns a stopper. */
function dribble(socket: Socket, line: () => string, everyMs: number): () => void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) return clearInterval(timer);
    socket.write(line());
  }, everyMs);
  return () => clearInterval(timer);
}

describe.each(ENGINES)('slow clients on %s', (engine) => {
  let host: TestHost;

  beforeAll(async () => {
    host = await startTestHost(engine, TIMEOUTS);
    await host.deploy('healthy', await fixture('respond'));
  });
  afterAll(() => host?.destroy());

  /** Healthy calls, each on a connection of its own, all answered 200. */
  async function healthyCalls(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const res = await send(host.url, 'GET', '/fn/healthy');
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('ok');
    }
  }

  it('issue 8 #6: a slowloris client dribbling headers is cut off with 408 request_timeout', async () => {
    const socket = await openSocket(host.url);
    socket.write('GET /fn/healthy HTTP/1.1\r\nHost: wafer\r\n');
    let n = 0;
    const stop = dribble(socket, () => `X-Slow-${n++}: a\r\n`, 100);
    const answer = collect(socket, 6_000);
    await healthyCalls(5);
    const seen = await answer;
    stop();
    expect(seen.closed).toBe(true);
    expect(seen.status).toBe(408);
    expect(rawErrorCode(seen)).toBe('request_timeout');
    expect(seen.ms).toBeLessThan(TIMEOUTS.headersTimeoutMs + 2_500);
    await healthyCalls(1);
  });

  it('issue 8 #6: a body trickled byte by byte is cut off with 408 request_timeout', async () => {
    const socket = await openSocket(host.url);
    socket.write('POST /fn/healthy HTTP/1.1\r\nHost: wafer\r\nContent-Length: 100000\r\n\r\n');
    const stop = dribble(socket, () => 'x', 50);
    const answer = collect(socket, 8_000);
    await healthyCalls(5);
    const seen = await answer;
    stop();
    expect(seen.closed).toBe(true);
    expect(seen.status).toBe(408);
    expect(rawErrorCode(seen)).toBe('request_timeout');
    expect(seen.ms).toBeLessThan(TIMEOUTS.requestTimeoutMs + 2_500);
    await healthyCalls(1);
  });

  it('issue 8 #6: a connection that never sends a byte is closed after the headers timeout', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => openSocket(host.url)));
    const answers = sockets.map((socket) => collect(socket, 6_000));
    await healthyCalls(3);
    for (const seen of await Promise.all(answers)) {
      expect(seen.closed).toBe(true);
      expect(seen.ms).toBeLessThan(TIMEOUTS.headersTimeoutMs + 2_500);
    }
    await healthyCalls(1);
  });

  it('issue 8 #6: an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const socket = await openSocket(host.url);
    socket.write('GET /fn/healthy HTTP/1.1\r\nHost: wafer\r\n\r\n');
    const seen = await collect(socket, 6_000);
    expect(seen.status).toBe(200);
    expect(seen.closed).toBe(true);
    expect(seen.ms).toBeLessThan(TIMEOUTS.keepAliveTimeoutMs + 2_500);
    await healthyCalls(1);
  });
});

describe.each(ENGINES)('connections past maxConnections on %s', (engine) => {
  let host: TestHost;
  const MAX = 4;

  beforeAll(async () => {
    // The keep-alive timeout is short so fetch's pooled connection from the deploy is gone
    // before the cases count connections.
    host = await startTestHost(engine, { maxConnections: MAX, keepAliveTimeoutMs: 200, headersTimeoutMs: 3_000, requestTimeoutMs: 3_000 });
    await host.deploy('healthy', await fixture('respond'));
  });
  afterAll(() => host?.destroy());

  it('issue 8 #6: a connection past maxConnections is closed at once, and the host serves again after', async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = await Promise.all(Array.from({ length: MAX }, () => openSocket(host.url)));
    // A request line on each makes sure the host has accepted them all.
    for (const socket of held) socket.write('GET /fn/healthy HTTP/1.1\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra = await openSocket(host.url);
    extra.write('GET /fn/healthy HTTP/1.1\r\nHost: wafer\r\n\r\n');
    const refused = await collect(extra, 2_500);
    expect(refused.closed).toBe(true);
    expect(refused.text).toBe('');

    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const res = await send(host.url, 'GET', '/fn/healthy');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
  });
});
