/**
 * The short soak: `scripts/soak.mjs` (what `npm run soak` runs with a million calls) against a
 * real `wafer serve` child process, with ~10 % traps, errors and timeouts mixed in. No crash,
 * every answer the one its function must give, and RSS growth after warm-up bounded
 * generously (the full run's figure is in docs/SECURITY.md). Needs `dist/` (`npx tsc`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { ENGINES } from '../helpers/host.js';

/** jco starts a worker after every timeout, so it runs ~10x fewer calls per second. */
const CALLS = { wasmtime: 20_000, jco: 3_000 } as const;

/** The answers the soak's functions may give (scripts/soak.mjs's MIX). */
const LEGAL = ['200', '500 trap', '500 function_error', '504 timeout'];

describe.each(ENGINES)('soak on %s', (engine) => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it(`answers ${CALLS[engine].toLocaleString('en')} mixed calls with no crash, only legal answers and bounded RSS`, async () => {
    expect(existsSync(join(ROOT, 'dist', 'host', 'src', 'cli', 'main.js')), 'run `npx tsc` first').toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'wafer-soak-test-'));
    dirs.push(dir);
    const out = join(dir, 'soak.json');
    const script = join(ROOT, 'scripts', 'soak.mjs');
    await promisify(execFile)(process.execPath, [script, '--calls', String(CALLS[engine]), '--engine', engine, '--out', out, '--sample-ms', '500'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`soak failed:\n${err.stdout}\n${err.stderr}`);
    });
    const report = JSON.parse(await readFile(out, 'utf8')) as {
      calls: number;
      restarts: number;
      unexpectedCount: number;
      answers: Record<string, number>;
      rss: { afterWarmupMiB: number; endMiB: number };
    };
    expect(report.calls).toBe(CALLS[engine]);
    expect(report.restarts).toBe(0);
    expect(report.unexpectedCount).toBe(0);
    expect(Object.keys(report.answers).filter((a) => !LEGAL.includes(a))).toEqual([]);
    // Roughly a tenth of the calls trap, fail or time out.
    const failures = CALLS[engine] - (report.answers['200'] ?? 0);
    expect(failures / CALLS[engine]).toBeCloseTo(0.1, 1);
    // Generous: a leak of a few KiB per call would still show over a short run.
    expect(report.rss.endMiB).toBeLessThanOrEqual(report.rss.afterWarmupMiB * 1.5);
  }, 600_000);
});
