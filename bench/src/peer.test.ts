import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIST } from '../../host/src/paths.js';
import type { ResultRow, Skip } from './context.js';
import { wafer } from '../../test/helpers/cli.js';
import { checkTargets } from './targets.js';
import { addPeerRatios, cpuPerRequest, defaultCacheRoot, findPeer, peerSubjects, peerSummary, peersVenv, threadCpuNs } from './peer.js';

const scratch = mkdtempSync(join(tmpdir(), 'wafer-peer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The binary `npm run bench:peers` installed on this machine, if it did. */
const installed = findPeer({ env: { PATH: '' }, cacheRoot: defaultCacheRoot(process.env) });
const helloRust = join(SAMPLES_DIST, 'http-hello-rust.wasm');

describe('finding the wasmtime serve peer', () => {
  it('reports it missing, naming `npm run bench:peers`, with no venv and nothing on PATH', () => {
    const found = findPeer({ env: { PATH: '' }, cacheRoot: join(scratch, 'empty-cache') });
    expect(found.bin).toBeNull();
    expect(found.bin === null && found.reason).toContain('npm run bench:peers');
  });

  it('takes WAFER_WASMTIME_BIN alone when set, and says so when it does not run', () => {
    const found = findPeer({ env: { PATH: '', WAFER_WASMTIME_BIN: join(scratch, 'no-such-wasmtime') }, cacheRoot: defaultCacheRoot(process.env) });
    expect(found.bin).toBeNull();
    expect(found.bin === null && found.reason).toMatch(/WAFER_WASMTIME_BIN=.*no-such-wasmtime is not a runnable wasmtime binary.*npm run bench:peers/);
  });

  it('passes over a venv binary without its exec bit (what pip leaves before bench:peers chmods it)', () => {
    const cache = join(scratch, 'no-exec-cache');
    const dir = join(peersVenv(cache), 'lib', 'python3.11', 'site-packages', 'wasmtime_cli');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'wasmtime'), '#!/bin/sh\necho "wasmtime 48.0.2"\n');
    chmodSync(join(dir, 'wasmtime'), 0o644);
    expect(findPeer({ env: { PATH: '' }, cacheRoot: cache }).bin).toBeNull();
  });

  it.skipIf(installed.bin === null)('finds the binary in the cached venv, whatever Python minor made it', () => {
    const cache = join(scratch, 'venv-cache');
    const dir = join(peersVenv(cache), 'lib', 'python3.99', 'site-packages', 'wasmtime_cli');
    mkdirSync(dir, { recursive: true });
    symlinkSync(installed.bin!, join(dir, 'wasmtime'));
    const found = findPeer({ env: { PATH: '' }, cacheRoot: cache });
    expect(found).toMatchObject({ bin: join(dir, 'wasmtime'), from: 'bench:peers' });
    expect(found.bin !== null && found.version).toMatch(/^wasmtime 48\./);
  });
});

describe('peerSubjects', () => {
  it('picks every http-*.wasm of the languages asked for, and nothing else', () => {
    const dist = join(scratch, 'dist');
    mkdirSync(dist, { recursive: true });
    for (const f of ['http-hello-rust.wasm', 'http-echo-rust.wasm', 'http-echo-ts.wasm', 'hello-rust.wasm', 'http-hello-rust.wasm.sha256']) writeFileSync(join(dist, f), '');
    expect(peerSubjects(['rust'], dist).map((s) => [s.function, s.language])).toEqual([
      ['http-echo-rust', 'rust'],
      ['http-hello-rust', 'rust'],
    ]);
    expect(peerSubjects(['ts', 'rust'], dist)).toHaveLength(3);
  });
});

