/**
 * @module bench/options
 * What `runBench` accepts, and the sample sizes a full and a `--quick` run use. Sizes live
 * here, in one place, so the README's description of each scenario stays true.
 */
import type { EngineName } from '../../host/src/engine/engine.js';

export interface BenchOptions {
  /** CI-sized: few samples, short durations, only the fast guests (fixtures and Rust). */
  quick: boolean;
  /** Runs only the jobs whose `scenario/language/engine` matches. */
  filter?: RegExp;
  /** Seconds per throughput measurement; default 10 (quick: 1). */
  durationS?: number;
  /** Connection counts for `throughput`; default 1, 16, 64. */
  connections?: number[];
  /** Engines to measure; default both. */
  engines?: EngineName[];
  /** Functions deployed for the idle-RSS and cold-call scenarios; default 1000 (quick: 100). */
  functions?: number;
  /** Where each run's folder is written; null writes nothing. */
  outDir: string | null;
  /** How measured functions get their instance (`instance=`); default the host's default, `fresh`. */
  instance?: 'fresh' | 'reuse';
  /** Persistent compiled cache for every scenario except `compile` (which always starts empty). */
  cacheDir: string;
  /** Progress lines go here (stderr in the CLI). */
  progress: (line: string) => void;
}

/** The sample counts of one run, resolved from `quick` and the explicit options. */
export interface Sizes {
  /** Languages whose samples are measured (besides the hand-written `wat` fixtures). */
  languages: readonly string[];
  inProcessCalls: number;
  inProcessWarmup: number;
  /** Seconds one latency measurement may take before it stops early (slow guests), after 100 samples. */
  budgetS: number;
  /** jco's unload→call is ~100 ms per sample. */
  jcoInstantiate: number;
  quotaCalls: number;
  httpRequests: number;
  httpWarmup: number;
  durationS: number;
  connections: number[];
  /** Compiles per small component (< 1 MB) and per large one. */
  compileSmall: number;
  compileLarge: number;
  restarts: number;
  functions: number;
  /** Restarts of the host with `functions` deployed. */
  coldRestarts: number;
}

export const ALL_LANGUAGES = ['ts', 'rust', 'go', 'python'] as const;
/** The languages a quick run measures: Rust compiles in well under a second; the others take 5–60 s. */
export const QUICK_LANGUAGES = ['rust'] as const;
export const DEFAULT_CONNECTIONS = [1, 16, 64];

export function sizesFor(options: BenchOptions): Sizes {
  const q = options.quick;
  return {
    languages: q ? QUICK_LANGUAGES : ALL_LANGUAGES,
    inProcessCalls: q ? 1_000 : 10_000,
    inProcessWarmup: q ? 200 : 2_000,
    budgetS: q ? 2 : 15,
    jcoInstantiate: q ? 5 : 30,
    quotaCalls: q ? 500 : 5_000,
    httpRequests: q ? 1_000 : 10_000,
    httpWarmup: q ? 200 : 1_000,
    durationS: options.durationS ?? (q ? 1 : 10),
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    compileSmall: q ? 3 : 5,
    compileLarge: q ? 1 : 2,
    restarts: q ? 3 : 10,
    functions: options.functions ?? (q ? 100 : 1_000),
    coldRestarts: q ? 1 : 3,
  };
}

/** Parses `1,16,64` into connection counts. */
export function parseConnections(list: string): number[] {
  const counts = list.split(',').map((s) => Number(s.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
    throw new RangeError(`invalid --connections ${JSON.stringify(list)}: expected integers from 1 to 1024, comma-separated`);
  }
  return counts;
}
