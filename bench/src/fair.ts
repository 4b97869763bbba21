/**
 * @module bench/fair
 * `fair`: does one function's load starve the others? A host runs 16 looping calls of one
 * function at all times (`loop.wasm`, which spins until its time quota ends it; each answer,
 * a 504, is followed at once by another call), and meanwhile the bench times, one after the
 * other, calls of another function (`hello-rust`, else `respond.wasm`) and `GET /healthz`.
 * The targets (issue 9): the other function's call ≤ 250 ms, `/healthz` ≤ 100 ms. They are
 * reported (targets.ts), never asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { deploy, send } from './http-client.js';
import { startHostProcess } from './servers.js';
import { usSince } from './stats.js';
import { FIXTURES_DIST, HTTP_BODY, HTTP_HEADERS, httpSubjects, readSubject, type Subject } from './subjects.js';

/** Calls of the looping function kept in flight. */
export const FAIR_LOOPING = 16;
/** What the issue asks of the other function's call and of /healthz, in ms. */
export const FAIR_CALL_TARGET_MS = 250;
export const FAIR_HEALTHZ_TARGET_MS = 100;

const NOTE = (loopMs: number) =>
  `${FAIR_LOOPING} calls of loop.wasm (timeout_ms=${loopMs}, each ends in a 504 and is sent again at once) in flight on new connections; meanwhile one keep-alive client times, alternately, a POST of 100 bytes to the other function and a GET /healthz, to the last byte`;

/** The other function: hello-rust when built, else the respond fixture. */
function victimOf(): Subject | undefined {
  const subjects = httpSubjects(['rust']);
  return subjects.find((s) => s.language === 'rust') ?? subjects.find((s) => s.language === 'wat');
}

export async function runFair(ctx: BenchContext, engine: EngineName): Promise<void> {
  const victim = victimOf();
  if (!victim || !ctx.selected('fair', victim.language, engine)) return;
  const loopPath = join(FIXTURES_DIST, 'loop.wasm');
  if (!existsSync(loopPath)) {
    ctx.skip({ scenario: 'fair', language: victim.language, engine, reason: 'test/fixtures/dist/loop.wasm is not built (run scripts/setup.sh)' });
    return;
  }
  const quick = ctx.options.quick;
  const loopMs = quick ? 1_000 : 5_000;
  const n = quick ? 10 : 60;
  // A starved host answers a call per loop timeout: stop after the budget once a few samples are in.
  const budgetMs = quick ? 3_000 : 30_000;
  const minSamples = 3;

  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-fair-'));
  const host = await startHostProcess({ engine, dataDir: join(dir, 'data'), cacheDir: ctx.options.cacheDir });
  let stop = false;
  const looping: Promise<void>[] = [];
  const loopAnswers: Record<string, number> = {};
  try {
    await deploy(host.url, 'spin', readFileSync(loopPath), `?timeout_ms=${loopMs}`);
    await deploy(host.url, victim.deployName, readSubject(victim));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const callUrl = `${host.url}/fn/${victim.deployName}`;
    const healthUrl = `${host.url}/healthz`;
    const call = () => send(callUrl, 'POST', HTTP_BODY, { ...HTTP_HEADERS }, agent);
    const health = () => send(healthUrl, 'GET', undefined, {}, agent);
    // Warm both paths (and the engine's copy of the other function) before the load starts.
    for (let i = 0; i < 20; i++) {
      await call();
      await health();
    }

    ctx.progress(`fair on ${engine}: ${FAIR_LOOPING} looping calls of loop.wasm (${loopMs} ms each), timing ${victim.function} and /healthz`);
    for (let i = 0; i < FAIR_LOOPING; i++) {
      looping.push(
        (async () => {
          while (!stop) {
            const reply = await send(`${host.url}/fn/spin`, 'POST', HTTP_BODY, { ...HTTP_HEADERS }, false).catch(() => undefined);
            const key = String(reply?.status ?? 'error');
            loopAnswers[key] = (loopAnswers[key] ?? 0) + 1;
          }
        })(),
      );
    }
    // Let every looping call reach the host (and the ones that fit, an instance) first.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const calls: number[] = [];
    const healths: number[] = [];
    let errors = 0;
    let lastError: string | undefined;
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      if (calls.length >= minSamples && healths.length >= minSamples && Date.now() - started > budgetMs) break;
      for (const [samples, action] of [
        [calls, call],
        [healths, health],
      ] as const) {
        const t = process.hrtime.bigint();
        const reply = await action().catch((err: Error) => ({ status: 0, body: Buffer.from(err.message) }));
        if (reply.status === 200) samples.push(usSince(t) / 1e3);
        else {
          errors++;
          lastError = `${reply.status} ${reply.body.toString('utf8', 0, 200)}`;
        }
      }
    }
    agent.destroy();
    const base = { scenario: 'fair', language: victim.language, engine, unit: 'ms' as const, looping: FAIR_LOOPING, loop_timeout_ms: loopMs, note: NOTE(loopMs) };
    const failed = errors > 0 ? { errors, last_error: lastError } : {};
    ctx.addSamples({ ...base, function: victim.function, variant: 'call', target_ms: FAIR_CALL_TARGET_MS, ...failed }, calls);
    ctx.addSamples({ ...base, function: '/healthz', variant: 'healthz', target_ms: FAIR_HEALTHZ_TARGET_MS, loop_answers: { ...loopAnswers } }, healths);
  } finally {
    stop = true;
    // The looping calls end within their quota; stopping the host cuts any that are left.
    await Promise.race([Promise.all(looping), new Promise((resolve) => setTimeout(resolve, loopMs + 2_000))]);
    await host.stop();
    await Promise.all(looping);
    await rm(dir, { recursive: true, force: true });
  }
}
