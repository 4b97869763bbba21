/**
 * Outbound HTTP and function calls of the wasi:http world, over real HTTP (issue 11 item 2):
 * - outbound requests are denied unless the version's `outbound` setting allows the host; a
 *   denial fails in the guest with `HTTP-request-denied` and a line in its log says why;
 * - an allowed host is reached over a real socket (a server this test starts on loopback);
 *   a wildcard does not reach loopback, https is refused, the response body is capped;
 * - `http://{fn}.wafer.internal/…` calls another function in-process: the callee is its own
 *   call (logged and metered as such), gets no more than the caller's remaining time, and a
 *   chain of calls stops at the depth limit with 508 `loop_detected`; a callee never queues (503
 *   `overloaded` at once when it has no free slot).
 *
 * The guest is test/fixtures/http-probe: `/fetch?<url>` sends `GET <url>` and answers its status
 * and body (502 `fetch: <error code>` when the request fails); `/cycle?<name>` calls
 * `http://<name>.wafer.internal/cycle?<name>`, a cycle.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CALL_DEPTH } from '../../host/src/limits.js';
import { errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';

const MAX_RESPONSE = 64 * 1024;

interface LogEntries {
  entries: Array<{ invocation_id: string; status: number; code: string; stderr?: string }>;
}

describe('outbound HTTP and function calls on wasmtime', () => {
  let host: TestHost;
  let upstream: Server;
  let port: number;
  /** Paths the upstream server was asked for, in order. */
  const seen: string[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/big') {
        res.end(Buffer.alloc(MAX_RESPONSE * 2, 'b'));
        return;
      }
      res.setHeader('x-upstream', 'yes');
      res.end(`upstream saw ${req.method} ${req.url} host=${req.headers.host}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    port = (upstream.address() as AddressInfo).port;
    host = await startTestHost('wasmtime', { maxResponseBytes: MAX_RESPONSE });
    const probe = await fixture('http-probe');
    await host.deploy('probe', probe);
    await host.deploy('allowed', probe, `?outbound=127.0.0.1:${port}`);
    await host.deploy('star', probe, '?outbound=*');
    await host.deploy('callee', probe);
    await host.deploy('short', probe, '?timeout_ms=400');
    await host.deploy('single', probe, '?max_concurrency=1');
    await host.deploy('hello-rust', await sample('http-hello-rust'));
  });
  afterAll(async () => {
    await host?.destroy();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  const logsOf = async (name: string): Promise<LogEntries['entries']> =>
    ((await (await host.api('GET', `/v1/functions/${name}/logs`)).json()) as LogEntries).entries;

  describe('the outbound setting', () => {
    it('is none by default: the request fails in the guest with HTTP-request-denied, and the log says why', async () => {
      const res = await host.call('probe', `/fetch?http://127.0.0.1:${port}/x`);
      expect(res.status).toBe(502);
      expect(await res.text()).toBe('fetch: ErrorCode::HttpRequestDenied');
      const log = JSON.stringify(await logsOf('probe'));
      expect(log).toContain(`outgoing HTTP request to \\"127.0.0.1:${port}\\" denied: the function's outbound setting allows no hosts`);
      expect(seen).not.toContain('/x');
    });

    it('lets a listed host be reached over a real socket, with the host header the guest asked for', async () => {
      const res = await host.call('allowed', `/fetch?http://127.0.0.1:${port}/hello?a=1`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-fetched')).toBe('yes');
      expect(await res.text()).toBe(`upstream saw GET /hello?a=1 host=127.0.0.1:${port}`);
    });

    it('matches the port: the same host on another port is denied', async () => {
      const res = await host.call('allowed', `/fetch?http://127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}/`);
      expect(await res.text()).toBe('fetch: ErrorCode::HttpRequestDenied');
      expect(JSON.stringify(await logsOf('allowed'))).toContain("127.0.0.1 is not in the function's outbound setting");
    });

    it('`*` does not reach loopback: a wildcard reaches public addresses only (SSRF)', async () => {
      const res = await host.call('star', `/fetch?http://127.0.0.1:${port}/star`);
      expect(await res.text()).toBe('fetch: ErrorCode::HttpRequestDenied');
      expect(JSON.stringify(await logsOf('star'))).toContain('a loopback, private or link-local address a wildcard outbound setting does not reach');
      expect(seen).not.toContain('/star');
    });

    it('`*` does not reach the cloud metadata address either', async () => {
      const res = await host.call('star', '/fetch?http://169.254.169.254/latest/meta-data/');
      expect(await res.text()).toBe('fetch: ErrorCode::HttpRequestDenied');
    });

    it('refuses https with a clear line (plain http only)', async () => {
      const res = await host.call('star', '/fetch?https://example.com/');
      expect(await res.text()).toBe('fetch: ErrorCode::HttpRequestDenied');
      expect(JSON.stringify(await logsOf('star'))).toContain('https is not supported for outbound requests');
    });

    it('caps the response body at the host response limit', async () => {
      const res = await host.call('allowed', `/fetch?http://127.0.0.1:${port}/big`);
      expect(res.status).toBe(502);
      // The body stream fails in the guest once past the cap (the guest never holds it all).
      expect(await res.text()).toMatch(/^fetch: body: /);
    });

    it('is shown in the version view, changed by PATCH, and checked', async () => {
      const view = (await (await host.api('GET', '/v1/functions/allowed')).json()) as { outbound: string[] };
      expect(view.outbound).toEqual([`127.0.0.1:${port}`]);
      expect(((await (await host.api('GET', '/v1/functions/probe')).json()) as { outbound: string[] }).outbound).toEqual([]);

      const patched = await host.api('PATCH', '/v1/functions/probe', JSON.stringify({ outbound: ['API.example.com', '*.example.org', `127.0.0.1:${port}`] }), { 'content-type': 'application/json' });
      expect(patched.status).toBe(200);
      expect(((await patched.json()) as { outbound: string[] }).outbound).toEqual(['api.example.com', '*.example.org', `127.0.0.1:${port}`]);
      expect(await (await host.call('probe', `/fetch?http://127.0.0.1:${port}/patched`)).text()).toContain('upstream saw GET /patched');

      const all = await host.api('PATCH', '/v1/functions/probe', JSON.stringify({ outbound: '*' }), { 'content-type': 'application/json' });
      expect(((await all.json()) as { outbound: string[] }).outbound).toEqual(['*']);
      const none = await host.api('PATCH', '/v1/functions/probe', JSON.stringify({ outbound: [] }), { 'content-type': 'application/json' });
      expect(((await none.json()) as { outbound: string[] }).outbound).toEqual([]);

      for (const bad of [['http://x.com'], ['a b'], 'all', [3], ['x.com:99999']]) {
        const res = await host.api('PATCH', '/v1/functions/probe', JSON.stringify({ outbound: bad }), { 'content-type': 'application/json' });
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect((await errorOf(res)).code).toBe('invalid_request');
      }
      const query = await host.api('PUT', '/v1/functions/bad-outbound?outbound=x/y', await fixture('http-probe'), { 'content-type': 'application/wasm' });
      expect(query.status).toBe(400);
      expect((await errorOf(query)).message).toContain('outbound');
    });
  });

  describe('function calls: http://{fn}.wafer.internal', () => {
    it('calls another function in-process, whatever the outbound setting', async () => {
      const res = await host.call('probe', '/fetch?http://callee.wafer.internal/big?n=5');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('aaaaa');
    });

    it('reaches a wasi:http sample by its plain name (the chain sample\'s URL)', async () => {
      const res = await host.call('probe', '/fetch?http://hello-rust.wafer.internal/?name=Ada');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Hello, Ada!');
    });

    it('logs and meters the callee as its own call', async () => {
      const before = (await logsOf('callee')).length;
      const res = await host.call('probe', '/fetch?http://callee.wafer.internal/log');
      expect(await res.text()).toBe('logged');
      const entries = await logsOf('callee');
      expect(entries.length).toBe(before + 1);
      const entry = entries[entries.length - 1]!;
      expect(entry).toMatchObject({ status: 200, code: 'ok' });
      expect(entry.stderr).toContain('probe says hello on stderr');
      // The caller's own entry is another invocation.
      const caller = (await logsOf('probe')).at(-1)!;
      expect(caller.invocation_id).not.toBe(entry.invocation_id);
      const usage = (await (await host.api('GET', '/v1/functions/callee/usage')).json()) as { totals: { invocations: number } };
      expect(usage.totals.invocations).toBeGreaterThanOrEqual(before + 1);
    });

    it('answers an unknown function as a 404 JSON response the caller can read', async () => {
      const res = await host.call('probe', '/fetch?http://nobody.wafer.internal/');
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'no function named nobody' });
    });

    it('gives the callee no more than the caller\'s remaining time: a looping callee ends with the caller\'s timeout', async () => {
      const res = await host.call('short', '/fetch?http://callee.wafer.internal/loop');
      expect(res.status).toBe(504);
      expect((await errorOf(res)).code).toBe('timeout');
      // The callee (5 s quota of its own) was cut off with the caller: its log says timeout.
      let entries = await logsOf('callee');
      for (let i = 0; i < 50 && !entries.some((e) => e.code === 'timeout'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        entries = await logsOf('callee');
      }
      expect(entries.some((e) => e.code === 'timeout' && e.status === 504)).toBe(true);
    });

    it('never queues a callee: one with no free slot answers 503 overloaded at once, as a response', async () => {
      // `single` runs one call at a time and calls itself: the nested call finds its only slot taken.
      const res = await host.call('single', '/cycle?single');
      expect(res.status).toBe(503);
      expect((await errorOf(res)).code).toBe('overloaded');
    });

    it(`stops a cycle at the depth limit (${MAX_CALL_DEPTH} calls in a chain) with 508 loop_detected`, async () => {
      const invocations = async () => ((await (await host.api('GET', '/v1/functions/callee/usage')).json()) as { totals: { invocations: number } }).totals.invocations;
      const before = await invocations();
      const res = await host.call('callee', '/cycle?callee');
      expect(res.status).toBe(508);
      expect(await errorOf(res)).toMatchObject({ code: 'loop_detected' });
      // The outside call and MAX_CALL_DEPTH - 1 nested ones ran; the next was refused before running.
      expect((await invocations()) - before).toBe(MAX_CALL_DEPTH);
    });
  });
});
