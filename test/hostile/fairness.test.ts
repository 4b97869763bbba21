/**
 * Fairness (issue 8 #3): a few slow calls of one function must not stall every other function.
 * DESIGN.md's target: a short call answers within 250 ms while 16 long calls of another
 * function run. Today wasmtime runs calls on libuv's small thread pool, so the short call waits
 * until the long ones reach their time quota (measured: 13.9 s); jco's worker threads share two
 * cores by the OS scheduler (measured: 5-213 ms, at the edge of the bound on a loaded machine).
 * The fix is the executor (issue 9: async calls with epoch yields, admission control); until it
 * lands this test is skipped. Run it with WAFER_TEST_FAIRNESS=1 to see where it stands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestHost, type TestHost } from '../helpers/host.js';
import { build, deployHealthy, guest } from './kit.js';

/** Issue 9 (the executor) makes calls yield; until then the bound below cannot hold. */
const EXECUTOR_LANDED = process.env.WAFER_TEST_FAIRNESS === '1';

/** DESIGN.md's performance table: a short call while 16 long calls of another function run. */
const SHORT_CALL_BOUND_MS = 250;
const LONG_CALLS = 16;
const LONG_CALL_MS = 3_000;

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

  // Skipped until issue 9 (the executor) lands: today the short call waits ~the long calls' quota.
  it.skipIf(!EXECUTOR_LANDED)(`issue 8 #3: answers a short call within ${SHORT_CALL_BOUND_MS} ms while ${LONG_CALLS} long calls of another function run`, async () => {
    const long = Array.from({ length: LONG_CALLS }, () => host.call('spin', '', { method: 'POST', body: 'L'.repeat(5_000) }).then((r) => r.status));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the long calls are running now
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await host.call('ok');
      expect(await res.text()).toBe('ok');
      latencies.push(Math.round(performance.now() - started));
    }
    const statuses = await Promise.all(long);
    console.log(`fairness on ${engine}: short-call latencies ${latencies.join(', ')} ms while ${LONG_CALLS} long calls ran`);
    expect(statuses).toEqual(Array(LONG_CALLS).fill(504));
    expect(Math.max(...latencies)).toBeLessThanOrEqual(SHORT_CALL_BOUND_MS);
  });
});
