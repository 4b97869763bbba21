/**
 * @module bench
 * `runBench(options)`: the whole benchmark. For each engine it runs the in-process scenarios
 * (warm-call, instantiate, quota), compile, the HTTP scenarios (warm-http, throughput) and
 * restart on one data directory, `fair` (a call beside 16 looping ones), `metering` (warm calls
 * with usage metering on and off, side by side), then the
 * many-functions scenarios; the Koa baseline runs
 * first, and `peer` (wafer beside `wasmtime serve` and Koa on the wasi:http samples, peer.ts) last. Servers run in their own processes (servers.ts); this process is the client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import { runCompile } from './compile.js';
import { runFair } from './fair.js';
import { BenchContext, type ResultRow } from './context.js';
import { collectEnvironment, packageVersion, wasmtimeVersion } from './environment.js';
import { anySelected, runHttp, runKoaBaseline } from './http.js';
import { deploy } from './http-client.js';
import { DEFAULT_INSTANCE_MODE } from '../../host/src/limits.js';
import { runInProcess } from './in-process.js';
import { runMany } from './many.js';
import { runMetering } from './metering.js';
import { defaultCacheRoot, findPeer, runPeer } from './peer.js';
import { sizesFor, type BenchOptions } from './options.js';
import { writeRun, type BenchReport } from './report.js';
import { runRestart } from './restart.js';
import { startHostProcess } from './servers.js';
import { round } from './stats.js';
import { httpSubjects, missingLanguages, readSubject } from './subjects.js';

export type { BenchOptions } from './options.js';
export type { BenchReport } from './report.js';
export type { ResultRow } from './context.js';
export { parseConnections } from './options.js';
export { markdown, textTable } from './report.js';
export { peerSummary } from './peer.js';

export interface BenchRun {
  report: BenchReport;
  /** The folder written, or null with `outDir: null`. */
  dir: string | null;
  /** Scenarios that failed with an error (they are also listed in environment.skipped). */
  failures: string[];
}

export async function runBench(options: BenchOptions & { command?: string }): Promise<BenchRun> {
  const startedAt = new Date();
  const started = process.hrtime.bigint();
  const sizes = sizesFor(options);
  const ctx = new BenchContext(options, sizes);

  const engines: EngineName[] = [];
  const engineVersions: Partial<Record<EngineName, string>> = {};
  for (const name of options.engines ?? (['wasmtime', 'jco'] as EngineName[])) {
    if (name === 'wasmtime') {
      const v = await wasmtimeVersion();
      if (v.version) {
        engines.push(name);
        engineVersions.wasmtime = v.version;
      } else {
        ctx.skip({ scenario: '*', engine: 'wasmtime', reason: `the wasmtime addon does not load: ${v.error}` });
      }
    } else {
      engines.push(name);
      engineVersions.jco = `jco ${packageVersion('@bytecodealliance/jco') ?? 'unknown'}`;
    }
  }
  const languages = sizes.languages.filter((l) => !missingLanguages([l]).length);
  for (const lang of missingLanguages(sizes.languages)) {
    ctx.skip({ scenario: '*', language: lang, reason: `samples/dist/hello-${lang}.wasm is not built (run scripts/setup.sh)` });
  }
  if (options.quick) {
    ctx.skip({ scenario: '*', language: 'ts, go, python', reason: '--quick measures only the fixtures and Rust (the others take 5–60 s to compile with Cranelift)' });
  }

  const environment = collectEnvironment({
    command: options.command ?? 'wafer bench',
    engines: engineVersions,
    languages,
    options: {
      quick: options.quick,
      filter: options.filter?.source ?? null,
      instance: options.instance ?? 'fresh',
      engines,
      duration_s: sizes.durationS,
      connections: sizes.connections,
      functions: sizes.functions,
      samples: { in_process: sizes.inProcessCalls, http: sizes.httpRequests, restarts: sizes.restarts, budget_s: sizes.budgetS },
    },
  });
  const peer = findPeer({ env: process.env, cacheRoot: defaultCacheRoot(process.env) });
  environment.wasmtime_cli = peer.bin === null ? null : `${peer.bin} (${peer.version}, from ${peer.from})`;

  const phase = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      ctx.fail({ scenario: name }, err);
    }
  };

  const koa = ctx.selected('koa-baseline', 'js', 'koa');
  const koaParts = {
    http: koa || anySelected(ctx, ['warm-http', 'throughput'], engines, httpSubjects(sizes.languages)),
    restart: koa || anySelected(ctx, ['restart'], engines, httpSubjects(sizes.languages)),
  };
  if (koaParts.http || koaParts.restart) await phase('koa-baseline', () => runKoaBaseline(ctx, koaParts));
  for (const engine of engines) {
    await phase(`in-process/${engine}`, () => runInProcess(ctx, engine));
    await phase(`compile/${engine}`, () => runCompile(ctx, engine));
    await phase(`http+restart/${engine}`, () => runServed(ctx, engine));
    await phase(`fair/${engine}`, () => runFair(ctx, engine));
    await phase(`metering/${engine}`, () => runMetering(ctx, engine, engine === engines[0]));
    await phase(`many/${engine}`, () => runMany(ctx, engine));
  }
  await phase('peer', () => runPeer(ctx, peer, engines.includes('wasmtime')));

  addRatios(ctx.results);
  environment.skipped = ctx.skipped;
  environment.load_average_end = loadavg().map((x) => Math.round(x * 100) / 100);
  environment.duration_s = Math.round(Number(process.hrtime.bigint() - started) / 1e8) / 10;
  const report: BenchReport = { environment, results: ctx.results };
  const dir = options.outDir ? await writeRun(options.outDir, report, ctx.raw, startedAt) : null;
  return { report, dir, failures: ctx.failures };
}

