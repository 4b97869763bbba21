/**
 * `instance=fresh|reuse`, the per-function deploy setting of how calls get their instance,
 * observed over real HTTP with a guest that counts its calls in a global (counter.wat): a
 * reused instance answers 1, 2, 3, …; a fresh one answers 1 every time.
 *
 * wasmtime honours the setting. jco keeps a warm instance per worker in either mode (see
 * host/src/engine/jco/README.md), so there only the rules that hold for both are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { WasmtimeEngine } from '../../host/src/engine/wasmtime/index.js';
import { ENGINES, errorOf, fixture, SHARED_CACHE, startTestHost, type TestHost } from '../helpers/host.js';
import { build, guest } from '../hostile/kit.js';

/** counter.wat, plus: a request over 3000 bytes spins until its time quota. */
const COUNTER_THAT_SPINS = guest(
  `(if (i32.gt_u (local.get $len) (i32.const 3000)) (then (loop $spin (br $spin))))
      (if (i32.gt_u (local.get $len) (i32.const 1000)) (then (unreachable)))
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.store8 (i32.const 69) (global.get $calls))
      (call $ok (i32.const 64) (i32.const 6))`,
  { fields: '(global $calls (mut i32) (i32.const 0))\n    (data (i32.const 64) "\\08\\c8\\01\\1a\\01\\00")' },
);

describe.each(ENGINES)('instance reuse on %s', (engine) => {
  let host: TestHost;
  const count = async (name: string) => new Uint8Array(await (await host.call(name)).arrayBuffer())[0]!;
  const counts = async (name: string, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await count(name));
    return out;
  };

  beforeAll(async () => {
    host = await startTestHost(engine);
    const counter = await fixture('counter');
    await host.deploy('reused', counter, '?instance=reuse');
    await host.deploy('twin', counter, '?instance=reuse');
    await host.deploy('fresh', counter, '?instance=fresh');
    await host.deploy('default', counter);
    await host.deploy('spinner', await build(COUNTER_THAT_SPINS), '?instance=reuse&timeout_ms=300');
  });
  afterAll(() => host?.destroy());

  it('shows the setting in the function JSON, fresh by default', async () => {
    const get = async (name: string) => (await (await host.api('GET', `/v1/functions/${name}`)).json()) as { limits: { instance: string } };
    expect((await get('reused')).limits.instance).toBe('reuse');
    expect((await get('fresh')).limits.instance).toBe('fresh');
    expect((await get('default')).limits.instance).toBe('fresh');
  });

  it('refuses any other value with 400 invalid_request', async () => {
    for (const value of ['warm', 'REUSE', '']) {
      const res = await host.api('PUT', `/v1/functions/bad?instance=${value}`, await fixture('counter'));
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
  });

  it('keeps a reused instance across calls', async () => {
    const seen = await counts('reused', 3);
    expect(seen[2]! - seen[0]!).toBe(2);
  });

  it('starts a reused instance over after a trap', async () => {
    await counts('reused', 2);
    const trapped = await host.call('reused', '', { method: 'POST', body: 'x'.repeat(2000) });
    expect(trapped.status).toBe(500);
    expect(await count('reused')).toBe(1);
  });

  it('starts a reused instance over after a timeout', async () => {
    const before = await counts('spinner', 3);
    expect(before[2]! - before[0]!).toBe(2);
    const spun = await host.call('spinner', '', { method: 'POST', body: 'x'.repeat(4000) });
    expect(spun.status).toBe(504);
    expect((await errorOf(spun)).code).toBe('timeout');
    expect(await count('spinner')).toBe(1);
  });

  it.runIf(engine === 'wasmtime')('never keeps state with instance=fresh, nor by default', async () => {
    expect(await counts('fresh', 3)).toEqual([1, 1, 1]);
    expect(await counts('default', 3)).toEqual([1, 1, 1]);
  });

  it.runIf(engine === 'wasmtime')('never shares an instance between two functions of the same component', async () => {
    const before = await count('twin');
    await counts('reused', 3);
    expect(await count('twin')).toBe(before + 1);
  });

  it('answers calls in flight together on a reused function (each on an instance of its own)', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => host.call('twin')));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
  });
});

describe('warm instances on a full wasmtime instance pool', () => {
  const MiB = 1024 * 1024;
  let engine: WasmtimeEngine;
  beforeAll(() => {
    engine = new WasmtimeEngine({ cacheDir: SHARED_CACHE, maxMemoryBytes: 64 * MiB, poolComponentInstances: 2, poolMemories: 8 });
  });
  afterAll(() => engine?.close());

  it('never cost another call its place: idle instances are dropped before a call is refused overloaded', async () => {
    const bytes = await fixture('counter');
    const digest = createHash('sha256').update(bytes).digest('hex');
    await engine.load({ digest, bytes: async () => bytes });
    const limits = { timeoutMs: 1000, memoryBytes: 16 * MiB };
    // Two pools, one idle instance each: both slots of the pool are held by idle instances.
    await engine.call(digest, new Uint8Array(0), { ...limits, reusePool: 'a' });
    await engine.call(digest, new Uint8Array(0), { ...limits, reusePool: 'b' });
    const fresh = await engine.call(digest, new Uint8Array(0), limits);
    expect(fresh.output[5]).toBe(1);
  });
});
