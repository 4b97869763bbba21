/**
 * Fairness (issue 8 #3, issue 9's target): a few slow calls of one function must not stall every
 * other function, nor the host itself. While 16 long calls of one function run, another
 * function's short call answers within 250 ms and `/healthz` within 100 ms.
 *
 * wasmtime: calls are async on the addon's executor; a running call yields every epoch tick, a
 * short call starts (and usually ends) on the JS thread, and a call that has run long moves to
 * lower-priority threads (host/native/src/executor.rs). Before the executor the short call waited
 * for a libuv pool thread until the long calls reached their quota (measured: 8.6-13.9 s).
 * jco: every instance has its own worker thread, which the OS scheduler shares with the event
 * loop at equal priority; nothing yields or prefers the short call. On this 2-core machine at a
 * load average of 9-11 it met the bound in 4 runs of 5 (short call 3-192 ms) and missed it in one
 * (326 ms), so on jco the case runs only with WAFER_TEST_FAIRNESS=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestHost, type TestHost } from '../helpers/host.js';
import { build, deployHealthy, guest } from './kit.js';

/** DESIGN.md's performance table: a short call while 16 long calls of another function run. */
const SHORT_CALL_BOUND_MS = 250;
/** Issue 9's target for `/healthz` under the same load. */
const HEALTHZ_BOUND_MS = 100;
const LONG_CALLS = 16;
const LONG_CALL_MS = 3_000;
/** jco has no executor to prefer short calls (see above): opt in to see where it stands. */
const JCO_FAIRNESS = process.env.WAFER_TEST_FAIRNESS === '1';

describe.each(ENGINES)('fairness on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    // Room for all 16 long calls at once, so none of them is refused or queued by the limiter.
    host = await startTestHost(engine, { maxConcurrency: LONG_CALLS, maxQueue: LONG_CALLS });
    await deployHealthy(host);
    // Loops when the request is over 4,000 bytes, answers at once otherwise (so its instances can be warmed).
    const spin = guest(`(if (i32.gt_u (local.get $len) (i32.const 4000)) (then (loop $l (br $l))))
      (call $ok (i32.const 64) (i32.const 7))`, { fields: '(data (i32.const 64) "\\08\\c8\\01\\1a\\02ok")' });
    await host.deploy('spin', await build(spin), `?timeout_ms=${LONG_CALL_MS}`);
    // Warm both functions, and on jco start one instance per long call before the clock runs.
    const warm = await Promise.all(Array.from({ length: LONG_CALLS }, () => host.call('spin', '', { method: 'POST', body: 'warm' }).then((r) => r.text())));
    expect(warm).toEqual(Array(LONG_CALLS).fill('ok'));
    await host.call('ok').then((r) => r.arrayBuffer());
  });
  afterAll(() => host?.destroy());

  it.skipIf(engine === 'jco' && !JCO_FAIRNESS)(`answers a short call within ${SHORT_CALL_BOUND_MS} ms and /healthz within ${HEALTHZ_BOUND_MS} ms while ${LONG_CALLS} long calls of another function run`, async () => {
    const long = Array.from({ length: LONG_CALLS }, () => host.call('spin', '', { method: 'POST', body: 'L'.repeat(5_000) }).then((r) => r.status));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the long calls are running now
    const latencies: number[] = [];
    const healthz: number[] = [];
    for (let i = 0; i < 5; i++) {
      let started = performance.now();
      const res = await host.call('ok');
      expect(await res.text()).toBe('ok');
      latencies.push(Math.round(performance.now() - started));
      started = performance.now();
      const health = await fetch(`${host.url}/healthz`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
      healthz.push(Math.round(performance.now() - started));
    }
    const statuses = await Promise.all(long);
    console.log(`fairness on ${engine}: short-call latencies ${latencies.join(', ')} ms, /healthz ${healthz.join(', ')} ms while ${LONG_CALLS} long calls ran`);
    expect(statuses).toEqual(Array(LONG_CALLS).fill(504));
    expect(Math.max(...latencies)).toBeLessThanOrEqual(SHORT_CALL_BOUND_MS);
    expect(Math.max(...healthz)).toBeLessThanOrEqual(HEALTHZ_BOUND_MS);
  });
});
