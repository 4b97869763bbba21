/**
 * @module functions/limiter
 * Admission control: bounds the calls of the whole host and of each function. Host-wide at most
 * `maxCalls` run and `maxQueuedCalls` wait; one function may hold at most `share` of each (so one
 * function flooding the host can never take every slot), and at most `concurrency` running and
 * `queue` waiting of its own. Anything past a bound is refused at once with `overloaded` (and
 * `Retry-After`) rather than piling up. A slot is taken before the call's body is read, so slow
 * request bodies count against it too. A freed slot goes to the longest-waiting call whose
 * function is under its running cap. A function's own running cap may be lowered per call
 * (`concurrency`: its serving version's `max_concurrency`), never past the host's share.
 */
import { OverloadedError } from '../errors.js';
import { DEFAULT_RETRY_AFTER_S } from '../limits.js';

export interface LimiterBounds {
  /** Calls running at once, host-wide. */
  maxCalls: number;
  /** Calls waiting for a slot, host-wide. */
  maxQueuedCalls: number;
  /** The fraction (0 < share ≤ 1) of `maxCalls` and of `maxQueuedCalls` one function may hold. */
  share: number;
  /** Calls running at once per function. */
  concurrency: number;
  /** Calls waiting per function. */
  queue: number;
}

interface Waiter {
  name: string;
  resolve(): void;
}

interface Usage {
  running: number;
  queued: number;
  /** The function's running cap, as its latest call asked (`capFor`). */
  cap: number;
}

/** One function's caps: its own limits, and its share of the host's (at least one running). */
export function capsOf(bounds: LimiterBounds): { running: number; queued: number } {
  return {
    running: Math.min(bounds.concurrency, Math.max(1, Math.floor(bounds.share * bounds.maxCalls))),
    queued: Math.min(bounds.queue, Math.floor(bounds.share * bounds.maxQueuedCalls)),
  };
}

export class Limiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Per function; an entry is dropped when its function has nothing running or waiting. */
  private readonly usage = new Map<string, Usage>();
  private readonly caps: { running: number; queued: number };
  /** The most calls one function may run at once whatever it asks: its share of the host's. */
  readonly ceiling: number;

  constructor(private readonly bounds: LimiterBounds) {
    this.caps = capsOf(bounds);
    this.ceiling = capsOf({ ...bounds, concurrency: bounds.maxCalls }).running;
  }

  /**
   * Takes a slot for a call of `name`, waiting in the queue if it must; throws `OverloadedError`
   * past a bound. Resolves with the function that gives the slot back (calling it again does nothing).
   */
  async acquire(name: string, concurrency?: number): Promise<() => void> {
    const now = this.tryAcquire(name, concurrency);
    if (now) return now;
    const usage = this.usageOf(name, concurrency);
    const refusal = this.refusal(name, usage);
    if (refusal) {
      this.settle(name, usage);
      throw new OverloadedError(refusal, DEFAULT_RETRY_AFTER_S);
    }
    usage.queued += 1;
    await new Promise<void>((resolve) => this.waiting.push({ name, resolve }));
    return this.releaser(name, usage);
  }

  /**
   * Takes a slot for a call of `name` if one is free right now (what `acquire` does first),
   * without a promise; undefined when the call would have to wait or be refused (then `acquire`).
   */
  tryAcquire(name: string, concurrency?: number): (() => void) | undefined {
    const usage = this.usageOf(name, concurrency);
    // Under both caps no call of this function waits (a release would have started it).
    if (usage.running >= usage.cap || this.running >= this.bounds.maxCalls) {
      this.settle(name, usage);
      return undefined;
    }
    usage.running += 1;
    this.running += 1;
    return this.releaser(name, usage);
  }

  /** The most calls a function may run at once: the host's share, and its own `concurrency` when given. */
  capFor(concurrency?: number): number {
    return concurrency === undefined ? this.caps.running : Math.max(1, Math.min(concurrency, this.ceiling));
  }

  private usageOf(name: string, concurrency?: number): Usage {
    let usage = this.usage.get(name);
    if (usage === undefined) {
      usage = { running: 0, queued: 0, cap: 0 };
      this.usage.set(name, usage);
    }
    usage.cap = this.capFor(concurrency);
    return usage;
  }

  private releaser(name: string, usage: Usage): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      usage.running -= 1;
      this.running -= 1;
      this.settle(name, usage);
      this.dispatch();
    };
  }

  /** Runs `work` in a slot of `name` (see `acquire`). */
  async run<T>(name: string, work: () => Promise<T>, concurrency?: number): Promise<T> {
    const release = await this.acquire(name, concurrency);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Calls running and waiting, host-wide or of one function, for metrics and tests. */
  load(name?: string): { running: number; queued: number } {
    if (name === undefined) return { running: this.running, queued: this.waiting.length };
    const usage = this.usage.get(name);
    return { running: usage?.running ?? 0, queued: usage?.queued ?? 0 };
  }

  /** Why a call of `name` may not wait, or undefined if it may. */
  private refusal(name: string, usage: Usage): string | undefined {
    const state = `${usage.running} calls running and ${usage.queued} queued`;
    if (usage.queued >= this.bounds.queue) return `function ${name} is overloaded: ${state}`;
    if (usage.queued >= this.caps.queued) return `function ${name} has its share of the host's queue: ${state}`;
    if (this.waiting.length >= this.bounds.maxQueuedCalls) {
      return `the host is overloaded: ${this.running} calls running and ${this.waiting.length} queued`;
    }
    return undefined;
  }

  /** Starts waiting calls while host slots are free, oldest first, skipping functions at their cap. */
  private dispatch(): void {
    while (this.running < this.bounds.maxCalls) {
      const i = this.waiting.findIndex((w) => {
        const usage = this.usage.get(w.name);
        return usage === undefined || usage.running < usage.cap;
      });
      if (i === -1) return;
      const [next] = this.waiting.splice(i, 1);
      const usage = this.usage.get(next!.name)!;
      usage.queued -= 1;
      usage.running += 1;
      this.running += 1;
      next!.resolve();
    }
  }

  private settle(name: string, usage: Usage): void {
    if (usage.running === 0 && usage.queued === 0 && this.usage.get(name) === usage) this.usage.delete(name);
  }
}
