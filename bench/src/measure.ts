/**
 * @module bench/measure
 * The timing loop shared by the latency scenarios: warm up, then time up to `n` runs of an
 * action, stopping early once a time budget is spent (slow guests) but never before 100
 * samples. Failures are counted, not timed.
 */
import { usSince } from './stats.js';

export interface Timed {
  /** Microseconds per successful run. */
  samples: number[];
  errors: number;
  lastError?: string;
}

export interface LoopSizes {
  n: number;
  warmup: number;
  budgetS: number;
}

/** Fewest samples kept even when the budget runs out. */
const MIN_SAMPLES = 100;
/** Failures after which a loop that fails more than it succeeds gives up. */
const MAX_ERRORS = 20;

/**
 * Times `action`, which throws (or rejects) on failure. When it resolves with a number, that is
 * the sample (µs, for actions that time only part of themselves); otherwise its wall time is.
 * `onTimedStart` runs when the warm-up ends, for callers that keep figures of their own.
 */
export async function timeLoop(sizes: LoopSizes, action: () => Promise<number | void>, onTimedStart?: () => void): Promise<Timed> {
  const out: Timed = { samples: [], errors: 0 };
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(sizes.budgetS * 1e9)) / 4n;
  for (let i = 0; i < sizes.warmup && process.hrtime.bigint() < warmupEnd; i++) {
    await attempt(out, action);
  }
  out.errors = 0;
  onTimedStart?.();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(sizes.budgetS * 1e9));
  for (let i = 0; i < sizes.n; i++) {
    if (out.samples.length >= MIN_SAMPLES && process.hrtime.bigint() > deadline) break;
    if (out.errors > MAX_ERRORS && out.errors > out.samples.length) break; // it is broken, not slow
    const start = process.hrtime.bigint();
    const result = await attempt(out, action);
    if (result !== false) out.samples.push(typeof result === 'number' ? result : usSince(start));
  }
  return out;
}

async function attempt(out: Timed, action: () => Promise<number | void>): Promise<number | true | false> {
  try {
    return (await action()) ?? true;
  } catch (err) {
    out.errors++;
    out.lastError = (err as Error).message;
    return false;
  }
}
