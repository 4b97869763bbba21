/**
 * @module engine/jco
 * The pure-JavaScript engine: components run on V8 through jco. A component is transpiled once
 * (`store.ts`, cached on disk), its core modules are capped to the call's memory quota
 * (`memory-cap.ts`) and compiled once per quota (an LRU bounded by wasm bytes), and calls run on
 * warm instances held by worker threads (`pool.ts`, `worker.js`) so a time quota can stop them.
 * Instances are reused across calls (V8 instantiation costs milliseconds) and thrown away after a
 * trap or timeout.
 */
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import {
  checkMemoryRequest,
  notLoadedError,
  type CallLimits,
  type CallReport,
  type CompileObserver,
  type Engine,
  type EngineStats,
  type LoadInfo,
  type LoadUnit,
} from '../engine.js';
import { ComponentError, GuestTrapError, WaferError } from '../../errors.js';
import {
  DEFAULT_COMPILE_CONCURRENCY,
  DEFAULT_COMPILE_MEMORY_BYTES,
  DEFAULT_COMPILE_TIMEOUT_MS,
  DEFAULT_MAX_LOG_BYTES,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_MODULE_CACHE_BYTES,
} from '../../limits.js';
import { CompileGate } from '../compile-gate.js';
import type { Logger } from '../../logger.js';
import { capMemories, growables, type Growables } from './memory-cap.js';
import { splitQuota } from './quota-split.js';
import { FunctionPool, type PoolCounters } from './pool.js';
import { ArtifactStore, JCO_VERSION, TamperedArtifactError, type Artifact } from './store.js';
import { WorkerSource } from './spare.js';
import { enableWasmFeatures } from './wasm-features.js';
import { checkImports, type ShimShape } from './import-check.js';
import { wasm, type WasmModule } from './wasm.js';

const PAGE = 65536;
/** Workers (warm instances) per function and quota: two cores run at most two guests usefully. */
export const DEFAULT_JCO_WORKERS_PER_FUNCTION = 2;
/** Calls per instance before it is replaced, bounding what a guest can leak across calls. */
export const DEFAULT_JCO_MAX_CALLS_PER_INSTANCE = 10_000;
/** Wasm memory never shrinks: past this (and twice its start size) an instance is replaced. */
export const DEFAULT_JCO_RECYCLE_MEMORY_BYTES = 64 * 1024 * 1024;
/** Starting a worker and instantiating a 12 MB JS guest takes ~0.1 s; a stuck start is cut off here. */
export const DEFAULT_JCO_INSTANTIATE_TIMEOUT_MS = 30_000;
/**
 * A call waiting on a start is answered `timeout` after its quota, but never before this: a
 * Python guest takes 0.2–0.5 s to instantiate on V8 (its whole start, where wasmtime maps a
 * memory image in microseconds), so a short quota alone would time out every cold call.
 */
export const DEFAULT_JCO_START_GRACE_MS = 2_000;
/** An idle worker (~20 MB of RSS: a thread, preview2-shim's I/O thread, the instance) stops after this long unused. */
export const DEFAULT_JCO_IDLE_WORKER_MS = 5 * 60_000;

export interface JcoEngineOptions {
  /** Data-directory cache; transpiled components go under `<cacheDir>/jco/<digest>/`. */
  cacheDir: string;
  /** Ceiling on any call's memory quota, in bytes (the host's MAX_MEMORY_BYTES). */
  maxMemoryBytes: number;
  /** Memory quota `prepare` compiles for, so a function's first call finds its modules compiled. */
  defaultMemoryBytes?: number;
  /** Bytes of capped core wasm kept compiled in memory (LRU); default DEFAULT_MODULE_CACHE_BYTES. */
  moduleCacheBytes?: number;
  /** Worker threads (each one warm instance) per function and memory quota; default 2. */
  workersPerFunction?: number;
  /** Calls an instance serves before it is replaced; default 10,000. */
  maxCallsPerInstance?: number;
  /** Soft memory limit after which an instance is replaced; default 64 MiB. */
  recycleMemoryBytes?: number;
  /** Budget for starting a worker and instantiating (start functions run here); default 30 s. */
  instantiateTimeoutMs?: number;
  /** Least time a call may wait on its instance's start (else its quota); default 2 s. */
  startGraceMs?: number;
  /** Idle workers are stopped after this many ms; default 5 min. 0 keeps them forever. */
  idleWorkerMs?: number;
  /** Captured stdout and stderr per call, each; default DEFAULT_MAX_LOG_BYTES (64 KiB). */
  maxLogBytes?: number;
  /** Keep one booted worker spare, so a cold start or a timeout's replacement skips the boot; default true. */
  spareWorker?: boolean;
  /** A transpile running longer than this is stopped and the load refused; default DEFAULT_COMPILE_TIMEOUT_MS. */
  compileTimeoutMs?: number;
  /** Resident memory a transpile process may reach before it is stopped; default DEFAULT_COMPILE_MEMORY_BYTES. */
  compileMemoryBytes?: number;
  /** Transpiles running at once; default DEFAULT_COMPILE_CONCURRENCY. */
  compileConcurrency?: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Told of each transpile (`jco`) and each compile of a component's core modules (`v8`), for /metrics. */
  onCompile?: CompileObserver;
}

