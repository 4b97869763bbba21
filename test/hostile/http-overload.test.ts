/**
 * Hostile HTTP: overload (issue 8 #6, #13). A function whose slots and queue are full answers
 * 503 `overloaded` with `Retry-After`, at once and without waiting for the request body, while
 * other functions keep answering. The per-function limiter (concurrency 1, queue 0) and a
 * looping guest make the overload; the instance-pool case belongs to the engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { openSocket, rawErrorCode, rawRequest } from './http-kit.js';
import { DEFAULT_RETRY_AFTER_S } from '../../host/src/limits.js';

describe.each(ENGINES)('overload on %s', (engine) => {
  let host: TestHost;

  beforeAll(async () => {
    host = await startTestHost(engine, { maxConcurrency: 1, maxQueue: 0 });
    await host.deploy('healthy', await fixture('respond'));
    await host.deploy('spin', await fixture('loop'), '?timeout_ms=2000');
  });
  afterAll(() => host?.destroy());

  /**
   * Starts a call of `spin` and checks it holds the function's only slot. Returns the call in an
   * object: an async function returning the promise itself would wait for it.
   */
  async function occupy(): Promise<{ running: Promise<Response> }> {
    const running = host.call('spin');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const probe = await host.call('spin');
    expect(probe.status).toBe(503);
    await probe.arrayBuffer();
    return { running };
  }

  it('issue 8 #13: a full function answers 503 overloaded with Retry-After', async () => {
    const { running } = await occupy();
    const res = await host.call('spin');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(DEFAULT_RETRY_AFTER_S));
    expect((await errorOf(res)).code).toBe('overloaded');
    const healthy = await host.call('healthy');
    expect(healthy.status).toBe(200);
    expect((await running).status).toBe(504);
    expect((await host.call('healthy')).status).toBe(200);
  });

  it('issue 8 #6: a full function answers 503 before the request body is sent', async () => {
    const { running } = await occupy();
    const answer = await rawRequest(host.url, 'POST /fn/spin HTTP/1.1\nHost: wafer\nContent-Length: 10000\n\n', 1_500);
    expect(answer.status).toBe(503);
    expect(rawErrorCode(answer)).toBe('overloaded');
    expect(answer.text).toMatch(/\r\nRetry-After: \d+\r\n/i);
    expect(answer.ms).toBeLessThan(1_500);
    expect((await host.call('healthy')).status).toBe(200);
    expect((await running).status).toBe(504);
  });

  it('issue 8 #6: a slow body holds its slot only until the request timeout', async () => {
    // The slot is taken before the body: a client that never sends it must not hold it for long.
    const slow = await startTestHost(engine, { maxConcurrency: 1, maxQueue: 0, headersTimeoutMs: 500, requestTimeoutMs: 1_000 }, host.dataDir);
    try {
      const stalled = rawRequest(slow.url, 'POST /fn/healthy HTTP/1.1\nHost: wafer\nContent-Length: 10000\n\n', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const busy = await slow.call('healthy', '', { method: 'POST', body: 'x' });
      expect(busy.status).toBe(503);
      expect((await errorOf(busy)).code).toBe('overloaded');
      const cut = await stalled;
      expect(cut.status).toBe(408);
      expect(rawErrorCode(cut)).toBe('request_timeout');
      const after = await slow.call('healthy', '', { method: 'POST', body: 'x' });
      expect(after.status).toBe(200);
    } finally {
      await slow.close();
    }
  });

  it('issue 9 #2: a client that hangs up while its call waits in the queue gives the slot back when its turn comes', async () => {
    const host2 = await startTestHost(engine, { maxConcurrency: 1, maxQueue: 1 }, host.dataDir);
    try {
      await host2.deploy('spin-short', await fixture('loop'), '?timeout_ms=300');
      const running = host2.call('spin-short');
      await new Promise((resolve) => setTimeout(resolve, 100));
      // A whole request, body and all, then gone while it waits behind the running call.
      const socket = await openSocket(host2.url);
      socket.write('POST /fn/spin-short HTTP/1.1\r\nHost: wafer\r\nContent-Length: 5\r\n\r\nhello');
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      expect((await running).status).toBe(504);
      // The hung-up call took the slot, found nobody to answer and gave it back: this call runs.
      const after = await host2.call('spin-short');
      expect(after.status).toBe(504);
      expect((await errorOf(after)).code).toBe('timeout');
    } finally {
      await host2.close();
    }
  });
});

/**
 * Issue 9 #2: admission control host-wide. The host runs at most `maxCalls` calls and queues at
 * most `maxQueuedCalls`, and one function holds at most `callShare` of each: here 2 and 2, half
 * each, so a flooding function holds one running and one queued call and the rest of its calls
 * answer 503, while another function still finds the other slot.
 */
describe.each(ENGINES)('host-wide admission on %s', (engine) => {
  let host: TestHost;

  beforeAll(async () => {
    host = await startTestHost(engine, { maxCalls: 2, maxQueuedCalls: 2, callShare: 0.5, maxConcurrency: 8, maxQueue: 8 });
    await host.deploy('healthy', await fixture('respond'));
    await host.deploy('spin', await fixture('loop'), '?timeout_ms=1000');
    await host.deploy('spin-too', await fixture('loop'), '?timeout_ms=1000');
  });
  afterAll(() => host?.destroy());

  /** Sends `count` calls of `name` at once; resolves once `refused` of them have answered 503. */
  async function flood(name: string, count: number, refused: number): Promise<{ all: Promise<number[]> }> {
    let answered = 0;
    let enough!: () => void;
    const seen = new Promise<void>((resolve) => (enough = resolve));
    const all = Promise.all(
      Array.from({ length: count }, async () => {
        const res = await host.call(name);
        await res.arrayBuffer();
        if (res.status === 503 && ++answered === refused) enough();
        return res.status;
      }),
    );
    await seen;
    return { all };
  }

  it('issue 9 #2: one function flooding the host cannot make another function\'s call answer 503', async () => {
    const { all } = await flood('spin', 8, 6);
    const healthy = await host.call('healthy');
    expect(healthy.status).toBe(200);
    expect(await healthy.text()).toBe('ok');
    // One call of `spin` ran, one waited for it and then ran; the other six were refused at once.
    expect((await all).sort()).toEqual([503, 503, 503, 503, 503, 503, 504, 504]);
  });

  it('issue 9 #2: past the host-wide bound every function answers 503 overloaded with Retry-After', async () => {
    const first = await flood('spin', 4, 2);
    const second = await flood('spin-too', 4, 2);
    const res = await host.call('healthy');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(DEFAULT_RETRY_AFTER_S));
    const error = await errorOf(res);
    expect(error.code).toBe('overloaded');
    expect(error.message).toMatch(/the host is overloaded/);
    expect((await first.all).sort()).toEqual([503, 503, 504, 504]);
    expect((await second.all).sort()).toEqual([503, 503, 504, 504]);
    expect((await host.call('healthy')).status).toBe(200);
  });
});
