/**
 * @module abi/inspect-worker
 * Reads an upload's component types (the addon's `inspectComponent`: wasmparser validation with
 * the engine's features) off the event loop, in one worker thread that is thrown away after
 * anything goes wrong. The inspector runs under `catch_unwind` on a thread of its own, but an
 * input that still brought it down, or took too long, costs only that one validation here: the
 * worker is terminated and a fresh one answers the next. Jobs run one at a time (validation
 * takes milliseconds) in arrival order. The same worker serves both engines: validation does
 * not depend on the engine.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ComponentTypes } from '../executors/types.js';
import { DEFAULT_VALIDATE_HEAP_BYTES, DEFAULT_VALIDATE_TIMEOUT_MS } from '../limits.js';
import { ROOT } from '../paths.js';

const WORKER_URL = new URL('./validate-worker.js', import.meta.url);
/** The wasmtime addon, which also carries the inspector (host/native/src/inspect.rs). */
const ADDON_PATH = join(ROOT, 'host', 'native', 'wafer_native.node');
const MiB = 1024 * 1024;
/**
 * Booting a worker and loading the addon is the host's own work, not the upload's: it is bounded apart
 * from the validation timeout, generously, since a cold start on a busy machine takes seconds.
 */
const START_TIMEOUT_MS = 30_000;

/** Why the inspector gave no types: its own message, or what stopped the worker. */
export class InspectFailure extends Error {
  constructor(
    message: string,
    /** `decode`: the bytes are not a valid component; the others: the worker was replaced. */
    readonly kind: 'decode' | 'trap' | 'timeout' | 'crash',
  ) {
    super(message);
  }
}

interface Job {
  id: number;
  bytes: Uint8Array;
  resolve(types: ComponentTypes): void;
  reject(err: InspectFailure): void;
}

type Answer =
  | { ready: true }
  | { id: number; ok: true; types: ComponentTypes }
  | { id: number; ok: false; message: string; trapped: boolean };

export interface InspectWorkerOptions {
  timeoutMs?: number;
  heapBytes?: number;
}

/** One reusable inspector worker, replaced after a crash or a timeout. */
export class InspectWorker {
  private readonly timeoutMs: number;
  private readonly heapBytes: number;
  private worker: Worker | undefined;
  /** The worker has loaded the addon and takes jobs. */
  private ready = false;
  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private closed = false;
  /** Workers started, for tests: one more than the number of replacements. */
  started = 0;

  constructor(options: InspectWorkerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS;
    this.heapBytes = options.heapBytes ?? DEFAULT_VALIDATE_HEAP_BYTES;
  }

  /** The component's imports and exports; rejects with an `InspectFailure`. */
  inspect(bytes: Uint8Array): Promise<ComponentTypes> {
    if (this.closed) return Promise.reject(new InspectFailure('the validator was closed', 'crash'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes, resolve, reject });
      this.pump();
    });
  }

  /** Stops the worker; queued jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const job of this.queue.splice(0)) job.reject(new InspectFailure('the validator was closed', 'crash'));
    this.finish(new InspectFailure('the validator was closed', 'crash'));
    await worker?.terminate();
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const worker = this.worker ?? this.spawn();
    worker.ref(); // keep the process alive while a validation is waiting or running
    if (!this.ready) return; // pumped again on `ready`
    const job = this.queue.shift()!;
    const timer = setTimeout(() => {
      this.replace(worker);
      this.finish(new InspectFailure(`validation took longer than ${this.timeoutMs} ms`, 'timeout'));
    }, this.timeoutMs);
    this.running = { job, timer };
    worker.postMessage({ id: job.id, bytes: job.bytes });
  }

  private spawn(): Worker {
    // The worker's own stdout and stderr are left piped to the host's (it writes nothing; the
    // addon's panic messages go to fd 2 whatever this says): reading them as streams (`stdout:
    // true`) would keep the process alive for as long as the worker lives, even unref'd.
    const worker = new Worker(WORKER_URL, {
      env: {},
      workerData: { addon: ADDON_PATH },
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(this.heapBytes / MiB)) },
    });
    this.started++;
    worker.unref();
    const boot = setTimeout(() => this.failToStart(worker, `not ready within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    boot.unref();
    worker.on('message', (answer: Answer) => {
      if (worker !== this.worker) return;
      if ('ready' in answer) {
        clearTimeout(boot);
        this.ready = true;
        return this.pump();
      }
      if (this.running?.job.id !== answer.id) return;
      if (answer.ok) return this.finish(undefined, answer.types);
      if (answer.trapped) this.replace(worker);
      this.finish(new InspectFailure(answer.message, answer.trapped ? 'trap' : 'decode'));
    });
    // 'error' is an uncaught exception or a heap limit (ERR_WORKER_OUT_OF_MEMORY); 'exit' follows it.
    worker.on('error', (err) => {
      clearTimeout(boot);
      if (worker !== this.worker) return;
      if (!this.ready) return this.failToStart(worker, err.message);
      this.replace(worker);
      this.finish(new InspectFailure(`the validator stopped: ${err.message}`, 'crash'));
    });
    worker.on('exit', (code) => {
      clearTimeout(boot);
      if (worker !== this.worker) return;
      if (!this.ready) return this.failToStart(worker, `exit code ${code}`);
      this.worker = undefined;
      this.ready = false;
      this.finish(new InspectFailure(`the validator exited (code ${code})`, 'crash'));
    });
    this.worker = worker;
    this.ready = false;
    return worker;
  }

  /** A worker that never became ready fails what waits for it; the next job tries a fresh one. */
  private failToStart(worker: Worker, why: string): void {
    void worker.terminate();
    if (this.worker === worker) this.worker = undefined;
    this.ready = false;
    for (const job of this.queue.splice(0)) job.reject(new InspectFailure(`the validator could not start: ${why}`, 'crash'));
  }

  /**
   * Terminates a worker that can no longer be trusted and boots its successor now, so the next
   * upload does not wait for a worker to start.
   */
  private replace(worker: Worker): void {
    void worker.terminate();
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = false;
    if (!this.closed) this.spawn();
  }

  private finish(err: InspectFailure | undefined, types?: ComponentTypes): void {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    clearTimeout(running.timer);
    if (this.queue.length === 0) this.worker?.unref();
    if (err) running.job.reject(err);
    else running.job.resolve(types!);
    this.pump();
  }
}
