/**
 * Quotas and guest failures end the guest's own call, never the host: the same behaviour on
 * both engines, observed over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

describe.each(ENGINES)('quotas and guest failures on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('ok', await fixture('respond'));
    await host.deploy('spin', await fixture('loop'), '?timeout_ms=300');
    await host.deploy('spin-long', await fixture('loop'), '?timeout_ms=1500');
    await host.deploy('hog', await fixture('grow'), '?memory_mb=16');
    await host.deploy('crash', await fixture('trap'));
    await host.deploy('fails', await fixture('err'));
    await host.deploy('garbage', await fixture('garbage'));
    await host.deploy('counter', await fixture('counter'));
  });
  afterAll(() => host?.destroy());

  it('stops a for(;;){} guest with 504 timeout', async () => {
    const res = await host.call('spin');
    expect(res.status).toBe(504);
    expect((await errorOf(res)).code).toBe('timeout');
  });

  it('keeps answering other calls while a guest spins until its timeout', async () => {
    const spinning = host.call('spin-long');
    const answers = await Promise.all(Array.from({ length: 5 }, () => host.call('ok').then((r) => r.status)));
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect((await spinning).status).toBe(504);
  });

  it('answers the next call normally after a timeout', async () => {
    expect((await host.call('spin')).status).toBe(504);
    expect((await host.call('spin')).status).toBe(504);
    const ok = await host.call('ok');
    expect(ok.status).toBe(200);
  });

  it('stops a guest that grows memory without bound with memory_limit', async () => {
    const res = await host.call('hog');
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('memory_limit');
    expect((await host.call('hog')).status).toBe(500);
  });

  it('answers a trap with 500 trap', async () => {
    const res = await host.call('crash');
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('trap');
  });

  it('answers err(message) with 500 function_error carrying the message', async () => {
    const res = await host.call('fails');
    expect(res.status).toBe(500);
    const error = await errorOf(res);
    expect(error.code).toBe('function_error');
    expect(error.message).toContain('boom from guest');
  });

  it('answers output that is not a Response with 502 bad_response', async () => {
    const res = await host.call('garbage');
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('bad_response');
  });

  it('never reuses an instance after a trap', async () => {
    const count = async () => (await host.call('counter')).arrayBuffer().then((b) => new Uint8Array(b)[0]);
    await count();
    await count();
    const trapped = await host.call('counter', '', { method: 'POST', body: 'x'.repeat(2000) });
    expect(trapped.status).toBe(500);
    expect(await count()).toBe(1);
  });

  it(engine === 'wasmtime' ? 'gives every call a fresh instance' : 'reuses a warm instance across calls', async () => {
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push(new Uint8Array(await (await host.call('counter')).arrayBuffer())[0]!);
    if (engine === 'wasmtime') expect(counts).toEqual([1, 1, 1]);
    else expect(counts[2]! - counts[0]!).toBe(2);
  });

  it('survives all of it: the host still answers health and calls', async () => {
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
    expect(await (await host.call('ok')).text()).toBe('ok');
  });

  describe('with one call at a time and a queue of one', () => {
    let narrow: TestHost;
    beforeAll(async () => {
      narrow = await startTestHost(engine, { maxConcurrency: 1, maxQueue: 1 });
      await narrow.deploy('spin', await fixture('loop'), '?timeout_ms=300');
    });
    afterAll(() => narrow?.destroy());

    it('answers 503 overloaded past the concurrency limit and its queue', async () => {
      // One runs, one waits, the third is refused at once.
      const calls = await Promise.all([narrow.call('spin'), narrow.call('spin'), narrow.call('spin')]);
      expect(calls.map((r) => r.status).sort()).toEqual([503, 504, 504]);
      expect((await errorOf(calls.find((r) => r.status === 503)!)).code).toBe('overloaded');
    });
  });
});

describe('wasmtime with short calls inlined on the JS thread (--inline-budget-ms 1)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('wasmtime', { inlineBudgetMs: 1 });
    await host.deploy('ok', await fixture('respond'));
    await host.deploy('spin', await fixture('loop'), '?timeout_ms=400');
    await host.deploy('counter', await fixture('counter'));
  });
  afterAll(() => host?.destroy());

  it('answers short calls with a fresh instance each time', async () => {
    for (let i = 0; i < 20; i++) expect(await (await host.call('ok')).text()).toBe('ok');
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(new Uint8Array(await (await host.call('counter')).arrayBuffer())[0]);
    expect(counts).toEqual([1, 1, 1]);
  });

  it('still stops a looping guest at its own time quota, not the inline budget', async () => {
    const started = Date.now();
    const res = await host.call('spin');
    expect(res.status).toBe(504);
    expect((await errorOf(res)).code).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect((await host.call('ok')).status).toBe(200);
  });
});
