/**
 * @module wrap
 * Turns `handle(req: Request): Response` into the component export the ABI wants:
 * `handle(request: list<u8>) -> result<list<u8>, string>`.
 *
 * componentize-js lowers a returned value to `ok` and a thrown value to `err` only when the
 * thrown value is not an `Error` (or carries an own `payload`); a thrown `Error` traps. So
 * every failure is caught here and rethrown as a `FunctionError` whose `payload` is the message:
 * the host then answers 500 `function_error` with it instead of a bare trap.
 * The componentize-js export binding awaits what `handle` returns, running the guest's event
 * loop until the promise settles, so async handlers work too.
 */
import { decodeRequest, encodeResponse } from './envelope.js';
import { Request } from './request.js';
import type { Response } from './response.js';

/** A function's handler, sync or async. */
export type Handler = (req: Request) => Response | Promise<Response>;

/** The ABI-level export: protobuf `Request` bytes in, protobuf `Response` bytes out. */
export type AbiHandle = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** A failure the host reports as `err(message)`; `payload` is what crosses the ABI. */
export class FunctionError extends Error {
  override name = 'FunctionError';
  readonly payload: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.payload = message;
  }
}

const WRAPPED = Symbol.for('wafer.wrapped');

/** Wraps a handler as the component's `handle` export; wrapping twice is harmless. */
export function wrap(handler: Handler | AbiHandle): AbiHandle {
  if (typeof handler !== 'function') {
    throw new TypeError('wafer: the function module must export `handle(req: Request): Response`');
  }
  if ((handler as { [WRAPPED]?: boolean })[WRAPPED]) return handler as AbiHandle;
  const user = handler as Handler;
  const abi: AbiHandle = (bytes) => {
    let out: Response | Promise<Response>;
    try {
      // componentize-js makes `bytes` in its bindings' realm; a view from this realm keeps
      // `req.body instanceof Uint8Array` true for user code (no copy).
      const own = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      out = user(new Request(decodeRequest(own)));
    } catch (err) {
      throw toFunctionError(err);
    }
    if (isPromise(out)) return out.then(finish, (err) => Promise.reject(toFunctionError(err)));
    return finish(out);
  };
  Object.defineProperty(abi, WRAPPED, { value: true });
  return abi;
}

function finish(res: Response): Uint8Array {
  try {
    return encodeResponse(res);
  } catch (err) {
    throw toFunctionError(err);
  }
}

function isPromise(v: unknown): v is Promise<Response> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The message a failure reports: an Error's message (prefixed by its class unless plain). */
export function toFunctionError(err: unknown): FunctionError {
  if (err instanceof FunctionError) return err;
  let message: string;
  if (err instanceof Error) message = err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  else message = String(err);
  return new FunctionError(message, { cause: err });
}
