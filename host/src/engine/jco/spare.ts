/**
 * @module engine/jco/spare
 * Where pools get their worker threads. Booting a worker and importing preview2-shim takes
 * ~50–150 ms, most of a cold start and of the recovery after a timeout; `worker.js` only becomes
 * specific to a component when told to instantiate one. So one booted, generic worker is kept
 * spare: a pool that needs a thread takes it at once, and the next spare starts booting.
 */
import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class WorkerSource {
  private spare?: Worker;
  private closed = false;

  /** `keepSpare`: keep one booted worker ready from now on (costs one idle thread, ~20 MB). */
  constructor(private readonly keepSpare: boolean) {
    if (keepSpare) this.spare = this.watch(this.start());
  }

  /** A worker for a pool: the spare when there is one, else a new one. The caller adds its listeners at once. */
  take(): Worker {
    const worker = this.spare ?? this.start();
    this.spare = undefined;
    worker.removeAllListeners('error').removeAllListeners('exit');
    if (this.keepSpare && !this.closed) this.spare = this.watch(this.start());
    return worker;
  }

  /** Stops the spare; later `take`s still work but keep none. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    await spare?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { env: {}, stdout: false, stderr: false });
    worker.unref();
    return worker;
  }

  /** Forgets the spare if it dies before it is taken. */
  private watch(worker: Worker): Worker {
    const forget = () => {
      if (this.spare === worker) this.spare = undefined;
    };
    worker.on('error', forget).on('exit', forget);
    return worker;
  }
}
