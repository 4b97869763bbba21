/**
 * @module server/routes/invoke
 * ANY /fn/{name}[@{alias|version}][/{rest}]: looks the function (and the version the pin after
 * `@` names, else the current one) up and takes a slot, then reads the body, turns
 * the HTTP request into a `wafer.v1.Request`, calls the function, and writes its `Response`
 * back. This is the hot path, so it is a plain middleware rather than a router lookup.
 *
 * A call that streams (`Admission.streams`: wasi:http on wasmtime) gets its body as it arrives,
 * within the same limit, and its answer is sent as it comes (server/stream-answer.ts); the slot
 * is held until the answer has ended.
 */
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Header } from '../../executors/index.js';
import { timingSafeEqual } from 'node:crypto';
import type { Admission, Caller, FunctionService, Invocation } from '../../functions/service.js';
import type { InvocationMeta } from '../../functions/pipeline.js';
import { checkDeclaredLength, limitedBody, readBody, takeComplete } from '../body.js';
import { discardRest, sendStream } from '../stream-answer.js';
import { WaferError } from '../../errors.js';

const PREFIX = '/fn/';
const EMPTY = new Uint8Array(0);
const PIN_MARK = /@|%40/i;

/**
 * The host's headers on every answer of a call that ran (or failed running): its id, version,
 * metered duration and whether it loaded the component. Set on a failed call's error answer too.
 */
function invocationHeaders(res: ServerResponse, meta: InvocationMeta): void {
  if (meta.invocationId === undefined) return;
  res.setHeader('x-wafer-invocation-id', meta.invocationId);
  if (meta.version) res.setHeader('x-wafer-version', String(meta.version));
  if (meta.durationUs !== undefined) res.setHeader('x-wafer-duration-us', String(meta.durationUs));
  if (meta.start) res.setHeader('x-wafer-start', meta.start);
}

/** Request headers as the ABI carries them: names lower-cased, in the order received. */
function headersOf(raw: string[]): Header[] {
  const headers: Header[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push({ name: raw[i]!.toLowerCase(), value: raw[i + 1]! });
  return headers;
}

/**
 * Koa's `ctx.append` without its cost: Koa reads the previous value through a copy of every
 * header set so far, once per header. Same result: a second value of a name joins the first in
 * a list; a previous empty value is replaced, as Koa does.
 */
function append(res: ServerResponse, name: string, value: string): void {
  const prev = res.getHeader(name);
  if (prev === undefined || prev === '') res.setHeader(name, value);
  else res.setHeader(name, Array.isArray(prev) ? [...prev, value] : [String(prev), value]);
}

/**
 * Who calls, from the request's `Authorization: Bearer …` (undefined without one): the token,
 * and whether it is the management token, which may call any function.
 */
function callerOf(authorization: string | undefined, management: Buffer | undefined): Caller | undefined {
  if (authorization === undefined || !/^bearer /i.test(authorization)) return undefined;
  const token = authorization.slice(7).trim();
  const given = Buffer.from(token);
  return { token, management: management !== undefined && given.length === management.length && timingSafeEqual(given, management) };
}

/**
 * The invoke path. `managementToken` may call every function, also those that need an invoke
 * token (`invoke_auth=token`); without it only invoke tokens open those.
 */
export function invokeRoute(service: FunctionService, maxRequestBytes: number, managementToken?: string): Middleware {
  const management = managementToken === undefined ? undefined : Buffer.from(managementToken);
  return async (ctx, next) => {
    const url = ctx.req.url ?? '/';
    if (!url.startsWith(PREFIX)) return next();
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const slash = pathname.indexOf('/', PREFIX.length);
    const target = slash === -1 ? pathname.slice(PREFIX.length) : pathname.slice(PREFIX.length, slash);
    const path = slash === -1 ? '/' : pathname.slice(slash);
    // `@` may arrive percent-encoded (`%40`) from clients that encode every path segment.
    const at = target.search(PIN_MARK);
    const name = at === -1 ? target : target.slice(0, at);
    const pin = at === -1 ? undefined : target.slice(at + (target[at] === '@' ? 1 : 3));
    // Look up and take a slot first: an unknown name or a full queue is answered without
    // reading (or waiting for) the body.
    const caller = callerOf(ctx.req.headers.authorization, management);
    let admission: Admission;
    try {
      const admitted = service.admit(name, pin, caller);
      admission = admitted instanceof Promise ? await admitted : admitted;
    } catch (err) {
      if (err instanceof WaferError && err.code === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer');
      throw err;
    }
    let invocation: Invocation;
    const meta: InvocationMeta = {};
    let streaming = false;
    try {
      const hasBody = ctx.req.headers['content-length'] !== undefined || ctx.req.headers['transfer-encoding'] !== undefined;
      let body: Uint8Array = EMPTY;
      let bodyStream: AsyncIterable<Uint8Array> | undefined;
      if (admission.streams) {
        // A declared length over the limit is refused before the guest starts. A body all here
        // already (a small one that came with the headers) is handed over whole.
        if (hasBody) checkDeclaredLength(ctx.req, maxRequestBytes, 'request body');
        const whole = hasBody ? takeComplete(ctx, maxRequestBytes, 'request body') : EMPTY;
        if (whole !== undefined) body = whole;
        else bodyStream = limitedBody(ctx, maxRequestBytes, 'request body');
      } else if (hasBody) {
        const read = readBody(ctx, maxRequestBytes, 'request body');
        body = read instanceof Promise ? await read : read;
      }
      invocation = await admission.call({
        method: ctx.method,
        path,
        query: q === -1 ? '' : url.slice(q + 1),
        headers: headersOf(ctx.req.rawHeaders),
        body,
        bodyStream,
        streamed: admission.streams,
        meta,
      });
      streaming = invocation.response.stream !== undefined;
    } catch (err) {
      invocationHeaders(ctx.res, meta); // the error answer carries them too
      if (err instanceof WaferError && err.code === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer');
      throw err;
    } finally {
      if (!streaming) admission.release();
    }
    const { response } = invocation;
    ctx.status = response.status;
    const { res } = ctx;
    for (const { name: key, value } of response.headers) append(res, key, value);
    if (response.stream !== undefined) {
      // The duration is known only at the end: it follows as a trailer (stream-answer.ts).
      invocationHeaders(res, { ...meta, invocationId: invocation.invocationId, version: invocation.version, start: invocation.start, durationUs: undefined });
      ctx.respond = false;
      // The slot guards running guests: it is free once the call has ended, not once a slow client has read it all.
      void response.stream.ended.finally(() => admission.release());
      try {
        await sendStream(res, response.stream, () => meta.durationUs);
      } finally {
        admission.release();
        discardRest(ctx.req, maxRequestBytes);
      }
      return;
    }
    invocationHeaders(res, meta); // after the guest's: the host's headers win
    ctx.body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  };
}
