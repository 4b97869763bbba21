/**
 * @module functions/streamed
 * The `execute` step of a streamed call (a world whose executor has `fromGuestHead`, on an engine
 * with `callStream`): the request body is pushed into the guest as it arrives, and the call
 * answers as soon as the guest has set its response head, with the body still to come
 * (`BodyStream`). A body that was complete when the head came (a small answer written at once)
 * is answered whole once the call ends, exactly as an unstreamed call. How the call ended (`settled`) is known only once that body has been read to
 * its end; the pipeline meters and logs it then.
 *
 * A failure before the head is an ordinary failed call (the JSON error answer). After it, the
 * body's `read` rejects with the failure, and the sender must end the answer as an error. A
 * request body that breaks off (over its size limit, the client gone) fails the call with that
 * error, whatever the guest made of it.
 */
import type { CallLimits, CallReport, Engine, StreamEvent, StreamedCall } from '../engine/engine.js';
import { WaferError, type GuestOutput } from '../errors.js';
import type { BodyStream, CallContext, Executor, Header, HttpCall } from '../executors/index.js';

const EMPTY = new Uint8Array(0);

/** How a call ended (pipeline.ts `Outcome`). */
export type StreamOutcome =
  | { ok: true; report: CallReport; response: { status: number; headers: Header[]; body: Uint8Array } }
  | { ok: false; error: unknown; output?: GuestOutput };

/** A streamed call that got as far as its head, or one that ended before. */
export type Streamed =
  | { head: { status: number; headers: Header[] }; stream: BodyStream; settled: Promise<StreamOutcome> }
  | { head?: undefined; outcome: StreamOutcome };

/** What a call's error carries of the guest's output (engine errors carry it as `output`). */
function outputOf(error: unknown): GuestOutput | undefined {
  return error instanceof WaferError && 'output' in error ? (error.output as GuestOutput) : undefined;
}

function failure(error: unknown, output = outputOf(error)): StreamOutcome {
  return { ok: false, error, output };
}

/** Feeds the request body to the guest; `broke` is told the error the body broke off with, if it does. */
async function pump(call: StreamedCall, body: AsyncIterable<Uint8Array>, broke: (err: unknown) => void): Promise<void> {
  try {
    for await (const chunk of body) {
      const more = call.push(chunk);
      // The guest reads no more (it answered, or ended): the rest stays unread.
      if (!(more instanceof Promise ? await more : more)) return;
    }
    call.end();
  } catch (err) {
    broke(err);
    call.fail();
    call.abort();
  }
}

/** Runs one streamed call of `digest` (the module comment). */
export async function executeStreamed(
  engine: Engine & Required<Pick<Engine, 'callStream'>>,
  executor: Executor & Required<Pick<Executor, 'fromGuestHead'>>,
  digest: string,
  limits: CallLimits,
  input: HttpCall & { bodyStream?: AsyncIterable<Uint8Array> },
  context: CallContext,
): Promise<Streamed> {
  // A body that is all here already (none, or a small one that came with the headers) goes in the
  // envelope, and the guest need not wait for a push.
  const whole = input.bodyStream === undefined;
  const head = executor.toGuest({ method: input.method, path: input.path, query: input.query, headers: input.headers, body: whole ? input.body : EMPTY }, context);
  const call = await engine.callStream(digest, head, limits, whole);
  let bodyError: unknown;
  if (input.bodyStream !== undefined) void pump(call, input.bodyStream, (err) => (bodyError ??= err));

  let pending: StreamEvent[] = [];
  /** The head said the body was complete: nothing but the end is left to wait for. */
  let bodyComplete = false;
  const nextEvent = async (): Promise<StreamEvent> => {
    while (pending.length === 0) pending = bodyComplete ? [await call.finished] : await call.next();
    return pending.shift()!;
  };
  /** The outcome of an `end` event: the call's, unless the request body broke off. */
  const ended = (e: Extract<StreamEvent, { kind: 'end' }>, response: { status: number; headers: Header[] }): StreamOutcome => {
    if (bodyError !== undefined) return failure(bodyError, e.report ?? outputOf(e.error));
    if (e.error !== undefined || e.report === undefined) return failure(e.error ?? new WaferError('internal', 500, 'the call ended without a result', { expose: false }));
    return { ok: true, report: e.report, response: { ...response, body: EMPTY } };
  };
  /** Reads to the end after a failure, so the call's own outcome (with its output) is known. */
  const drain = async (): Promise<Extract<StreamEvent, { kind: 'end' }>> => {
    for (;;) {
      const e = await nextEvent();
      if (e.kind === 'end') return e;
    }
  };

  const first = await nextEvent();
  if (first.kind === 'end') return { outcome: ended(first, { status: 0, headers: [] }) };
  if (first.kind !== 'head') {
    call.abort();
    await drain();
    return { outcome: failure(new WaferError('internal', 500, 'the streamed call sent data before its head', { expose: false })) };
  }
  // The start of the body (or all of it) came with the head.
  if (first.first !== undefined) pending.unshift({ kind: 'data', chunk: first.first });
  bodyComplete = first.complete === true;
  let response: { status: number; headers: Header[] };
  try {
    response = executor.fromGuestHead(first.status, first.headers);
    if (bodyError !== undefined) throw bodyError;
  } catch (error) {
    call.abort();
    const end = await drain();
    return { outcome: failure(error, end.report ?? outputOf(end.error)) };
  }

  // The whole body came with the head (a small answer written at once): the guest has as good
  // as returned, so wait for its end and answer whole, as an unstreamed call does (with a length,
  // the duration header, and a clean error answer if it still fails).
  if (bodyComplete) {
    const outcome = ended(await call.finished, response);
    if (outcome.ok) outcome.response.body = first.first ?? EMPTY;
    return { outcome };
  }

  let settle!: (outcome: StreamOutcome) => void;
  const settled = new Promise<StreamOutcome>((resolve) => (settle = resolve));
  let done = false;
  const stream: BodyStream = {
    async read() {
      if (done) return undefined;
      const chunks: Uint8Array[] = [];
      for (;;) {
        if (pending.length === 0 && chunks.length > 0) return chunks;
        const e = await nextEvent();
        if (e.kind === 'data') {
          chunks.push(e.chunk);
          continue;
        }
        if (e.kind !== 'end') continue;
        done = true;
        const outcome = ended(e, response);
        settle(outcome);
        if (!outcome.ok) throw outcome.error;
        // The last chunks go out before the end is told.
        return chunks.length > 0 ? chunks : undefined;
      }
    },
    abort: () => call.abort(),
    ended: call.finished.then((e) => e.error === undefined && e.report !== undefined && bodyError === undefined),
  };
  if (first.contentLength !== undefined) stream.contentLength = first.contentLength;
  return { head: response, stream, settled };
}
