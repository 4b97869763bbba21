import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { ComponentError, GuestResultError, GuestTrapError, WaferError } from '../../errors.js';
import { fixture, unitOf, type FixtureName } from './fixtures.testkit.js';
import { WasmtimeEngine, type WasmtimeEngineOptions } from './index.js';

const MiB = 1024 * 1024;

/** The slice of V8's `WebAssembly` global these tests use (the project's `lib` has no DOM types). */
interface V8Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
  RuntimeError: new () => Error;
}
const LIMITS = { timeoutMs: 5_000, memoryBytes: 16 * MiB };

let cacheDir: string;
const engines: WasmtimeEngine[] = [];

function engine(extra: Partial<WasmtimeEngineOptions> = {}): WasmtimeEngine {
  const e = new WasmtimeEngine({ cacheDir: extra.cacheDir ?? cacheDir, maxMemoryBytes: 64 * MiB, poolMemories: 64, poolComponentInstances: 64, ...extra });
  engines.push(e);
  return e;
}

async function loaded(e: WasmtimeEngine, name: FixtureName): Promise<string> {
  const unit = unitOf(await fixture(name));
  await e.load(unit);
  return unit.digest;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'wafer-wasmtime-test-'));
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('WasmtimeEngine calls', () => {
  let e: WasmtimeEngine;
  beforeAll(() => {
    e = engine();
  });

  it('names its wasmtime version', () => {
    expect(e.name).toBe('wasmtime');
    expect(e.version).toMatch(/^wasmtime 48\.\d+\.\d+$/);
  });

  it('echoes 100 bytes, an empty input and 1 MiB', async () => {
    const key = await loaded(e, 'echo');
    for (const size of [100, 0, MiB]) {
      const input = Uint8Array.from({ length: size }, (_, i) => i % 251);
      const r = await e.call(key, input, LIMITS);
      expect(Buffer.from(r.output).equals(Buffer.from(input))).toBe(true);
      expect(r.durationUs).toBeGreaterThan(0);
      expect(r.peakMemoryBytes).toBeGreaterThanOrEqual(64 * 1024);
      expect(r.stdout.byteLength).toBe(0);
    }
  });

  it('gives every call a fresh instance', async () => {
    const key = await loaded(e, 'counter');
    for (let i = 0; i < 3; i++) {
      const r = await e.call(key, new Uint8Array(0), LIMITS);
      expect([...r.output]).toEqual([1]);
    }
    expect(e.stats().instancesCreated).toBeGreaterThanOrEqual(3);
  });

  it('stops an infinite loop with timeout, and the next call still works', async () => {
    const loop = await loaded(e, 'loop');
    const started = performance.now();
    const err = await rejection(e.call(loop, new Uint8Array(0), { ...LIMITS, timeoutMs: 50 }));
    expect(err).toBeInstanceOf(GuestTrapError);
    expect((err as GuestTrapError).reason).toBe('timeout');
    expect((err as GuestTrapError).status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1_000);
    const echo = await loaded(e, 'echo');
    expect((await e.call(echo, Uint8Array.of(7), LIMITS)).output).toEqual(Buffer.of(7));
  });

  it('stops unbounded growth with memory_limit and reports the quota', async () => {
    const key = await loaded(e, 'grow');
    const err = await rejection(e.call(key, new Uint8Array(0), { ...LIMITS, memoryBytes: 4 * MiB }));
    expect(err).toBeInstanceOf(GuestTrapError);
    expect((err as GuestTrapError).reason).toBe('memory_limit');
    expect((err as GuestTrapError).message).toMatch(/quota of 4194304 bytes/);
  });

  it('refuses an initial memory larger than the quota with memory_limit', async () => {
    const key = await loaded(e, 'bigmem');
    const err = await rejection(e.call(key, new Uint8Array(0), { ...LIMITS, memoryBytes: MiB }));
    expect((err as GuestTrapError).reason).toBe('memory_limit');
    // With room for it, the same component runs.
    const r = await e.call(key, Uint8Array.of(1, 2), LIMITS);
    expect(r.peakMemoryBytes).toBe(4 * MiB);
  });

  it('reports a trap', async () => {
    const key = await loaded(e, 'trap');
    const err = await rejection(e.call(key, new Uint8Array(0), LIMITS));
    expect(err).toBeInstanceOf(GuestTrapError);
    expect((err as GuestTrapError).reason).toBe('trap');
    expect((err as GuestTrapError).message).toMatch(/unreachable/);
  });

  it('survives a guest stack overflow as a trap', async () => {
    const key = await loaded(e, 'stack');
    const err = await rejection(e.call(key, new Uint8Array(0), LIMITS));
    expect((err as GuestTrapError).reason).toBe('trap');
    expect((err as GuestTrapError).message).toMatch(/call stack exhausted/);
  });

  it('reports an out-of-bounds memory access as a trap', async () => {
    const key = await loaded(e, 'oob');
    const err = await rejection(e.call(key, new Uint8Array(0), LIMITS));
    expect((err as GuestTrapError).reason).toBe('trap');
    expect((err as GuestTrapError).message).toMatch(/out of bounds memory access/);
  });

  it('maps err(message) to function_error', async () => {
    const key = await loaded(e, 'err');
    const err = await rejection(e.call(key, new Uint8Array(0), LIMITS));
    expect(err).toBeInstanceOf(GuestResultError);
    expect((err as GuestResultError).code).toBe('function_error');
    expect((err as GuestResultError).message).toBe('boom');
  });

  it('runs concurrent calls side by side', async () => {
    const key = await loaded(e, 'echo');
    const inputs = Array.from({ length: 32 }, (_, i) => Uint8Array.of(i, i + 1));
    const results = await Promise.all(inputs.map((input) => e.call(key, input, LIMITS)));
    results.forEach((r, i) => expect(r.output).toEqual(Buffer.from(inputs[i]!)));
  });

  it('maps an unloaded component again from disk, and answers not_ready for one it never compiled (engine.ts)', async () => {
    const key = await loaded(e, 'echo');
    e.unload(key);
    expect((await e.call(key, Uint8Array.of(9), LIMITS)).output).toEqual(Buffer.of(9));
    const err = await rejection(e.call('0'.repeat(64), new Uint8Array(0), LIMITS));
    expect(err).toBeInstanceOf(WaferError);
    expect((err as WaferError).code).toBe('not_ready');
  });
});

