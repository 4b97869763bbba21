/**
 * Issue 9 #4: one executor per world. Uploads are judged by their types, read from the binary
 * (not printed WIT): detection picks the world, validation names what does not fit, and the
 * executor maps HTTP to the guest and back. Engine-independent: validation runs before either
 * engine sees the upload.
 */
import { describe, expect, it } from 'vitest';
import { validateComponent } from '../../host/src/abi/validate.js';
import { decodeRequest, encodeResponse } from '../../host/src/abi/envelope.js';
import { ComponentError, GuestResultError } from '../../host/src/errors.js';
import { DEFAULT_WORLD, detectExecutor, EXECUTORS, executorFor, WAFER_HANDLER_WORLD, WASI_HTTP_WORLD, type ComponentTypes } from '../../host/src/executors/index.js';
import { fixture, sample } from '../helpers/host.js';

const handle = (params: string[], result?: string) => ({
  kind: 'func' as const,
  params: params.map((type, i) => ({ name: `p${i}`, type })),
  ...(result === undefined ? {} : { result }),
});
const types = (exports: ComponentTypes['exports'], imports: ComponentTypes['imports'] = {}): ComponentTypes => ({ imports, exports });
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return err as ComponentError;
  }
  throw new Error('expected a refusal');
};

describe('the executor registry', () => {
  it('runs the wafer handler and wasi:http/proxy worlds, and records without a world are of the handler world', () => {
    expect(EXECUTORS.map((e) => e.world)).toEqual([WAFER_HANDLER_WORLD, 'wasi:http/proxy@0.2.x']);
    expect(DEFAULT_WORLD).toBe('wafer:function/handler@1.0.0');
    expect(executorFor(undefined).world).toBe(WAFER_HANDLER_WORLD);
  });

  it('refuses to run a world it does not know', () => {
    expect(refusal(() => executorFor('acme:other/world@1.0.0')).code).toBe('abi_mismatch');
  });
});

