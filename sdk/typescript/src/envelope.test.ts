import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { decodeRequest, encodeResponse } from './envelope.js';
import { WireError } from './wire.js';


const PROTO = fileURLToPath(new URL('../../../abi/proto/wafer/v1/envelope.proto', import.meta.url));
const root = protobuf.loadSync(PROTO);
const RequestType = root.lookupType('wafer.v1.Request');
const ResponseType = root.lookupType('wafer.v1.Response');
/** protobufjs hands out Buffers on Node; the SDK sees plain Uint8Arrays. */
const encode = (type: protobuf.Type, fields: object) => new Uint8Array(type.encode(type.create(fields)).finish());

// A future 1.x envelope: every wire type appears as a field the 1.0 SDK does not know.
const future = protobuf.parse(`
  syntax = "proto3";
  package wafer.v9;
  message Extra { string note = 1; uint64 n = 2; }
  message Header { string name = 1; string value = 2; fixed64 f64 = 3; fixed32 f32 = 4; Extra extra = 5; }
  message Request {
    string method = 1; string path = 2; string query = 3; repeated Header headers = 4; bytes body = 5;
    string invocation_id = 6; uint64 deadline_ms = 7;
    sint64 varint_field = 8; fixed64 i64_field = 9; string len_field = 10; fixed32 i32_field = 11;
    Extra message_field = 12; repeated uint32 packed_field = 13; double double_field = 14;
    float float_field = 15; uint64 big_field_number = 536870911;
  }
`).root.lookupType('wafer.v9.Request');

const full = {
  method: 'POST',
  path: '/a/b%20c',
  query: 'x=1&name=J%C3%BCrgen',
  headers: [
    { name: 'content-type', value: 'text/plain' },
    { name: 'x-twice', value: 'one' },
    { name: 'x-twice', value: 'two' },
    { name: 'x-unicode', value: 'héllo ✓' },
  ],
  body: new Uint8Array([0, 1, 2, 255, 254]),
  invocationId: 'inv-0123456789',
  deadlineMs: 1_795_441_666_401,
};

const expected = {
  ...full,
  headers: full.headers.map((h) => [h.name, h.value]),
};