describe('WasmtimeEngine world checks', () => {
  let e: WasmtimeEngine;
  beforeAll(() => {
    e = engine();
  });

  it.each([
    ['wrongSignature', /expected `func\(list<u8>\) -> result<list<u8>, string>`/],
    ['noHandle', /does not export `handle` \(exports: run\)/],
    ['unknownImport', /acme:thing\/api/],
  ] as const)('refuses %s with abi_mismatch', async (name, message) => {
    const err = await rejection(e.prepare(unitOf(await fixture(name))));
    expect(err).toBeInstanceOf(ComponentError);
    expect((err as ComponentError).code).toBe('abi_mismatch');
    expect((err as ComponentError).message).toMatch(message);
  });

  it('refuses a core module and random bytes with invalid_component', async () => {
    for (const bytes of [await fixture('coreModule'), Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256)]) {
      const err = await rejection(e.prepare(unitOf(bytes)));
      expect(err).toBeInstanceOf(ComponentError);
      expect((err as ComponentError).code).toBe('invalid_component');
    }
  });

  it('leaves no artifact behind for a refused component', async () => {
    const unit = unitOf(await fixture('wrongSignature'));
    await rejection(e.prepare(unit));
    expect(readdirSync(join(cacheDir, 'wasmtime')).some((f) => f.startsWith(unit.digest))).toBe(false);
  });
});

