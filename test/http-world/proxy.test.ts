/**
 * The `wasi:http/proxy` 0.2 world over real HTTP: standard wasi:http components (built from
 * source with the `wasi` crate, no wafer SDK) upload unchanged, the host detects the world and
 * shows it, and `/fn/{name}/…` reaches the guest's `incoming-handler` as an incoming request.
 * Guest failures answer as the wafer ABI's do until the response head has gone out; after it
 * they cut the connection (streaming.test.ts has the streaming cases). Only the wasmtime engine
 * runs the world; jco refuses it at upload.
 *
 * Guests: samples/dist/http-hello-rust.wasm (the hello sample) and test/fixtures/dist/http-probe.wasm
 * (test/fixtures/http-probe/: one route per behaviour, misbehaviour included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { build } from '../hostile/kit.js';

const WORLD = 'wasi:http/proxy@0.2.x';

/** A component exporting a wasi:http incoming-handler with a two-parameter `handle`, importing `imports`. */
function proxyImporting(...imports: string[]): Promise<Uint8Array> {
  return build(`(component
    ${imports.map((name) => `(import "${name}" (instance))`).join('\n    ')}
    (core module $m (func (export "h") (param i32 i32)))
    (core instance $i (instantiate $m))
    (func $handle (param "request" u32) (param "response-out" u32) (canon lift (core func $i "h")))
    (instance $h (export "handle" (func $handle)))
    (export "wasi:http/incoming-handler@0.2.0" (instance $h))
  )`);
}

/**
 * The smallest handler built against wasi:http `version`: it imports the two resource types of
 * `wasi:http/types` and drops both handles it is given (so it sets no response).
 */
function dropsEverything(version: string): Promise<Uint8Array> {
  return build(`(component
    (import "wasi:http/types@${version}" (instance $types
      (export "incoming-request" (type (sub resource)))
      (export "response-outparam" (type (sub resource)))))
    (alias export $types "incoming-request" (type $req))
    (alias export $types "response-outparam" (type $out))
    (core func $drop-req (canon resource.drop $req))
    (core func $drop-out (canon resource.drop $out))
    (core module $m
      (import "" "drop-req" (func $dr (param i32)))
      (import "" "drop-out" (func $do (param i32)))
      (func (export "handle") (param i32 i32) (call $dr (local.get 0)) (call $do (local.get 1))))
    (core instance $i (instantiate $m (with "" (instance (export "drop-req" (func $drop-req)) (export "drop-out" (func $drop-out))))))
    (func $handle (param "request" (own $req)) (param "response-out" (own $out)) (canon lift (core func $i "handle")))
    (instance $h (export "handle" (func $handle)))
    (export "wasi:http/incoming-handler@${version}" (instance $h))
  )`);
}

