/**
 * @module request
 * The request a function receives: the decoded `wafer.v1.Request` plus small helpers for the
 * body, headers and query parameters.
 */
import type { Header, RequestFields } from './envelope.js';
import { queryParam } from './query.js';

const lenient = new TextDecoder();

/** An HTTP call to the function, as the host received it on `/fn/{name}[/{rest}]`. */
export class Request implements RequestFields {
  /** Upper-case HTTP method, e.g. `GET`. */
  readonly method: string;
  /** The URL path after `/fn/{name}`, percent-encoded as received; always starts with `/`. */
  readonly path: string;
  /** The raw query string without `?`; `""` when there is none. */
  readonly query: string;
  /** Headers in the order received, names lower-case; a repeated header appears once per value. */
  readonly headers: Header[];
  /** The request body; empty when there is none. */
  readonly body: Uint8Array;
  /** A unique id for this call; the host tags the function's log lines with it. */
  readonly invocationId: string;
  /** Unix time in milliseconds after which the host cuts the call off. */
  readonly deadlineMs: number;

  constructor(fields: Partial<RequestFields> = {}) {
    this.method = fields.method ?? 'GET';
    this.path = fields.path ?? '/';
    this.query = fields.query ?? '';
    this.headers = fields.headers ?? [];
    this.body = fields.body ?? new Uint8Array(0);
    this.invocationId = fields.invocationId ?? '';
    this.deadlineMs = fields.deadlineMs ?? 0;
  }

  /** The body decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return lenient.decode(this.body);
  }

  /** The body parsed as JSON; throws a SyntaxError if it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The first value of header `name` (case-insensitive), or undefined. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [n, v] of this.headers) if (n === lower) return v;
    return undefined;
  }

  /** Query parameter `name` as decoded bytes (samples/README.md definition), or undefined if absent. */
  queryParam(name: string): Uint8Array | undefined {
    return queryParam(this.query, name);
  }

  /** Query parameter `name` decoded as UTF-8 text (invalid sequences become U+FFFD), or undefined. */
  queryParamText(name: string): string | undefined {
    const bytes = queryParam(this.query, name);
    return bytes === undefined ? undefined : lenient.decode(bytes);
  }
}
