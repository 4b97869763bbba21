/**
 * @module functions/usage
 * Usage metering per function: invocations, errors by code, cold starts, wall and guest time,
 * GB-seconds (GiB of memory × seconds of run time) and fuel, in minute buckets (kept a day), hour
 * buckets (kept 90 days) and lifetime totals. Counted in memory on every call; written to
 * `<data>/usage/<name>.json` (atomically) every few seconds when changed and at close, so a crash
 * loses at most that interval's counts. Read back at start.
 *
 * GB-seconds of a successful call are its engine-reported peak memory × its engine-measured run
 * time. A failed call has neither (the engines report them only with an answer), so it is counted
 * at its memory quota × the host's wall time of the call: an upper bound, never free.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../registry/fs.js';
import type { CallRecord } from './call-record.js';

/** The counters of one bucket, of a window, and of a function's lifetime (snake_case, as served). */
export interface UsageCounters {
  invocations: number;
  /** Calls by error code (`overloaded` included: refused calls count as invocations). */
  errors: Record<string, number>;
  cold_starts: number;
  /** Host wall time of the calls, µs. */
  wall_us: number;
  /** Guest run time as the engines measured it (host wall time for failed calls), µs. */
  duration_us: number;
  gb_seconds: number;
  fuel: number;
  /** Highest peak memory of one call, bytes. */
  peak_memory_bytes: number;
}

export type Granularity = 'minute' | 'hour';

export const GRANULARITY_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000 };

export interface UsageWindow {
  granularity: Granularity;
  /** Bucket starts, Unix ms, inclusive and exclusive. */
  from: number;
  to: number;
}

export interface UsageStoreOptions {
  /** `<data>/usage`. */
  dir: string;
  logger: Logger;
  /** How often changed counters are written. */
  flushMs: number;
  /** How long each granularity's buckets are kept. */
  retentionMs: Record<Granularity, number>;
  /** Counts are kept only for deployed functions (a call finishing after a delete is not). */
  known: (name: string) => boolean;
  now?: () => number;
}

interface FunctionUsage {
  lifetime: UsageCounters;
  buckets: Record<Granularity, Map<number, UsageCounters>>;
}

const GiB = 1024 ** 3;
const GRANULARITIES: Granularity[] = ['minute', 'hour'];

export function emptyCounters(): UsageCounters {
  return { invocations: 0, errors: {}, cold_starts: 0, wall_us: 0, duration_us: 0, gb_seconds: 0, fuel: 0, peak_memory_bytes: 0 };
}

/** Adds `b` into `a`. */
export function addCounters(a: UsageCounters, b: UsageCounters): void {
  a.invocations += b.invocations;
  for (const [code, n] of Object.entries(b.errors)) a.errors[code] = (a.errors[code] ?? 0) + n;
  a.cold_starts += b.cold_starts;
  a.wall_us += b.wall_us;
  a.duration_us += b.duration_us;
  a.gb_seconds += b.gb_seconds;
  a.fuel += b.fuel;
  a.peak_memory_bytes = Math.max(a.peak_memory_bytes, b.peak_memory_bytes);
}

/** Adds one call to `counters` (in place: this runs on every call, so it allocates nothing). */
export function addCall(counters: UsageCounters, record: CallRecord): void {
  counters.invocations += 1;
  if (record.code !== 'ok') counters.errors[record.code] = (counters.errors[record.code] ?? 0) + 1;
  if (record.start === 'cold') counters.cold_starts += 1;
  counters.wall_us += Math.round(record.wallUs);
  counters.duration_us += Math.round(record.durationUs);
  counters.gb_seconds += ((record.peakMemoryBytes ?? record.memoryQuotaBytes) / GiB) * (record.durationUs / 1e6);
  counters.fuel += record.fuelUsed ?? 0;
  if ((record.peakMemoryBytes ?? 0) > counters.peak_memory_bytes) counters.peak_memory_bytes = record.peakMemoryBytes!;
}

