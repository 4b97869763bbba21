/**
 * @module functions/metrics
 * Prometheus metrics for GET /metrics, every series prefixed `wafer_`: calls by function, status
 * and code, their durations, cold and warm starts, the engine's caches and live instances, the
 * limiter's queues, compile times and upload sizes, and Node's process metrics.
 *
 * Labels stay bounded: `function` only ever names a deployed function (the pipeline counts no
 * call of a name that is not deployed, and `forget` drops a deleted function's series), and no
 * label carries an invocation id, a path or anything else a caller chooses. Gauges and engine
 * counters are read when scraped (`collect`), so a call pays only for its counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CompilerName, Engine, EngineStats } from '../engine/engine.js';
import type { CallRecord } from './call-record.js';

/** Call durations: 50 µs (a warm Rust call) to 5 s. */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
/** Compiles: 10 ms (a WAT fixture) to 2 min (the compile timeout). */
const COMPILE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Uploads: 1 KiB to 64 MiB (the default upload limit), by powers of 4. */
const UPLOAD_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536].map((kib) => kib * 1024);

/** What the metrics read from the service when scraped. */
export interface MetricsSource {
  /** Every deployed function's name. */
  functions(): Iterable<string>;
  /** Calls running and waiting, host-wide (no name) or of one function (functions/limiter.ts). */
  load(name?: string): { running: number; queued: number };
}