describe('decodeRequest', () => {
  it('decodes every field protobufjs encodes', () => {
    const bytes = encode(RequestType, full);
    expect(decodeRequest(bytes)).toEqual(expected);
  });

  it('fills zero values for an empty message', () => {
    expect(decodeRequest(new Uint8Array(0))).toEqual({
      method: '', path: '', query: '', headers: [], body: new Uint8Array(0), invocationId: '', deadlineMs: 0,
    });
  });

  it('decodes a deadline beyond 2^32 and up to 2^53 exactly', () => {
    for (const deadlineMs of [2 ** 32 + 1, 2 ** 53 - 1]) {
      const bytes = encode(RequestType, { deadlineMs });
      expect(decodeRequest(bytes).deadlineMs).toBe(deadlineMs);
    }
  });

  it('skips unknown fields of every wire type, in the request and in headers', () => {
    const bytes = encode(future, {
      ...full,
      headers: full.headers.map((h) => ({ ...h, f64: 7, f32: 8, extra: { note: 'x', n: 9 } })),
      varintField: -123456789012,
      i64Field: 2 ** 40,
      lenField: 'not for 1.0',
      i32Field: 42,
      messageField: { note: 'nested', n: 2 ** 50 },
      packedField: [1, 300, 70000],
      doubleField: 3.5,
      floatField: 1.25,
      bigFieldNumber: 5,
    });
    expect(bytes.length).toBeGreaterThan(encode(RequestType, full).length);
    expect(decodeRequest(bytes)).toEqual(expected);
  });

  it('skips unknown groups (wire types 3 and 4), nested ones included', () => {
    const base = encode(RequestType, { method: 'GET', path: '/g' });
    // field 20 start group { field 1 varint 5; field 21 start group { field 2 fixed32 } end 21 } end 20
    const group = [0xa3, 0x01, 0x08, 0x05, 0xab, 0x01, 0x15, 1, 2, 3, 4, 0xac, 0x01, 0xa4, 0x01];
    const bytes = new Uint8Array([...group, ...base, ...group]);
    expect(decodeRequest(bytes)).toMatchObject({ method: 'GET', path: '/g' });
  });

  it('skips a known field number that arrives with another wire type', () => {
    // field 1 (method) as a varint, field 7 (deadline) as length-delimited, then the real method
    const bytes = new Uint8Array([0x08, 0x01, 0x3a, 0x01, 0x41, 0x0a, 0x03, 0x50, 0x55, 0x54]);
    expect(decodeRequest(bytes)).toMatchObject({ method: 'PUT', deadlineMs: 0 });
  });

  it('keeps the last value of a repeated scalar field, as protobuf does', () => {
    const bytes = new Uint8Array([0x0a, 0x01, 0x41, 0x0a, 0x01, 0x42]);
    expect(decodeRequest(bytes).method).toBe('B');
  });

  it.each([
    ['a truncated varint', [0x38, 0x80]],
    ['a length past the end', [0x0a, 0x05, 0x41]],
    ['a truncated fixed64', [0x49, 1, 2, 3]],
    ['an unterminated group', [0xa3, 0x01, 0x08, 0x05]],
    ['a mismatched end group', [0xa3, 0x01, 0xac, 0x01]],
    ['wire type 6', [0x0e]],
    ['field number 0', [0x00, 0x01]],
  ])('rejects %s with a WireError', (_name, bytes) => {
    expect(() => decodeRequest(new Uint8Array(bytes))).toThrow(WireError);
  });

  it('returns the body as a view into the input, not a copy', () => {
    const bytes = encode(RequestType, { body: new Uint8Array(1000).fill(7) });
    const req = decodeRequest(bytes);
    expect(req.body.buffer).toBe(bytes.buffer);
    expect(req.body.length).toBe(1000);
  });
});

describe('encodeResponse', () => {
  const decode = (bytes: Uint8Array) => {
    const r = ResponseType.toObject(ResponseType.decode(bytes), { defaults: true, bytes: Uint8Array, arrays: true });
    return { ...r, body: new Uint8Array(r.body) };
  };

  it('round-trips through protobufjs', () => {
    const body = new Uint8Array(70_000).map((_, i) => i % 251);
    const bytes = encodeResponse({
      status: 418,
      headers: [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-u', 'ü✓']],
      body,
    });
    expect(decode(bytes)).toEqual({
      status: 418,
      headers: [
        { name: 'content-type', value: 'application/json' },
        { name: 'set-cookie', value: 'a=1' },
        { name: 'set-cookie', value: 'b=2' },
        { name: 'x-u', value: 'ü✓' },
      ],
      body,
    });
  });

  it('leaves zero values out, as proto3 does', () => {
    expect(encodeResponse({ status: 0, headers: [], body: new Uint8Array(0) })).toEqual(new Uint8Array(0));
    const bytes = encodeResponse({ status: 200, headers: [['x-empty', '']], body: new Uint8Array(0) });
    expect(bytes).toEqual(encode(ResponseType, { status: 200, headers: [{ name: 'x-empty', value: '' }] }));
    expect(decode(bytes)).toEqual({ status: 200, headers: [{ name: 'x-empty', value: '' }], body: new Uint8Array(0) });
  });

  it('matches protobufjs byte for byte', () => {
    const fields = { status: 201, headers: [['location', '/x/1']] as [string, string][], body: new TextEncoder().encode('created') };
    const theirs = encode(ResponseType, {
      status: 201, headers: [{ name: 'location', value: '/x/1' }], body: fields.body,
    });
    expect(encodeResponse(fields)).toEqual(theirs);
  });

  it.each([-1, 1.5, NaN, 2 ** 32])('refuses status %s', (status) => {
    expect(() => encodeResponse({ status, headers: [], body: new Uint8Array(0) })).toThrow(RangeError);
  });
});
