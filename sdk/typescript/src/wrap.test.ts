import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { FunctionError, Request, wrap, type Response } from './index.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../../../abi/proto/wafer/v1/envelope.proto', import.meta.url)));
const RequestType = root.lookupType('wafer.v1.Request');
const ResponseType = root.lookupType('wafer.v1.Response');

const encode = (fields: object) => new Uint8Array(RequestType.encode(RequestType.create(fields)).finish());
const decode = (bytes: Uint8Array) =>
  ResponseType.toObject(ResponseType.decode(bytes), { defaults: true, bytes: Uint8Array }) as {
    status: number; headers: { name: string; value: string }[]; body: Uint8Array;
  };
const plain = <T extends { body: Uint8Array }>(r: T | undefined) => r && { ...r, body: new Uint8Array(r.body) };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Calls an ABI export the way componentize-js does: the thrown value's `payload` becomes err. */
async function invoke(abi: ReturnType<typeof wrap>, fields: object) {
  try {
    return { ok: decode(await abi(encode(fields))) };
  } catch (err) {
    return { err: (err as FunctionError).payload };
  }
}

describe('wrap', () => {
  it('hands the handler a Request and encodes its Response', async () => {
    let seen: Request | undefined;
    const abi = wrap((req) => {
      seen = req;
      return { status: 201, headers: [['x-a', '1'], ['x-a', '2']], body: `got ${req.text()}` };
    });
    const out = await invoke(abi, {
      method: 'POST', path: '/p', query: 'q=1', headers: [{ name: 'x-h', value: 'v' }],
      body: new TextEncoder().encode('hi'), invocationId: 'id-1', deadlineMs: 123,
    });
    expect(out.ok?.status).toBe(201);
    expect(out.ok?.headers).toEqual([{ name: 'x-a', value: '1' }, { name: 'x-a', value: '2' }]);
    expect(text(out.ok!.body)).toBe('got hi');
    expect(seen).toMatchObject({ method: 'POST', path: '/p', query: 'q=1', invocationId: 'id-1', deadlineMs: 123 });
    expect(seen?.header('X-H')).toBe('v');
    expect(seen?.queryParamText('q')).toBe('1');
  });

  it('defaults to an empty 200 and accepts headers as an object', async () => {
    expect(plain((await invoke(wrap(() => ({})), {})).ok)).toEqual({ status: 200, headers: [], body: new Uint8Array(0) });
    const out = await invoke(wrap(() => ({ headers: { 'content-type': 'text/plain', 'x-b': 'b' } })), {});
    expect(out.ok?.headers).toEqual([{ name: 'content-type', value: 'text/plain' }, { name: 'x-b', value: 'b' }]);
  });

  it('awaits async handlers', async () => {
    const abi = wrap(async (req) => {
      await new Promise((r) => setTimeout(r, 1));
      return { body: req.json<{ a: number }>().a.toString() };
    });
    expect(text((await invoke(abi, { body: new TextEncoder().encode('{"a":7}') })).ok!.body)).toBe('7');
  });

  it.each<[string, () => Response | Promise<Response>, string]>([
    ['a thrown Error by its message', () => { throw new Error('boom'); }, 'boom'],
    ['another Error class with its name', () => { throw new TypeError('bad type'); }, 'TypeError: bad type'],
    ['a thrown string as is', () => { throw 'plain'; }, 'plain'],
    ['a rejected promise', async () => { throw new RangeError('later'); }, 'RangeError: later'],
    ['a FunctionError unchanged', () => { throw new FunctionError('mine'); }, 'mine'],
    ['a non-object answer', () => 'nope' as unknown as Response, 'TypeError: a handler must return a Response object, got string'],
    ['a bad status', () => ({ status: 1.5 }), 'RangeError: response status must be an integer from 0 to 2^32-1, got 1.5'],
  ])('reports %s as err', async (_name, handler, message) => {
    expect(await invoke(wrap(handler), {})).toEqual({ err: message });
  });

  it('reports a malformed request envelope as err', async () => {
    const abi = wrap(() => ({}));
    expect(() => abi(new Uint8Array([0x0a, 0x09]))).toThrow(FunctionError);
  });

  it('throws FunctionErrors carrying an own string payload (what componentize-js lowers to err)', () => {
    const abi = wrap(() => { throw new Error('x'); });
    try {
      abi(encode({}));
      expect.unreachable();
    } catch (err) {
      expect(Object.hasOwn(err as object, 'payload')).toBe(true);
      expect((err as FunctionError).payload).toBe('x');
    }
  });

  it('is idempotent', () => {
    const abi = wrap(() => ({}));
    expect(wrap(abi)).toBe(abi);
  });

  it('refuses a missing handler', () => {
    expect(() => wrap(undefined as never)).toThrow(/export `handle/);
  });
});

describe('Request', () => {
  it('decodes the body as text and JSON, and query parameters as bytes and text', () => {
    const req = new Request({ body: new TextEncoder().encode('{"x":[1]}'), query: 'n=%FF&m=%C3%A9' });
    expect(req.text()).toBe('{"x":[1]}');
    expect(req.json()).toEqual({ x: [1] });
    expect([...req.queryParam('n')!]).toEqual([0xff]);
    expect(req.queryParamText('n')).toBe('\ufffd');
    expect(req.queryParamText('m')).toBe('é');
    expect(req.queryParam('zz')).toBeUndefined();
    expect(req.header('none')).toBeUndefined();
  });
});

describe('bytes from another realm', () => {
  // componentize-js creates the request bytes in its bindings' global, not the function's.
  it('gives the handler a body that is a Uint8Array of this realm, and echoes foreign bytes', async () => {
    const { runInNewContext } = await import('node:vm');
    const foreign = runInNewContext('(b) => new Uint8Array(b)')(encode({ body: new TextEncoder().encode('abc') })) as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    let isOwn = false;
    const abi = wrap((req) => {
      isOwn = req.body instanceof Uint8Array;
      return { body: req.body };
    });
    expect(text(decode(await abi(foreign)).body)).toBe('abc');
    expect(isOwn).toBe(true);
    const foreignBody = runInNewContext('new Uint16Array([0x6968])') as Uint16Array;
    expect(text(decode(await wrap(() => ({ body: foreignBody }))(encode({}))).body)).toBe('hi');
  });
});
