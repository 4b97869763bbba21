/**
 * @module engine/wasmtime
 * The default engine: wasmtime 48 embedded through the Rust addon in `host/native/`.
 * Components are compiled once (Cranelift), kept as `InstancePre`s, and serialized to
 * `<cacheDir>/wasmtime/<digest>-<compatHash>.cwasm` (plus a `.sum` header beside it) so a
 * restart maps the artifact instead of compiling. Every call gets a fresh store from the pooling allocator (strong isolation at
 * microsecond cost) with an epoch deadline, a memory quota and optional fuel; a function deployed with `instance=reuse` gets a
 * warm instance of its own pool instead when one is idle (`CallLimits.reusePool`, host/native/src/reuse.rs).
 *
 * Compiling never happens in the host: a compile process (`compiler.ts`) compiles under a
 * timeout and a memory ceiling and writes the artifact, which the host then maps; the host-wide
 * `CompileGate` bounds how many compiles run at once.
 *
 * Tiered start: Cranelift needs 6-10 s for a 12-18 MB JavaScript or Python component. An upload
 * of at least `tieredStartBytes` is compiled by Winch first (4-5x faster to compile, slower code)
 * into `<digest>-<winchHash>.cwasm`, loaded into a second addon engine, and answered: it serves at
 * once. Cranelift then compiles it in the background (one at a time, in niced processes). When
 * that build is mapped, later calls take it; calls already running finish on Winch, so no call
 * fails at the hand-over, and the Winch artifact is deleted. Both tiers are the same wasmtime
 * runtime: the same limits, quotas, epochs and instance reuse. A restart before the hand-over
 * serves the Winch artifact and starts the background compile again. A component Winch cannot
 * compile (tail calls) goes to Cranelift directly; one whose Winch compile hits a compile limit
 * is refused, as Cranelift would take longer still.
 *
 * Fuel: metering is compiled in or not per engine, and it slows every call of an engine that has
 * it, metered or not. So a call with a fuel limit runs on a second, fuel-metered addon engine,
 * made on the first load that asks for it (`LoadUnit.fuel`), with its own artifacts (fuel is part
 * of wasmtime's compatibility hash, so they have their own file names), a smaller instance pool
 * and no tiered start; functions without fuel never touch it.
 *
 * Loads run on libuv's threadpool. Calls are async wasmtime calls on the addon's own executor
 * (host/native/src/executor.rs): each starts on the JS thread under `inlineBudgetMs` (about one
 * epoch tick) and, when it ends within it, answers with no thread hop; a call still running
 * then continues, never re-run, on tokio runtimes sized to the cores, yielding every tick, and a
 * call that has run long moves to lower-priority threads so fresh calls go first. A guest
 * blocked in WASI (a sleep, a poll) is an awaited future, cut off at its timeout like a
 * running one. The host layer above bounds concurrency per function.
 */
import { mkdirSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import {
  ComponentError,
  GuestResultError,
  GuestTrapError,
  OverloadedError,
  WaferError,
  type GuestOutput,
} from '../../errors.js';
import {
  checkMemoryRequest,
  notLoadedError,
  type CallLimits,
  type CallReport,
  type CompileObserver,
  type CompilerName,
  type Engine,
  type EngineStats,
  type Invoker,
  type LoadInfo,
  type LoadUnit,
  type StreamedCall,
} from '../engine.js';
import { streamedCall } from './stream.js';
import { CompileGate } from '../compile-gate.js';
import {
  BACKGROUND_COMPILE_NICE,
  DEFAULT_COMPILE_CONCURRENCY,
  DEFAULT_COMPILE_MEMORY_BYTES,
  DEFAULT_COMPILE_TIMEOUT_MS,
  DEFAULT_MODULE_CACHE_BYTES,
  DEFAULT_RETRY_AFTER_S,
  DEFAULT_TIERED_START_BYTES,
} from '../../limits.js';
import { Resident } from './resident.js';
import { Compiler } from './compiler.js';
import {
  defaultAddonPath,
  loadAddon,
  type NativeCallLimits,
  type NativeCallResult,
  type NativeAddon,
  type NativeEngine,
  type NativeEngineOptions,
  type NativeInvokeRequest,
} from './native.js';

/** Structured logger the engine reports compiles and discarded cache files to (pino-compatible). */
export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface WasmtimeEngineOptions extends Omit<NativeEngineOptions, 'maxMemoryBytes'> {
  /** Root of wafer's caches; artifacts go under `<cacheDir>/wasmtime/`. */
  cacheDir: string;
  /** Ceiling on a guest's linear memory; calls may ask for less, never more. */
  maxMemoryBytes: number;
  logger?: EngineLogger;
  /** Told of each compile that succeeded (Cranelift or Winch), for /metrics. */
  onCompile?: CompileObserver;
  /** Where the built addon is; defaults to `host/native/wafer_native.node` in this checkout. */
  addonPath?: string;
  /**
   * The fast path for short calls: a call starts on the JS thread and runs there for about this
   * many ms (up to one epoch tick more); one that ends by then answers with no thread hop, one
   * still running continues on the executor (the same call, never a second run). Blocks the
   * event loop up to the budget per call. Components whose calls typically take over half the
   * budget start on the executor instead (moving mid-call costs more than the hop).
   * 0 = every call goes straight to the executor. Default DEFAULT_INLINE_BUDGET_MS.
   */
  inlineBudgetMs?: number;
  /** A compile running longer than this is stopped and the load refused; default DEFAULT_COMPILE_TIMEOUT_MS. */
  compileTimeoutMs?: number;
  /** Resident memory a compile process may reach before it is stopped; default DEFAULT_COMPILE_MEMORY_BYTES. */
  compileMemoryBytes?: number;
  /** Compiles running at once; default DEFAULT_COMPILE_CONCURRENCY. */
  compileConcurrency?: number;
  /** Bytes of compiled artifacts kept loaded (LRU, `resident.ts`); default DEFAULT_MODULE_CACHE_BYTES. */
  moduleCacheBytes?: number;
  /** Compile slots to share with another engine (the fuel-metered one shares its parent's); default: its own. */
  compileGate?: CompileGate;
  /**
   * Uploads at least this large start on Winch and move to Cranelift when its background compile
   * is done (see the module comment); default DEFAULT_TIERED_START_BYTES; 0 turns it off.
   */
  tieredStartBytes?: number;
}

/** The fast tier: a Winch engine of the same configuration, and its compile processes. */
interface FastTier {
  native: NativeEngine;
  compiler: Compiler;
  compatHash: string;
}

/** Component instances in the fuel-metered engine's pool: the host runs at most 16 calls at once, and keeps at most 64 idle instances. */
const METERED_POOL_INSTANCES = 128;

/** Temp files older than this in the artifact directory are leftovers of a crashed writer. */
const STALE_TMP_MS = 10 * 60_000;

/** One epoch tick: long enough for a warm call of a Rust or WAT component, short enough not to hold up the event loop. */
export const DEFAULT_INLINE_BUDGET_MS = 1;

/** Weight of the newest call in a component's moving average of call durations (and share of long warm calls). */
const EWMA_WEIGHT = 0.2;
/**
 * A component whose calls typically take more than this share of the budget starts on the
 * executor: a call that outruns the budget moves threads mid-call, which cost a ~1 ms TS call
 * ~250 µs (cold caches on the new core, the hop) over starting on the executor.
 *
 * Calls on a fresh instance are judged by a moving average of their durations. Calls on a warm
 * instance (`reusePool`) are judged by the moving share of them that took longer than this: a
 * warm call of a big runtime takes ~100 µs, but the odd one is stretched to milliseconds (a GC
 * in the guest, a busy CPU), and one such call in an average would send the next calls to the
 * executor, where calls run side by side and each needs an instance (the pool keeps a few, so
 * the rest are instantiated and dropped, 1-2 ms each).
 */
const INLINE_SHARE = 0.5;

/** Digests become file names: refuse anything that could leave the cache directory. */
const SAFE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

function checkKey(digest: string): void {
  if (!SAFE_KEY.test(digest)) throw new WaferError('internal', 500, `not a usable digest: ${digest}`, { expose: false });
}

const NOTHING = new Uint8Array(0);

function outputOf(r: NativeCallResult): GuestOutput {
  return { stdout: r.stdout ?? NOTHING, stderr: r.stderr ?? NOTHING };
}

function toError(digest: string, r: NativeCallResult): WaferError {
  const message = r.message ?? r.errorKind ?? 'call failed';
  switch (r.errorKind) {
    case 'timeout':
    case 'memory_limit':
    case 'out_of_fuel':
    case 'trap':
      return new GuestTrapError(r.errorKind, message, outputOf(r));
    case 'function_error':
      return new GuestResultError('function_error', message, outputOf(r));
    case 'bad_response':
      return new GuestResultError('bad_response', message, outputOf(r));
    case 'overloaded':
      // Every slot of the pooling allocator is taken by calls in flight: a moment's wait fixes it.
      return new OverloadedError(`no free instance for ${digest.slice(0, 12)}: the instance pool is full`, DEFAULT_RETRY_AFTER_S);
    case 'not_loaded':
      return notLoadedError(digest);
    default:
      return new WaferError('internal', 500, message, { expose: false });
  }
}

export class WasmtimeEngine implements Engine {
  readonly name = 'wasmtime' as const;
  readonly metersFuel = true;
  readonly version: string;
  private readonly native: NativeEngine;
  private readonly artifactDir: string;
  private readonly compatHash: string;
  private readonly maxMemoryBytes: number;
  private readonly fuelEnabled: boolean;
  private readonly logger: EngineLogger | undefined;
  private readonly loading = new Map<string, Promise<LoadInfo>>();
  private readonly pending = new Set<(err: Error) => void>();
  private readonly inlineBudgetMs: number;
  /** Memory hits answered on the JS thread without a trip to the addon. */
  private memoryHits = 0;
  /** Calls that ended on the JS thread, and calls that started there and moved to the executor. */
  private inlineCalls = 0;
  private inlineOverruns = 0;
  /** Moving average of each component's call duration (µs) on a fresh instance: decides whether its calls start inline. */
  private readonly typicalUs = new Map<string, number>();
  /** Moving share (0-1) of each component's calls on a warm instance that took over INLINE_SHARE of the budget. */
  private readonly longShareWarm = new Map<string, number>();
  /** The addon's form of each `CallLimits` object seen (nativeLimitsOf). */
  private readonly nativeLimits = new WeakMap<CallLimits, NativeCallLimits>();
  private readonly compiler: Compiler;
  private readonly gate: CompileGate;
  /** Compiles done by the compile process; each is then mapped from disk, which the addon counts as a disk load. */
  private childCompiles = 0;
  private closed = false;
  /** The LRU of loaded components, bounded by `moduleCacheBytes` (resident.ts). */
  private readonly resident: Resident;
  /** Tiered start (module comment); undefined when off or when this build cannot make a Winch engine. */
  private readonly fast: FastTier | undefined;
  private readonly tieredStartBytes: number;
  /** The world of each digest loaded with one (`LoadUnit.world`); a reload after an eviction has only the digest. */
  private readonly worlds = new Map<string, string>();
  /** Components loaded on the fast tier now: their calls go to `fast.native`. */
  private readonly onFast = new Set<string>();
  /** Background Cranelift compiles of components served by the fast tier, by digest. */
  private readonly tierUps = new Map<string, Promise<void>>();
  /** Digests discarded while their background compile ran: its artifact is deleted, not loaded. */
  private readonly abandoned = new Set<string>();
  /** Background compiles: their own processes (niced) and their own slot, so an upload never waits behind one. */
  private readonly backgroundCompiler: Compiler;
  private readonly backgroundGate = new CompileGate(1);
  private readonly tierCounters = { fastCompiles: 0, fastLoadsFromDisk: 0, tierUps: 0, tierUpFailures: 0 };
  /** How to make the fuel-metered engine (module comment); undefined when this one meters fuel itself. */
  private readonly meteredOptions: WasmtimeEngineOptions | undefined;
  /** The fuel-metered engine, made on the first load that asks for fuel. */
  private metered: WasmtimeEngine | undefined;
  private readonly onCompile: CompileObserver | undefined;
  /** The addon (for `invokeDone`), and where guests' function calls go (`setInvoker`). */
  private readonly addon: NativeAddon;
  private invoker: Invoker | undefined;

  constructor(options: WasmtimeEngineOptions) {
    const addonPath = options.addonPath ?? defaultAddonPath();
    const addon = loadAddon(addonPath);
    this.addon = addon;
    // Picked one by one: callers may hand over a wider config object than the addon's options.
    const nativeOptions: NativeEngineOptions = {
      maxMemoryBytes: options.maxMemoryBytes,
      fuel: options.fuel,
      epochTickMs: options.epochTickMs,
      pooling: options.pooling,
      poolComponentInstances: options.poolComponentInstances,
      poolCoreInstances: options.poolCoreInstances,
      poolMemories: options.poolMemories,
      poolTables: options.poolTables,
      poolTableElements: options.poolTableElements,
      maxWasmStackBytes: options.maxWasmStackBytes,
      signalsBasedTraps: options.signalsBasedTraps,
      executorThreads: options.executorThreads,
    };
    this.native = new addon.NativeEngine(nativeOptions);
    this.resident = new Resident({ maxBytes: options.moduleCacheBytes ?? DEFAULT_MODULE_CACHE_BYTES, unload: (digest) => this.unloadNative(digest) });
    this.version = `wasmtime ${addon.version()}`;
    this.compatHash = this.native.compatibilityHash();
    this.artifactDir = join(options.cacheDir, 'wasmtime');
    mkdirSync(this.artifactDir, { recursive: true });
    this.maxMemoryBytes = options.maxMemoryBytes;
    this.fuelEnabled = options.fuel ?? false;
    this.logger = options.logger;
    this.onCompile = options.onCompile;
    this.inlineBudgetMs = options.inlineBudgetMs ?? DEFAULT_INLINE_BUDGET_MS;
    void this.sweepStaleTemps();
    this.gate = options.compileGate ?? new CompileGate(options.compileConcurrency ?? DEFAULT_COMPILE_CONCURRENCY);
    this.meteredOptions = this.fuelEnabled ? undefined : this.meteredOptionsOf(options);
    const compilerOptions = {
      addonPath: addonPath!,
      nativeOptions,
      compatHash: this.compatHash,
      timeoutMs: options.compileTimeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS,
      memoryBytes: options.compileMemoryBytes ?? DEFAULT_COMPILE_MEMORY_BYTES,
      logger: options.logger,
    };
    this.compiler = new Compiler(compilerOptions);
    this.backgroundCompiler = new Compiler({ ...compilerOptions, nice: BACKGROUND_COMPILE_NICE });
    this.tieredStartBytes = options.tieredStartBytes ?? DEFAULT_TIERED_START_BYTES;
    this.fast = this.tieredStartBytes > 0 ? this.makeFastTier(addon, nativeOptions, compilerOptions) : undefined;
  }

  /**
   * The fuel-metered engine's options: this one's with fuel, no tiered start, its compile slots,
   * and a smaller pool (its slots reserve address space; it serves only the functions with fuel,
   * which the host-wide call limit bounds far below this). A pool still: allocating on demand costs
   * a fresh call ~90 µs more (an mmap of the memory reservation per call).
   */
  private meteredOptionsOf(options: WasmtimeEngineOptions): WasmtimeEngineOptions {
    const at = (value: number | undefined, most: number) => Math.min(value ?? most, most);
    return {
      ...options,
      fuel: true,
      tieredStartBytes: 0,
      compileGate: this.gate,
      poolComponentInstances: at(options.poolComponentInstances, METERED_POOL_INSTANCES),
      poolCoreInstances: at(options.poolCoreInstances, METERED_POOL_INSTANCES * 16),
      poolMemories: at(options.poolMemories, METERED_POOL_INSTANCES),
      poolTables: at(options.poolTables, METERED_POOL_INSTANCES * 3),
    };
  }

  /** The Winch engine of this configuration, without a pool (it serves a component for seconds). */
  private makeFastTier(
    addon: ReturnType<typeof loadAddon>,
    nativeOptions: NativeEngineOptions,
    compilerOptions: ConstructorParameters<typeof Compiler>[0],
  ): FastTier | undefined {
    const fastOptions: NativeEngineOptions = { ...nativeOptions, compiler: 'winch', pooling: false };
    try {
      const native = new addon.NativeEngine(fastOptions);
      const compatHash = native.compatibilityHash();
      return { native, compatHash, compiler: new Compiler({ ...compilerOptions, nativeOptions: fastOptions, compatHash }) };
    } catch (err) {
      // e.g. signalsBasedTraps: false, which Winch does not support: every upload waits for Cranelift.
      this.logger?.warn({ err: (err as Error).message }, 'tiered start is off: cannot make a Winch engine');
      return undefined;
    }
  }

  /** Where the compiled artifact of `digest` lives for this engine build and configuration. */
  artifactPath(digest: string): string {
    checkKey(digest);
    return join(this.artifactDir, `${digest}-${this.compatHash}.cwasm`);
  }

  /** Where the fast tier's (Winch) artifact of `digest` lives while Cranelift's is not ready. */
  fastArtifactPath(digest: string): string {
    checkKey(digest);
    return join(this.artifactDir, `${digest}-${this.fast?.compatHash ?? 'none'}.cwasm`);
  }

  /** Which tier serves `digest` now: `fast` (Winch) until its Cranelift build is loaded. */
  tierOf(digest: string): 'fast' | 'full' | undefined {
    if (this.onFast.has(digest)) return 'fast';
    return this.native.has(digest) ? 'full' : undefined;
  }

  /** Resolves when the background compile of `digest` (if any) has ended, handed over or not. */
  async tierUpDone(digest: string): Promise<void> {
    await this.tierUps.get(digest);
  }

  prepare(unit: LoadUnit): Promise<LoadInfo> {
    return this.load(unit);
  }

  load(unit: LoadUnit): Promise<LoadInfo> {
    if (this.closed) return Promise.reject(new WaferError('internal', 500, 'engine is closed', { expose: false }));
    if (unit.fuel && this.meteredOptions !== undefined) return this.meteredEngine().load({ ...unit, fuel: false });
    if (unit.world !== undefined) this.worlds.set(unit.digest, unit.world);
    if (this.onFast.has(unit.digest) || this.native.has(unit.digest)) {
      this.memoryHits++;
      this.resident.touch(unit.digest);
      return Promise.resolve({ source: 'memory', ms: 0 });
    }
    let p = this.loading.get(unit.digest);
    if (p === undefined) {
      p = this.loadUncached(unit)
        .then(async (info) => (await this.resident.loaded(unit.digest, this.residentPath(unit.digest)), info))
        .finally(() => this.loading.delete(unit.digest));
      this.loading.set(unit.digest, p);
    }
    return p;
  }

  private async loadUncached(unit: LoadUnit): Promise<LoadInfo> {
    const path = this.artifactPath(unit.digest);
    const started = performance.now();
    const world = this.worldOf(unit.digest);
    // Try the on-disk artifact first: when it is valid the component bytes are never read.
    let r = await this.native.load(unit.digest, null, path, world);
    if (r.discarded !== undefined) this.logger?.warn({ digest: unit.digest, reason: r.discarded }, 'discarded cached artifact');
    if (!r.ok && r.errorKind === 'needs_bytes') {
      // A fast-tier artifact left by an earlier process serves while Cranelift compiles again.
      const fastFromDisk = await this.loadFast(unit, started);
      if (fastFromDisk !== undefined) return fastFromDisk;
      const bytes = await unit.bytes();
      const fast = await this.compileFast(unit, bytes, started);
      if (fast !== undefined) return fast;
      // Compiled in the compile process, under the host-wide cap; the host then maps the artifact.
      r = await this.gate.run(() => this.timed('cranelift', () => this.compiler.compile(unit.digest, bytes, path, world)));
      if (r.ok && r.cacheError !== undefined) {
        throw new WaferError('internal', 500, `cannot write the compiled artifact: ${r.cacheError}`, { expose: false });
      }
      if (r.ok) {
        r = await this.native.load(unit.digest, null, path, world);
        if (r.ok) {
          this.childCompiles++;
          r.source = 'compiled';
        } else if (r.errorKind === 'needs_bytes') {
          throw new WaferError('internal', 500, `the compile process's artifact was not usable: ${r.discarded ?? r.message}`, { expose: false });
        }
      }
    }
    if (r.ok && r.source !== undefined) {
      const ms = performance.now() - started;
      if (r.cacheError !== undefined) this.logger?.warn({ digest: unit.digest, reason: r.cacheError }, 'cannot cache compiled artifact');
      if (r.source === 'compiled') this.logger?.info({ digest: unit.digest, ms: Math.round(ms), pooled: r.pooled }, 'compiled component');
      if (!r.pooled) this.logger?.warn({ digest: unit.digest }, 'component too large for the instance pool; allocating on demand');
      return { source: r.source, ms };
    }
    const message = r.message ?? 'load failed';
    switch (r.errorKind) {
      case 'invalid_component':
      case 'abi_mismatch':
        throw new ComponentError(r.errorKind, message);
      default:
        throw new WaferError('internal', 500, message, { expose: false });
    }
  }

  /** The fast tier's artifact of `digest`, mapped from disk if there is one; then Cranelift compiles behind. */
  private async loadFast(unit: LoadUnit, started: number): Promise<LoadInfo | undefined> {
    if (this.fast === undefined) return undefined;
    const r = await this.fast.native.load(unit.digest, null, this.fastArtifactPath(unit.digest), this.worldOf(unit.digest));
    if (r.discarded !== undefined) this.logger?.warn({ digest: unit.digest, reason: r.discarded }, 'discarded cached fast-tier artifact');
    if (!r.ok) return undefined;
    this.tierCounters.fastLoadsFromDisk++;
    this.serveFast(unit);
    return { source: 'disk', ms: performance.now() - started };
  }

  /**
   * Compiles a large upload with Winch and serves it, with Cranelift behind; undefined when the
   * upload is small, tiering is off, or Winch cannot compile it (Cranelift then decides). A
   * compile limit hit by Winch refuses the upload: Cranelift would take longer still.
   */
  private async compileFast(unit: LoadUnit, bytes: Uint8Array, started: number): Promise<LoadInfo | undefined> {
    const fast = this.fast;
    if (fast === undefined || bytes.byteLength < this.tieredStartBytes) return undefined;
    const path = this.fastArtifactPath(unit.digest);
    let r = await this.gate.run(() => this.timed('winch', () => fast.compiler.compile(unit.digest, bytes, path, this.worldOf(unit.digest))));
    if (r.ok && r.cacheError === undefined) r = await fast.native.load(unit.digest, null, path, this.worldOf(unit.digest));
    else if (r.ok) r = { ok: false, errorKind: 'internal', message: r.cacheError, ms: 0, pooled: false };
    // The world is the same whichever compiler: no second opinion needed.
    if (!r.ok && r.errorKind === 'abi_mismatch') throw new ComponentError('abi_mismatch', r.message ?? 'abi_mismatch');
    if (!r.ok) {
      // Not a refusal: Winch lacks some proposals Cranelift has. Cranelift's answer is the one that counts.
      this.logger?.info({ digest: unit.digest, reason: r.message ?? r.errorKind }, 'the fast tier cannot take this component; compiling with Cranelift');
      return undefined;
    }
    this.tierCounters.fastCompiles++;
    const ms = performance.now() - started;
    this.logger?.info({ digest: unit.digest, ms: Math.round(ms) }, 'compiled component (fast tier; Cranelift compiles in the background)');
    this.serveFast(unit);
    return { source: 'compiled', ms };
  }

  /** `unit` is loaded on the fast tier: its calls go there, and Cranelift compiles it in the background. */
  private serveFast(unit: LoadUnit): void {
    this.onFast.add(unit.digest);
    if (this.tierUps.has(unit.digest)) return;
    const done = this.tierUp(unit)
      .catch((err: Error) => {
        if (this.closed) return;
        this.tierCounters.tierUpFailures++;
        this.logger?.warn({ digest: unit.digest, err: err.message }, 'background Cranelift compile failed; the fast tier keeps serving');
      })
      .finally(() => this.tierUps.delete(unit.digest));
    this.tierUps.set(unit.digest, done);
  }

  /** The background compile of a component on the fast tier, and the hand-over between calls. */
  private async tierUp(unit: LoadUnit): Promise<void> {
    const { digest } = unit;
    const path = this.artifactPath(digest);
    // A reload after an eviction has no bytes: nothing to compile until the next real load.
    const bytes = await unit.bytes();
    const r = await this.backgroundGate.run(() => this.timed('cranelift', () => this.backgroundCompiler.compile(digest, bytes, path, this.worldOf(digest))));
    if (this.abandoned.delete(digest)) {
      await this.removeArtifacts(digest);
      return;
    }
    if (!r.ok) throw new Error(r.message ?? r.errorKind ?? 'Cranelift refused the component');
    if (r.cacheError !== undefined) throw new Error(`cannot write the compiled artifact: ${r.cacheError}`);
    // Unloaded or evicted meanwhile: the artifact waits on disk for the next load.
    if (this.closed || !this.onFast.has(digest)) return;
    const loaded = await this.native.load(digest, null, path, this.worldOf(digest));
    if (!loaded.ok) throw new Error(`the background compile's artifact was not usable: ${loaded.discarded ?? loaded.message}`);
    // The hand-over: calls from now on find the Cranelift build; calls running on Winch hold their component and finish.
    this.onFast.delete(digest);
    this.fast?.native.unload(digest);
    this.tierCounters.tierUps++;
    if (this.native.has(digest)) await this.resident.loaded(digest, path);
    await rm(this.fastArtifactPath(digest), { force: true });
    await rm(`${this.fastArtifactPath(digest)}.sum`, { force: true });
    this.logger?.info({ digest }, 'moved to the Cranelift build');
  }

  /** Runs one compile, and tells `onCompile` how long it took when it succeeded. */
  private async timed<R extends { ok: boolean }>(compiler: CompilerName, compile: () => Promise<R>): Promise<R> {
    const started = performance.now();
    const r = await compile();
    if (r.ok) this.onCompile?.(compiler, (performance.now() - started) / 1000);
    return r;
  }

  /** The world `digest` links as (world.rs in the addon); undefined is the handler world. */
  private worldOf(digest: string): string | undefined {
    return this.worlds.get(digest);
  }

  /** The artifact `resident.ts` weighs `digest` by: the tier it is loaded on. */
  private residentPath(digest: string): string {
    return this.onFast.has(digest) ? this.fastArtifactPath(digest) : this.artifactPath(digest);
  }

  /**
   * Where guests' function calls go: each native engine (the main one, the fast tier, the
   * fuel-metered one) hands them to `invoker` on the JS thread and gets the answer back through
   * `invokeDone` when it settles; the guest's call awaits it on the addon's threads meanwhile.
   */
  setInvoker(invoker: Invoker): void {
    this.invoker = invoker;
    const { addon } = this;
    const callback = (r: NativeInvokeRequest): void => {
      const headers: { name: string; value: string }[] = [];
      for (let i = 0; i + 1 < r.headers.length; i += 2) headers.push({ name: r.headers[i]!, value: r.headers[i + 1]! });
      const done = (status: number, headers: { name: string; value: string }[], body: Uint8Array) =>
        addon.invokeDone(r.id, { status, headers: headers.flatMap((h) => [h.name, h.value]), body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) });
      invoker({ target: r.target, method: r.method, path: r.path, query: r.query, headers, body: r.body, depth: r.depth, remainingMs: r.remainingMs }).then(
        (a) => done(a.status, a.headers, a.body),
        // The invoker never rejects; should it, the guest still gets an answer.
        () => done(500, [{ name: 'content-type', value: 'application/json' }], Buffer.from('{"error":{"code":"internal","message":"internal error"}}')),
      );
    };
    // An addon built before function calls has no setInvoker: its guests' calls stay refused.
    for (const native of [this.native, this.fast?.native]) native?.setInvoker?.(callback);
    this.metered?.setInvoker(invoker);
  }

  /** The fuel-metered engine (module comment), made now if it is not yet. */
  private meteredEngine(): WasmtimeEngine {
    if (this.metered === undefined) {
      this.metered = new WasmtimeEngine(this.meteredOptions!);
      if (this.invoker) this.metered.setInvoker(this.invoker);
      this.logger?.info({}, 'started the fuel-metered engine for functions with a fuel limit');
    }
    return this.metered;
  }

  async call(digest: string, input: Uint8Array, limits: CallLimits): Promise<CallReport> {
    if (this.closed) throw new WaferError('internal', 500, 'engine is closed', { expose: false });
    if (limits.fuel !== undefined && this.meteredOptions !== undefined) return this.meteredEngine().call(digest, input, limits);
    checkMemoryRequest(limits.memoryBytes, this.maxMemoryBytes);
    this.resident.touch(digest);
    const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const nativeLimits = this.nativeLimitsOf(limits);
    const reuse = limits.reusePool !== undefined;
    let r = await this.callOnce(digest, buf, nativeLimits, reuse);
    // Not in memory (evicted or unloaded): map it again from disk and call (engine.ts, resident.ts).
    for (let tries = 0; r.errorKind === 'not_loaded' && tries < 3 && (await this.resident.reload(digest, (u) => this.load(u))); tries++) {
      r = await this.callOnce(digest, buf, nativeLimits, reuse);
    }
    if (this.inlineBudgetMs > 0 && r.durationUs > 0) this.observe(digest, r.durationUs, r.reused === true);
    if (!r.ok || r.output === undefined) throw toError(digest, r);
    const report: CallReport = {
      output: r.output,
      stdout: r.stdout ?? NOTHING,
      stderr: r.stderr ?? NOTHING,
      durationUs: r.durationUs,
      peakMemoryBytes: r.peakMemoryBytes,
    };
    if (r.fuelUsed !== undefined) report.fuelUsed = r.fuelUsed;
    return report;
  }

  /**
   * A streamed call (wasi:http components; engine.ts `callStream`). A component not in memory is
   * mapped back from disk first: unlike `call`, a streamed call cannot be run again once its
   * request body has started to flow. Starts inline under the same budget as `call`.
   */
  async callStream(digest: string, head: Uint8Array, limits: CallLimits, bodyComplete = false): Promise<StreamedCall> {
    if (this.closed) throw new WaferError('internal', 500, 'engine is closed', { expose: false });
    if (limits.fuel !== undefined && this.meteredOptions !== undefined) return this.meteredEngine().callStream(digest, head, limits, bodyComplete);
    checkMemoryRequest(limits.memoryBytes, this.maxMemoryBytes);
    this.resident.touch(digest);
    for (let tries = 0; !this.onFast.has(digest) && !this.native.has(digest) && tries < 3; tries++) {
      if (!(await this.resident.reload(digest, (u) => this.load(u)))) throw notLoadedError(digest);
    }
    const native = this.onFast.has(digest) ? this.fast!.native : this.native;
    const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
    const nativeLimits = this.nativeLimitsOf(limits);
    const reuse = limits.reusePool !== undefined;
    // The addon copies the limits when the call starts, as in `callOnce`.
    nativeLimits.inlineBudgetMs = this.inlineFor(digest, reuse);
    const observe = this.inlineBudgetMs > 0 ? (r: NativeCallResult) => r.durationUs > 0 && this.observe(digest, r.durationUs, r.reused === true) : undefined;
    return streamedCall(native.callStream(digest, buf, nativeLimits, bodyComplete), (r) => toError(digest, r), observe);
  }

  /** One native call; a call that ended on the JS thread answers with no promise at all. */
  private callOnce(digest: string, buf: Buffer, nativeLimits: NativeCallLimits, reuse: boolean): NativeCallResult | Promise<NativeCallResult> {
    // The addon copies the limits when the call starts: the object is this call's only until `call` returns.
    const budget = this.inlineFor(digest, reuse);
    nativeLimits.inlineBudgetMs = budget;
    const native = this.onFast.has(digest) ? this.fast!.native : this.native;
    const answer = native.call(digest, buf, nativeLimits);
    if (answer instanceof Promise) {
      if (budget > 0) this.inlineOverruns++;
      return this.untilClosed(answer);
    }
    if (budget > 0) this.inlineCalls++;
    return answer;
  }

  /**
   * The addon's form of `limits`, made once per limits object (the pipeline keeps one per
   * function version) and then only given each call's inline budget.
   */
  private nativeLimitsOf(limits: CallLimits): NativeCallLimits {
    let n = this.nativeLimits.get(limits);
    if (n === undefined || n.timeoutMs !== limits.timeoutMs || n.memoryBytes !== limits.memoryBytes || n.fuel !== limits.fuel || n.maxOutputBytes !== limits.maxOutputBytes || n.reusePool !== limits.reusePool || n.depth !== limits.depth) {
      n = { timeoutMs: limits.timeoutMs, memoryBytes: limits.memoryBytes, fuel: limits.fuel, maxOutputBytes: limits.maxOutputBytes, inlineBudgetMs: 0 };
      if (limits.reusePool !== undefined) n.reusePool = limits.reusePool;
      // The addon takes `KEY=VALUE` strings (names never hold `=`); none at all for an empty environment.
      if (limits.env !== undefined && limits.env.length > 0) n.env = limits.env.map(([k, v]) => `${k}=${v}`);
      if (limits.outbound !== undefined && limits.outbound.length > 0) n.outbound = [...limits.outbound];
      if (limits.depth !== undefined) n.depth = limits.depth;
      this.nativeLimits.set(limits, n);
    }
    return n;
  }

  /**
   * The inline budget for a call of `digest`: 0 when its calls typically outrun the budget. A
   * call on a warm instance (`reuse`) is judged by the component's warm calls only: the odd call
   * that had to instantiate (1-2 ms for a big runtime) would otherwise push a 100 µs warm call to
   * the executor, where concurrent calls each need an instance of their own.
   */
  private inlineFor(digest: string, reuse: boolean): number {
    // A component not yet seen starts inline: a call that outruns the budget is not re-run.
    if (reuse) {
      const share = this.longShareWarm.get(digest);
      return share !== undefined && share > 0.5 ? 0 : this.inlineBudgetMs;
    }
    const typical = this.typicalUs.get(digest);
    if (typical !== undefined && typical > this.inlineBudgetMs * 1000 * INLINE_SHARE) return 0;
    return this.inlineBudgetMs;
  }

  private observe(digest: string, us: number, warm: boolean): void {
    if (warm) {
      const long = us > this.inlineBudgetMs * 1000 * INLINE_SHARE ? 1 : 0;
      const prev = this.longShareWarm.get(digest);
      this.longShareWarm.set(digest, prev === undefined ? long : prev + (long - prev) * EWMA_WEIGHT);
      return;
    }
    const prev = this.typicalUs.get(digest);
    this.typicalUs.set(digest, prev === undefined ? us : prev + (us - prev) * EWMA_WEIGHT);
  }

  /** Races a native promise against `close()`, so pending calls reject when the engine closes. */
  private untilClosed<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      p.then(resolve, reject).finally(() => this.pending.delete(reject));
    });
  }

  unload(digest: string): void {
    this.metered?.unload(digest);
    this.resident.forget(digest);
    this.unloadNative(digest);
    this.typicalUs.delete(digest);
    this.longShareWarm.delete(digest);
  }

  /** Drops `digest` from both tiers' addon engines (an eviction, or `unload`). */
  private unloadNative(digest: string): void {
    this.onFast.delete(digest);
    this.fast?.native.unload(digest);
    this.native.unload(digest);
  }

  /**
   * Unloads `digest` and removes its artifacts, those of every engine configuration (one per
   * compatibility hash). Safe while calls run: a call holds the component it was given, and an
   * unlinked artifact stays mapped for as long as anything uses it.
   */
  async discard(digest: string): Promise<void> {
    checkKey(digest);
    this.unload(digest);
    this.worlds.delete(digest);
    await this.metered?.discard(digest);
    if (this.tierUps.has(digest)) this.abandoned.add(digest);
    await this.removeArtifacts(digest);
  }

  /** Removes every artifact of `digest`: each tier's, of every engine configuration. */
  private async removeArtifacts(digest: string): Promise<void> {
    const names = await readdir(this.artifactDir).catch(() => [] as string[]);
    const ours = names.filter((n) => n.startsWith(`${digest}-`) && (n.endsWith('.cwasm') || n.endsWith('.cwasm.sum')));
    await Promise.all(ours.map((n) => rm(join(this.artifactDir, n), { force: true })));
  }

  /** Removes temp files a crashed writer left in the artifact directory (the addon names them `.<file>.tmp-…`). */
  private async sweepStaleTemps(): Promise<void> {
    const names = await readdir(this.artifactDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith('.') || !name.includes('.tmp-')) continue;
      const path = join(this.artifactDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(path, { force: true });
    }
  }

  /**
   * Both tiers counted as one engine: a Winch compile is a compile (the upload's), a hand-over to
   * the Cranelift build is counted in `tierUps` only, not as a compile or a disk load.
   */
  stats(): EngineStats {
    const s = this.native.stats();
    const f = this.fast?.native.stats();
    const t = this.tierCounters;
    const m = this.metered?.stats();
    const compilers = [this.compiler, this.backgroundCompiler, ...(this.fast ? [this.fast.compiler] : [])].map((c) => c.stats());
    const compileStats = Object.fromEntries(
      Object.keys(compilers[0]!).map((k) => [k, compilers.reduce((sum, c) => sum + c[k as keyof typeof c], 0)]),
    );
    // The fuel-metered engine's compiles, loads and instances count as this engine's.
    return {
      compiled: s.compiled + this.childCompiles + t.fastCompiles + (m?.compiled ?? 0),
      loadedFromDisk: s.loadedFromDisk - this.childCompiles - t.tierUps + t.fastLoadsFromDisk + (m?.loadedFromDisk ?? 0),
      loadedFromMemory: s.loadedFromMemory + this.memoryHits + (m?.loadedFromMemory ?? 0),
      instancesCreated: s.instancesCreated + (f?.instancesCreated ?? 0) + (m?.instancesCreated ?? 0),
      instancesReused: s.instancesReused + (f?.instancesReused ?? 0) + (m?.instancesReused ?? 0),
      loaded: s.loaded + (f?.loaded ?? 0) + (m?.loaded ?? 0),
      meteredLoaded: m?.loaded ?? 0,
      // One process-wide count (both tiers' engines share the bound), so not summed.
      instancesIdle: s.instancesIdle,
      inlineCalls: this.inlineCalls,
      inlineOverruns: this.inlineOverruns,
      ...this.gate.stats(),
      ...compileStats,
      ...t,
      fastServed: this.onFast.size,
      tierUpsRunning: this.tierUps.size,
      ...this.resident.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new WaferError('internal', 500, 'engine closed', { expose: false });
    for (const reject of this.pending) reject(err);
    this.pending.clear();
    this.compiler.close();
    this.backgroundCompiler.close();
    this.fast?.compiler.close();
    // Calls already on the executor finish on their own (bounded by their deadlines).
    this.native.close();
    this.fast?.native.close();
    await this.metered?.close();
  }
}