/** Everything `stats()` counts; the pools bump their share. */
interface EngineCounters extends PoolCounters {
  /** Components transpiled by jco in this process. */
  compiled: number;
  loadedFromDisk: number;
  loadedFromMemory: number;
  /** Core modules compiled by V8 (once per component and memory quota while cached). */
  modulesCompiled: number;
  moduleCacheHits: number;
  /** Compiled sets (a component's modules under one quota) not in the LRU, so compiled; and those the LRU evicted. */
  moduleCacheMisses: number;
  moduleCacheEvictions: number;
}

/** Core modules of one component compiled under one memory quota. */
interface CompiledSet {
  modules: Record<string, WasmModule>;
  /** Bytes of capped wasm: the LRU's measure (a Module cannot tell its own size). */
  wasmBytes: number;
  /** Per module, what one instance's memories may grow to; the worker sums it over instances. */
  memoryBudget: Record<string, number>;
  /** Bytes the memories need at instantiation, when that alone exceeds the quota. */
  tooSmallFor?: number;
}

export class JcoEngine implements Engine {
  readonly name = 'jco' as const;
  /** `jco <version>`, as wasmtime's is `wasmtime <version>` (engine.ts); shown by /healthz. */
  readonly version = `jco ${JCO_VERSION}`;
  /** V8 has no instruction metering: a fuel limit is refused at deploy (functions/service.ts). */
  readonly metersFuel = false;

  private readonly store: ArtifactStore;
  private readonly artifacts = new Map<string, Artifact>();
  private readonly loading = new Map<string, Promise<{ artifact: Artifact; source: LoadInfo['source'] }>>();
  private readonly compiled: LRUCache<string, CompiledSet>;
  private readonly compiling = new Map<string, Promise<CompiledSet>>();
  /**
   * digest → pool key (memory quota and environment, `poolKey`) → pool. An instance keeps the
   * environment it was made with (a guest may read it once), so each environment has its own pool.
   */
  private readonly pools = new Map<string, Map<string, FunctionPool>>();
  /** The pool key of each `CallLimits` object seen (the pipeline keeps one per function version). */
  private readonly poolKeys = new WeakMap<CallLimits, string>();
  /** Pools of unloaded digests still finishing their calls; `close` cuts them off. */
  private readonly draining = new Set<FunctionPool>();
  private readonly workers: WorkerSource;
  private readonly reaper?: NodeJS.Timeout;
  /** The host-wide cap on transpiles running at once. */
  private readonly gate: CompileGate;
  private closed = false;
  private shape?: Promise<ShimShape>;
  private readonly counters: EngineCounters = {
    compiled: 0,
    loadedFromDisk: 0,
    loadedFromMemory: 0,
    modulesCompiled: 0,
    moduleCacheHits: 0,
    moduleCacheMisses: 0,
    moduleCacheEvictions: 0,
    instancesCreated: 0,
    instantiateFailures: 0,
    workersStarted: 0,
    workersTerminated: 0,
    recycled: 0,
    timeouts: 0,
    traps: 0,
    memoryLimits: 0,
    functionErrors: 0,
    calls: 0,
  };
  private readonly settings: Required<Omit<JcoEngineOptions, 'logger' | 'cacheDir' | 'onCompile'>>;
  private readonly logger?: Pick<Logger, 'info' | 'warn'>;
  private readonly onCompile?: CompileObserver;

