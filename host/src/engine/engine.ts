/**
 * @module engine/engine
 * The one interface every execution backend implements (`engine/wasmtime`, `engine/jco`).
 * The host layer above it owns the registry, per-function concurrency and the envelope;
 * an engine only loads components and calls `handle(bytes)` under limits. An engine never
 * imports the server or the registry.
 *
 * Both engines keep one contract, checked by test/engine/contract.test.ts against each of them:
 * - `prepare`/`load` answer where the component came from: `compiled` (first time on this cache),
 *   `disk` (the on-disk compiled cache; the component bytes are not read), `memory` (already
 *   loaded). A component that cannot run is refused with `ComponentError` (`invalid_component`,
 *   `abi_mismatch`) and leaves nothing callable behind.
 * - `call` on a digest that is not in memory (never loaded by this process, unloaded, or evicted
 *   by the engine's cache) loads it from the on-disk compiled cache first, counted in
 *   `loadedFromDisk`: unloading is scale to zero, never a refusal. Only when the disk has no
 *   artifact either (never prepared on this cache, or discarded) does it reject, with
 *   `not_ready` 503 (`notLoadedError`), before anything runs. Never `not_found`: at the HTTP
 *   layer that code means an unknown function name, and the engine knows only digests.
 * - `call` with `limits.memoryBytes` over the engine's ceiling (`maxMemoryBytes`) rejects with
 *   `invalid_request` 400 before anything runs (`checkMemoryRequest`). It is never clamped:
 *   running under a quota the caller did not ask for would make `memory_limit` lie.
 * - One memory quota covers everything a guest can grow: every linear memory of every core
 *   instance and every table (an element costs 8 bytes). Past it the call fails with
 *   `memory_limit`. wasmtime counts the sum as the guest grows; V8 has no hook on growth, so jco
 *   gives each memory and table a fixed share of the quota as its declared maximum (one real
 *   memory gets it all; see jco/quota-split.ts): the sum never passes the quota on either, but a
 *   guest with several growable memories used unevenly meets `memory_limit` sooner on jco.
 * - Guest failures: `GuestTrapError` (`timeout` 504, `memory_limit`, `out_of_fuel`, `trap` 500)
 *   and `GuestResultError` (`function_error` 500, `bad_response` 502), with what the guest wrote.
 * - `unload` and `discard` let calls already accepted finish. After `close`, `load` and `call` reject.
 * - `stats()` has at least `compiled`, `loadedFromDisk`, `loadedFromMemory`, `instancesCreated`
 *   (counters) and `loaded` (components in memory now).
 */
import { WaferError, type GuestOutput } from '../errors.js';

export type EngineName = 'wasmtime' | 'jco';

/** Limits applied to one call. */
export interface CallLimits {
  /** Wall-clock budget of the call, in milliseconds. */
  timeoutMs: number;
  /** Ceiling on the guest's linear memories, in bytes. */
  memoryBytes: number;
  /**
   * Fuel budget of the call (engines with `metersFuel`); undefined means unmetered. A call with
   * fuel runs the component's fuel-metered build, which `load` makes when `LoadUnit.fuel` is set.
   */
  fuel?: number;
  /**
   * The guest's environment (wasi:cli/environment), as [name, value] pairs; undefined: empty.
   * An instance keeps the environment it was made with, so one warm instance serves one environment.
   */
  env?: readonly (readonly [string, string])[];
  /**
   * Largest `ok` output the guest may return, in bytes. Longer output fails the call with
   * `bad_response` before it is copied out of the guest. Undefined means no limit.
   */
  maxOutputBytes?: number;
  /**
   * Run on a warm instance of this pool (the function's name) when one is idle, and keep the
   * instance for the pool's next call (`instance=reuse`). Undefined: a fresh instance. wasmtime
   * only; jco keeps warm instances per worker in either mode (jco/README.md).
   */
  reusePool?: string;
  /**
   * Hosts the guest's outbound HTTP may reach (the version's `outbound` setting: patterns, or
   * `*`); undefined: none. Function calls (`*.wafer.internal`) go to the engine's `Invoker`
   * whatever this says. wasmtime only (jco runs no world with outbound HTTP).
   */
  outbound?: readonly string[];
  /** How deep in a chain of function calls this call is; undefined: 0 (called from outside). */
  depth?: number;
}