/** warm-http, throughput and restart on one host data directory (restart reuses what was deployed). */
async function runServed(ctx: BenchContext, engine: EngineName): Promise<void> {
  const subjects = httpSubjects(ctx.sizes.languages).filter((s) =>
    ['warm-http', 'throughput', 'restart'].some((sc) => ctx.selected(sc, s.language, engine)),
  );
  if (subjects.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-http-'));
  const dirs = { dataDir: join(dir, 'data'), cacheDir: ctx.options.cacheDir };
  try {
    ctx.progress(`http on ${engine}: starting a host and deploying ${subjects.map((s) => s.function).join(', ')}`);
    const host = await startHostProcess({ engine, ...dirs });
    try {
      for (const s of [...subjects]) {
        try {
          const ms = await deploy(host.url, s.deployName, readSubject(s), `?instance=${ctx.options.instance ?? DEFAULT_INSTANCE_MODE}`);
          if (ms > 1000) ctx.progress(`  ${s.function} deployed in ${(ms / 1000).toFixed(1)} s (compiled into the bench cache; later runs reuse it)`);
        } catch (err) {
          ctx.fail({ scenario: 'warm-http/throughput/restart', language: s.language, engine }, err);
          subjects.splice(subjects.indexOf(s), 1);
        }
      }
      await runHttp(ctx, engine, host, subjects);
    } finally {
      await host.stop();
    }
    await runRestart(ctx, engine, dirs, subjects);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Host ÷ Koa: p50 latency for warm-http, req/s for throughput (same connection count). */
function addRatios(results: ResultRow[]): void {
  const koa = results.filter((r) => r.scenario === 'koa-baseline');
  const warm = koa.find((r) => r.variant === 'warm-http');
  for (const r of results) {
    if (r.scenario === 'warm-http' && warm) {
      r.ratio_to_baseline = round(r.p50 / warm.p50);
      r.ratio_p99_to_baseline = round(r.p99 / warm.p99);
    } else if (r.scenario === 'throughput') {
      const base = koa.find((k) => k.variant === 'throughput' && k.connections === r.connections);
      if (base?.rps && r.rps !== undefined) r.ratio_to_baseline = round(r.rps / base.rps);
    }
  }
}
