/**
 * @module server/routes/bench
 * GET /v1/bench/latest, behind the token: the newest `wafer bench` run's summary.json under the
 * bench results folder (`bench/results/<UTC date>/`, see bench/README.md), for the dashboard.
 * Run folders are named by their UTC start time, so the newest is the greatest name; a folder
 * without a summary (a run still writing, or one written with `--no-write`) is passed over.
 * Reads are bounded: the folders looked at, and the summary's size.
 */
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { NotFoundError, WaferError } from '../../errors.js';

/** The largest summary.json answered; a full run's is about 60 KiB. */
export const MAX_BENCH_SUMMARY_BYTES = 2 * 1024 * 1024;
/** How many of the newest run folders are looked at for a summary. */
const MAX_RUNS_TRIED = 32;
/** bench's run folder names: `2026-11-23T15-04-24Z`. */
const RUN_NAME = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

/** The newest run's summary, or null when there is none. */
export async function latestBenchSummary(dir: string): Promise<{ run: string; summary: unknown } | null> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const runs = entries
    .filter((e) => e.isDirectory() && RUN_NAME.test(e.name))
    .map((e) => e.name)
    .sort()
    .reverse()
    .slice(0, MAX_RUNS_TRIED);
  for (const run of runs) {
    const text = await readBounded(join(dir, run, 'summary.json'), run);
    if (text === null) continue;
    try {
      return { run, summary: JSON.parse(text) };
    } catch {
      throw new WaferError('internal', 500, `bench run ${run}: summary.json is not valid JSON`);
    }
  }
  return null;
}

/** A regular file's text, at most MAX_BENCH_SUMMARY_BYTES; null when it does not exist. */
async function readBounded(path: string, run: string): Promise<string | null> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return null;
    throw err;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return null;
    if (stat.size > MAX_BENCH_SUMMARY_BYTES) {
      throw new WaferError('internal', 500, `bench run ${run}: summary.json is ${stat.size} bytes, over the ${MAX_BENCH_SUMMARY_BYTES} this route answers`);
    }
    // Sized by the stat: a file still growing is read only that far, never past the bound.
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await file.close();
  }
}

/** The bench router: `GET /v1/bench/latest` answers `{run, summary}` or 404 `not_found`. */
export function benchRoutes(resultsDir: string, guard: Middleware): Router {
  const router = new Router({ prefix: '/v1/bench' });
  router.get('/latest', guard, async (ctx) => {
    const latest = await latestBenchSummary(resultsDir);
    if (!latest) throw new NotFoundError('no wafer bench results yet: run `wafer bench` (it writes bench/results/<date>/summary.json)');
    ctx.body = latest;
  });
  return router;
}