describe('WasmtimeEngine compiled cache', () => {
  // Each test starts from an empty cache of its own.
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(cacheDir, 'cache-'));
  });

  it('compiles once, then loads from memory, then from disk in a new engine', async () => {
    const unit = unitOf(await fixture('echo'));
    const a = engine({ cacheDir: dir });
    expect((await a.prepare(unit)).source).toBe('compiled');
    expect((await a.load(unit)).source).toBe('memory');
    expect(unit.reads).toBe(1);

    expect(a.artifactPath(unit.digest)).toMatch(new RegExp(`/wasmtime/${unit.digest}-[0-9a-f]{16}\\.cwasm$`));

    const b = engine({ cacheDir: dir });
    expect((await b.load(unit)).source).toBe('disk');
    expect(unit.reads).toBe(1);
    expect(b.stats()).toMatchObject({ compiled: 0, loadedFromDisk: 1 });
    expect((await b.call(unit.digest, Uint8Array.of(1, 2, 3), LIMITS)).output).toEqual(Buffer.of(1, 2, 3));
  });

  it('shares one load between concurrent callers', async () => {
    const unit = unitOf(await fixture('counter'));
    const e = engine({ cacheDir: dir });
    const infos = await Promise.all([e.load(unit), e.load(unit), e.load(unit)]);
    expect(infos.map((i) => i.source).sort()).toEqual(['compiled', 'compiled', 'compiled']);
    expect(e.stats().compiled).toBe(1);
  });

  it.each([
    ['a flipped byte', (b: Buffer) => Buffer.concat([b.subarray(0, 100), Buffer.of(b[100]! ^ 0xff), b.subarray(101)])],
    ['truncation', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    ['a foreign file', () => Buffer.from('not an artifact')],
    ['a missing checksum file', undefined],
  ])('detects %s, deletes the file and recompiles', async (_what, damage) => {
    const unit = unitOf(await fixture('trap'));
    const first = engine({ cacheDir: dir });
    await first.load(unit);
    const path = first.artifactPath(unit.digest);
    // Replaced by rename, as any tool should: the loaded copy is mapped from the old file, and
    // rewriting a mapped artifact in place would crash the process that maps it (SIGBUS).
    if (damage === undefined) rmSync(`${path}.sum`);
    else {
      writeFileSync(`${path}.damaged`, damage(readFileSync(path)));
      renameSync(`${path}.damaged`, path);
    }

    const warn = vi.fn();
    const e = engine({ cacheDir: dir, logger: { info: () => {}, warn } });
    expect((await e.load(unit)).source).toBe('compiled');
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ digest: unit.digest }), 'discarded cached artifact');
    const again = engine({ cacheDir: dir });
    expect((await again.load(unit)).source).toBe('disk');
  });
});

describe('WasmtimeEngine fuel', () => {
  it('stops a loop with out_of_fuel and reports fuel used', async () => {
    const e = engine({ fuel: true });
    const loop = await loaded(e, 'loop');
    const err = await rejection(e.call(loop, new Uint8Array(0), { ...LIMITS, fuel: 100_000 }));
    expect((err as GuestTrapError).reason).toBe('out_of_fuel');
    const echo = await loaded(e, 'echo');
    const r = await e.call(echo, Uint8Array.of(1), { ...LIMITS, fuel: 100_000 });
    expect(r.fuelUsed).toBeGreaterThan(0);
    expect(r.fuelUsed).toBeLessThan(100_000);
    // Unmetered calls still run on a fuel-enabled engine.
    expect((await e.call(echo, Uint8Array.of(2), LIMITS)).fuelUsed).toBeUndefined();
  });

  it('runs calls with a fuel limit on a second, fuel-metered engine, which a load with `fuel` makes', async () => {
    const e = engine();
    const unit = unitOf(await fixture('echo'));
    await e.load(unit);
    await e.load({ ...unit, fuel: true });
    const r = await e.call(unit.digest, Uint8Array.of(1), { ...LIMITS, fuel: 100_000 });
    expect(r.fuelUsed).toBeGreaterThan(0);
    // The plain build stays unmetered, and both count as this engine's.
    expect((await e.call(unit.digest, Uint8Array.of(2), LIMITS)).fuelUsed).toBeUndefined();
    expect(e.stats()).toMatchObject({ meteredLoaded: 1, loaded: 2 });
    const loop = unitOf(await fixture('loop'));
    await e.load({ ...loop, fuel: true });
    expect(((await rejection(e.call(loop.digest, new Uint8Array(0), { ...LIMITS, fuel: 100_000 }))) as GuestTrapError).reason).toBe('out_of_fuel');
    e.unload(unit.digest);
    expect(e.stats().meteredLoaded).toBe(1);
  });
});

