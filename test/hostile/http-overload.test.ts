/**
 * Hostile HTTP: overload (issue 8 #6, #13). A function whose slots and queue are full answers
 * 503 `overloaded` with `Retry-After`, at once and without waiting for the request body, while
 * other functions keep answering. The per-function limiter (concurrency 1, queue 0) and a
 * looping guest make the overload; the instance-pool case belongs to the engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { rawErrorCode, rawRequest } from './http-kit.js';
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
});