describe('wasi:http/proxy on wasmtime', () => {
  let host: TestHost;
  let deployed: Record<string, unknown>;

  beforeAll(async () => {
    // A small response limit, so the over-long body case needs no megabytes.
    host = await startTestHost('wasmtime', { maxResponseBytes: 64 * 1024 });
    deployed = await host.deploy('hello-http', await sample('http-hello-rust'));
    const probe = await fixture('http-probe');
    await host.deploy('probe', probe);
    await host.deploy('probe-short', probe, '?timeout_ms=300');
    await host.deploy('probe-small', probe, '?memory_mb=8');
    await host.deploy('probe-reused', probe, '?instance=reuse');
  });
  afterAll(() => host?.destroy());

  describe('upload', () => {
    it('detects the world and shows it in the function record', async () => {
      expect(deployed.world).toBe(WORLD);
      const view = (await (await host.api('GET', '/v1/functions/probe')).json()) as { world: string };
      expect(view.world).toBe(WORLD);
    });

    it.each(['0.2.0', '0.2.3', '0.2.6', '0.2.12'])('links and enters a component built against wasi:http %s', async (version) => {
      const name = `v${version.replaceAll('.', '-')}`;
      expect((await host.deploy(name, await dropsEverything(version))).world).toBe(WORLD);
      const res = await host.call(name);
      expect(res.status).toBe(502);
      expect(await errorOf(res)).toEqual({ code: 'bad_response', message: 'the guest dropped the response slot without setting a response' });
    });

    it('accepts wasi:sockets (CPython\'s runtime imports it), with no network behind it', async () => {
      const res = await host.api('PUT', '/v1/functions/sockets', await proxyImporting('wasi:io/streams@0.2.0', 'wasi:sockets/tcp@0.2.0'));
      expect(res.status).toBe(201);
    });

    it('refuses an import outside the proxy world with abi_mismatch naming it', async () => {
      for (const name of ['wasi:keyvalue/store@0.2.0-draft', 'acme:evil/thing@1.0.0']) {
        const res = await host.api('PUT', '/v1/functions/bad', await proxyImporting('wasi:io/streams@0.2.0', name));
        expect(res.status).toBe(400);
        const error = await errorOf(res);
        expect(error.code).toBe('abi_mismatch');
        expect(error.message).toContain(name);
        expect(error.message).not.toContain('wasi:io/streams');
      }
    });
  });

  describe('requests and responses', () => {
    it('answers the hello sample: query, method, path', async () => {
      const res = await host.call('hello-http', '/some/where?name=Ada');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Hello, Ada!');
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('x-wafer-sample')).toBe('hello');
      expect(res.headers.get('x-wafer-method')).toBe('GET');
      expect(res.headers.get('x-wafer-path')).toBe('/some/where');
      expect(await (await host.call('hello-http')).text()).toBe('Hello, world!');
    });

    it('hands the request body to the guest', async () => {
      const res = await host.call('hello-http', '', { method: 'POST', body: 'Grace' });
      expect(await res.text()).toBe('Hello, Grace!');
      expect(res.headers.get('x-wafer-method')).toBe('POST');
    });

    it('round-trips method, path with query, headers, body and status', async () => {
      const body = new Uint8Array(50_000).map((_, i) => (i * 7) % 256);
      const res = await host.call('probe', '/echo?status=201&a=b%20c', {
        method: 'PUT',
        headers: { 'x-custom': 'one', 'content-type': 'application/octet-stream' },
        body,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-method')).toBe('Method::Put');
      expect(res.headers.get('x-path')).toBe('/echo?status=201&a=b%20c');
      expect(res.headers.get('x-echo-x-custom')).toBe('one');
      expect(res.headers.get('x-echo-content-type')).toBe('application/octet-stream');
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(body);
    });

    it('answers status codes the guest sets', async () => {
      for (const status of [200, 204, 404, 418, 503]) {
        const res = await host.call('probe', `/echo?status=${status}`);
        expect(res.status).toBe(status);
        await res.arrayBuffer();
      }
    });

    it('writes the framing headers itself (the guest\'s content-length is dropped)', async () => {
      const res = await host.call('probe', '/echo', { method: 'POST', body: 'abc' });
      expect(res.headers.get('content-length')).toBe('3');
      expect(await res.text()).toBe('abc');
    });

    it('captures the guest\'s stdout and stderr in the function log', async () => {
      expect(await (await host.call('probe', '/log')).text()).toBe('logged');
      const log = (await (await host.api('GET', '/v1/functions/probe/logs')).json()) as { entries: Array<Record<string, unknown>> };
      const text = JSON.stringify(log.entries);
      expect(text).toContain('probe says hello on stdout');
      expect(text).toContain('probe says hello on stderr');
    });
  });

  describe('instance=reuse', () => {
    it('serves call after call from a warm instance, and a fresh one after a trap', async () => {
      for (const body of ['one', 'two', 'three']) {
        expect(await (await host.call('probe-reused', '/echo', { method: 'POST', body })).text()).toBe(body);
      }
      expect((await host.call('probe-reused', '/trap')).status).toBe(500);
      expect(await (await host.call('probe-reused', '/echo', { method: 'POST', body: 'after' })).text()).toBe('after');
    });
  });

  describe('outbound HTTP', () => {
    it('is denied with HTTP-request-denied, and the log says why', async () => {
      const res = await host.call('probe', '/outbound');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('outbound: ErrorCode::HttpRequestDenied');
      const log = (await (await host.api('GET', '/v1/functions/probe/logs')).json()) as { entries: Array<Record<string, unknown>> };
      expect(JSON.stringify(log.entries)).toContain('outgoing HTTP request to \\"example.com\\" denied');
    });
  });

  describe('guest failures answer as the wafer ABI does', () => {
    const expectError = async (name: string, path: string, status: number, code: string) => {
      const res = await host.call(name, path);
      expect(res.status).toBe(status);
      expect((await errorOf(res)).code).toBe(code);
    };

    /** The head went out (the answer streams): the failure cuts the connection, so reading the body fails. */
    const expectCut = async (name: string, path: string) => {
      const res = await host.call(name, path);
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
    };

    it('a trap before the response: 500 trap', () => expectError('probe', '/trap', 500, 'trap'));
    it('a trap after the headers and part of the body: the connection is cut', () => expectCut('probe', '/trap-after'));
    it('no response set: 502 bad_response', () => expectError('probe', '/no-response', 502, 'bad_response'));
    it('a body never finished: the connection is cut', () => expectCut('probe', '/unfinished'));
    it('a body over the response limit: the connection is cut', async () => {
      await expectCut('probe', `/big?n=${64 * 1024 + 1}`);
      await expectCut('probe', '/big?n=1000000');
    });
    it('an error-code as the response: 500 function_error', () => expectError('probe', '/error-code', 500, 'function_error'));
    it('a loop: 504 timeout at its quota', () => expectError('probe-short', '/loop', 504, 'timeout'));
    it('growing past its memory quota: 500 memory_limit', () => expectError('probe-small', '/alloc', 500, 'memory_limit'));

    it('meters every call of the function, errors by code, as for the wafer ABI', async () => {
      const usage = (await (await host.api('GET', '/v1/functions/probe-short/usage')).json()) as { totals: { invocations: number; errors: Record<string, number>; peak_memory_bytes?: number } };
      expect(usage.totals.invocations).toBeGreaterThanOrEqual(1);
      expect(usage.totals.errors).toMatchObject({ timeout: 1 });
    });

    it('keeps answering after all of that', async () => {
      // The limit counts the whole answer (status and headers too), as for the wafer ABI.
      expect(await (await host.call('probe', `/big?n=${60 * 1024}`)).arrayBuffer()).toHaveProperty('byteLength', 60 * 1024);
      expect(await (await host.call('probe-short', '/echo', { method: 'POST', body: 'still here' })).text()).toBe('still here');
    });
  });
});

describe('wasi:http/proxy on jco', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('jco');
  });
  afterAll(() => host?.destroy());

  it('is refused at upload with abi_mismatch naming the world and the engine that runs it', async () => {
    const res = await host.api('PUT', '/v1/functions/hello-http', await sample('http-hello-rust'));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toContain(WORLD);
    expect(error.message).toContain('--engine wasmtime');
  });
});