describe('wafer:function/handler detection and validation', () => {
  it('accepts handle: func(list<u8>) -> result<list<u8>, string> importing only WASI', () => {
    const ok = types({ handle: handle(['list<u8>'], 'result<list<u8>, string>') }, { 'wasi:cli/stdout@0.2.0': { kind: 'instance', exports: {} } });
    expect(detectExecutor(ok).world).toBe(WAFER_HANDLER_WORLD);
  });

  it.each([
    ['no result', handle(['list<u8>'])],
    ['a list result', handle(['list<u8>'], 'list<u8>')],
    ['a string parameter', handle(['string'], 'result<list<u8>, string>')],
    ['swapped result', handle(['list<u8>'], 'result<string, list<u8>>')],
    ['two parameters', handle(['list<u8>', 'u32'], 'result<list<u8>, string>')],
    ['an async handle', { ...handle(['list<u8>'], 'result<list<u8>, string>'), async: true }],
  ])('refuses handle with %s with abi_mismatch naming its type', (_, func) => {
    const error = refusal(() => detectExecutor(types({ handle: func })));
    expect(error).toBeInstanceOf(ComponentError);
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toMatch(/^the component exports handle: (async )?func\(.*, but wafer ABI 1 needs handle: func\(request: list<u8>\) -> result<list<u8>, string>$/);
  });

  it('refuses a component without handle, naming the world it expected', () => {
    const error = refusal(() => detectExecutor(types({ run: handle([], 'u32') })));
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toContain('does not export handle: func(request: list<u8>) -> result<list<u8>, string> (world wafer:function/handler@1.0.0)');
  });

  it('refuses imports that are not WASI, naming them', () => {
    const error = refusal(() => detectExecutor(types({ handle: handle(['list<u8>'], 'result<list<u8>, string>') }, { 'acme:db/query': { kind: 'instance', exports: {} } })));
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toBe('the component imports acme:db/query; wafer provides only WASI 0.2 interfaces and wafer:function/host@1.1.0');
  });
});

describe('wasi:http/proxy detection and validation', () => {
  const instance = (exports: Record<string, ReturnType<typeof handle>> = {}) => ({ kind: 'instance' as const, exports });
  const proxy = (imports: ComponentTypes['imports'] = {}, version = '0.2.0', func = handle(['own<resource>', 'own<resource>'])) =>
    types({ [`wasi:http/incoming-handler@${version}`]: instance({ handle: func }) }, imports);

  it.each(['0.2.0', '0.2.3', '0.2.6', '0.2.12'])('accepts an incoming-handler@%s with the proxy\'s and a standard library\'s imports', (version) => {
    const imports = Object.fromEntries(
      ['wasi:http/types', 'wasi:http/outgoing-handler', 'wasi:io/streams', 'wasi:clocks/monotonic-clock', 'wasi:random/random', 'wasi:cli/stdout', 'wasi:cli/environment', 'wasi:filesystem/preopens', 'wasi:sockets/tcp']
        .map((name) => [`${name}@${version}`, instance()]),
    );
    expect(detectExecutor(proxy(imports, version)).world).toBe(WASI_HTTP_WORLD);
  });

  it.each(['wasi:sockets/tcp@0.3.0', 'wasi:keyvalue/store@0.2.0-draft', 'acme:db/query@1.0.0', 'wasi:http/types@0.3.0'])('refuses an import of %s with abi_mismatch naming it', (name) => {
    const error = refusal(() => detectExecutor(proxy({ 'wasi:io/streams@0.2.0': instance(), [name]: instance() })));
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toBe(`the component imports ${name}; a wasi:http/proxy function gets only wasi:http, io, clocks, random, cli, filesystem and sockets 0.2 interfaces`);
  });

  it('refuses a handle that is not the incoming-handler\'s', () => {
    const error = refusal(() => detectExecutor(proxy({}, '0.2.0', handle(['u32'], 'u32'))));
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toContain('wasi:http/incoming-handler@0.2.0 has handle: func(p0: u32) -> u32');
  });

  it.each(['wasi:http/handler@0.3.0', 'wasi:http/incoming-handler@0.2.0-rc-2023-12-05'])('refuses %s, a version it does not run, naming it', (name) => {
    const error = refusal(() => detectExecutor(types({ [name]: instance() })));
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toBe(`the component exports ${name}; wafer runs wasi:http/incoming-handler@0.2.x (world wasi:http/proxy@0.2.x), not this version`);
  });
});

describe('validateComponent reads the types from the binary', () => {
  it('accepts the http-hello-rust sample as the wasi:http/proxy world', async () => {
    const info = await validateComponent(await sample('http-hello-rust'));
    expect(info.world).toBe(WASI_HTTP_WORLD);
    expect(info.imports.every((name) => /^wasi:(http|io|clocks|random|cli|filesystem)\//.test(name))).toBe(true);
  });

  it.each(['hello-rust', 'hello-go', 'hello-ts', 'hello-python'])('accepts the %s sample as the wafer handler world', async (name) => {
    const info = await validateComponent(await sample(name));
    expect(info.world).toBe(WAFER_HANDLER_WORLD);
    expect(info.types.exports.handle).toMatchObject({ kind: 'func', params: [{ type: 'list<u8>' }], result: 'result<list<u8>, string>' });
    expect(info.imports.every((name) => name.startsWith('wasi:'))).toBe(true);
  });

  it('names the wrong handle signature of a real component', async () => {
    const error = await validateComponent(await fixture('wrong-signature')).catch((err: unknown) => err as ComponentError);
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toBe('the component exports handle: func(x: u32) -> u32, but wafer ABI 1 needs handle: func(request: list<u8>) -> result<list<u8>, string>');
  });

  it('refuses a core module and bytes that do not validate with invalid_component', async () => {
    expect((await validateComponent(await fixture('core-module')).catch((err: unknown) => err as ComponentError)).code).toBe('invalid_component');
    const cut = (await sample('hello-rust')).subarray(0, 200);
    const error = await validateComponent(cut).catch((err: unknown) => err as ComponentError);
    expect(error.code).toBe('invalid_component');
    expect(error.message).toMatch(/^the component could not be decoded: /);
  });
});

describe('wafer:function/handler mapping', () => {
  const executor = executorFor(WAFER_HANDLER_WORLD);

  it('encodes the HTTP call and its context as a wafer.v1.Request', () => {
    const bytes = executor.toGuest(
      { method: 'POST', path: '/a', query: 'b=1', headers: [{ name: 'x-a', value: '1' }], body: new Uint8Array([1, 2]) },
      { invocationId: 'inv-1', deadlineMs: 1234 },
    );
    expect(decodeRequest(bytes)).toMatchObject({ method: 'POST', path: '/a', query: 'b=1', headers: [{ name: 'x-a', value: '1' }], invocationId: 'inv-1', deadlineMs: 1234 });
  });

  it('decodes the guest\'s Response, dropping framing headers, and refuses a 1xx with bad_response', () => {
    const log = { stdout: new Uint8Array(0), stderr: new Uint8Array(0) };
    const answer = executor.fromGuest(encodeResponse({ status: 201, headers: [{ name: 'content-length', value: '9' }, { name: 'x-b', value: '2' }], body: new Uint8Array([7]) }), log);
    expect({ ...answer, body: [...answer.body] }).toEqual({ status: 201, headers: [{ name: 'x-b', value: '2' }], body: [7] });
    // proto3 writers leave an empty body out: it reads as an empty body.
    expect([...executor.fromGuest(encodeResponse({ status: 204 }), log).body]).toEqual([]);
    expect(executor.fromGuest(encodeResponse({ status: 204 }), log).body).toBeInstanceOf(Uint8Array);
    const error = refusal(() => executor.fromGuest(encodeResponse({ status: 101 }), log));
    expect(error).toBeInstanceOf(GuestResultError);
    expect(error.code).toBe('bad_response');
  });
});
