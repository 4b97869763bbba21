/**
 * @module bench/in-process
 * The scenarios that call an engine directly, in this process, with no HTTP: `warm-call`,
 * `instantiate` and `quota`, on `echo.wasm` (100 raw bytes) and on `hello-<lang>` (a 100-byte
 * `Request` envelope). Engines come from `createEngine`, configured as the host configures them.
 */
import { createEngine } from '../../host/src/engine/index.js';
import type { CallLimits, Engine, EngineName, LoadUnit } from '../../host/src/engine/engine.js';
import { DEFAULT_INSTANCE_MODE, DEFAULT_MEMORY_BYTES, DEFAULT_MODULE_CACHE_BYTES, DEFAULT_TIMEOUT_MS, MAX_MEMORY_BYTES, MAX_TIMEOUT_MS } from '../../host/src/limits.js';
import { silentLogger } from '../../host/src/logger.js';
import type { BenchContext } from './context.js';
import { timeLoop, type LoopSizes } from './measure.js';
import { percentile, round, usSince } from './stats.js';
import { input100, inProcessSubjects, readSubject, sha256, type Subject } from './subjects.js';

const MiB = 1024 * 1024;
const DEFAULT_LIMITS: CallLimits = { timeoutMs: DEFAULT_TIMEOUT_MS, memoryBytes: DEFAULT_MEMORY_BYTES };
/** "Without" quotas: both engines always enforce them, so the loosest allowed values. */
const MAX_LIMITS: CallLimits = { timeoutMs: MAX_TIMEOUT_MS, memoryBytes: MAX_MEMORY_BYTES };
/** The tight time quota: far above any call measured here, far below the default. */
const TIGHT_TIMEOUT_MS = 100;
/** Between jco unload→call samples: time for the spare worker to boot, as it would between cold starts. */
const JCO_SETTLE_MS = 150;

const NOTES = {
  warmCall: {
    wasmtime: 'engine.call round trip with the default instance=fresh: each call is a fresh store from the InstancePre (so this equals instantiate), started on the JS thread under the 1 ms inline budget and moved to the addon executor only if it runs longer',
    jco: 'engine.call round trip to the warm instance in a worker thread',
  },
  warmCallReuse: 'engine.call round trip on a warm instance of the function (--instance reuse): no instantiation after the first call',
  instantiate: {
    wasmtime: 'fresh store + instance from the InstancePre and one call (instance=fresh, the default), engine.call round trip as the host configures it (JS thread under the 1 ms inline budget, else the addon executor); engine_us_* is the addon-measured instantiate+call',
    wasmtimeInline: 'as instantiate, on an engine built with inlineBudgetMs: 1 given explicitly (the default since issue 9; kept so older runs compare)',
    jco: 'unload→call: re-reads the transpiled component from the disk cache, compiles its core modules on V8, takes a booted worker and instantiates, then calls; jco otherwise reuses warm instances',
  },
  quota: {
    wasmtime: '"without" = the ceilings (60 s, 1 GiB): wasmtime always sets an epoch deadline and StoreLimits on every store, so quotas cannot be switched off, only loosened',
    jco: '"without" = the ceilings (60 s, 1 GiB): every jco call runs on a worker thread (for the time quota) and each memory quota compiles its own capped module, so quotas cannot be switched off, only loosened',
  },
};

export async function runInProcess(ctx: BenchContext, engineName: EngineName): Promise<void> {
  const scenarios = ['warm-call', 'instantiate', 'quota'];
  const subjects = inProcessSubjects(ctx.sizes.languages).filter((s) => scenarios.some((sc) => ctx.selected(sc, s.language, engineName)));
  if (subjects.length === 0) return;
  ctx.progress(`in process on ${engineName}: ${subjects.map((s) => s.function).join(', ')}`);
  const engine = await createEngine(engineName, {
    cacheDir: ctx.options.cacheDir,
    maxMemoryBytes: MAX_MEMORY_BYTES,
    moduleCacheBytes: DEFAULT_MODULE_CACHE_BYTES,
    logger: silentLogger,
  });
  const loop: LoopSizes = { n: ctx.sizes.inProcessCalls, warmup: ctx.sizes.inProcessWarmup, budgetS: ctx.sizes.budgetS };
  try {
    for (const s of subjects) {
      const unit = unitOf(s);
      ctx.progress(`loading ${s.function} on ${engineName} (${(s.size / MiB).toFixed(1)} MiB)`);
      let info;
      try {
        info = await engine.load(unit);
      } catch (err) {
        ctx.fail({ scenario: 'in-process', language: s.language, engine: engineName }, err);
        continue;
      }
      if (info.source === 'compiled') ctx.progress(`  compiled in ${Math.round(info.ms)} ms (first use of the bench cache)`);
      const input = input100(s);
      const base = { language: s.language, engine: engineName, function: s.function, unit: 'µs' as const };

      if (ctx.selected('warm-call', s.language, engineName)) {
        ctx.progress(`warm-call ${s.function} on ${engineName}`);
        const engineUs: number[] = [];
        const limits: CallLimits = (ctx.options.instance ?? DEFAULT_INSTANCE_MODE) === 'reuse' ? { ...DEFAULT_LIMITS, reusePool: s.function } : DEFAULT_LIMITS;
        const t = await timeLoop(loop, async () => void engineUs.push((await engine.call(unit.digest, input, limits)).durationUs), () => (engineUs.length = 0));
        const reuse = (ctx.options.instance ?? DEFAULT_INSTANCE_MODE) === 'reuse' && engineName === 'wasmtime';
        ctx.addSamples({ ...base, scenario: 'warm-call', ...(reuse ? { variant: 'instance=reuse' } : {}), ...errors(t), ...engineFigures(engineUs), note: reuse ? NOTES.warmCallReuse : NOTES.warmCall[engineName] }, t.samples);
      }

      if (ctx.selected('instantiate', s.language, engineName)) {
        ctx.progress(`instantiate ${s.function} on ${engineName}`);
        if (engineName === 'wasmtime') {
          const engineUs: number[] = [];
          const t = await timeLoop(loop, async () => void engineUs.push((await engine.call(unit.digest, input, DEFAULT_LIMITS)).durationUs), () => (engineUs.length = 0));
          ctx.addSamples({ ...base, scenario: 'instantiate', ...errors(t), ...engineFigures(engineUs), note: NOTES.instantiate.wasmtime }, t.samples);
          if (!s.envelope) await instantiateInline(ctx, s, loop);
        } else {
          const t = await timeLoop({ n: ctx.sizes.jcoInstantiate, warmup: 0, budgetS: ctx.sizes.budgetS * 2 }, async () => {
            engine.unload(unit.digest);
            await sleep(JCO_SETTLE_MS);
            const start = process.hrtime.bigint();
            await engine.call(unit.digest, input, DEFAULT_LIMITS);
            return usSince(start);
          });
          ctx.addSamples({ ...base, scenario: 'instantiate', ...errors(t), note: NOTES.instantiate.jco }, t.samples);
        }
      }

      if (ctx.selected('quota', s.language, engineName)) await quota(ctx, engine, s, unit, input, loop);
    }
  } finally {
    await engine.close();
  }
}