  constructor(options: JcoEngineOptions) {
    const { logger, onCompile, cacheDir: _cacheDir, ...rest } = options;
    this.logger = logger;
    this.onCompile = onCompile;
    this.settings = {
      defaultMemoryBytes: Math.min(DEFAULT_MEMORY_BYTES, options.maxMemoryBytes),
      moduleCacheBytes: DEFAULT_MODULE_CACHE_BYTES,
      workersPerFunction: DEFAULT_JCO_WORKERS_PER_FUNCTION,
      maxCallsPerInstance: DEFAULT_JCO_MAX_CALLS_PER_INSTANCE,
      recycleMemoryBytes: DEFAULT_JCO_RECYCLE_MEMORY_BYTES,
      instantiateTimeoutMs: DEFAULT_JCO_INSTANTIATE_TIMEOUT_MS,
      startGraceMs: DEFAULT_JCO_START_GRACE_MS,
      idleWorkerMs: DEFAULT_JCO_IDLE_WORKER_MS,
      maxLogBytes: DEFAULT_MAX_LOG_BYTES,
      spareWorker: true,
      compileTimeoutMs: DEFAULT_COMPILE_TIMEOUT_MS,
      compileMemoryBytes: DEFAULT_COMPILE_MEMORY_BYTES,
      compileConcurrency: DEFAULT_COMPILE_CONCURRENCY,
      ...dropUndefined(rest),
      maxMemoryBytes: options.maxMemoryBytes,
    };
    if (this.settings.workersPerFunction < 1) throw new RangeError('workersPerFunction must be at least 1');
    enableWasmFeatures();
    this.store = new ArtifactStore(options.cacheDir, {
      timeoutMs: this.settings.compileTimeoutMs,
      memoryBytes: this.settings.compileMemoryBytes,
    });
    this.gate = new CompileGate(this.settings.compileConcurrency);
    this.workers = new WorkerSource(this.settings.spareWorker);
    this.compiled = new LRUCache<string, CompiledSet>({
      maxSize: this.settings.moduleCacheBytes,
      // An entry larger than the whole cache is still kept (alone), as wasmtime's resident.ts does:
      // lru-cache would refuse it, and every call would compile it again.
      sizeCalculation: (set) => Math.min(this.settings.moduleCacheBytes, Math.max(1, set.wasmBytes)),
      dispose: (_set, _key, reason) => {
        if (reason === 'evict') this.counters.moduleCacheEvictions++;
      },
    });
    if (this.settings.idleWorkerMs > 0) {
      this.reaper = setInterval(() => this.reapIdle(), Math.max(1000, this.settings.idleWorkerMs / 2));
      this.reaper.unref();
    }
  }

  async prepare(unit: LoadUnit): Promise<LoadInfo> {
    if (this.closed) throw new WaferError('not_ready', 503, 'the engine is closed');
    checkWorld(unit);
    const started = performance.now();
    const { artifact, source } = await this.loadArtifact(unit);
    // Refused at upload, as wasmtime's linker does, what the worker's WASI cannot provide.
    checkImports(artifact.imported ?? [], await this.shimShape());
    // Compiling proves V8 accepts every core module, and warms the cache for the first call.
    await this.modulesFor(artifact, this.settings.defaultMemoryBytes);
    return { source, ms: performance.now() - started };
  }

  async load(unit: LoadUnit): Promise<LoadInfo> {
    if (this.closed) throw new WaferError('not_ready', 503, 'the engine is closed');
    checkWorld(unit);
    const started = performance.now();
    const { artifact, source } = await this.loadArtifact(unit);
    checkImports(artifact.imported ?? [], await this.shimShape());
    return { source, ms: performance.now() - started };
  }

  async call(digest: string, input: Uint8Array, limits: CallLimits): Promise<CallReport> {
    if (this.closed) throw new WaferError('not_ready', 503, 'the engine is closed');
    checkMemoryRequest(limits.memoryBytes, this.settings.maxMemoryBytes);
    const artifact = this.artifacts.get(digest) ?? (await this.fromDisk(digest));
    const capBytes = Math.floor(limits.memoryBytes / PAGE) * PAGE;
    let key = this.poolKeys.get(limits);
    if (key === undefined) {
      key = `${capBytes}|${JSON.stringify(limits.env ?? [])}`;
      this.poolKeys.set(limits, key);
    }
    const pool = this.pools.get(digest)?.get(key) ?? (await this.newPool(artifact, capBytes, key, limits.env ?? []));
    return pool.call(input, limits.timeoutMs, limits.maxOutputBytes ?? Infinity);
  }

