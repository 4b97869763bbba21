/**
 * @module engine/wasmtime/native
 * Loads the Rust addon (`host/native/wafer_native.node`, built by `scripts/build-native.sh`) and
 * declares its types. The path is found by walking up from this file to the repository root,
 * so it works from `host/src/…` under vitest and from the compiled `dist/host/src/…` alike.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of `new NativeEngine(…)`; see host/native/src/lib.rs `EngineOptions`. */
export interface NativeEngineOptions {
  maxMemoryBytes: number;
  fuel?: boolean;
  epochTickMs?: number;
  pooling?: boolean;
  poolComponentInstances?: number;
  poolCoreInstances?: number;
  poolMemories?: number;
  poolTables?: number;
  poolTableElements?: number;
  maxWasmStackBytes?: number;
  signalsBasedTraps?: boolean;
  /** Worker threads of each of the addon's executor runtimes (default: one per core); process-wide, sized by the first engine that calls. */
  executorThreads?: number;
  /** `cranelift` (default) or `winch`: the baseline compiler of a tiered start's fast tier. */
  compiler?: 'cranelift' | 'winch';
}

export interface NativeLoadResult {
  ok: boolean;
  source?: 'memory' | 'disk' | 'compiled';
  ms: number;
  errorKind?: 'invalid_component' | 'abi_mismatch' | 'needs_bytes' | 'internal';
  message?: string;
  /** Why a cached artifact was deleted on the way, if one was. */
  discarded?: string;
  /** Why the compiled artifact could not be written (the load itself succeeded). */
  cacheError?: string;
  /** False when the component was too large for the pool and runs on demand. */
  pooled: boolean;
}

export type NativeErrorKind =
  | 'timeout'
  | 'memory_limit'
  | 'out_of_fuel'
  | 'trap'
  | 'function_error'
  | 'overloaded'
  | 'bad_response'
  | 'not_loaded'
  | 'internal';

export interface NativeCallResult {
  ok: boolean;
  output?: Buffer;
  errorKind?: NativeErrorKind;
  message?: string;
  /** Absent when the guest wrote nothing. */
  stdout?: Buffer;
  stderr?: Buffer;
  durationUs: number;
  fuelUsed?: number;
  peakMemoryBytes: number;
  /** The call ran on a warm instance of its pool (`reusePool`), not a fresh one. */
  reused: boolean;
}

/** Limits of one native call; `maxOutputBytes` absent means no limit. */
export interface NativeCallLimits {
  timeoutMs: number;
  memoryBytes: number;
  fuel?: number;
  maxOutputBytes?: number;
  /** Start the call on the JS thread and keep it there for at least this long (up to one epoch tick more); absent or 0: straight to the executor. */
  inlineBudgetMs?: number;
  /** Take a warm instance of this pool (a function's name) if one is idle, and give it back after an `ok` or `function_error` call; absent: a fresh instance. */
  reusePool?: string;
  /** The guest's environment as `KEY=VALUE` strings, set when a store is made; absent: empty. */
  env?: string[];
  /** Hosts outbound HTTP may reach (patterns, or `*`); absent: none. */
  outbound?: string[];
  /** The call's depth in a chain of function calls; absent: 0. */
  depth?: number;
}

/** A function call a guest made, as the addon hands it over (host/native/src/outbound.rs). */
export interface NativeInvokeRequest {
  /** Pass it back to `invokeDone`. */
  id: number;
  target: string;
  method: string;
  path: string;
  query: string;
  /** Names and values, alternating. */
  headers: string[];
  body: Buffer;
  depth: number;
  remainingMs: number;
}

/** The answer to a function call, for `invokeDone`. */
export interface NativeInvokeAnswer {
  status: number;
  /** Names and values, alternating. */
  headers: string[];
  body: Buffer;
}

/** One event of a streamed call's response (host/native/src/stream.rs). */
export interface NativeStreamEvent {
  kind: 'head' | 'data';
  status?: number;
  /** Flat name/value pairs, latin1. */
  headers?: string[];
  contentLength?: number;
  /** `data`: the chunk; `head`: the start of the body, when it was already written. */
  chunk?: Buffer;
  /** `head`: the body was complete with `chunk`. */
  complete?: boolean;
}

/** A streamed call's handle (host/native/src/stream.rs). */
export interface NativeStream {
  push(chunk: Buffer): boolean | Promise<boolean>;
  end(): void;
  fail(): void;
  abort(): void;
  /** The events queued now, at least one; none once the call has ended. Queued already: answered without a promise. */
  next(): NativeStreamEvent[] | Promise<NativeStreamEvent[]>;
  /** The call's result once it has ended (`output` empty; without a promise when it has); call once. */
  finished(): NativeCallResult | Promise<NativeCallResult>;
}

export interface NativeStats {
  compiled: number;
  loadedFromDisk: number;
  loadedFromMemory: number;
  instancesCreated: number;
  /** Calls that ran on a warm instance of a pool. */
  instancesReused: number;
  loaded: number;
  /** Warm instances held idle now (`instance=reuse`), process-wide. */
  instancesIdle: number;
}

export interface NativeEngine {
  /** `world`: the name the host stores (executors/); absent, the handler world. */
  load(key: string, bytes: Buffer | null, cachePath: string, world?: string): Promise<NativeLoadResult>;
  /**
   * A call that ends within `limits.inlineBudgetMs` on the JS thread answers synchronously;
   * otherwise the same call continues on the addon's executor and the answer is a promise.
   */
  call(key: string, input: Buffer, limits: NativeCallLimits): NativeCallResult | Promise<NativeCallResult>;
  /**
   * A streamed call of a wasi:http component: `head` is the request envelope, whose body is the
   * start of the request body (all of it with `bodyComplete`: nothing will be pushed); starts
   * inline under `limits.inlineBudgetMs` as `call` does.
   */
  callStream(key: string, head: Buffer, limits: NativeCallLimits, bodyComplete?: boolean): NativeStream;
  has(key: string): boolean;
  unload(key: string): boolean;
  compatibilityHash(): string;
  close(): void;
  stats(): NativeStats;
  /** Where guests' function calls go; each is answered with `invokeDone(request.id, …)`. */
  setInvoker(callback: (request: NativeInvokeRequest) => void): void;
}

export interface NativeAddon {
  NativeEngine: new (options: NativeEngineOptions) => NativeEngine;
  /** The embedded wasmtime crate version, e.g. `48.0.8`. */
  version(): string;
  /** Completes a function call handed over by `setInvoker`'s callback. */
  invokeDone(id: number, answer: NativeInvokeAnswer): void;
}

const ADDON_FILE = join('host', 'native', 'wafer_native.node');

/** The repository root: the nearest ancestor holding `host/native/Cargo.toml`. */
function repoRoot(from: string): string | undefined {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'host', 'native', 'Cargo.toml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The default addon path, or undefined when no repository root is found above this file. */
export function defaultAddonPath(): string | undefined {
  const root = repoRoot(dirname(fileURLToPath(import.meta.url)));
  return root === undefined ? undefined : join(root, ADDON_FILE);
}

const loaded = new Map<string, NativeAddon>();

/** Loads the addon once per path; throws a clear error when it has not been built. */
export function loadAddon(path: string | undefined = defaultAddonPath()): NativeAddon {
  if (path === undefined || !existsSync(path)) {
    throw new Error(
      `wasmtime addon not built: run scripts/build-native.sh (looked for ${path ?? ADDON_FILE})`,
    );
  }
  let addon = loaded.get(path);
  if (addon === undefined) {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
    loaded.set(path, addon);
  }
  return addon;
}