/** Cache counters of each engine, from its `stats()`: [cache, hits, misses, evictions]; undefined where the engine has none. */
function cacheEvents(s: EngineStats): Array<[cache: string, hit: number, miss: number, eviction: number | undefined]> {
  const rows: Array<[string, number, number, number | undefined]> = [
    // A load served from memory, or not (then from disk or compiled); evictions by the memory LRU (wasmtime only).
    ['memory', s.loadedFromMemory, s.loadedFromDisk + s.compiled, s.evictions],
    // A load the on-disk compiled cache served, or one that compiled; the disk cache is collected, never evicted.
    ['disk', s.loadedFromDisk, s.compiled, undefined],
  ];
  // jco: V8 modules compiled per component and memory quota, in their own LRU.
  if (s.moduleCacheHits !== undefined) rows.push(['module', s.moduleCacheHits, s.moduleCacheMisses ?? 0, s.moduleCacheEvictions ?? 0]);
  return rows;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'function' | 'outcome'>;
  private readonly duration: Histogram<'function'>;
  private readonly uploads: Counter<'outcome'>;
  private readonly invocations: Counter<'function' | 'status' | 'code'>;
  private readonly wall: Histogram<'function'>;
  private readonly starts: Counter<'function' | 'start'>;
  private readonly compiles: Histogram<'engine' | 'compiler'>;
  private readonly uploadBytes: Histogram;
  /** Per function, the `status code` pairs counted, so `forget` can remove each series. */
  private readonly seen = new Map<string, Set<string>>();
  private engine: Engine | undefined;
  private source: MetricsSource | undefined;

  constructor(engine?: Engine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'wafer_' });
    this.calls = new Counter({
      name: 'wafer_calls_total',
      help: 'Function calls by outcome (ok or an error code).',
      labelNames: ['function', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'wafer_call_duration_seconds',
      help: 'Guest run time per successful call, as measured by the engine.',
      labelNames: ['function'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.uploads = new Counter({
      name: 'wafer_uploads_total',
      help: 'Uploads by outcome (ok or an error code).',
      labelNames: ['outcome'],
      registers,
    });
    this.invocations = new Counter({
      name: 'wafer_invocations_total',
      help: 'Invocations by function, the HTTP status answered and the code (ok or the error code); refused calls (overloaded) included.',
      labelNames: ['function', 'status', 'code'],
      registers,
    });
    this.wall = new Histogram({
      name: 'wafer_invocation_duration_seconds',
      help: "Wall time of each invocation that ran, from its body's arrival to its answer: load, run and mapping.",
      labelNames: ['function'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.starts = new Counter({
      name: 'wafer_starts_total',
      help: 'Invocations by start: cold when the call loaded the component, else warm.',
      labelNames: ['function', 'start'],
      registers,
    });
    this.compiles = new Histogram({
      name: 'wafer_compile_duration_seconds',
      help: "Successful compiles by compiler: wasmtime's cranelift and winch, jco's transpile (jco) and V8's core-module compile (v8).",
      labelNames: ['engine', 'compiler'],
      buckets: COMPILE_BUCKETS,
      registers,
    });
    this.uploadBytes = new Histogram({
      name: 'wafer_upload_size_bytes',
      help: 'Size of each accepted upload.',
      buckets: UPLOAD_BUCKETS,
      registers,
    });
    const self = this;
    new Gauge({
      name: 'wafer_engine_events',
      help: 'Engine counters: compiled, loaded from disk or memory, instances created, ...',
      labelNames: ['engine', 'event'],
      registers,
      collect() {
        const engine = self.engine;
        if (!engine) return;
        for (const [event, value] of Object.entries(engine.stats())) this.set({ engine: engine.name, event }, value);
      },
    });
    // Counters read from the engine's own: set to its value when scraped.
    new Counter({
      name: 'wafer_cache_requests_total',
      help: 'Compiled-artifact cache lookups by cache (memory: loaded components; disk: the compiled cache; module: jco\'s compiled V8 modules) and result (hit, miss).',
      labelNames: ['engine', 'cache', 'result'],
      registers,
      collect() {
        const engine = self.engine;
        if (!engine) return;
        this.reset();
        for (const [cache, hit, miss] of cacheEvents(engine.stats())) {
          // Never below zero: a counter that went down would fail the whole scrape.
          this.inc({ engine: engine.name, cache, result: 'hit' }, Math.max(0, hit));
          this.inc({ engine: engine.name, cache, result: 'miss' }, Math.max(0, miss));
        }
      },
    });
    new Counter({
      name: 'wafer_cache_evictions_total',
      help: 'Entries an in-memory cache dropped to stay within its size (memory: wasmtime\'s loaded components; module: jco\'s compiled modules).',
      labelNames: ['engine', 'cache'],
      registers,
      collect() {
        const engine = self.engine;
        if (!engine) return;
        this.reset();
        for (const [cache, , , evictions] of cacheEvents(engine.stats())) {
          if (evictions !== undefined) this.inc({ engine: engine.name, cache }, Math.max(0, evictions));
        }
      },
    });
    new Gauge({
      name: 'wafer_instances_live',
      help: 'Instances kept alive between calls: idle warm instances (instance=reuse) on wasmtime, worker instances on jco.',
      labelNames: ['engine'],
      registers,
      collect() {
        const engine = self.engine;
        if (!engine) return;
        const s = engine.stats();
        this.set({ engine: engine.name }, s.instancesIdle ?? s.workers ?? 0);
      },
    });
    new Gauge({
      name: 'wafer_calls_in_flight',
      help: 'Calls host-wide by state: running, or queued for a slot.',
      labelNames: ['state'],
      registers,
      collect() {
        const load = self.source?.load();
        if (!load) return;
        this.set({ state: 'running' }, load.running);
        this.set({ state: 'queued' }, load.queued);
      },
    });
    new Gauge({
      name: 'wafer_function_calls_in_flight',
      help: "Calls of each deployed function by state: running, or queued for a slot.",
      labelNames: ['function', 'state'],
      registers,
      collect() {
        const source = self.source;
        if (!source) return;
        // Rebuilt each scrape from the deployed functions: a deleted one has no series.
        this.reset();
        for (const name of source.functions()) {
          const load = source.load(name);
          this.set({ function: name, state: 'running' }, load.running);
          this.set({ function: name, state: 'queued' }, load.queued);
        }
      },
    });
    if (engine) this.watchEngine(engine);
  }

  /** Reads the engine's counters when scraped (an engine is created before the service, after these metrics). */
  watchEngine(engine: Engine): void {
    this.engine = engine;
  }

  /** Reads the deployed functions and the limiter's queues when scraped. */
  watchService(source: MetricsSource): void {
    this.source = source;
  }

  /** A call that ran (or was refused once admitted): counted by status, code and start, with its durations. */
  invocation(record: Pick<CallRecord, 'name' | 'status' | 'code' | 'start' | 'wallUs'>, guestUs?: number): void {
    const fn = record.name;
    this.calls.inc({ function: fn, outcome: record.code });
    if (guestUs !== undefined) this.duration.observe({ function: fn }, guestUs / 1e6);
    this.invocations.inc({ function: fn, status: record.status, code: record.code });
    this.remember(fn, record.status, record.code);
    if (record.start !== undefined) {
      this.starts.inc({ function: fn, start: record.start });
      this.wall.observe({ function: fn }, record.wallUs / 1e6);
    }
  }

  /** A call refused before it ran (`overloaded` while queued, say): no start and no duration. */
  refused(fn: string, status: number, code: string): void {
    this.calls.inc({ function: fn, outcome: code });
    this.invocations.inc({ function: fn, status, code });
    this.remember(fn, status, code);
  }

  private remember(fn: string, status: number, code: string): void {
    let pairs = this.seen.get(fn);
    if (pairs === undefined) this.seen.set(fn, (pairs = new Set()));
    pairs.add(`${status} ${code}`);
  }

  /** Removes every series of a deleted function. */
  forget(fn: string): void {
    for (const pair of this.seen.get(fn) ?? []) {
      const [status, code] = pair.split(' ') as [string, string];
      this.calls.remove({ function: fn, outcome: code });
      this.invocations.remove({ function: fn, status, code });
    }
    this.seen.delete(fn);
    this.duration.remove({ function: fn });
    this.wall.remove({ function: fn });
    for (const start of ['cold', 'warm']) this.starts.remove({ function: fn, start });
  }

  upload(outcome: string, bytes?: number): void {
    this.uploads.inc({ outcome });
    if (bytes !== undefined) this.uploadBytes.observe(bytes);
  }

  /** A compile that succeeded (`CompileObserver`). */
  compiled(compiler: CompilerName, seconds: number): void {
    this.compiles.observe({ engine: compiler === 'jco' || compiler === 'v8' ? 'jco' : 'wasmtime', compiler }, seconds);
  }

  /** The `text/plain; version=0.0.4` exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
