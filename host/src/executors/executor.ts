/**
 * @module executors/executor
 * The seam between the host and one world (ABI) it accepts. An executor says whether a
 * component belongs to its world (`detect`), refuses one that claims the world but does not fit
 * it (`validate`), and maps an HTTP call to the guest's input and the guest's output back to an
 * HTTP answer. Executors see only a component's types and bytes, never an engine or the registry.
 *
 * The engines' side of the same seam: the stored `world` travels with every load
 * (`LoadUnit.world`), and the wasmtime addon's `World` (host/native/src/world.rs) checks the
 * component against it, links the imports its guests get and enters the guest by its export. A
 * new world is an executor here plus a `World` variant there; an engine that does not run a
 * world refuses it with `abi_mismatch` (jco runs the handler world only).
 */
import { decodeResponse, encodeRequest } from '../abi/envelope.js';
import type { GuestOutput } from '../errors.js';
import type { ComponentTypes } from './types.js';

/** One header as it crosses into a guest: lower-case name, value. */
export interface Header {
  name: string;
  value: string;
}

/** An HTTP call as the host received it (the body already read). */
export interface HttpCall {
  method: string;
  /** The path after `/fn/{name}`, starting with `/`. */
  path: string;
  /** The query string without its `?`. */
  query: string;
  headers: Header[];
  body: Uint8Array;
}

/** What the host answers over HTTP for one call. */
export interface HttpAnswer {
  status: number;
  headers: Header[];
  /** The whole body; empty when `stream` carries it. */
  body: Uint8Array;
  /** A streamed answer's body (wasi:http on an engine that streams), sent as it comes. */
  stream?: BodyStream;
}

/** The body of a streamed answer, read once, chunk by chunk, by the one who sends it. */
export interface BodyStream {
  /** The body's length, when the guest declared it (the engine holds it to it). */
  contentLength?: number;
  /**
   * The next chunks (at least one), or undefined at the end of a body sent whole. Rejects when the
   * call failed after the head went out: the answer must then end as an error (its connection cut).
   */
  read(): Promise<Uint8Array[] | undefined>;
  /** The client went away: the guest's next write fails; keep reading to the end (the call is metered then). */
  abort(): void;
  /**
   * Settles as soon as the call has ended, even with chunks still unread: whether it succeeded.
   * A sender held up by a slow client learns of a failure here without reading on.
   */
  readonly ended: Promise<boolean>;
}

/** What a call carries besides the HTTP request. */
export interface CallContext {
  invocationId: string;
  /** Unix milliseconds past which the call is cut off. */
  deadlineMs: number;
}

export interface Executor {
  /** The world's name and version, as stored in the function record: `wafer:function/handler@1.0.0`. */
  readonly world: string;
  /** True when the component is meant for this world (it exports what the world exports, by name). */
  detect(types: ComponentTypes): boolean;
  /** Throws `ComponentError` (`abi_mismatch`) when a detected component does not fit the world. */
  validate(types: ComponentTypes): void;
  /** The bytes the guest is called with for one HTTP call. */
  toGuest(call: HttpCall, context: CallContext): Uint8Array;
  /** The HTTP answer from the guest's `ok` bytes; throws `GuestResultError` (`bad_response`) when they are not one. */
  fromGuest(output: Uint8Array, log: GuestOutput): HttpAnswer;
  /**
   * Worlds whose answers stream (wasi:http): the HTTP head from the status and headers the guest
   * set, checked as `fromGuest` checks a whole answer. Absent: the world answers whole.
   */
  fromGuestHead?(status: number, headers: readonly Header[]): { status: number; headers: Header[] };
}

/**
 * The wafer.v1 envelope both worlds cross into the engine with: the handler world's guest reads
 * it itself, the wasi:http world's is unpacked by the addon (host/native/src/http.rs). Field by
 * field rather than spread: this runs once per request, and `call` may carry more.
 */
export const envelopeMapping: Pick<Executor, 'toGuest' | 'fromGuest'> = {
  toGuest: (call, context) =>
    encodeRequest({
      method: call.method,
      path: call.path,
      query: call.query,
      headers: call.headers,
      body: call.body,
      invocationId: context.invocationId,
      deadlineMs: context.deadlineMs,
    }),
  fromGuest: (output, log) => decodeResponse(output, log),
};