describe('WasmtimeEngine inline fast path', () => {
  it('answers calls that end within the budget on the JS thread, with the same outcomes', async () => {
    // A generous budget: on a loaded machine even a stack overflow can take a millisecond.
    const e = engine({ inlineBudgetMs: 20 });
    const cases: Array<[FixtureName, (err: unknown) => void]> = [
      ['trap', (err) => expect((err as GuestTrapError).reason).toBe('trap')],
      ['grow', (err) => expect((err as GuestTrapError).reason).toBe('memory_limit')],
      // Traps caught by signal handlers on the JS thread leave Node (and V8's handlers) intact.
      ['stack', (err) => expect((err as GuestTrapError).message).toMatch(/call stack exhausted/)],
      ['oob', (err) => expect((err as GuestTrapError).message).toMatch(/out of bounds/)],
      ['err', (err) => expect((err as GuestResultError).code).toBe('function_error')],
    ];
    for (const [name, check] of cases) {
      const key = await loaded(e, name);
      for (let i = 0; i < 2; i++) check(await rejection(e.call(key, new Uint8Array(0), { ...LIMITS, memoryBytes: 2 * MiB })));
    }
    const echo = await loaded(e, 'echo');
    await e.call(echo, Uint8Array.of(1), LIMITS);
    expect((await e.call(echo, Uint8Array.of(4, 2), LIMITS)).output).toEqual(Buffer.of(4, 2));
    expect(e.stats()).toMatchObject({ inlineCalls: cases.length * 2 + 2, inlineOverruns: 0 });

    const wasm = (globalThis as unknown as { WebAssembly: V8Wasm }).WebAssembly;
    const v8 = new wasm.Instance(new wasm.Module(await fixture('v8oob'))).exports as { f: () => number };
    expect(() => v8.f()).toThrow(wasm.RuntimeError);
  });

  it('judges calls on a warm instance by most of them: one long warm call leaves the next on the JS thread, mostly long ones move them', async () => {
    const e = engine({ inlineBudgetMs: 1 });
    const spin = await loaded(e, 'spin');
    const warm = { ...LIMITS, reusePool: 'spin' };
    await e.call(spin, new Uint8Array(0), warm); // instantiates the pool's instance
    await e.call(spin, new Uint8Array(0), warm);
    expect((await e.call(spin, new Uint8Array(100), warm)).durationUs).toBeGreaterThan(10_000);
    expect(e.stats()).toMatchObject({ inlineCalls: 2, inlineOverruns: 1, instancesReused: 2 });
    // One stretched call (a GC in the guest, a busy CPU) is not what its calls typically take.
    await e.call(spin, new Uint8Array(0), warm);
    expect(e.stats()).toMatchObject({ inlineCalls: 3, inlineOverruns: 1, instancesReused: 3 });
    // Most calls long: they start on the executor, still on the warm instance.
    for (let i = 0; i < 3; i++) await e.call(spin, new Uint8Array(100), warm);
    expect(e.stats()).toMatchObject({ inlineCalls: 3, inlineOverruns: 4 });
    await e.call(spin, new Uint8Array(100), warm);
    expect(e.stats()).toMatchObject({ inlineCalls: 3, inlineOverruns: 4, instancesReused: 7, instancesCreated: 1 });
  });

  it('moves a call that outruns the budget to the executor, where it continues (never re-run) with its full timeout', async () => {
    const e = engine({ inlineBudgetMs: 1 });
    const spin = await loaded(e, 'spin');
    await e.call(spin, new Uint8Array(0), LIMITS);
    expect(e.stats()).toMatchObject({ inlineCalls: 1, inlineOverruns: 0 });
    const before = e.stats().instancesCreated;
    // ~100M iterations: far over the 1 ms budget, well under the 5 s timeout.
    const r = await e.call(spin, new Uint8Array(100), LIMITS);
    expect(r.output.byteLength).toBe(0);
    expect(r.durationUs).toBeGreaterThan(10_000);
    // One instance for the one call: it started on the JS thread and ended on the executor.
    expect(e.stats()).toMatchObject({ inlineCalls: 1, inlineOverruns: 1, instancesCreated: before + 1 });
    // Now known to outrun the budget, its calls start on the executor (moving mid-call costs more).
    expect((await e.call(spin, new Uint8Array(0), LIMITS)).output.byteLength).toBe(0);
    expect(e.stats()).toMatchObject({ inlineCalls: 1, inlineOverruns: 1, instancesCreated: before + 2 });
  });

  it('with a budget of 0 sends every call straight to the executor', async () => {
    const e = engine({ inlineBudgetMs: 0 });
    const echo = await loaded(e, 'echo');
    expect((await e.call(echo, Uint8Array.of(7), LIMITS)).output).toEqual(Buffer.of(7));
    expect(e.stats()).toMatchObject({ inlineCalls: 0, inlineOverruns: 0 });
  });
});