/** A call of one function by another (`http://{fn}.wafer.internal/…`, the ABI 1.1 `invoke`), as the engine hands it to the host. */
export interface NestedCall {
  /** The function called: a name as the guest wrote it (unchecked). */
  target: string;
  method: string;
  /** Path starting with `/`, and the query without `?`. */
  path: string;
  query: string;
  headers: { name: string; value: string }[];
  body: Uint8Array;
  /** The callee's depth: the caller's plus one. */
  depth: number;
  /** Milliseconds the caller has left; the callee gets no more. */
  remainingMs: number;
}

/** The callee's answer, or the host's JSON error answer: what the calling guest sees as the response. */
export interface NestedAnswer {
  status: number;
  headers: { name: string; value: string }[];
  body: Uint8Array;
}

/** Runs function calls for an engine; never rejects (a refusal is an error answer). */
export type Invoker = (call: NestedCall) => Promise<NestedAnswer>;

/** A component to make callable. `bytes` is read lazily: a cached artifact may make it unnecessary. */
export interface LoadUnit {
  /** sha256 hex digest of the component bytes; the cache key everywhere. */
  digest: string;
  /**
   * The world the component was accepted as (its executor's, host/src/executors/), which decides
   * how the engine links and calls it. Absent: the wafer handler world. An engine that does not
   * run the world refuses the load with `abi_mismatch`.
   */
  world?: string;
  /** Reads the component bytes. */
  bytes: () => Promise<Uint8Array>;
  /**
   * Make the build that calls with a fuel limit run (engines with `metersFuel`): on wasmtime a
   * second, fuel-metered compile, so functions without fuel never pay for metering.
   */
  fuel?: boolean;
}

/** What loading cost, for logs, metrics and the tests that check the on-disk cache is used. */
export interface LoadInfo {
  /** `memory`: already loaded; `disk`: from the on-disk compiled cache; `compiled`: compiled now. */
  source: 'memory' | 'disk' | 'compiled';
  /** Milliseconds spent loading. */
  ms: number;
}

/** A successful call: the guest's `ok` bytes and what the call cost. */
export interface CallReport extends GuestOutput {
  output: Uint8Array;
  /** Microseconds the guest ran (engine-measured). */
  durationUs: number;
  /** Fuel consumed, when fuel metering is on. */
  fuelUsed?: number;
  /** Highest linear-memory size the guest reached, in bytes, when the engine can tell. */
  peakMemoryBytes?: number;
}

/** One event of a streamed call's response (`Engine.callStream`), in order: `head`, `data`…, `end`. */
export type StreamEvent =
  /**
   * The guest set its response: status, headers as it set them, the body length it declared (and
   * is held to), the start of the body when it was already written (`first`), and whether that was
   * all of it (`complete`: no `data` follows).
   */
  | { kind: 'head'; status: number; headers: Array<{ name: string; value: string }>; contentLength?: number; first?: Uint8Array; complete?: boolean }
  | { kind: 'data'; chunk: Uint8Array }
  /** The call ended: its report (`output` empty) or its failure, as `call` would reject with. */
  | { kind: 'end'; report?: CallReport; error?: WaferError };

/**
 * A streamed call in flight. The request body goes in chunk by chunk, the response comes out as
 * events; both sides are bounded by the engine, so a slow client or a slow guest holds the other
 * up rather than host memory.
 */
export interface StreamedCall {
  /** Queues one request-body chunk for the guest; false once it will read no more. Await a promise before pushing again. */
  push(chunk: Uint8Array): boolean | Promise<boolean>;
  /** The request body is complete. */
  end(): void;
  /** The request body broke off: the guest's next read of it fails. */
  fail(): void;
  /** Nobody reads the response any more: the guest's next write fails; the `end` event still comes. */
  abort(): void;
  /** The events queued now (at least one); `end` is the last event of all. */
  next(): Promise<StreamEvent[]>;
  /** The `end` event as soon as the call has ended, even while other events wait to be read. */
  readonly finished: Promise<Extract<StreamEvent, { kind: 'end' }>>;
}

