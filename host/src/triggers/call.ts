/**
 * @module triggers/call
 * How a trigger calls its function: as an HTTP request through the same pipeline as `/fn/…`
 * (admit, resolve, load, execute, meter, log), `POST /` with the event's payload as the body
 * and its metadata as `x-wafer-*` headers, so an existing function needs no change. The call is
 * the host's own, so a function deployed with `invoke_auth=token` runs too.
 */
import type { Header } from '../executors/index.js';
import type { FunctionService, Invocation } from '../functions/service.js';
import type { Trigger } from '../registry/registry.js';

/** Headers an event's own headers may not set: the host's metadata, and a credential. */
const RESERVED = /^(x-wafer-|authorization$)/;
/** An event's own headers handed on (NATS message headers): bounded like a request's. */
const MAX_EVENT_HEADERS = 64;
const MAX_EVENT_HEADER_BYTES = 8 * 1024;

/** The metadata headers every trigger call carries, then the event's. */
export function triggerHeaders(trigger: Trigger, meta: Record<string, string>, event: Header[] = []): Header[] {
  const headers: Header[] = [];
  let bytes = 0;
  for (const { name, value } of event) {
    const lower = name.toLowerCase();
    if (RESERVED.test(lower)) continue;
    bytes += lower.length + value.length;
    if (headers.length >= MAX_EVENT_HEADERS || bytes > MAX_EVENT_HEADER_BYTES) break;
    headers.push({ name: lower, value });
  }
  headers.push({ name: 'x-wafer-trigger', value: trigger.id }, { name: 'x-wafer-trigger-type', value: trigger.type });
  for (const [name, value] of Object.entries(meta)) headers.push({ name, value });
  return headers;
}

/** Calls `name` as trigger `trigger` would: `POST /` with `body` and `headers`. Rejects as an HTTP call would fail. */
export function callAsTrigger(service: FunctionService, name: string, body: Uint8Array, headers: Header[]): Promise<Invocation> {
  return service.invoke(name, { method: 'POST', path: '/', query: '', headers, body }, undefined, { management: true });
}

/** Whether an answer counts as handled: a 2xx status. */
export function succeeded(invocation: Invocation): boolean {
  return invocation.response.status >= 200 && invocation.response.status < 300;
}