describe('CPU per request', () => {
  it('divides the CPU time the threads used by the requests, and names the busiest thread', () => {
    const before = new Map([['1', 1_000_000], ['2', 0]]);
    const after = new Map([['1', 301_000_000], ['2', 100_000_000], ['3', 50_000_000]]);
    expect(cpuPerRequest(before, after, 1000)).toEqual({ cpu_us_per_request: 450, busiest_thread_us_per_request: 300 });
    expect(cpuPerRequest(before, new Map(), 1000)).toBeUndefined();
    expect(cpuPerRequest(before, after, 0)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('reads every thread of a process, the main one under its pid', () => {
    const threads = threadCpuNs(process.pid);
    expect(threads.get(String(process.pid))).toBeGreaterThan(0);
    expect(threadCpuNs(2 ** 22 + 1).size).toBe(0);
  });
});

describe('addPeerRatios', () => {
  it('divides wafer by wasmtime serve in the same instance mode, and both by Koa', () => {
    const row = (engine: string, variant: string, p50: number, p99: number, extra: Partial<ResultRow> = {}): ResultRow => ({
      scenario: 'peer',
      language: engine === 'koa' ? 'js' : 'rust',
      engine,
      function: engine === 'koa' ? 'koa-echo' : 'http-hello-rust',
      variant,
      p50,
      p99,
      unit: 'µs',
      n: 100,
      ...extra,
    });
    const rows = [
      row('koa', 'warm-http', 200, 400),
      row('wasmtime-serve', 'warm-http fresh', 300, 600),
      row('wasmtime', 'warm-http fresh', 450, 600),
      row('wasmtime-serve', 'warm-http reuse', 100, 200),
      row('koa', 'throughput', 1, 2, { connections: 16, rps: 8000 }),
      row('wasmtime-serve', 'throughput fresh', 1, 2, { connections: 16, rps: 4000 }),
      row('wasmtime', 'throughput fresh', 1, 2, { connections: 16, rps: 2000 }),
    ];
    addPeerRatios(rows);
    expect(rows[2]).toMatchObject({ ratio_to_peer: 1.5, ratio_p99_to_peer: 1, ratio_to_baseline: 2.25 });
    expect(rows[1]).toMatchObject({ ratio_to_baseline: 1.5 });
    expect(rows[1]!.ratio_to_peer).toBeUndefined();
    expect(rows[6]).toMatchObject({ ratio_to_peer: 0.5, ratio_to_baseline: 0.25 });
    expect(checkTargets(rows).map((t) => [t.target.slice(0, 2), t.measured, t.met])).toEqual([['8.', "p50 450 µs, 1.5 × wasmtime serve's", false]]);
    expect(peerSummary(rows)).toEqual([
      "http-hello-rust warm-http fresh: p50 1.5 × wasmtime serve's, p99 1 ×",
      "http-hello-rust throughput fresh 16c: 0.5 × wasmtime serve's req/s",
    ]);
  });
});

// `wafer bench` as a user runs it (bin/wafer.js runs dist/: the bench's servers are forked from there).
describe('wafer bench --filter peer', () => {
  const args = ['bench', '--quick', '--engine', 'wasmtime', '--connections', '1', '--duration', '1', '--no-write', '--cache-dir', join(scratch, 'compiled')];

  it.skipIf(!existsSync(helloRust))('skips the peer with a note naming `npm run bench:peers` when the binary is not found', async () => {
    const run = await wafer([...args, '--filter', '^peer/', '--json'], { WAFER_WASMTIME_BIN: join(scratch, 'no-such-wasmtime') });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { environment: { wasmtime_cli: string | null; skipped: Skip[] }; results: ResultRow[] };
    expect(report.results.filter((r) => r.scenario === 'peer')).toEqual([]);
    expect(report.environment.wasmtime_cli).toBeNull();
    expect(report.environment.skipped).toContainEqual(expect.objectContaining({ scenario: 'peer', engine: 'wasmtime-serve', reason: expect.stringContaining('npm run bench:peers') }));
  });

  it.skipIf(installed.bin === null || !existsSync(helloRust))('prints wasmtime serve rows beside wafer and Koa, and the ratios, when the binary is installed', async () => {
    const run = await wafer([...args, '--filter', '^peer/(rust|js)/'], { WAFER_WASMTIME_BIN: installed.bin! });
    expect(run.code, run.stderr).toBe(0);
    const line = (fn: string, engine: string, variant: string) => new RegExp(`^peer +${fn} +${engine} +${variant} +\\d`, 'm');
    expect(run.stdout).toMatch(line('koa-echo', 'koa', 'warm-http'));
    expect(run.stdout).toMatch(line('koa-echo', 'koa', 'throughput 1c'));
    for (const engine of ['wasmtime-serve', 'wasmtime']) {
      for (const mode of ['fresh', 'reuse']) {
        expect(run.stdout).toMatch(line('http-hello-rust', engine, `warm-http ${mode}`));
        expect(run.stdout).toMatch(line('http-hello-rust', engine, `throughput ${mode} 1c`));
      }
    }
    // One line per wasi:http sample and mode under the heading, in the samples' order.
    expect(run.stdout).toMatch(/wafer ÷ wasmtime serve \(parity is 1\):\n( {2}.*\n)*? {2}http-hello-rust warm-http fresh: p50 [\d.]+ × wasmtime serve's/);
    expect(run.stdout).toMatch(/http-hello-rust throughput reuse 1c: [\d.]+ × wasmtime serve's req\/s/);
  });
});
