/**
 * @module bench/metering
 * `metering`: what usage metering and the per-function log cost per call. Two hosts run side by
 * side, one as deployed (`on`) and one started with `metering: off` (`WAFER_METERING=off`), each
 * with the same function; warm calls alternate between them in rounds (the order flips each
 * round), so drift in the machine's load falls on both alike. The `on` row carries the cost (its
 * p50 and mean minus the `off` row's, in µs and %) and the usage the `on` host metered.
 *
 * Over HTTP the cost is a few µs under a noise of tens; so the same pair also runs in this
 * process (`in-process-on`, `in-process-off`): two hosts' `service.invoke`, the whole invoke
 * pipeline without HTTP, where the difference stands out of the noise. And the steps themselves
 * are timed alone (`steps-silent`, `steps-printed`): what `UsageStore.record` and `LogStore.append`
 * cost per call, for a call that wrote nothing and one that printed a line (it gets a log entry);
 * and, for comparison, what the call's Prometheus counters cost (`steps-prometheus`, on either way).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import { loadConfig } from '../../host/src/config.js';
import { silentLogger } from '../../host/src/logger.js';
import type { CallRecord } from '../../host/src/functions/call-record.js';
import { LogStore } from '../../host/src/functions/logs.js';
import { Metrics } from '../../host/src/functions/metrics.js';
import { UsageStore } from '../../host/src/functions/usage.js';
import { DEFAULT_FUNCTION_LOG_BYTES, LOG_SEGMENTS_PER_CAP } from '../../host/src/limits.js';
import { startHost, type RunningHost } from '../../host/src/server/host.js';
import type { BenchContext } from './context.js';
import { deploy, send } from './http-client.js';
import { timeLoop } from './measure.js';
import { BENCH_TOKEN, startHostProcess, type ServerProcess } from './servers.js';
import { round, summarize } from './stats.js';
import { HTTP_BODY, HTTP_HEADERS, httpSubjects, readSubject, type Subject } from './subjects.js';

/** Rounds the calls are split into; each round times `n / ROUNDS` calls per host. */
const ROUNDS = 10;

const NOTE =
  'POST with a 100-byte body on one keep-alive connection per host; two hosts, metering on (default) and off (WAFER_METERING=off: no usage metering, no per-function log), called alternately in rounds; the on row: cost = its p50 and mean minus the off row\'s';