/** The compilers an engine reports compiles of (`CompileObserver`). */
export type CompilerName = 'cranelift' | 'winch' | 'jco' | 'v8';

/**
 * Told of every compile that succeeded, for /metrics: wasmtime's Cranelift and Winch compiles
 * (the background Cranelift compile of a tiered start included), jco's transpiles and V8's
 * compiles of the capped core modules. Seconds from the compile's start, after any wait for a slot.
 */
export type CompileObserver = (compiler: CompilerName, seconds: number) => void;

/** Counters an engine exposes for /metrics and for tests. */
export interface EngineStats {
  compiled: number;
  loadedFromDisk: number;
  loadedFromMemory: number;
  instancesCreated: number;
  [key: string]: number;
}

/** What `call` answers for a digest neither in memory nor in the on-disk cache (see the module comment). */
export function notLoadedError(digest: string): WaferError {
  return new WaferError('not_ready', 503, `component ${digest} is not loaded`);
}

/** Refuses a memory quota over the engine's ceiling (see the module comment). */
export function checkMemoryRequest(memoryBytes: number, ceilingBytes: number): void {
  if (memoryBytes > ceilingBytes) {
    throw new WaferError('invalid_request', 400, `memory quota ${memoryBytes} exceeds the engine's ceiling ${ceilingBytes}`);
  }
}

export interface Engine {
  readonly name: EngineName;
  /** Version of the underlying engine (e.g. wasmtime 48.0.0, jco 1.35.0). */
  readonly version: string;
  /** Whether calls can be given a fuel budget (`CallLimits.fuel`): wasmtime yes, V8 (jco) no. */
  readonly metersFuel: boolean;
  /**
   * Checks a fresh upload can run on this engine (compiling it and filling the on-disk cache
   * as a side effect). Rejects with a `ComponentError` when it cannot.
   */
  prepare(unit: LoadUnit): Promise<LoadInfo>;
  /**
   * Makes a component callable, from memory, the on-disk cache, or by compiling it. An engine
   * may later drop it from memory to stay within `moduleCacheBytes`; `call` brings it back.
   * Concurrent loads of one digest share one load (the host relies on it: functions/loader.ts).
   */
  load(unit: LoadUnit): Promise<LoadInfo>;
  /**
   * Calls `handle(input)` on a component (loading it from the on-disk cache if it is not in
   * memory; `not_ready` when it is not there either). Resolves with the guest's `ok` bytes; rejects
   * with `GuestTrapError` (timeout, memory_limit, out_of_fuel, trap) or `GuestResultError`
   * (`function_error`). The envelope is not the engine's business.
   */
  call(digest: string, input: Uint8Array, limits: CallLimits): Promise<CallReport>;
  /**
   * A streamed call of a `wasi:http/proxy` component (wasmtime only; absent on engines that do
   * not stream): `head` is the request envelope, whose body is the start of the request body;
   * the rest follows through `StreamedCall.push`, unless `bodyComplete` says there is none.
   * Rejects as `call` does when it cannot start (`not_ready`, `invalid_request`).
   */
  callStream?(digest: string, head: Uint8Array, limits: CallLimits, bodyComplete?: boolean): Promise<StreamedCall>;
  /** Drops a component and its instances from memory (the on-disk cache stays). */
  unload(digest: string): void;
  /**
   * Forgets a component entirely: unloads it and removes its compiled artifacts from the
   * on-disk cache (garbage collection after the last version using it is gone).
   */
  discard(digest: string): Promise<void>;
  stats(): EngineStats;
  /**
   * Where function calls made by guests go (engines that run them: wasmtime). Without one, a
   * guest's function call is refused like a denied outbound request.
   */
  setInvoker?(invoker: Invoker): void;
  /** Stops workers and threads; pending calls reject. */
  close(): Promise<void>;
}
