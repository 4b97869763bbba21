/**
 * @module bench/http
 * `warm-http` (latency on one keep-alive connection, each request timed with hrtime) and
 * `throughput` (autocannon at 1, 16 and 64 connections), against a host process and, with the
 * same client code, against the bare Koa baseline (`koa-baseline`). Every request is the same
 * `POST /fn/<name>` with a 100-byte body.
 */
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { loadTest, send, timeKeepAlive } from './http-client.js';
import type { LoopSizes } from './measure.js';
import { startKoaProcess, type ServerProcess } from './servers.js';
import { msSince } from './stats.js';
import { HTTP_BODY, HTTP_HEADERS, type Subject } from './subjects.js';

const REQUEST = { method: 'POST', body: HTTP_BODY, headers: { ...HTTP_HEADERS } };

const NOTES = {
  warmHttp: 'POST with a 100-byte body on one keep-alive connection (node:http Agent), each request timed with hrtime at the client, client in another process',
  throughput: 'autocannon, POST with a 100-byte body; latency percentiles are autocannon’s whole milliseconds',
  koa: 'bare Koa answering what hello-<lang> answers, in JavaScript, in its own process; same client code as the host rows',
  koaRestart: 'the floor under restart: a fresh bare-Koa process, from "listening" to its first response (new connection), timed like restart; what any Node server pays on its first request',
};

/** True when any of `scenarios` is selected for a subject on one of `engines` (the baseline is then needed). */
export function anySelected(ctx: BenchContext, scenarios: readonly string[], engines: readonly EngineName[], subjects: readonly Subject[]): boolean {
  return engines.some((e) => subjects.some((s) => scenarios.some((sc) => ctx.selected(sc, s.language, e))));
}

/** The Koa baseline: warm-http and throughput, measured like the host; with `restart`, its first response after a start. */
export async function runKoaBaseline(ctx: BenchContext, parts: { http: boolean; restart: boolean }): Promise<void> {
  const base = { scenario: 'koa-baseline', language: 'js', engine: 'koa', function: 'koa-echo' };
  if (parts.http) {
    ctx.progress('koa-baseline: starting the bare Koa server');
    const koa = await startKoaProcess();
    try {
      await measure(ctx, koa.url + '/fn/hello', { ...base, note: NOTES.koa }, true);
    } finally {
      await koa.stop();
    }
  }
  if (parts.restart) {
    ctx.progress(`koa-baseline: ${ctx.sizes.restarts} starts, first response each`);
    const samples: number[] = [];
    for (let i = 0; i < ctx.sizes.restarts; i++) {
      const koa = await startKoaProcess();
      try {
        const reply = await send(`${koa.url}/fn/hello`, REQUEST.method, REQUEST.body, REQUEST.headers, false);
        if (reply.status !== 200) throw new Error(`the Koa baseline answered ${reply.status}`);
        samples.push(msSince(koa.listeningAt));
      } finally {
        await koa.stop();
      }
    }
    ctx.addSamples({ ...base, variant: 'restart', unit: 'ms', note: NOTES.koaRestart }, samples);
  }
}

/** warm-http and throughput for each subject deployed on `host`. */
export async function runHttp(ctx: BenchContext, engine: EngineName, host: ServerProcess, subjects: readonly Subject[]): Promise<void> {
  for (const s of subjects) {
    const warm = ctx.selected('warm-http', s.language, engine);
    const load = ctx.selected('throughput', s.language, engine);
    if (!warm && !load) continue;
    const url = `${host.url}/fn/${s.deployName}`;
    const base = { language: s.language, engine, function: s.function };
    if (warm) await measure(ctx, url, { scenario: 'warm-http', ...base, note: NOTES.warmHttp }, false);
    if (load) {
      if (!warm) await timeKeepAlive(url, REQUEST, { n: 0, warmup: ctx.sizes.httpWarmup, budgetS: ctx.sizes.budgetS });
      await throughput(ctx, url, { scenario: 'throughput', ...base, note: NOTES.throughput });
    }
  }
}

interface RowBase {
  scenario: string;
  language: string;
  engine: string;
  function: string;
  note: string;
}

async function measure(ctx: BenchContext, url: string, base: RowBase, baseline: boolean): Promise<void> {
  const loop: LoopSizes = { n: ctx.sizes.httpRequests, warmup: ctx.sizes.httpWarmup, budgetS: ctx.sizes.budgetS };
  ctx.progress(`warm-http ${base.function} on ${base.engine}: up to ${loop.n} requests`);
  const t = await timeKeepAlive(url, REQUEST, loop);
  ctx.addSamples(
    { ...base, ...(baseline ? { variant: 'warm-http' } : {}), unit: 'µs', ...(t.errors > 0 ? { errors: t.errors, last_error: t.lastError } : {}) },
    t.samples,
  );
  if (baseline) await throughput(ctx, url, { ...base, note: `${base.note}; ${NOTES.throughput}` }, 'throughput');
}

async function throughput(ctx: BenchContext, url: string, base: RowBase, variant?: string): Promise<void> {
  for (const connections of ctx.sizes.connections) {
    ctx.progress(`throughput ${base.function} on ${base.engine}: ${connections} connection${connections === 1 ? '' : 's'}, ${ctx.sizes.durationS} s`);
    const r = await loadTest(url, REQUEST, connections, ctx.sizes.durationS);
    const errors = r.errors + r.non2xx;
    ctx.addRow({
      ...base,
      ...(variant ? { variant } : {}),
      connections,
      p50: r.p50,
      p90: r.p90,
      p99: r.p99,
      max: r.max,
      unit: 'ms',
      n: r.requests,
      rps: r.rps,
      duration_s: ctx.sizes.durationS,
      ...(errors > 0 ? { errors } : {}),
    });
  }
}
