/**
 * @module functions/limiter
 * Bounds the calls of one function: at most `concurrency` run, at most `queue` wait, and
 * anything past that is refused at once with `overloaded` rather than piling up.
 */
import { OverloadedError } from '../errors.js';

export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly name: string,
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /** Runs `work` when a slot is free; throws `OverloadedError` if the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        throw new OverloadedError(
          `function ${this.name} is overloaded: ${this.running} calls running and ${this.waiting.length} queued`,
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  /** Calls running and waiting, for metrics. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }
}
