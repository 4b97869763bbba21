/**
 * Every sample, built from source by the setup, uploaded and invoked over real HTTP on both
 * engines, checked against samples/README.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { BUILT_LANGUAGES } from '../helpers/samples.js';

describe.each(ENGINES)('samples on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
  });
  afterAll(() => host?.destroy());

  describe.each(BUILT_LANGUAGES)('%s', (lang) => {
    it('hello greets the body, the name parameter, or the world', async () => {
      await host.deploy(`hello-${lang}`, await sample(`hello-${lang}`));
      const plain = await host.call(`hello-${lang}`);
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe('Hello, world!');
      expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(plain.headers.get('x-wafer-sample')).toBe('hello');
      const query = await host.call(`hello-${lang}`, '/greet?name=J%C3%BCrgen');
      expect(await query.text()).toBe('Hello, Jürgen!');
      expect(query.headers.get('x-wafer-path')).toBe('/greet');
      const body = await host.call(`hello-${lang}`, '', { method: 'POST', body: 'Ada' });
      expect(await body.text()).toBe('Hello, Ada!');
      expect(body.headers.get('x-wafer-method')).toBe('POST');
    });

    it('json transforms a JSON body and answers JSON with status and headers', async () => {
      await host.deploy(`json-${lang}`, await sample(`json-${lang}`));
      const ok = await host.call(`json-${lang}`, '', { method: 'POST', body: JSON.stringify({ name: 'Ada', numbers: [1, 2, 39] }) });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/json');
      expect(await ok.text()).toBe('{"greeting":"Hello, Ada!","count":3,"sum":42}');
      const bad = await host.call(`json-${lang}`, '', { method: 'POST', body: '{not json' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toBe('{"error":"body is not a JSON object"}');
    });

    it('fib computes fib(n)', async () => {
      await host.deploy(`fib-${lang}`, await sample(`fib-${lang}`));
      const res = await host.call(`fib-${lang}`, '?n=20');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('fib(20) = 6765');
      const bad = await host.call(`fib-${lang}`, '?n=99');
      expect(bad.status).toBe(400);
    });

    it('fib is cut off by its time quota and the function keeps serving', async () => {
      await host.deploy(`fib-slow-${lang}`, await sample(`fib-${lang}`), '?timeout_ms=500');
      const slow = await host.call(`fib-slow-${lang}`, '?n=60');
      expect(slow.status).toBe(504);
      const next = await host.call(`fib-slow-${lang}`, '?n=10');
      expect(await next.text()).toBe('fib(10) = 55');
    });

    it('logger reads the clock and randomness and writes to stdout', async () => {
      await host.deploy(`logger-${lang}`, await sample(`logger-${lang}`));
      const before = Date.now();
      const res = await host.call(`logger-${lang}`, '/x');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(Math.abs(body.now_ms - before)).toBeLessThan(60_000);
      expect(body.elapsed_ns).toBeGreaterThanOrEqual(0);
      expect(body.random).toMatch(/^[0-9a-f]{16}$/);
      const again = await (await host.call(`logger-${lang}`, '/x')).json();
      expect(again.random).not.toBe(body.random);
      const invocation = res.headers.get('x-wafer-invocation-id');
      const lines = host.logs.filter((l) => l.fields.invocation === invocation);
      expect(lines).toContainEqual({ fields: expect.objectContaining({ fn: `logger-${lang}`, stream: 'stdout' }), msg: 'logger: GET /x' });
      expect(lines).toContainEqual({ fields: expect.objectContaining({ stream: 'stderr' }), msg: 'logger: done' });
    });
  });
});
