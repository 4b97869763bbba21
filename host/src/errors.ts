/**
 * @module errors
 * wafer's one error family. Every failure a client may see is a `WaferError` with a stable
 * `code` and an HTTP `status`; the server's error middleware is the one place that turns them
 * into the JSON body `{"error": {"code", "message"}}`. Nothing else inspects error strings.
 */

/**
 * Stable error codes of the HTTP API (DESIGN.md, "HTTP API"), as a value so the OpenAPI
 * document (server/openapi) lists exactly these.
 */
export const ERROR_CODES = [
  'not_found',
  'invalid_name',
  'invalid_component',
  'abi_mismatch',
  'invalid_request',
  'payload_too_large',
  'unauthorized',
  'timeout',
  'memory_limit',
  'out_of_fuel',
  'trap',
  'function_error',
  'bad_response',
  'overloaded',
  'request_timeout',
  'not_ready',
  'insufficient_storage',
  'loop_detected',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base of every error wafer raises on purpose. `expose` says whether `message` may reach a client. */
export class WaferError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: ErrorCode, status: number, message: string, options?: { cause?: unknown; expose?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = options?.expose ?? true;
  }
}

/** A request the client got wrong: bad name, bad parameter, oversized body. */
export class InvalidInputError extends WaferError {
  constructor(code: 'invalid_name' | 'invalid_request' | 'payload_too_large' | 'unauthorized', message: string) {
    const status = code === 'payload_too_large' ? 413 : code === 'unauthorized' ? 401 : 400;
    super(code, status, message);
  }
}

/** An upload that is not a component of wafer's world. */
export class ComponentError extends WaferError {
  constructor(code: 'invalid_component' | 'abi_mismatch', message: string, cause?: unknown) {
    super(code, 400, message, { cause });
  }
}

export class NotFoundError extends WaferError {
  constructor(message: string) {
    super('not_found', 404, message);
  }
}

/** Too many calls in flight and queued (for one function, or for the host's instance pool). */
export class OverloadedError extends WaferError {
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 1) {
    super('overloaded', 503, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Why a guest's call was cut off by the engine: a closed set, as in `wasmtime serve`. */
export type TrapReason = 'timeout' | 'memory_limit' | 'out_of_fuel' | 'trap';

/** Captured guest output, attached to every outcome of a call. */
export interface GuestOutput {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

const EMPTY_OUTPUT: GuestOutput = { stdout: new Uint8Array(0), stderr: new Uint8Array(0) };

/** The engine stopped the guest. The instance that ran it is never reused. */
export class GuestTrapError extends WaferError {
  readonly reason: TrapReason;
  readonly output: GuestOutput;

  constructor(reason: TrapReason, message: string, output: GuestOutput = EMPTY_OUTPUT, cause?: unknown) {
    super(reason, reason === 'timeout' ? 504 : 500, message, { cause });
    this.reason = reason;
    this.output = output;
  }
}

/** The guest returned `err(message)`, or answered bytes that are not a valid `Response`. */
export class GuestResultError extends WaferError {
  readonly output: GuestOutput;

  constructor(code: 'function_error' | 'bad_response', message: string, output: GuestOutput = EMPTY_OUTPUT) {
    super(code, code === 'bad_response' ? 502 : 500, message);
    this.output = output;
  }
}
