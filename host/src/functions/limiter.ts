/**
 * @module functions/limiter
 * Bounds the calls of one function: at most `concurrency` run, at most `queue` wait, and
 * anything past that is refused at once with `overloaded` (and `Retry-After`) rather than piling
 * up. A slot is taken before the call's body is read, so slow request bodies count against it too.
 */
import { OverloadedError } from '../errors.js';
import { DEFAULT_RETRY_AFTER_S } from '../limits.js';

export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly name: string,
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /**
   * Takes a slot, waiting in the queue if all are busy; throws `OverloadedError` if the queue is
   * full. Resolves with the function that gives the slot back (calling it again does nothing).
   */
  async acquire(): Promise<() => void> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        throw new OverloadedError(
          `function ${this.name} is overloaded: ${this.running} calls running and ${this.waiting.length} queued`,
          DEFAULT_RETRY_AFTER_S,
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    };
  }

  /** Runs `work` in a slot (see `acquire`). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Calls running and waiting, for metrics. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }
}
