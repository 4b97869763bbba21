/**
 * @module engine/jco/bench
 * A micro-benchmark of the jco engine alone, in process, on the tiny fixtures: warm call latency
 * of a 100-byte echo (p50/p99 of `engine.call`, worker round trip included), the first call of a
 * fresh function (worker start + instantiation), and how long a function takes to answer again
 * after a timeout killed its worker. `wafer bench` measures the whole host; this isolates the
 * engine. Run after `npm run build`: `node dist/host/src/engine/jco/bench.js [calls] [--no-spare]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixtureUnit } from './fixtures.testkit.js';
import { JcoEngine } from './index.js';

const MiB = 1024 * 1024;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const calls = Number(args.find((a) => /^\d+$/.test(a)) ?? 5000);
  const spareWorker = !args.includes('--no-spare');
  const cacheDir = await mkdtemp(join(tmpdir(), 'wafer-jco-bench-'));
  const engine = new JcoEngine({ cacheDir, maxMemoryBytes: 256 * MiB, spareWorker });
  const limits = { timeoutMs: 1000, memoryBytes: 16 * MiB };
  try {
    const echo = await fixtureUnit('echo');
    const loop = await fixtureUnit('loop');
    await engine.prepare(echo);
    await engine.prepare(loop);
    const input = new Uint8Array(100).fill(0x61);

    let t = performance.now();
    await engine.call(echo.digest, input, limits);
    const firstCallMs = performance.now() - t;

    for (let i = 0; i < 500; i++) await engine.call(echo.digest, input, limits); // warm up V8
    const rtt: number[] = [];
    const guest: number[] = [];
    for (let i = 0; i < calls; i++) {
      t = performance.now();
      const report = await engine.call(echo.digest, input, limits);
      rtt.push((performance.now() - t) * 1000);
      guest.push(report.durationUs);
    }
    rtt.sort((a, b) => a - b);
    guest.sort((a, b) => a - b);

    const recovery: number[] = [];
    const others: number[] = [];
    const spin = new TextEncoder().encode('L'); // the loop fixture spins on a request starting with L
    for (let i = 0; i < 10; i++) {
      await engine.call(loop.digest, input, limits); // warm
      await new Promise((resolve) => setTimeout(resolve, 500)); // timeouts are rare: let the spare worker boot
      await engine.call(loop.digest, spin, { ...limits, timeoutMs: 50 }).catch(() => undefined);
      t = performance.now();
      await engine.call(echo.digest, input, limits); // another function never waits on the dead worker
      others.push(performance.now() - t);
      t = performance.now();
      await engine.call(loop.digest, input, limits); // needs a new worker and instance
      recovery.push(performance.now() - t);
    }
    others.sort((a, b) => a - b);
    recovery.sort((a, b) => a - b);

    const result = {
      calls,
      spareWorker,
      warmCallUs: { p50: percentile(rtt, 50), p99: percentile(rtt, 99), max: rtt.at(-1) },
      guestUs: { p50: percentile(guest, 50), p99: percentile(guest, 99) },
      firstCallMs,
      recoveryAfterTimeoutMs: { median: percentile(recovery, 50), max: recovery.at(-1) },
      otherFunctionAfterTimeoutMs: { median: percentile(others, 50), max: others.at(-1) },
      stats: engine.stats(),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await engine.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

await main();