describe('WasmtimeEngine.close', () => {
  it('rejects pending calls and refuses new ones', async () => {
    const e = engine();
    const loop = await loaded(e, 'loop');
    const pending = rejection(e.call(loop, new Uint8Array(0), { ...LIMITS, timeoutMs: 300 }));
    await e.close();
    expect(((await pending) as WaferError).message).toMatch(/closed/);
    expect(((await rejection(e.call(loop, new Uint8Array(0), LIMITS))) as WaferError).message).toMatch(/closed/);
  });
});

describe('WasmtimeEngine limits of issue 8', () => {
  it('issue 8 #5: refuses output over maxOutputBytes with bad_response, before it reaches JavaScript', async () => {
    const e = engine();
    const echo = await loaded(e, 'echo');
    const big = new Uint8Array(MiB).fill(7);
    const err = await rejection(e.call(echo, big, { ...LIMITS, maxOutputBytes: MiB - 1 }));
    expect(err).toBeInstanceOf(GuestResultError);
    expect(err).toMatchObject({ code: 'bad_response', status: 502 });
    expect((err as Error).message).toMatch(/1048576 bytes, over the limit of 1048575/);
    // Exactly at the limit is fine, and the engine keeps serving.
    expect((await e.call(echo, big, { ...LIMITS, maxOutputBytes: MiB })).output).toHaveLength(MiB);
    expect((await e.call(echo, new Uint8Array(3), LIMITS)).output).toHaveLength(3);
  });

  it('issue 8 #13: a full instance pool answers overloaded, not internal, and serves again once calls end', async () => {
    // Two component-instance slots, four long calls at once on the executor.
    const e = engine({ poolComponentInstances: 2 });
    const loop = await loaded(e, 'loop');
    const echo = await loaded(e, 'echo');
    const calls = Array.from({ length: 4 }, () => rejection(e.call(loop, new Uint8Array(0), { ...LIMITS, timeoutMs: 1_000 })));
    const outcomes = (await Promise.all(calls)) as WaferError[];
    const codes = outcomes.map((o) => o.code).sort();
    expect(codes).toEqual(['overloaded', 'overloaded', 'timeout', 'timeout']);
    const overloaded = outcomes.find((o) => o.code === 'overloaded')!;
    expect(overloaded).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    expect((await e.call(echo, new Uint8Array(5), LIMITS)).output).toHaveLength(5);
  });

  it('discard while a call runs: the call finishes, the artifact is gone, and a reload compiles again', async () => {
    const e = engine();
    const unit = unitOf(await fixture('spin'));
    await e.load(unit);
    const path = e.artifactPath(unit.digest);
    expect(readdirSync(join(cacheDir, 'wasmtime'))).toContain(path.split('/').pop());
    // ~300 M iterations: long enough to still be running when the discard lands.
    const running = e.call(unit.digest, new Uint8Array(300), LIMITS);
    await e.discard(unit.digest);
    expect((await running).output).toHaveLength(0);
    expect(readdirSync(join(cacheDir, 'wasmtime')).filter((n) => n.startsWith(unit.digest))).toEqual([]);
    expect(await e.load(unit)).toMatchObject({ source: 'compiled' });
  });
});