export async function runMetering(ctx: BenchContext, engine: EngineName, withSteps: boolean): Promise<void> {
  const subjects = httpSubjects(ctx.sizes.languages).filter((s) => ctx.selected('metering', s.language, engine));
  if (subjects.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-metering-'));
  const hosts: Partial<Record<'on' | 'off', ServerProcess>> = {};
  try {
    ctx.progress(`metering on ${engine}: two hosts (metering on and off), ${subjects.map((s) => s.function).join(', ')}`);
    for (const mode of ['on', 'off'] as const) {
      hosts[mode] = await startHostProcess({ engine, dataDir: join(dir, mode), cacheDir: ctx.options.cacheDir, config: { metering: mode } });
    }
    const on = hosts.on!;
    const off = hosts.off!;
    const instance = ctx.options.instance ? `?instance=${ctx.options.instance}` : '';
    for (const s of subjects) {
      for (const host of [on, off]) await deploy(host.url, s.deployName, readSubject(s), instance);
      const agents = { on: new Agent({ keepAlive: true, maxSockets: 1 }), off: new Agent({ keepAlive: true, maxSockets: 1 }) };
      const call = (mode: 'on' | 'off') => async () => {
        const reply = await send(`${hosts[mode]!.url}/fn/${s.deployName}`, 'POST', HTTP_BODY, { ...HTTP_HEADERS }, agents[mode]);
        if (reply.status !== 200) throw new Error(`${reply.status} ${reply.body.toString('utf8', 0, 200)}`);
      };
      let pair: Pair;
      try {
        pair = await alternate({ n: ctx.sizes.httpRequests, warmup: ctx.sizes.httpWarmup, budgetS: ctx.sizes.budgetS }, call);
      } finally {
        agents.on.destroy();
        agents.off.destroy();
      }
      addPair(ctx, { scenario: 'metering', language: s.language, engine, function: s.function, note: NOTE }, '', pair, await meteredUsage(on.url, s.deployName));
    }
  } finally {
    await Promise.all(Object.values(hosts).map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  }
  for (const s of subjects) await inProcess(ctx, engine, s);
  // The steps involve no engine: measured once per run.
  if (withSteps) await steps(ctx);
}

/** Calls per sample of `steps`: one call's steps take well under a microsecond, below the clock's use. */
const STEPS_BATCH = 1000;

/** The meter and log steps alone (no engine: the same code whichever engine), µs per call. */
async function steps(ctx: BenchContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-metering-steps-'));
  const usage = new UsageStore({ dir: join(dir, 'usage'), logger: silentLogger, flushMs: 10_000, retentionMs: { minute: 86_400_000, hour: 90 * 86_400_000 }, known: () => true });
  const logs = new LogStore({ dir: join(dir, 'logs'), maxBytes: DEFAULT_FUNCTION_LOG_BYTES, segments: LOG_SEGMENTS_PER_CAP, logger: silentLogger });
  try {
    await usage.init();
    const record = (printed: boolean): CallRecord => ({
      name: 'steps',
      version: 1,
      invocationId: '00000000-0000-4000-8000-000000000000',
      startedAt: Date.now(),
      status: 200,
      code: 'ok',
      start: 'warm',
      wallUs: 120,
      durationUs: 40,
      peakMemoryBytes: 1 << 20,
      memoryQuotaBytes: 256 << 20,
      ...(printed ? { stdout: Buffer.from('hello from the guest\n') } : {}),
    });
    const metrics = new Metrics();
    const r = record(false);
    const prometheus = await timeLoop({ n: Math.max(100, ctx.sizes.inProcessCalls / 10), warmup: 20, budgetS: ctx.sizes.budgetS }, async () => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < STEPS_BATCH; i++) metrics.invocation(r, r.durationUs);
      return Number(process.hrtime.bigint() - started) / 1e3 / STEPS_BATCH;
    });
    ctx.addSamples(
      {
        scenario: 'metering',
        language: 'wat',
        engine: 'any',
        function: 'a silent call',
        variant: 'steps-prometheus',
        unit: 'µs',
        note: `Metrics.invocation per call (the /metrics counters and histograms a call moves, on whatever --metering says), averaged over batches of ${STEPS_BATCH}`,
      },
      prometheus.samples,
    );
    for (const printed of [false, true]) {
      const r = record(printed);
      const t = await timeLoop({ n: Math.max(100, ctx.sizes.inProcessCalls / 10), warmup: 20, budgetS: ctx.sizes.budgetS }, async () => {
        const started = process.hrtime.bigint();
        for (let i = 0; i < STEPS_BATCH; i++) {
          usage.record(r);
          logs.append(r);
        }
        const us = Number(process.hrtime.bigint() - started) / 1e3 / STEPS_BATCH;
        // Let the log's batched write run between samples, as it does between calls.
        await new Promise((resolve) => setImmediate(resolve));
        return us;
      });
      ctx.addSamples(
        {
          scenario: 'metering',
          language: 'wat',
          engine: 'any',
          function: printed ? 'a call that printed a line' : 'a silent call',
          variant: printed ? 'steps-printed' : 'steps-silent',
          unit: 'µs',
          note: `UsageStore.record + LogStore.append per call, averaged over batches of ${STEPS_BATCH} (the meter and log steps alone)`,
        },
        t.samples,
      );
    }
  } finally {
    await usage.close();
    await logs.flush();
    await rm(dir, { recursive: true, force: true });
  }
}

const IN_PROCESS_NOTE =
  'service.invoke in this process (the whole invoke pipeline: admit, resolve, call, meter, log; no HTTP), 100-byte POST; two hosts, metering on and off, called alternately in rounds';

