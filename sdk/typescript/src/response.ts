/**
 * @module response
 * What a function answers: a plain object, encoded by `encodeResponse` (envelope.ts).
 */

/** Response headers: `[name, value]` pairs in order (repeats allowed), or an object in key order. */
export type ResponseHeaders = readonly (readonly [string, string])[] | Record<string, string>;

/** What a function answers. Every field is optional: `{}` is an empty 200. */
export interface Response {
  /** HTTP status, 100–599; default 200. */
  status?: number;
  /** Response headers, sent in this order. */
  headers?: ResponseHeaders;
  /** The body: bytes as they are (any typed array or DataView is taken as its bytes), or a string sent as UTF-8. */
  body?: Uint8Array | ArrayBufferView | string;
}
