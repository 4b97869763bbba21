/**
 * @module engine/jco/pool
 * The worker threads of one function under one memory quota. Each worker holds one instance and
 * runs one call at a time; calls go to the most recently used idle worker (so a lone caller keeps
 * hitting a warm instance) and queue when all are busy. A worker is started on demand, up to
 * `size`. The time quota is enforced here: when a call overruns, its worker is terminated (V8
 * cannot interrupt wasm any other way) and a replacement starts when a call needs one. A call
 * that waits on an instance being started spends its quota waiting (at least `startGraceMs`,
 * what a big guest's start costs on V8), as on wasmtime where the instantiation (start functions
 * included) runs inside the call: when it runs out, the call answers `timeout` and an
 * instantiation that has run that long is stopped. After a
 * trap, after `maxCallsPerInstance` calls, or once linear memory passes the soft limit, the
 * worker drops its instance and instantiates a fresh one. `drain` (an unload) refuses new calls
 * but lets the running and queued ones finish before the workers stop; `close` cuts them off.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { CallReport } from '../engine.js';
import { GuestResultError, GuestTrapError, WaferError, type GuestOutput } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Artifact } from './store.js';
import type { WasmModule } from './wasm.js';

/** Counters the pool bumps; the engine owns them and reports them in `stats()`. */
export interface PoolCounters {
  instancesCreated: number;
  instantiateFailures: number;
  workersStarted: number;
  workersTerminated: number;
  recycled: number;
  timeouts: number;
  traps: number;
  memoryLimits: number;
  functionErrors: number;
  calls: number;
}

export interface PoolOptions {
  artifact: Artifact;
  /** The memory quota every instance of this pool was capped to. */
  capBytes: number;
  /** The environment every instance of this pool is made with (wasi:cli/environment). */
  env: readonly (readonly [string, string])[];
  /** The compiled, capped core modules (from the engine's module cache) and their memory budget. */
  modules: () => Promise<PoolModules>;
  /** Most workers (instances) running at once. */
  size: number;
  maxLogBytes: number;
  maxCallsPerInstance: number;
  /** Recycle once memory passes both this and twice the instance's memory after instantiation. */
  recycleMemoryBytes: number;
  instantiateTimeoutMs: number;
  /** A call waits on a start for max(its quota, this) before it answers `timeout`. */
  startGraceMs: number;
  counters: PoolCounters;
  /** Hands out worker threads running worker.js (a booted spare when there is one). */
  startWorker: () => Worker;
  logger?: Pick<Logger, 'warn'>;
}

interface Pending {
  id: number;
  input: Uint8Array;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Fires when the call has waited its whole time quota without reaching an instance. */
  waitTimer?: NodeJS.Timeout;
  resolve: (report: CallReport) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  /** Calls served by the current instance. */
  calls: number;
  /** Linear memory right after instantiation. */
  baseline: number;
  current?: Pending;
  timer?: NodeJS.Timeout;
  lastUsed: number;
  /** When the current instantiation began (performance.now()). */
  startedAt: number;
}

/** Timers may fire this much early against performance.now(); a wait that long used its quota. */
const TIMER_SLACK_MS = 2;

/** What a pool instantiates from: the compiled, capped core modules and their memory budget. */
export interface PoolModules {
  modules: Record<string, WasmModule>;
  memoryBudget: Record<string, number>;
}

type FailureCode = 'trap' | 'memory_limit' | 'function_error' | 'bad_response';

/** Messages from worker.js. */
type WorkerMessage =
  | { type: 'ready'; memoryBytes: number; ms: number }
  | ({ type: 'failed'; code: FailureCode; message: string } & GuestOutput)
  | ({ type: 'result'; id: number; ok: true; output: Uint8Array; durationUs: number; memoryBytes: number } & GuestOutput)
  | ({ type: 'result'; id: number; ok: false; code: FailureCode; message: string; durationUs: number; memoryBytes: number } & GuestOutput);

