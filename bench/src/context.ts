/**
 * @module bench/context
 * The state one run threads through its scenarios: the options and sizes, the result rows,
 * the raw samples behind them, what was skipped and why, and the `--filter` check.
 */
import { round, summarize } from './stats.js';
import type { BenchOptions, Sizes } from './options.js';

/** What identifies and describes a row, before its figures. */
export interface RowCore {
  scenario: string;
  /** `ts`, `rust`, `go`, `python`; `wat` for the hand-written fixtures; `js` for the Koa baseline. */
  language: string;
  /** `wasmtime` or `jco`; `koa` for the baseline; `wasmtime-serve` for the `peer` scenario's peer. */
  engine: string;
  unit: 'µs' | 'ms' | 'MiB';
  /** The component measured: `echo.wasm`, `hello-rust`, … */
  function?: string;
  /** Distinguishes rows of one scenario, language and engine (`inline`, `tight`, `distinct`, …). */
  variant?: string;
  connections?: number;
  errors?: number;
  /** What exactly was measured, where it is not obvious. */
  note?: string;
}

/** One line of the results: a scenario measured for one language on one engine. */
export interface ResultRow extends RowCore {
  p50: number;
  p99: number;
  n: number;
  p90?: number;
  max?: number;
  /** Requests per second (throughput). */
  rps?: number;
  /** Host ÷ Koa baseline: p50 latency for warm-http, req/s for throughput. */
  ratio_to_baseline?: number;
  /** wafer ÷ `wasmtime serve` on the `peer` rows: p50 latency for warm-http, req/s for throughput. */
  ratio_to_peer?: number;
  [extra: string]: unknown;
}

/** Something a run could not measure here, and why. */
export interface Skip {
  scenario: string;
  language?: string;
  engine?: string;
  reason: string;
}

export class BenchContext {
  readonly results: ResultRow[] = [];
  /** Raw samples by row key (`scenario/language/engine[/variant]`), for the git-ignored raw file. */
  readonly raw: Record<string, number[]> = {};
  readonly skipped: Skip[] = [];
  /** Jobs that failed with an error (also listed in `skipped`); the CLI exits non-zero when any did. */
  readonly failures: string[] = [];
  private readonly started = process.hrtime.bigint();

  constructor(
    readonly options: BenchOptions,
    readonly sizes: Sizes,
  ) {}

  /** True when `--filter` selects this job (or there is no filter). */
  selected(scenario: string, language: string, engine: string): boolean {
    const filter = this.options.filter;
    if (!filter) return true;
    filter.lastIndex = 0;
    return filter.test(`${scenario}/${language}/${engine}`);
  }

  /** Adds a row summarizing `samples` (p50, p90, p99, max, n), keeping the samples as raw data. */
  addSamples(row: RowCore & Record<string, unknown>, samples: number[]): ResultRow | undefined {
    if (samples.length === 0) {
      this.skip({ scenario: row.scenario, language: row.language, engine: row.engine, reason: 'no successful samples' });
      return undefined;
    }
    const s = summarize(samples);
    const full: ResultRow = { ...row, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max), n: s.n };
    this.results.push(full);
    this.raw[keyOf(full)] = samples.map(round);
    this.progress(`  ${describe(full)}`);
    return full;
  }

  /** Adds a row whose figures come from elsewhere (autocannon, RSS). */
  addRow(row: ResultRow): ResultRow {
    const rounded: ResultRow = { ...row };
    for (const k of ['p50', 'p90', 'p99', 'max', 'rps'] as const) {
      if (typeof rounded[k] === 'number') rounded[k] = round(rounded[k]);
    }
    this.results.push(rounded);
    this.progress(`  ${describe(rounded)}`);
    return rounded;
  }

  skip(skip: Skip): void {
    this.skipped.push(skip);
    const where = [skip.scenario, skip.language, skip.engine].filter(Boolean).join('/');
    this.progress(`  skipped ${where}: ${skip.reason}`);
  }

  /** Records a job that failed with an error, and goes on with the others. */
  fail(skip: Omit<Skip, 'reason'>, err: unknown): void {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    const where = [skip.scenario, skip.language, skip.engine].filter(Boolean).join('/');
    this.failures.push(`${where}: ${message}`);
    this.skip({ ...skip, reason: `failed: ${message}` });
  }

  /** A progress line on stderr, stamped with the seconds since the run started. */
  progress(line: string): void {
    const s = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.options.progress(`[${s.toFixed(1).padStart(6)}s] ${line}`);
  }
}

export function keyOf(row: Pick<ResultRow, 'scenario' | 'language' | 'engine' | 'variant' | 'connections' | 'function'>): string {
  return [row.scenario, row.language, row.engine, row.function, row.variant, row.connections].filter((x) => x !== undefined).join('/');
}

function describe(row: ResultRow): string {
  const what = [row.scenario, row.function ?? row.language, row.engine, row.variant, row.connections === undefined ? undefined : `${row.connections}c`]
    .filter((x) => x !== undefined)
    .join(' ');
  const rps = row.rps === undefined ? '' : `, ${row.rps} req/s`;
  return `${what}: p50 ${row.p50} ${row.unit}, p99 ${row.p99} ${row.unit} (n=${row.n}${rps})`;
}
