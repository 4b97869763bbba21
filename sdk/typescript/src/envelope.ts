/**
 * @module envelope
 * The wafer.v1 envelope (abi/proto/wafer/v1/envelope.proto) in and out of protobuf bytes:
 * decodes `Request`, encodes `Response`. Field numbers here are the ABI; they never change.
 * Both functions run on every call inside the guest's interpreter, so they are written flat:
 * locals, indexed loops, one-byte varints inline, no destructuring.
 */
import type { Response } from './response.js';
import { LEN, VARINT, WireError, next, readKey, readLength, readVarint, skipField, varintSize, writeVarint } from './wire.js';

/** A header as a `[name, value]` pair; request header names are lower-case. */
export type Header = [name: string, value: string];

/** The fields of `wafer.v1.Request`, zero values filled in. */
export interface RequestFields {
  method: string;
  path: string;
  query: string;
  headers: Header[];
  body: Uint8Array;
  invocationId: string;
  deadlineMs: number;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// Field keys (field number × 8 + wire type) of the fields this SDK knows.
const METHOD = (1 << 3) | LEN;
const PATH = (2 << 3) | LEN;
const QUERY = (3 << 3) | LEN;
const HEADERS = (4 << 3) | LEN;
const BODY = (5 << 3) | LEN;
const INVOCATION_ID = (6 << 3) | LEN;
const DEADLINE_MS = (7 << 3) | VARINT;
const HEADER_NAME = (1 << 3) | LEN;
const HEADER_VALUE = (2 << 3) | LEN;
const STATUS = (1 << 3) | VARINT;
const RESPONSE_HEADER = (2 << 3) | LEN;
const RESPONSE_BODY = (3 << 3) | LEN;

/**
 * Decodes a `wafer.v1.Request`. Unknown fields of any wire type are skipped, and so is a known
 * field number arriving with another wire type; a repeated scalar keeps its last value.
 */
export function decodeRequest(buf: Uint8Array): RequestFields {
  const req: RequestFields = {
    method: '',
    path: '',
    query: '',
    headers: [],
    body: EMPTY,
    invocationId: '',
    deadlineMs: 0,
  };
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    // One-byte keys and lengths (the common case) are read inline; the rest through wire.ts.
    let key = buf[pos]!;
    if (key >= 8 && key < 0x80) pos++;
    else (key = readKey(buf, pos, end)), (pos = next);
    if ((key & 7) !== LEN) {
      if (key === DEADLINE_MS) (req.deadlineMs = readVarint(buf, pos, end)), (pos = next);
      else pos = skipField(buf, pos, end, key);
      continue;
    }
    let len = pos < end ? buf[pos]! : 0x80;
    if (len < 0x80 && len < end - pos) pos++;
    else (len = readLength(buf, pos, end)), (pos = next);
    const start = pos;
    pos += len;
    switch (key) {
      case METHOD: req.method = utf8.decode(buf.subarray(start, pos)); break;
      case PATH: req.path = utf8.decode(buf.subarray(start, pos)); break;
      case QUERY: req.query = utf8.decode(buf.subarray(start, pos)); break;
      case HEADERS: req.headers.push(decodeHeader(buf, start, pos)); break;
      case BODY: req.body = buf.subarray(start, pos); break;
      case INVOCATION_ID: req.invocationId = utf8.decode(buf.subarray(start, pos)); break;
      // any other length-delimited field is unknown: skipped by moving past it
    }
  }
  return req;
}

function decodeHeader(buf: Uint8Array, pos: number, end: number): Header {
  let name = '';
  let value = '';
  while (pos < end) {
    let key = buf[pos]!;
    if (key >= 8 && key < 0x80) pos++;
    else (key = readKey(buf, pos, end)), (pos = next);
    if (key !== HEADER_NAME && key !== HEADER_VALUE) {
      pos = skipField(buf, pos, end, key);
      continue;
    }
    let len = pos < end ? buf[pos]! : 0x80;
    if (len < 0x80 && len < end - pos) pos++;
    else (len = readLength(buf, pos, end)), (pos = next);
    const text = utf8.decode(buf.subarray(pos, pos + len));
    pos += len;
    if (key === HEADER_NAME) name = text;
    else value = text;
  }
  return [name, value];
}