/** `quota`: the same call under a tight quota and under the ceilings, interleaved so both see the same noise. */
async function quota(ctx: BenchContext, engine: Engine, s: Subject, unit: LoadUnit, input: Uint8Array, loop: LoopSizes): Promise<void> {
  ctx.progress(`quota ${s.function} on ${engine.name}`);
  const probe = await engine.call(unit.digest, input, MAX_LIMITS);
  const peak = probe.peakMemoryBytes ?? 64 * MiB;
  const tight: CallLimits = { timeoutMs: TIGHT_TIMEOUT_MS, memoryBytes: (Math.ceil(peak / MiB) + 1) * MiB };
  const series = new Map<CallLimits, { samples: number[]; errors: number; lastError?: string }>([
    [tight, { samples: [], errors: 0 }],
    [MAX_LIMITS, { samples: [], errors: 0 }],
  ]);
  let turn = 0;
  // Both series are collected here; timeLoop only paces the loop (and never sees a failure).
  await timeLoop(
    { ...loop, n: ctx.sizes.quotaCalls * 2 },
    async () => {
      const limits = turn++ % 2 === 0 ? tight : MAX_LIMITS;
      const into = series.get(limits)!;
      const start = process.hrtime.bigint();
      try {
        await engine.call(unit.digest, input, limits);
        into.samples.push(usSince(start));
      } catch (err) {
        into.errors++;
        into.lastError = (err as Error).message;
      }
    },
    () => series.forEach((x) => Object.assign(x, { samples: [], errors: 0, lastError: undefined })),
  );
  const base = { scenario: 'quota', language: s.language, engine: engine.name, function: s.function, unit: 'µs' as const, note: NOTES.quota[engine.name] };
  const t = series.get(tight)!;
  const m = series.get(MAX_LIMITS)!;
  const row = ctx.addSamples({ ...base, variant: 'tight', timeout_ms: tight.timeoutMs, memory_mb: tight.memoryBytes / MiB, ...errors(t) }, t.samples);
  const max = ctx.addSamples({ ...base, variant: 'max', timeout_ms: MAX_LIMITS.timeoutMs, memory_mb: MAX_LIMITS.memoryBytes / MiB, ...errors(m) }, m.samples);
  if (row && max) row.overhead_vs_max = round(row.p50 / max.p50);
}

/** wasmtime with inlineBudgetMs: 1 given explicitly, on its own engine instance (the default since issue 9; kept so older runs compare). */
async function instantiateInline(ctx: BenchContext, s: Subject, loop: LoopSizes): Promise<void> {
  const { WasmtimeEngine } = await import('../../host/src/engine/wasmtime/index.js');
  const engine = new WasmtimeEngine({ cacheDir: ctx.options.cacheDir, maxMemoryBytes: MAX_MEMORY_BYTES, inlineBudgetMs: 1 });
  try {
    const unit = unitOf(s);
    await engine.load(unit);
    const input = input100(s);
    const engineUs: number[] = [];
    const t = await timeLoop(loop, async () => void engineUs.push((await engine.call(unit.digest, input, DEFAULT_LIMITS)).durationUs), () => (engineUs.length = 0));
    ctx.addSamples(
      { scenario: 'instantiate', language: s.language, engine: 'wasmtime', function: s.function, unit: 'µs', variant: 'inline', ...errors(t), ...engineFigures(engineUs), note: NOTES.instantiate.wasmtimeInline },
      t.samples,
    );
  } finally {
    await engine.close();
  }
}

function unitOf(s: Subject): LoadUnit {
  const bytes = readSubject(s);
  return { digest: sha256(bytes), bytes: async () => bytes };
}

/** p50/p99 of the engine's own measure of each call (`durationUs`), next to the round trip. */
function engineFigures(us: number[]): Record<string, number> {
  if (us.length === 0) return {};
  const sorted = [...us].sort((a, b) => a - b);
  return { engine_us_p50: round(percentile(sorted, 50)), engine_us_p99: round(percentile(sorted, 99)) };
}

function errors(t: { errors: number; lastError?: string }): Record<string, unknown> {
  return t.errors > 0 ? { errors: t.errors, last_error: t.lastError } : {};
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