/** The same pair as over HTTP, through `service.invoke` of two hosts started in this process. */
async function inProcess(ctx: BenchContext, engine: EngineName, s: Subject): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-metering-'));
  const hosts: Partial<Record<'on' | 'off', RunningHost>> = {};
  try {
    for (const mode of ['on', 'off'] as const) {
      const config = loadConfig({ port: 0, host: '127.0.0.1', engine, dataDir: join(dir, mode), cacheDir: ctx.options.cacheDir, token: BENCH_TOKEN, samplesDir: null, logLevel: 'silent', metering: mode }, {});
      const host = await startHost(config, silentLogger);
      hosts[mode] = host;
      await host.service.deploy(s.deployName, (async function* () { yield readSubject(s); })(), ctx.options.instance ? { instance: ctx.options.instance } : {});
    }
    const call = (mode: 'on' | 'off') => async () => {
      const input = { method: 'POST', path: '/', query: '', headers: [{ name: 'content-type', value: 'text/plain' }], body: HTTP_BODY };
      const r = await hosts[mode]!.service.invoke(s.deployName, input);
      if (r.response.status !== 200) throw new Error(`answered ${r.response.status}`);
    };
    // Five times the in-process sample: the difference is a few µs at most, under the noise of a smaller one.
    const pair = await alternate({ n: ctx.sizes.inProcessCalls * 5, warmup: ctx.sizes.inProcessWarmup, budgetS: ctx.sizes.budgetS * 5 }, call);
    const usage = hosts.on!.service.usage(s.deployName, { granularity: 'hour', from: 0, to: Date.now() + 3_600_000 }).lifetime;
    addPair(ctx, { scenario: 'metering', language: s.language, engine, function: s.function, note: IN_PROCESS_NOTE }, 'in-process-', pair, usage);
  } finally {
    await Promise.all(Object.values(hosts).map((h) => h.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

interface Pair {
  on: number[];
  off: number[];
  errors: number;
  /** Calls made to the `on` host, warm-up included: what its usage should count. */
  sent: number;
}

/** Times `call(mode)` for both modes, alternating in ROUNDS rounds (the order flips each round). */
async function alternate(sizes: { n: number; warmup: number; budgetS: number }, call: (mode: 'on' | 'off') => () => Promise<void>): Promise<Pair> {
  const pair: Pair = { on: [], off: [], errors: 0, sent: 0 };
  const calls = {
    on: () => {
      pair.sent++;
      return call('on')();
    },
    off: call('off'),
  };
  const per = Math.max(10, Math.round(sizes.n / ROUNDS));
  const warmup = Math.round(sizes.warmup / ROUNDS);
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    for (const mode of order) {
      const t = await timeLoop({ n: per, warmup, budgetS: sizes.budgetS / ROUNDS }, calls[mode]);
      pair[mode].push(...t.samples);
      pair.errors += t.errors;
    }
  }
  return pair;
}

/** The `off` row, then the `on` row with the cost (on minus off: p50 and mean, µs and %) and the usage metered. */
function addPair(
  ctx: BenchContext,
  base: { scenario: string; language: string; engine: string; function: string; note: string },
  prefix: string,
  pair: Pair,
  usage: unknown,
): void {
  const row = { ...base, unit: 'µs' as const, ...(pair.errors > 0 ? { errors: pair.errors } : {}) };
  const offRow = ctx.addSamples({ ...row, variant: `${prefix}off` }, pair.off);
  if (!offRow || pair.on.length === 0) return;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const on = summarize(pair.on);
  const [meanOn, meanOff] = [mean(pair.on), mean(pair.off)];
  const cost = {
    cost_p50_us: round(on.p50 - offRow.p50),
    cost_p50_pct: round(((on.p50 - offRow.p50) / offRow.p50) * 100),
    cost_mean_us: round(meanOn - meanOff),
    cost_mean_pct: round(((meanOn - meanOff) / meanOff) * 100),
  };
  ctx.addSamples({ ...row, variant: `${prefix}on`, ...cost, calls_sent: pair.sent, usage }, pair.on);
  ctx.progress(`  metering cost ${base.function} ${base.engine} ${prefix || 'http-'}: p50 ${cost.cost_p50_us} µs (${cost.cost_p50_pct}%), mean ${cost.cost_mean_us} µs (${cost.cost_mean_pct}%)`);
}

/** The lifetime usage the `on` host metered for the function (GET …/usage), as the API answers it. */
async function meteredUsage(url: string, name: string): Promise<unknown> {
  const reply = await send(`${url}/v1/functions/${name}/usage`, 'GET', undefined, { authorization: `Bearer ${BENCH_TOKEN}` }, false);
  if (reply.status !== 200) return { error: `${reply.status} ${reply.body.toString('utf8', 0, 200)}` };
  return (JSON.parse(reply.body.toString('utf8')) as { lifetime: unknown }).lifetime;
}
