/**
 * The management API, PUT/GET/DELETE /v1/functions, over real HTTP on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

describe.each(ENGINES)('management API on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine, { maxUploadBytes: 64 * 1024 });
  });
  afterAll(() => host?.destroy());

  describe('PUT /v1/functions/:name', () => {
    it('stores a component and answers 201 with name, version, digest, size and limits', async () => {
      const bytes = await fixture('respond');
      const res = await host.api('PUT', '/v1/functions/first?timeout_ms=1500&memory_mb=32', bytes);
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body).toMatchObject({ name: 'first', version: 1, size: bytes.length, limits: { timeout_ms: 1500, memory_mb: 32 } });
      expect(body.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('issue 9 #4: names the world the component was accepted as', async () => {
      const body = await host.deploy('worldly', await fixture('respond'));
      expect(body.world).toBe('wafer:function/handler@1.0.0');
      const got = await (await host.api('GET', '/v1/functions/worldly')).json();
      expect(got.world).toBe('wafer:function/handler@1.0.0');
    });

    it('makes every upload a new immutable version', async () => {
      const a = await host.deploy('versions', await fixture('respond'));
      const b = await host.deploy('versions', await fixture('counter'));
      expect([a.version, b.version]).toEqual([1, 2]);
      expect(a.digest).not.toEqual(b.digest);
      const res = await host.call('versions');
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1]));
    });

    it('refuses a bad name with invalid_name', async () => {
      for (const name of ['Upper', '9lives', 'a_b', 'x'.repeat(64)]) {
        const res = await host.api('PUT', `/v1/functions/${name}`, await fixture('respond'));
        expect(res.status, name).toBe(400);
        expect((await errorOf(res)).code).toBe('invalid_name');
      }
    });

    it('refuses random bytes, an empty body and a core module with invalid_component', async () => {
      const cases: Array<[string, Uint8Array]> = [
        ['random', new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 7919) % 251))],
        ['empty', new Uint8Array(0)],
        ['core module', await fixture('core-module')],
      ];
      for (const [what, bytes] of cases) {
        const res = await host.api('PUT', '/v1/functions/bad', bytes);
        expect(res.status, what).toBe(400);
        const error = await errorOf(res);
        expect(error.code, what).toBe('invalid_component');
        expect(error.message.length).toBeGreaterThan(10);
      }
      expect((await host.api('GET', '/v1/functions/bad')).status).toBe(404);
    });

    it('refuses components of another world with abi_mismatch naming what is wrong', async () => {
      const wrong = await host.api('PUT', '/v1/functions/bad', await fixture('wrong-signature'));
      expect(wrong.status).toBe(400);
      const wrongError = await errorOf(wrong);
      expect(wrongError.code).toBe('abi_mismatch');
      expect(wrongError.message).toContain('u32');
      const none = await host.api('PUT', '/v1/functions/bad', await fixture('no-handle'));
      expect((await errorOf(none)).code).toBe('abi_mismatch');
    });

    it('refuses an upload over the limit with 413 payload_too_large', async () => {
      const res = await host.api('PUT', '/v1/functions/big', new Uint8Array(65 * 1024));
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('payload_too_large');
    });

    it('refuses quotas outside the ceilings with invalid_request', async () => {
      for (const query of ['?timeout_ms=0', '?timeout_ms=999999999', '?memory_mb=0', '?memory_mb=100000', '?timeout_ms=abc']) {
        const res = await host.api('PUT', `/v1/functions/q${query}`, await fixture('respond'));
        expect(res.status, query).toBe(400);
        expect((await errorOf(res)).code, query).toBe('invalid_request');
      }
    });

    it('leaves the serving version untouched when an upload is refused', async () => {
      await host.deploy('steady', await fixture('respond'));
      for (const bytes of [new Uint8Array([1, 2, 3]), await fixture('core-module'), await fixture('no-handle'), new Uint8Array(70 * 1024)]) {
        const res = await host.api('PUT', '/v1/functions/steady', bytes);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
      const info = await (await host.api('GET', '/v1/functions/steady')).json();
      expect(info.version).toBe(1);
      const res = await host.call('steady');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
    });
  });

  describe('authorization', () => {
    it('answers 401 unauthorized without the bearer token', async () => {
      for (const [method, path] of [['GET', '/v1/functions'], ['PUT', '/v1/functions/x'], ['DELETE', '/v1/functions/x']]) {
        const res = await fetch(`${host.url}${path}`, { method, headers: { authorization: 'Bearer wrong' } });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect((await errorOf(res)).code).toBe('unauthorized');
      }
    });

    it('does not need the token to invoke a function or read /healthz', async () => {
      await host.deploy('public', await fixture('respond'));
      expect((await host.call('public')).status).toBe(200);
      expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
    });
  });

  describe('GET and DELETE', () => {
    it('lists the current version of every function', async () => {
      await host.deploy('listed', await fixture('respond'));
      const { functions } = await (await host.api('GET', '/v1/functions')).json();
      const listed = functions.find((f: { name: string }) => f.name === 'listed');
      expect(listed).toMatchObject({ name: 'listed', version: 1, world: 'wafer:function/handler@1.0.0' });
    });

    it('deletes a function, after which it answers not_found', async () => {
      await host.deploy('doomed', await fixture('respond'));
      expect((await host.api('DELETE', '/v1/functions/doomed')).status).toBe(204);
      expect((await errorOf(await host.api('GET', '/v1/functions/doomed'))).code).toBe('not_found');
      const call = await host.call('doomed');
      expect(call.status).toBe(404);
      expect((await errorOf(call)).code).toBe('not_found');
      expect((await errorOf(await host.api('DELETE', '/v1/functions/doomed'))).code).toBe('not_found');
    });

    it('keeps counting versions after a delete and re-upload', async () => {
      await host.deploy('phoenix', await fixture('respond'));
      await host.api('DELETE', '/v1/functions/phoenix');
      const again = await host.deploy('phoenix', await fixture('respond'));
      expect(again.version).toBe(2);
    });
  });

  describe('GET /healthz', () => {
    it('names the engine and the versions of wafer, the ABI and the engine', async () => {
      const body = await (await fetch(`${host.url}/healthz`)).json();
      expect(body).toMatchObject({ status: 'ok', engine, versions: { abi: '1.0.0' } });
      expect(body.versions.wafer).toMatch(/^\d+\.\d+\.\d+/);
      expect(String(body.versions.engine)).toMatch(/\d+\.\d+/);
    });
  });

  describe('GET /metrics', () => {
    it('exposes Prometheus counters of calls by outcome', async () => {
      await host.deploy('counted', await fixture('respond'));
      await host.call('counted');
      const text = await (await fetch(`${host.url}/metrics`)).text();
      expect(text).toMatch(/wafer_calls_total\{function="counted",outcome="ok"\} 1/);
    });
  });
});
