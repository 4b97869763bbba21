/**
 * @module abi/envelope
 * The host's side of the ABI envelope: encodes `wafer.v1.Request` for the guest and decodes
 * the guest's `wafer.v1.Response`, with protobufjs reading the one .proto file in abi/.
 */
import protobuf from 'protobufjs';
import { PROTO_PATH } from '../paths.js';
import { GuestResultError, type GuestOutput } from '../errors.js';

/** One header as it crosses the ABI: lower-case name, value. */
export interface Header {
  name: string;
  value: string;
}

/** `wafer.v1.Request`, as the host builds it from an HTTP call. */
export interface GuestRequest {
  method: string;
  path: string;
  query: string;
  headers: Header[];
  body: Uint8Array;
  invocationId: string;
  deadlineMs: number;
}

/** `wafer.v1.Response`, as decoded and checked. */
export interface GuestResponse {
  status: number;
  headers: Header[];
  body: Uint8Array;
}

const root = protobuf.loadSync(PROTO_PATH);
const RequestType = root.lookupType('wafer.v1.Request');
const ResponseType = root.lookupType('wafer.v1.Response');

/** The ABI version this host speaks. */
export const ABI_VERSION = '1.0.0';

/** Encodes a request for the guest's `handle`. */
export function encodeRequest(request: GuestRequest): Uint8Array {
  return RequestType.encode(request as unknown as Record<string, unknown>).finish();
}

/** Decodes a request (used by tests and tools; the guest SDKs have their own codecs). */
export function decodeRequest(bytes: Uint8Array): GuestRequest {
  const msg = RequestType.toObject(RequestType.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: true });
  return msg as GuestRequest;
}

/** Encodes a response (used by tests and tools). */
export function encodeResponse(response: Partial<GuestResponse>): Uint8Array {
  return ResponseType.encode(response as Record<string, unknown>).finish();
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Headers that frame the HTTP exchange or belong to one hop. They are the host's to write: a
 * guest's `content-length` or `transfer-encoding` could desynchronise the connection, an
 * `upgrade` or `connection` could hijack it. They are dropped from the guest's answer, which
 * is otherwise delivered (SDKs commonly set `content-length`; that is no reason to fail a call).
 */
const FRAMING_HEADERS = new Set([
  'connection', 'transfer-encoding', 'content-length', 'upgrade', 'keep-alive', 'te', 'trailer',
  // Would let a service worker a function registers control the whole origin (the dashboard
  // at /ui/ and the API) instead of only the function's own /fn/{name}/ paths.
  'service-worker-allowed',
]);

/** True when a guest may not set header `name` (any case): framing, hop-by-hop, `proxy-*`, or the service-worker scope. */
export function isFramingHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return FRAMING_HEADERS.has(lower) || lower.startsWith('proxy-');
}

/**
 * Decodes the guest's `ok` bytes as a `Response` and checks it can become an HTTP response:
 * a final status (200-599), valid header names and values, no framing headers (dropped).
 * Anything else is the guest's fault: `bad_response`.
 */
export function decodeResponse(bytes: Uint8Array, output?: GuestOutput): GuestResponse {
  let decoded: protobuf.Message;
  try {
    decoded = ResponseType.decode(bytes);
  } catch (err) {
    throw new GuestResultError('bad_response', `the function's output is not a valid wafer.v1.Response: ${(err as Error).message}`, output);
  }
  const msg = decoded as unknown as { status?: number; headers?: Header[]; body?: Uint8Array };
  const { status, headers } = checkHead(msg.status || 200, msg.headers ?? [], output);
  // An absent `body` (proto3 writers omit empty fields) decodes as protobufjs's shared default, a plain array.
  return { status, headers, body: msg.body instanceof Uint8Array ? msg.body : new Uint8Array(0) };
}

/**
 * Checks a guest's status and headers can become an HTTP response head (decodeResponse's rules):
 * a final status (200-599), valid header names and values; framing headers are dropped.
 */
export function checkHead(status: number, given: readonly Header[], output?: GuestOutput): { status: number; headers: Header[] } {
  // 1xx is framing (interim answers, protocol switches), never a final answer.
  if (status < 200 || status > 599) {
    throw new GuestResultError('bad_response', `the function answered HTTP status ${status}, outside 200-599`, output);
  }
  const headers: Header[] = [];
  for (const h of given) {
    if (!HEADER_NAME.test(h.name) || !HEADER_VALUE.test(h.value)) {
      throw new GuestResultError('bad_response', `the function answered an invalid header ${JSON.stringify(h.name)}`, output);
    }
    if (!isFramingHeader(h.name)) headers.push(h);
  }
  return { status, headers };
}
