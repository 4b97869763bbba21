/**
 * @module engine/engine
 * The one interface every execution backend implements (`engine/wasmtime`, `engine/jco`).
 * The host layer above it owns the registry, per-function concurrency and the envelope;
 * an engine only loads components and calls `handle(bytes)` under limits. An engine never
 * imports the server or the registry.
 */
import type { GuestOutput } from '../errors.js';

export type EngineName = 'wasmtime' | 'jco';

/** Limits applied to one call. */
export interface CallLimits {
  /** Wall-clock budget of the call, in milliseconds. */
  timeoutMs: number;
  /** Ceiling on the guest's linear memories, in bytes. */
  memoryBytes: number;
  /** Optional fuel budget (wasmtime only); undefined means unmetered. */
  fuel?: number;
  /**
   * Largest `ok` output the guest may return, in bytes. Longer output fails the call with
   * `bad_response` before it is copied out of the guest. Undefined means no limit.
   */
  maxOutputBytes?: number;
}

/** A component to make callable. `bytes` is read lazily: a cached artifact may make it unnecessary. */
export interface LoadUnit {
  /** sha256 hex digest of the component bytes; the cache key everywhere. */
  digest: string;
  /** Reads the component bytes. */
  bytes: () => Promise<Uint8Array>;
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

/** Counters an engine exposes for /metrics and for tests. */
export interface EngineStats {
  compiled: number;
  loadedFromDisk: number;
  loadedFromMemory: number;
  instancesCreated: number;
  [key: string]: number;
}

export interface Engine {
  readonly name: EngineName;
  /** Version of the underlying engine (e.g. wasmtime 48.0.0, jco 1.35.0). */
  readonly version: string;
  /**
   * Checks a fresh upload can run on this engine (compiling it and filling the on-disk cache
   * as a side effect). Rejects with a `ComponentError` when it cannot.
   */
  prepare(unit: LoadUnit): Promise<LoadInfo>;
  /** Makes a component callable, from memory, the on-disk cache, or by compiling it. */
  load(unit: LoadUnit): Promise<LoadInfo>;
  /**
   * Calls `handle(input)` on a loaded component. Resolves with the guest's `ok` bytes; rejects
   * with `GuestTrapError` (timeout, memory_limit, out_of_fuel, trap) or `GuestResultError`
   * (`function_error`). The envelope is not the engine's business.
   */
  call(digest: string, input: Uint8Array, limits: CallLimits): Promise<CallReport>;
  /** Drops a component and its instances from memory (the on-disk cache stays). */
  unload(digest: string): void;
  /**
   * Forgets a component entirely: unloads it and removes its compiled artifacts from the
   * on-disk cache (garbage collection after the last version using it is gone).
   */
  discard(digest: string): Promise<void>;
  stats(): EngineStats;
  /** Stops workers and threads; pending calls reject. */
  close(): Promise<void>;
}