  /**
   * Forgets `digest`. Calls already accepted (running or queued) finish, as on wasmtime: its
   * pools drain, with the compiled modules handed over so a drain never reads the cache files
   * again, and their workers stop once idle. New calls for the digest start from the disk cache.
   */
  unload(digest: string): void {
    this.artifacts.delete(digest);
    const pools = this.pools.get(digest);
    this.pools.delete(digest);
    for (const [key, pool] of pools ?? []) {
      const capBytes = key.slice(0, key.indexOf('|'));
      this.draining.add(pool);
      void pool.drain(this.compiled.peek(`${digest}:${capBytes}`)).finally(() => this.draining.delete(pool));
    }
    for (const key of [...this.compiled.keys()]) if (key.startsWith(`${digest}:`)) this.compiled.delete(key);
  }

  /**
   * Unloads `digest` and removes its transpiled directory. Safe while a call still uses it: the
   * draining pools hold the compiled modules and every worker already holds the verified JS text,
   * so nothing reads the removed files again.
   */
  async discard(digest: string): Promise<void> {
    this.unload(digest);
    await this.store.remove(digest);
  }

  stats(): EngineStats {
    let workers = 0;
    let queued = 0;
    for (const pool of this.allPools()) {
      workers += pool.workers;
      queued += pool.queued;
    }
    return {
      ...this.counters,
      ...this.gate.stats(),
      ...this.store.stats(),
      loaded: this.artifacts.size,
      moduleCacheBytes: this.compiled.calculatedSize,
      workers,
      queued,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    const closing: Promise<void>[] = [];
    for (const pool of this.allPools()) closing.push(pool.close(new WaferError('not_ready', 503, 'the engine is shutting down')));
    this.pools.clear();
    this.draining.clear();
    closing.push(this.workers.close());
    await Promise.all(closing);
  }

  /** Finds the transpiled component in memory or on disk, or transpiles it; deduplicates concurrent loads. */
  private loadArtifact(unit: LoadUnit): Promise<{ artifact: Artifact; source: LoadInfo['source'] }> {
    const known = this.artifacts.get(unit.digest);
    if (known) {
      this.counters.loadedFromMemory++;
      return Promise.resolve({ artifact: known, source: 'memory' });
    }
    let pending = this.loading.get(unit.digest);
    if (!pending) {
      pending = (async () => {
        let artifact = await this.store.read(unit.digest, (why) => this.logger?.warn({ digest: unit.digest, reason: why }, 'jco: discarded cached transpile'));
        let source: LoadInfo['source'] = 'disk';
        if (artifact) {
          this.counters.loadedFromDisk++;
        } else {
          const bytes = await unit.bytes();
          artifact = await this.gate.run(async () => {
            const started = performance.now();
            const stored = await this.store.transpileAndStore(unit.digest, bytes);
            this.onCompile?.('jco', (performance.now() - started) / 1000);
            return stored;
          });
          source = 'compiled';
          this.counters.compiled++;
          this.logger?.info({ digest: unit.digest }, 'jco: transpiled component');
        }
        this.artifacts.set(unit.digest, artifact);
        return { artifact, source };
      })().finally(() => this.loading.delete(unit.digest));
      this.loading.set(unit.digest, pending);
    }
    return pending;
  }

  /** For a call on a digest not in memory (never loaded here, or unloaded): only the disk cache can serve it (engine.ts). */
  private async fromDisk(digest: string): Promise<Artifact> {
    const artifact = await this.store.read(digest, (why) => this.logger?.warn({ digest, reason: why }, 'jco: discarded cached transpile'));
    if (!artifact) throw notLoadedError(digest);
    this.counters.loadedFromDisk++;
    this.artifacts.set(digest, artifact);
    return artifact;
  }

  /** The artifact's core modules capped to `capBytes` and compiled, from the LRU or compiled now. */
  private modulesFor(artifact: Artifact, capBytes: number): Promise<CompiledSet> {
    const key = `${artifact.digest}:${capBytes}`;
    const cached = this.compiled.get(key);
    if (cached) {
      this.counters.moduleCacheHits++;
      return Promise.resolve(cached);
    }
    let pending = this.compiling.get(key);
    if (!pending) {
      pending = this.compile(artifact, capBytes, key).finally(() => this.compiling.delete(key));
      this.compiling.set(key, pending);
    }
    return pending;
  }

  private async compile(artifact: Artifact, capBytes: number, key: string): Promise<CompiledSet> {
    this.counters.moduleCacheMisses++;
    const started = performance.now();
    const raw = new Map<string, Uint8Array>();
    const defined = new Map<string, Growables>();
    for (const name of artifact.modules) {
      let bytes: Uint8Array;
      try {
        bytes = await this.store.readModule(artifact, name);
      } catch (err) {
        if (!(err instanceof TamperedArtifactError)) throw err;
        // The file changed since it was verified: forget it, so the next load transpiles again.
        this.logger?.warn({ digest: artifact.digest, reason: err.message }, 'jco: discarded cached transpile');
        this.artifacts.delete(artifact.digest);
        await this.store.remove(artifact.digest);
        throw new WaferError('internal', 500, err.message, { cause: err, expose: false });
      }
      raw.set(name, bytes);
      try {
        defined.set(name, growables(bytes));
      } catch (err) {
        throw new ComponentError('invalid_component', `core module ${name} does not parse: ${(err as Error).message}`, err);
      }
    }
    // One quota for all memories and tables together, not one per memory.
    const split = splitQuota(defined, capBytes, artifact.instances);
    const modules: Record<string, WasmModule> = {};
    let bytes = 0;
    for (const [name, module] of raw) {
      let capped;
      try {
        capped = capMemories(module, capBytes, split.caps.get(name));
        modules[name] = await wasm.compile(capped.bytes);
      } catch (err) {
        throw new ComponentError('invalid_component', `core module ${name} does not compile on V8: ${(err as Error).message}`, err);
      }
      this.counters.modulesCompiled++;
      bytes += capped.bytes.length;
    }
    const tooSmall = split.initialBytes > capBytes;
    const set: CompiledSet = { modules, wasmBytes: bytes, memoryBudget: split.budget, tooSmallFor: tooSmall ? split.initialBytes : undefined };
    this.onCompile?.('v8', (performance.now() - started) / 1000);
    this.compiled.set(key, set);
    return set;
  }

  /** The pool of a function under one memory quota, once its modules compile and fit the quota. */
  private async newPool(artifact: Artifact, capBytes: number, key: string, env: CallLimits['env'] & object): Promise<FunctionPool> {
    const set = await this.modulesFor(artifact, capBytes);
    if (set.tooSmallFor !== undefined) {
      const mib = (n: number) => (n / 1048576).toFixed(1);
      throw new GuestTrapError('memory_limit', `the component needs ${mib(set.tooSmallFor)} MiB of memory to start, more than its ${mib(capBytes)} MiB quota`);
    }
    if (this.closed) throw new WaferError('not_ready', 503, 'the engine is closed');
    let pools = this.pools.get(artifact.digest);
    if (!pools) {
      pools = new Map();
      this.pools.set(artifact.digest, pools);
    }
    let pool = pools.get(key);
    if (!pool) {
      pool = new FunctionPool({
        artifact,
        capBytes,
        env,
        modules: () => this.modulesFor(artifact, capBytes),
        size: this.settings.workersPerFunction,
        maxLogBytes: this.settings.maxLogBytes,
        maxCallsPerInstance: this.settings.maxCallsPerInstance,
        recycleMemoryBytes: this.settings.recycleMemoryBytes,
        instantiateTimeoutMs: this.settings.instantiateTimeoutMs,
        startGraceMs: this.settings.startGraceMs,
        counters: this.counters,
        startWorker: () => this.workers.take(),
        logger: this.logger,
      });
      pools.set(key, pool);
    }
    return pool;
  }

  private *allPools(): Iterable<FunctionPool> {
    for (const pools of this.pools.values()) yield* pools.values();
    yield* this.draining;
  }

  /** What the workers' WASI import object provides, asked once of a worker (preview2-shim lives there, not here). */
  private shimShape(): Promise<ShimShape> {
    this.shape ??= new Promise<ShimShape>((resolve, reject) => {
      const worker = this.workers.take();
      worker.once('message', (msg: { type: string; shape: ShimShape }) => {
        void worker.terminate();
        resolve(msg.shape);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the jco worker exited (code ${code}) before describing its imports`)));
      worker.postMessage({ type: 'describe' });
    }).catch((err: unknown) => {
      this.shape = undefined; // ask again next time
      throw err;
    });
    return this.shape;
  }

  private reapIdle(): void {
    for (const pools of this.pools.values()) for (const pool of pools.values()) pool.reapIdle(this.settings.idleWorkerMs);
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * jco runs the wafer handler world only (worker.js calls `handle`); any other, `wasi:http/proxy`
 * included, is `abi_mismatch` at upload (`prepare`).
 */
function checkWorld(unit: LoadUnit): void {
  if (unit.world !== undefined && !unit.world.startsWith('wafer:function/handler@1.')) {
    throw new ComponentError('abi_mismatch', `the jco engine does not run world ${unit.world}; run the host with --engine wasmtime for it`);
  }
}
