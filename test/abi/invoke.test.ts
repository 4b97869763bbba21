/**
 * ABI 1.1: a guest may import `wafer:function/host@1.1.0` and call another function with
 * `invoke(target, request)` (abi/ABI.md, "Calling another function"). Guest:
 * test/fixtures/invoke.wat, whose `handle(request)` answers `invoke("invoke-target", request)`.
 * Guests built for 1.0 import nothing of it and keep working (compat.test.ts). The jco engine
 * does not provide the import and refuses such a guest at upload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CALL_DEPTH } from '../../host/src/limits.js';
import { errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { build } from '../hostile/kit.js';

describe('ABI 1.1 invoke on wasmtime', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('caller', await fixture('invoke'));
  });
  afterAll(() => host?.destroy());

  const invocations = async (name: string) =>
    ((await (await host.api('GET', `/v1/functions/${name}/usage`)).json()) as { totals: { invocations: number } }).totals.invocations;

  it('is accepted as the handler world', async () => {
    const view = (await (await host.api('GET', '/v1/functions/caller')).json()) as { world: string };
    expect(view.world).toBe('wafer:function/handler@1.0.0');
  });

  it('answers a 404 JSON response when the target is not deployed', async () => {
    const res = await host.call('caller', '/x');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'no function named invoke-target' });
  });

  it('calls another function with the request it was given, which runs as its own call', async () => {
    await host.deploy('invoke-target', await sample('hello-rust'));
    const before = await invocations('invoke-target');
    const res = await host.call('caller', '/p?name=Ada');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Hello, Ada!');
    expect(res.headers.get('x-wafer-invocation-id')).toBeTruthy();
    expect((await invocations('invoke-target')) - before).toBe(1);
  });

  it('reaches a wasi:http function too', async () => {
    await host.deploy('invoke-target', await sample('http-hello-rust'));
    const res = await host.call('caller', '/p?name=Bo');
    expect(await res.text()).toBe('Hello, Bo!');
  });

  it(`stops a cycle at the depth limit with 508 loop_detected`, async () => {
    // invoke-target is the caller itself: each call invokes the next.
    await host.deploy('invoke-target', await fixture('invoke'));
    const before = await invocations('invoke-target');
    const res = await host.call('invoke-target', '/');
    expect(res.status).toBe(508);
    expect((await errorOf(res)).code).toBe('loop_detected');
    expect((await invocations('invoke-target')) - before).toBe(MAX_CALL_DEPTH);
  });

  it('refuses an import of the host interface with another signature, naming it', async () => {
    const bytes = await build(`(component
      (import "wafer:function/host@1.1.0" (instance (export "invoke" (func (param "x" u32)))))
      (core module $m (memory (export "memory") 1) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)) (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))
      (core instance $i (instantiate $m))
      (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
        (canon lift (core func $i "handle") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc")))))`);
    const res = await host.api('PUT', '/v1/functions/bad-host', bytes, { 'content-type': 'application/wasm' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'abi_mismatch' });
    expect((await errorOf(await host.api('PUT', '/v1/functions/bad-host', bytes, { 'content-type': 'application/wasm' }))).message).toContain('invoke: func(x: u32)');
  });
});

describe('ABI 1.1 invoke on jco', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('jco');
  });
  afterAll(() => host?.destroy());

  it('is refused at upload with abi_mismatch naming the import', async () => {
    const res = await host.api('PUT', '/v1/functions/caller', await fixture('invoke'), { 'content-type': 'application/wasm' });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toContain('the component imports wafer:function/host@1.1.0 (ABI 1.1 function calls), which the jco engine does not run');
  });
});
