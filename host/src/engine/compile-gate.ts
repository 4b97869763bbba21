/**
 * @module engine/compile-gate
 * The host-wide cap on compiles and transpiles running at once (`compileConcurrency`). A compile
 * takes seconds of CPU and hundreds of MiB: after a wiped cache, a burst of calls to many functions
 * would otherwise start one per function at once. Extra compiles wait their turn in arrival order.
 * Loads of one digest are already deduplicated by each engine; this bounds distinct digests.
 * A counting semaphore is a dozen lines, shared by both engines, so it is written here rather
 * than pulled in as a dependency.
 */

/** Counters the engines add to their `stats()`. */
export interface CompileGateStats {
  /** Compiles running now. */
  compilesRunning: number;
  /** Most compiles ever running at once; never above the cap. */
  compilesRunningPeak: number;
  /** Compiles waiting for a slot now. */
  compilesQueued: number;
}

export class CompileGate {
  private running = 0;
  private peak = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`compile concurrency must be a positive integer, not ${limit}`);
  }

  /** Runs `work` once a slot is free, and frees the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    // A finishing compile hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  stats(): CompileGateStats {
    return { compilesRunning: this.running, compilesRunningPeak: this.peak, compilesQueued: this.waiting.length };
  }
}