export class UsageStore {
  private readonly usage = new Map<string, FunctionUsage>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: UsageStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Reads what earlier runs kept and starts the periodic writes. A file that does not read is logged and started afresh. */
  async init(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    for (const file of await readdir(this.options.dir)) {
      if (!file.endsWith('.json')) continue;
      const name = file.slice(0, -'.json'.length);
      try {
        this.usage.set(name, parseUsage(JSON.parse(await readFile(join(this.options.dir, file), 'utf8'))));
      } catch (err) {
        this.options.logger.warn({ fn: name, err }, 'could not read kept usage; counting it afresh');
      }
    }
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Counts one call (after it answered). */
  record(record: CallRecord): void {
    for (const counters of this.countersAt(record.name, record.startedAt)) addCall(counters, record);
  }

  /** Counts a call refused before it ran (`overloaded`), as an invocation with that error. */
  refused(name: string, code: string): void {
    for (const counters of this.countersAt(name, this.now())) {
      counters.invocations += 1;
      counters.errors[code] = (counters.errors[code] ?? 0) + 1;
    }
  }

  /** The buckets of `name` in `window`, their sum, and the lifetime totals. */
  query(name: string, window: UsageWindow): { totals: UsageCounters; lifetime: UsageCounters; buckets: Array<{ start: string } & UsageCounters> } {
    const usage = this.usage.get(name);
    const totals = emptyCounters();
    const buckets: Array<{ start: string } & UsageCounters> = [];
    if (usage) {
      const starts = [...usage.buckets[window.granularity].keys()].filter((s) => s >= window.from && s < window.to).sort((a, b) => a - b);
      for (const start of starts) {
        const counters = usage.buckets[window.granularity].get(start)!;
        addCounters(totals, counters);
        buckets.push({ start: new Date(start).toISOString(), ...counters, errors: { ...counters.errors } });
      }
    }
    return { totals, lifetime: usage ? { ...usage.lifetime, errors: { ...usage.lifetime.errors } } : emptyCounters(), buckets };
  }

  /** Forgets `name`'s usage (a deleted function). */
  async remove(name: string): Promise<void> {
    this.usage.delete(name);
    this.dirty.delete(name);
    await this.writing;
    await rm(this.fileOf(name), { force: true });
  }

  /** Writes every changed function's counters (periodically, and at close). */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const names = [...this.dirty];
      this.dirty.clear();
      for (const name of names) {
        const usage = this.usage.get(name);
        if (!usage) continue;
        try {
          this.prune(usage);
          await writeFileAtomic(this.fileOf(name), JSON.stringify(serialize(usage)));
        } catch (err) {
          this.dirty.add(name);
          this.options.logger.warn({ fn: name, err }, 'could not write usage; retrying at the next flush');
        }
      }
    });
    return this.writing;
  }

  /** Stops the periodic writes and writes what changed. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /** The counters a call of `name` at `at` adds to: lifetime, its minute and its hour (none for a function not deployed). */
  private countersAt(name: string, at: number): UsageCounters[] {
    if (!this.options.known(name)) return [];
    let usage = this.usage.get(name);
    if (!usage) {
      usage = { lifetime: emptyCounters(), buckets: { minute: new Map(), hour: new Map() } };
      this.usage.set(name, usage);
    }
    this.dirty.add(name);
    return [usage.lifetime, this.bucket(usage, 'minute', at), this.bucket(usage, 'hour', at)];
  }

  private bucket(usage: FunctionUsage, granularity: Granularity, at: number): UsageCounters {
    const start = at - (at % GRANULARITY_MS[granularity]);
    let bucket = usage.buckets[granularity].get(start);
    if (!bucket) usage.buckets[granularity].set(start, (bucket = emptyCounters()));
    return bucket;
  }

  /** Drops buckets older than their retention. */
  private prune(usage: FunctionUsage): void {
    const now = this.now();
    for (const granularity of GRANULARITIES) {
      const oldest = now - this.options.retentionMs[granularity];
      for (const start of usage.buckets[granularity].keys()) if (start + GRANULARITY_MS[granularity] <= oldest) usage.buckets[granularity].delete(start);
    }
  }

  private fileOf(name: string): string {
    return join(this.options.dir, `${name}.json`);
  }
}

interface StoredUsage {
  version: 1;
  lifetime: UsageCounters;
  minute: Array<[number, UsageCounters]>;
  hour: Array<[number, UsageCounters]>;
}

function serialize(usage: FunctionUsage): StoredUsage {
  return { version: 1, lifetime: usage.lifetime, minute: [...usage.buckets.minute], hour: [...usage.buckets.hour] };
}

function parseUsage(value: unknown): FunctionUsage {
  const stored = value as StoredUsage;
  if (stored?.version !== 1 || typeof stored.lifetime?.invocations !== 'number' || !Array.isArray(stored.minute) || !Array.isArray(stored.hour)) {
    throw new Error('not a usage file of version 1');
  }
  const counters = (c: UsageCounters): UsageCounters => ({ ...emptyCounters(), ...c, errors: { ...c.errors } });
  return {
    lifetime: counters(stored.lifetime),
    buckets: {
      minute: new Map(stored.minute.map(([start, c]) => [start, counters(c)])),
      hour: new Map(stored.hour.map(([start, c]) => [start, counters(c)])),
    },
  };
}
