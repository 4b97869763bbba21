/**
 * @module bench/targets
 * Reads the performance targets of DESIGN.md (and issue 9's fairness target, issue 11's parity with
 * `wasmtime serve`) off a run's results. This only reports;
 * nothing fails on a missed target (no speed thresholds anywhere).
 */
import type { ResultRow } from './context.js';

export interface TargetCheck {
  target: string;
  row: string;
  measured: string;
  goal: string;
  /** null when the run cannot tell (e.g. a quick run with fewer functions). */
  met: boolean | null;
}

const label = (r: ResultRow) => [r.function ?? r.language, r.engine, r.variant, r.connections === undefined ? undefined : `${r.connections}c`].filter(Boolean).join(' · ');

export function checkTargets(results: readonly ResultRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const koa = (variant: string, connections?: number) =>
    results.find((r) => r.scenario === 'koa-baseline' && r.variant === variant && r.connections === connections);

  for (const r of results.filter((r) => r.scenario === 'instantiate' && r.engine === 'wasmtime' && r.language === 'wat')) {
    const engineUs = typeof r.engine_us_p50 === 'number' ? `; addon-measured instantiate+call p50 ${r.engine_us_p50} µs` : '';
    checks.push({
      target: '1. fresh instance + call, 100 B echo, wasmtime, in process',
      row: label(r),
      measured: `p50 ${r.p50} µs (engine.call round trip${r.variant === 'inline' ? ', inlineBudgetMs 1 given explicitly' : ''})${engineUs}`,
      goal: 'p50 ≤ 20 µs',
      met: r.p50 <= 20,
    });
  }

  const warmKoa = koa('warm-http');
  for (const r of results.filter((r) => r.scenario === 'warm-http')) {
    const ratio = warmKoa ? r.p50 / warmKoa.p50 : undefined;
    checks.push({
      target: '2. warm HTTP call, one keep-alive connection',
      row: label(r),
      measured: `p50 ${r.p50} µs (${ratio === undefined ? 'no baseline' : `${ratio.toFixed(2)} × Koa's ${warmKoa!.p50} µs`}), p99 ${r.p99} µs`,
      goal: 'p50 ≤ 1.2 × Koa, p99 ≤ 1000 µs',
      met: ratio === undefined ? null : ratio <= 1.2 && r.p99 <= 1000,
    });
  }

  for (const r of results.filter((r) => r.scenario === 'throughput' && r.connections === 64)) {
    const base = koa('throughput', 64);
    const ratio = base?.rps && r.rps !== undefined ? r.rps / base.rps : undefined;
    checks.push({
      target: '3. throughput at 64 connections',
      row: label(r),
      measured: `${r.rps} req/s (${ratio === undefined ? 'no baseline' : `${ratio.toFixed(2)} × Koa's ${base!.rps}`})`,
      goal: '≥ 0.9 × Koa',
      met: ratio === undefined ? null : ratio >= 0.9,
    });
  }

  const floor = koa('restart');
  for (const r of results.filter((r) => r.scenario === 'restart' && r.engine === 'wasmtime' && r.language !== 'wat')) {
    const limit = r.language === 'python' ? 20 : 5;
    checks.push({
      target: '4. first call after a restart, from the disk cache, wasmtime',
      row: label(r),
      measured: `p50 ${r.p50} ms, p99 ${r.p99} ms (n=${r.n})${floor ? `; a fresh bare Koa's first response: p50 ${floor.p50} ms` : ''}`,
      goal: `≤ ${limit} ms`,
      met: r.p50 <= limit,
    });
  }

  for (const r of results.filter((r) => r.scenario === 'deployed-rss')) {
    const n = Number(r.functions);
    checks.push({
      target: '5. 1,000 deployed idle functions: host RSS',
      row: label(r),
      measured: `${r.p50} MiB with ${n} functions`,
      goal: '≤ 1024 MiB with 1,000',
      met: n >= 1000 ? r.p50 <= 1024 : null,
    });
  }
  for (const r of results.filter((r) => r.scenario === 'fair')) {
    const goal = typeof r.target_ms === 'number' ? r.target_ms : undefined;
    checks.push({
      target: r.variant === 'healthz' ? '6. /healthz while 16 looping calls of one function run' : '6. a call of another function while 16 looping calls of one run',
      row: label(r),
      measured: `max ${r.max} ms, p99 ${r.p99} ms, p50 ${r.p50} ms (n=${r.n})`,
      goal: goal === undefined ? 'n/a' : `≤ ${goal} ms`,
      met: goal === undefined || r.max === undefined ? null : r.max <= goal,
    });
  }
  for (const r of results.filter((r) => r.scenario === 'compile' && r.variant === 'first-response' && typeof r.target_ms === 'number')) {
    checks.push({
      target: '7. upload to first response (TS, Python)',
      row: label(r),
      measured: `max ${r.max} ms, p50 ${r.p50} ms (n=${r.n})`,
      goal: `≤ ${r.target_ms} ms`,
      met: r.max === undefined ? null : r.max <= Number(r.target_ms),
    });
  }
  for (const r of results.filter((r) => r.scenario === 'peer' && r.engine === 'wasmtime' && typeof r.ratio_to_peer === 'number')) {
    const warm = String(r.variant).startsWith('warm-http');
    if (!warm && r.connections !== 64) continue;
    checks.push({
      target: `8. parity with wasmtime serve on the same component (issue 11), ${warm ? 'warm-http p50' : 'req/s at 64 connections'}`,
      row: label(r),
      measured: warm ? `p50 ${r.p50} µs, ${r.ratio_to_peer} × wasmtime serve's` : `${r.rps} req/s, ${r.ratio_to_peer} × wasmtime serve's`,
      goal: warm ? '≤ 1.0 ×' : '≥ 1.0 ×',
      met: warm ? Number(r.ratio_to_peer) <= 1 : Number(r.ratio_to_peer) >= 1,
    });
  }
  return checks;
}