/** Size of a length-delimited field with a one-byte key; nothing for an empty payload (proto3). */
function fieldSize(len: number): number {
  return len === 0 ? 0 : len < 128 ? 2 + len : 1 + varintSize(len) + len;
}

function putField(out: Uint8Array, pos: number, key: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return pos;
  out[pos++] = key;
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * Encodes a handler's answer as a `wafer.v1.Response`: status defaults to 200, headers come from
 * pairs or an object's keys in order, a string body is sent as UTF-8. Zero values are left out.
 * Throws a TypeError or RangeError for an answer that cannot be encoded.
 */
export function encodeResponse(res: Response): Uint8Array {
  if (res === null || typeof res !== 'object') {
    throw new TypeError(`a handler must return a Response object, got ${res === null ? 'null' : typeof res}`);
  }
  const status = res.status ?? 200;
  if (!Number.isInteger(status) || status < 0 || status > 0xffffffff) {
    throw new RangeError(`response status must be an integer from 0 to 2^32-1, got ${status}`);
  }
  const rawBody = res.body;
  let body: Uint8Array;
  if (rawBody === undefined || rawBody === null) body = EMPTY;
  else if (typeof rawBody === 'string') body = encoder.encode(rawBody);
  else if (rawBody instanceof Uint8Array) body = rawBody;
  // Bytes from another realm (componentize-js's bindings make the request's) fail instanceof.
  else if (ArrayBuffer.isView(rawBody)) body = new Uint8Array(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  else throw new TypeError('a Response body must be a Uint8Array or a string');

  // Header names and values as UTF-8, flattened: name0, value0, name1, value1, ...
  const parts: Uint8Array[] = [];
  const headers = res.headers;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i] as readonly [string, string];
      parts.push(encoder.encode(pair[0]), encoder.encode(pair[1]));
    }
  } else if (headers) {
    const record = headers as Record<string, string>;
    for (const name in record) parts.push(encoder.encode(name), encoder.encode(record[name]));
  }

  let size = status ? 1 + varintSize(status) : 0;
  const count = parts.length;
  const inner: number[] = new Array(count >> 1);
  for (let i = 0; i < count; i += 2) {
    const n = parts[i]!.length;
    const v = parts[i + 1]!.length;
    const h = (inner[i >> 1] = (n === 0 ? 0 : n < 128 ? 2 + n : fieldSize(n)) + (v === 0 ? 0 : v < 128 ? 2 + v : fieldSize(v)));
    size += h < 128 ? 2 + h : 1 + varintSize(h) + h;
  }
  size += fieldSize(body.length);

  const out = new Uint8Array(size);
  let pos = 0;
  if (status) {
    out[pos++] = STATUS;
    pos = writeVarint(out, pos, status);
  }
  for (let i = 0; i < count; i += 2) {
    const h = inner[i >> 1]!;
    out[pos++] = RESPONSE_HEADER;
    if (h < 128) out[pos++] = h;
    else pos = writeVarint(out, pos, h);
    const name = parts[i]!;
    if (name.length > 0 && name.length < 128) {
      out[pos++] = HEADER_NAME;
      out[pos++] = name.length;
      out.set(name, pos);
      pos += name.length;
    } else pos = putField(out, pos, HEADER_NAME, name);
    const value = parts[i + 1]!;
    if (value.length > 0 && value.length < 128) {
      out[pos++] = HEADER_VALUE;
      out[pos++] = value.length;
      out.set(value, pos);
      pos += value.length;
    } else pos = putField(out, pos, HEADER_VALUE, value);
  }
  pos = putField(out, pos, RESPONSE_BODY, body);
  if (pos !== size) throw new WireError(`internal error: encoded ${pos} of ${size} bytes`);
  return out;
}