export class FunctionPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /**
   * The modules the live workers were instantiated from, while any worker lives (the workers
   * hold them anyway): what a drain falls back on when the engine's cache no longer has them.
   */
  private lastModules?: PoolModules;
  /** Set by `drain`: no new calls; resolved once the last worker has stopped. */
  private draining?: { modules?: PoolModules; done: () => void };

  constructor(private readonly options: PoolOptions) {}

  /** Runs `handle(input)` on an instance; rejects with the engine's errors. */
  call(input: Uint8Array, timeoutMs: number, maxOutputBytes = Infinity): Promise<CallReport> {
    if (this.closed || this.draining) return Promise.reject(new WaferError('not_ready', 503, 'the function is being unloaded'));
    return new Promise<CallReport>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, input, timeoutMs, maxOutputBytes, resolve, reject };
      this.queue.push(pending);
      this.pump();
      // Armed after the pump, so an instantiation it started began no later than the wait.
      if (this.queue.includes(pending)) pending.waitTimer = setTimeout(() => this.onWaitExpired(pending), this.startBound(pending));
    });
  }

  /** Workers alive, idle ones first to go. */
  get workers(): number {
    return this.slots.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Terminates idle workers unused for `idleMs`; returns how many are left. */
  reapIdle(idleMs: number, now = Date.now()): number {
    for (const slot of [...this.slots]) {
      if (slot.state === 'idle' && now - slot.lastUsed >= idleMs) this.kill(slot);
    }
    return this.slots.length;
  }

  /**
   * Refuses new calls, lets the running and queued ones finish (on the workers there are, or new
   * ones while calls wait), then stops every worker. `modules` is what an instance is made from
   * meanwhile, so a drain never needs the cache files an unload may be removing; without it the
   * pool's `modules()` is asked. Resolves when the last worker has stopped.
   */
  drain(modules?: PoolModules): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((done) => {
      this.draining = { modules: modules ?? this.lastModules, done };
      this.pump();
    });
  }

  /** Rejects queued and running calls with `reason` and terminates every worker. */
  async close(reason: Error): Promise<void> {
    this.closed = true;
    const drained = this.draining?.done;
    this.draining = undefined;
    this.failQueue(reason);
    const exits: Promise<unknown>[] = [];
    for (const slot of [...this.slots]) {
      slot.current?.reject(reason);
      slot.current = undefined;
      exits.push(this.kill(slot));
    }
    await Promise.all(exits);
    drained?.();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (!slot) break;
      this.dispatch(slot, this.queue.shift()!);
    }
    const starting = this.slots.filter((s) => s.state === 'starting').length;
    if (this.queue.length > starting && this.slots.length < this.options.size && !this.closed) this.spawn();
    if (this.draining && this.queue.length === 0) {
      // Nothing waits any more: workers that are not running a call stop now, the others when it ends.
      for (const slot of [...this.slots]) if (slot.state === 'idle' || slot.state === 'starting') void this.kill(slot);
      if (this.slots.length === 0) this.draining.done();
    }
  }

  /** The most recently used idle slot: a lone caller keeps one warm instance. */
  private idleSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.state === 'idle' && (!best || slot.lastUsed > best.lastUsed)) best = slot;
    }
    return best;
  }

  private spawn(): void {
    const worker = this.options.startWorker();
    const slot: Slot = { worker, state: 'starting', calls: 0, baseline: 0, lastUsed: Date.now(), startedAt: performance.now() };
    this.slots.push(slot);
    this.options.counters.workersStarted++;
    worker.on('message', (msg: WorkerMessage) => this.onMessage(slot, msg));
    worker.on('error', (err) => this.onExit(slot, `the worker thread failed: ${err.message}`));
    worker.on('exit', (code) => this.onExit(slot, `the worker thread exited (code ${code})`));
    this.instantiate(slot);
  }

  private instantiate(slot: Slot): void {
    slot.state = 'starting';
    slot.calls = 0;
    slot.startedAt = performance.now();
    slot.timer = setTimeout(() => {
      this.failQueue(new GuestTrapError('timeout', `instantiating the component took longer than ${this.options.instantiateTimeoutMs} ms`));
      this.kill(slot);
      this.pump();
    }, this.options.instantiateTimeoutMs);
    const { artifact, capBytes, maxLogBytes, env } = this.options;
    const snapshot = this.draining?.modules;
    (snapshot ? Promise.resolve(snapshot) : this.options.modules()).then(
      (set) => {
        const { modules, memoryBudget } = set;
        if (slot.state === 'starting') {
          this.lastModules = set;
          slot.worker.postMessage({ type: 'instantiate', jsUrl: artifact.jsUrl, modules, memoryBudget, capBytes, maxLogBytes, env });
        }
      },
      (err: Error) => {
        this.failQueue(err);
        this.kill(slot);
        this.pump();
      },
    );
  }

  private dispatch(slot: Slot, pending: Pending): void {
    clearTimeout(pending.waitTimer);
    slot.state = 'busy';
    slot.current = pending;
    slot.lastUsed = Date.now();
    this.options.counters.calls++;
    slot.timer = setTimeout(() => this.onTimeout(slot), pending.timeoutMs);
    // Cloning a view clones its whole buffer: send a pooled or sliced view as a compact copy.
    const input = pending.input.byteLength === pending.input.buffer.byteLength ? pending.input : pending.input.slice();
    // The worker checks the output's size before posting it back (Infinity does not clone: -1).
    const maxOutputBytes = Number.isFinite(pending.maxOutputBytes) ? pending.maxOutputBytes : -1;
    slot.worker.postMessage({ type: 'call', id: pending.id, input, maxOutputBytes });
  }

  private onMessage(slot: Slot, msg: WorkerMessage): void {
    if (slot.state === 'dead') return;
    clearTimeout(slot.timer);
    const { counters } = this.options;
    if (msg.type === 'ready') {
      counters.instancesCreated++;
      slot.state = 'idle';
      slot.baseline = msg.memoryBytes;
      slot.lastUsed = Date.now();
    } else if (msg.type === 'failed') {
      counters.instantiateFailures++;
      this.options.logger?.warn({ digest: this.options.artifact.digest, error: msg.message }, 'jco: instantiation failed');
      const output = { stdout: msg.stdout, stderr: msg.stderr };
      this.failQueue(new GuestTrapError(msg.code === 'memory_limit' ? 'memory_limit' : 'trap', `instantiating the component failed: ${msg.message}`, output));
      this.kill(slot);
    } else {
      const pending = slot.current;
      slot.current = undefined;
      if (!pending || pending.id !== msg.id) {
        void this.kill(slot); // out of step: never trust this worker again
        return this.pump();
      }
      const output: GuestOutput = { stdout: msg.stdout, stderr: msg.stderr };
      if (msg.ok) {
        pending.resolve({ ...output, output: msg.output, durationUs: msg.durationUs, peakMemoryBytes: msg.memoryBytes });
      } else if (msg.code === 'function_error' || msg.code === 'bad_response') {
        counters.functionErrors++;
        pending.reject(new GuestResultError(msg.code, msg.message, output));
      } else {
        counters[msg.code === 'memory_limit' ? 'memoryLimits' : 'traps']++;
        pending.reject(new GuestTrapError(msg.code, msg.message, output));
      }
      slot.calls++;
      if (!msg.ok && msg.code !== 'function_error' && msg.code !== 'bad_response') {
        this.instantiate(slot); // the worker already dropped the trapped instance
      } else if (slot.calls >= this.options.maxCallsPerInstance || this.overSoftLimit(slot, msg.memoryBytes)) {
        counters.recycled++;
        this.instantiate(slot);
      } else {
        slot.state = 'idle';
      }
    }
    this.pump();
  }

  private overSoftLimit(slot: Slot, memoryBytes: number): boolean {
    return memoryBytes > this.options.recycleMemoryBytes && memoryBytes > 2 * slot.baseline;
  }

  private onTimeout(slot: Slot): void {
    const pending = slot.current;
    slot.current = undefined;
    this.options.counters.timeouts++;
    pending?.reject(new GuestTrapError('timeout', `the call ran longer than its ${pending.timeoutMs} ms time quota`));
    void this.kill(slot);
    this.pump();
  }

  private onExit(slot: Slot, why: string): void {
    if (slot.state === 'dead') return;
    const wasStarting = slot.state === 'starting';
    this.options.logger?.warn({ digest: this.options.artifact.digest, why }, 'jco: worker thread died');
    const pending = slot.current;
    slot.current = undefined;
    this.remove(slot);
    if (pending) {
      this.options.counters.traps++;
      pending.reject(new GuestTrapError('trap', why));
    }
    // A worker that dies while starting would die again: fail the waiting calls instead of looping.
    if (wasStarting) this.failQueue(new GuestTrapError('trap', `instantiating the component failed: ${why}`));
    this.pump();
  }

  private failQueue(err: Error): void {
    for (const pending of this.queue.splice(0)) {
      clearTimeout(pending.waitTimer);
      pending.reject(err);
    }
  }

  /** How long `pending` may wait on a start: its quota, but never less than the start grace. */
  private startBound(pending: Pending): number {
    return Math.max(pending.timeoutMs, this.options.startGraceMs);
  }

  /**
   * A queued call's whole quota (at least the start grace) has passed. Waiting behind busy workers does not count (its quota
   * starts when it runs), but waiting on an instance being started does: the call answers
   * `timeout`, and a start that has itself taken a whole quota (a start function that never
   * ends) is stopped rather than left to the instantiation budget.
   */
  private onWaitExpired(pending: Pending): void {
    const at = this.queue.indexOf(pending);
    const starting = this.slots.filter((s) => s.state === 'starting');
    if (at < 0 || starting.length === 0) return;
    this.queue.splice(at, 1);
    this.options.counters.timeouts++;
    const bound = this.startBound(pending);
    pending.reject(new GuestTrapError('timeout', `the call's instance did not start within ${bound} ms (its time quota is ${pending.timeoutMs} ms)`));
    const now = performance.now();
    for (const slot of starting) {
      if (now - slot.startedAt >= bound - TIMER_SLACK_MS) void this.kill(slot);
    }
    this.pump();
  }

  private kill(slot: Slot): Promise<number> {
    if (slot.state === 'dead') return Promise.resolve(0);
    this.remove(slot);
    this.options.counters.workersTerminated++;
    return slot.worker.terminate();
  }

  private remove(slot: Slot): void {
    slot.state = 'dead';
    clearTimeout(slot.timer);
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    if (this.slots.length === 0) this.lastModules = undefined;
  }
}
