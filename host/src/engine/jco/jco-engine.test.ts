import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentError, GuestResultError, GuestTrapError } from '../../errors.js';
import { fixtureUnit, type FixtureName } from './fixtures.testkit.js';
import { JcoEngine } from './index.js';

const MiB = 1024 * 1024;
const limits = { timeoutMs: 5_000, memoryBytes: 16 * MiB };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const count = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset).getUint32(0, true);

describe('JcoEngine', () => {
  let cacheDir: string;
  let engine: JcoEngine;
  const units = new Map<FixtureName, Awaited<ReturnType<typeof fixtureUnit>>>();

  /** Loads a fixture into `engine` and returns its digest. */
  async function loaded(name: FixtureName, into = engine): Promise<string> {
    let unit = units.get(name);
    if (!unit) {
      unit = await fixtureUnit(name);
      units.set(name, unit);
    }
    await into.load(unit);
    return unit.digest;
  }

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-jco-'));
    engine = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB });
  });

  afterAll(async () => {
    await engine.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('echoes the request bytes back', async () => {
    const digest = await loaded('echo');
    const input = new Uint8Array(100).map((_, i) => i);
    const report = await engine.call(digest, input, limits);
    expect(report.output).toEqual(input);
    expect(report.durationUs).toBeGreaterThanOrEqual(0);
    expect(report.peakMemoryBytes).toBe(65536);
    expect(report.stdout).toHaveLength(0);
  });

  it('reuses a warm instance across calls', async () => {
    const digest = await loaded('counter');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push(count((await engine.call(digest, bytes('x'), limits)).output));
    expect(counts).toEqual([1, 2, 3]);
  });

  it('answers err(message) with function_error and keeps the instance', async () => {
    const digest = await loaded('err');
    const created = engine.stats().instancesCreated;
    for (let i = 0; i < 2; i++) {
      const err = await engine.call(digest, bytes('x'), limits).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuestResultError);
      expect(err).toMatchObject({ code: 'function_error', message: 'it went wrong' });
    }
    expect(engine.stats().instancesCreated).toBe(created + 1);
  });

  it('reports a trap with trap', async () => {
    const digest = await loaded('trap');
    const err = await engine.call(digest, bytes('x'), limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestTrapError);
    expect(err).toMatchObject({ reason: 'trap', code: 'trap', status: 500 });
    expect((err as Error).message).toMatch(/unreachable/);
  });

  it('never reuses an instance after it trapped', async () => {
    const digest = await loaded('counter');
    engine.unload(digest); // start from a fresh instance
    await loaded('counter');
    expect(count((await engine.call(digest, bytes('x'), limits)).output)).toBe(1);
    expect(count((await engine.call(digest, bytes('x'), limits)).output)).toBe(2);
    await expect(engine.call(digest, bytes('!'), limits)).rejects.toMatchObject({ reason: 'trap' });
    expect(count((await engine.call(digest, bytes('x'), limits)).output)).toBe(1);
  });

  it('turns wasi:cli/exit into a trap without losing the worker', async () => {
    const digest = await loaded('exit');
    const terminated = engine.stats().workersTerminated!;
    for (let i = 0; i < 2; i++) {
      await expect(engine.call(digest, bytes('x'), limits)).rejects.toMatchObject({ reason: 'trap', message: expect.stringMatching(/exit/) });
    }
    expect(engine.stats().workersTerminated).toBe(terminated);
  });

  it('replaces an instance after maxCallsPerInstance calls', async () => {
    const recycling = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB, maxCallsPerInstance: 2 });
    try {
      const digest = await loaded('counter', recycling);
      const counts: number[] = [];
      for (let i = 0; i < 5; i++) counts.push(count((await recycling.call(digest, bytes('x'), limits)).output));
      expect(counts).toEqual([1, 2, 1, 2, 1]);
      expect(recycling.stats().recycled).toBe(2);
    } finally {
      await recycling.close();
    }
  });

  it('cuts off a call past its time quota, and the next call works', async () => {
    const digest = await loaded('loop');
    const terminated = engine.stats().workersTerminated!;
    const err = await engine.call(digest, bytes('L'), { ...limits, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestTrapError);
    expect(err).toMatchObject({ reason: 'timeout', code: 'timeout', status: 504 });
    expect(engine.stats().workersTerminated).toBe(terminated + 1);
    // a fresh worker serves the next call
    expect(text((await engine.call(digest, bytes('next'), limits)).output)).toBe('next');
    await expect(engine.call(digest, bytes('L'), { ...limits, timeoutMs: 100 })).rejects.toMatchObject({ reason: 'timeout' });
  });

  it('keeps serving other calls, of the same function and others, while one runs out its time', async () => {
    const digest = await loaded('loop');
    const echo = await loaded('echo');
    await engine.call(digest, bytes('warm'), limits);
    const stuck = engine.call(digest, bytes('L'), { ...limits, timeoutMs: 1_000 }).catch((e: unknown) => e);
    for (let i = 0; i < 5; i++) {
      expect(text((await engine.call(digest, bytes(`same ${i}`), limits)).output)).toBe(`same ${i}`);
      expect(text((await engine.call(echo, bytes(`other ${i}`), limits)).output)).toBe(`other ${i}`);
    }
    expect(await stuck).toMatchObject({ reason: 'timeout' });
  });

  it('stops a guest that grows memory past its quota with memory_limit', async () => {
    const digest = await loaded('grow');
    const err = await engine.call(digest, bytes('x'), { ...limits, memoryBytes: 2 * MiB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestTrapError);
    expect(err).toMatchObject({ reason: 'memory_limit', status: 500 });
    expect((err as Error).message).toMatch(/2\.0 MiB of its 2\.0 MiB quota/);
    // a different quota is a differently capped module
    const bigger = await engine.call(digest, bytes('x'), { ...limits, memoryBytes: 3 * MiB }).catch((e: unknown) => e);
    expect((bigger as Error).message).toMatch(/3\.0 MiB of its 3\.0 MiB quota/);
  });

  it('refuses to start a component whose initial memory exceeds the quota', async () => {
    const digest = await loaded('bigmem');
    await expect(engine.call(digest, bytes('x'), { ...limits, memoryBytes: 1 * MiB })).rejects.toMatchObject({ reason: 'memory_limit' });
    expect(text((await engine.call(digest, bytes('ok'), { ...limits, memoryBytes: 8 * MiB })).output)).toBe('ok');
  });

  it('captures stdout and stderr per call, capped', async () => {
    const digest = await loaded('stdout');
    const first = await engine.call(digest, bytes('hello\n'), limits);
    expect(text(first.stdout)).toBe('hello\nhello\n');
    expect(text(first.stderr)).toBe('to stderr\n');
    const big = new Uint8Array(40 * 1024).fill(0x61);
    const second = await engine.call(digest, big, limits);
    expect(second.stdout).toHaveLength(64 * 1024);
    expect(text(second.stderr)).toBe('to stderr\n');
  });

  it('refuses a component without handle with abi_mismatch', async () => {
    const unit = await fixtureUnit('nohandle');
    const err = await engine.prepare(unit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComponentError);
    expect(err).toMatchObject({ code: 'abi_mismatch' });
  });

  it('refuses bytes that are not a component with invalid_component', async () => {
    const junk = { digest: 'f'.repeat(64), bytes: async () => bytes('not wasm') };
    await expect(engine.prepare(junk)).rejects.toMatchObject({ code: 'invalid_component' });
  });

  it('serves from memory, and a second engine on the same cache loads from disk', async () => {
    const unit = await fixtureUnit('echo');
    await loaded('echo');
    expect(await engine.load(unit)).toMatchObject({ source: 'memory' });
    const second = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB });
    try {
      const info = await second.load({ digest: unit.digest, bytes: () => Promise.reject(new Error('must not read the bytes')) });
      expect(info.source).toBe('disk');
      expect(second.stats()).toMatchObject({ compiled: 0, loadedFromDisk: 1 });
      expect(text((await second.call(unit.digest, bytes('from disk'), limits)).output)).toBe('from disk');
    } finally {
      await second.close();
    }
  });

  it('rejects a call on a digest it has neither in memory nor on disk with not_ready (engine.ts)', async () => {
    await expect(engine.call('0'.repeat(64), bytes('x'), limits)).rejects.toMatchObject({ code: 'not_ready', status: 503 });
  });

  it('queues calls beyond its workers and answers them all', async () => {
    const digest = await loaded('echo');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.call(digest, bytes(`call ${i}`), limits)));
    expect(replies.map((r) => text(r.output))).toEqual(Array.from({ length: 10 }, (_, i) => `call ${i}`));
    expect(engine.stats().workers).toBeGreaterThan(0);
  });

  it('unload stops the function and a later call needs a load', async () => {
    const digest = await loaded('counter');
    engine.unload(digest);
    // still on disk: the engine can serve it again without the bytes
    expect(count((await engine.call(digest, bytes('x'), limits)).output)).toBe(1);
  });

  it('unload lets running and queued calls run to their own end, then stops the workers', async () => {
    const own = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB, workersPerFunction: 2, spareWorker: false });
    try {
      const digest = await loaded('loop', own);
      // Three endless calls on two workers: two run, one waits; each may only end by its own quota.
      const calls = Array.from({ length: 3 }, () => own.call(digest, bytes('L'), { ...limits, timeoutMs: 600 }).catch((e: unknown) => e));
      await new Promise((r) => setTimeout(r, 200));
      own.unload(digest);
      const ends = await Promise.all(calls);
      expect(ends.map((e) => (e as GuestTrapError).reason)).toEqual(['timeout', 'timeout', 'timeout']);
      expect(own.stats().workers).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('does not charge a call for waiting behind a busy worker (only for waiting on a start)', async () => {
    const own = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB, workersPerFunction: 1, spareWorker: false });
    try {
      const digest = await loaded('loop', own);
      expect(text((await own.call(digest, bytes('ok'), limits)).output)).toBe('ok');
      const endless = own.call(digest, bytes('L'), { ...limits, timeoutMs: 800 }).catch((e: unknown) => e);
      // Queued behind the loop for longer than its own 200 ms quota, then served by the replacement.
      expect(text((await own.call(digest, bytes('ok'), { ...limits, timeoutMs: 200 })).output)).toBe('ok');
      expect(await endless).toMatchObject({ reason: 'timeout' });
    } finally {
      await own.close();
    }
  });

  it('issue 8 #5: refuses output over maxOutputBytes with bad_response in the worker, and keeps the instance', async () => {
    const digest = await loaded('echo');
    const big = new Uint8Array(MiB).fill(7);
    const err = await engine.call(digest, big, { ...limits, maxOutputBytes: MiB - 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestResultError);
    expect(err).toMatchObject({ code: 'bad_response', status: 502 });
    expect((await engine.call(digest, big, { ...limits, maxOutputBytes: MiB })).output).toHaveLength(MiB);
    expect(text((await engine.call(digest, bytes('hi'), limits)).output)).toBe('hi');
  });

  it('discard while a call runs: the call runs on to its own end (here its time quota), the tree is gone, and a reload transpiles again', async () => {
    const unit = await fixtureUnit('loop');
    await engine.load(unit);
    const other = await loaded('echo');
    const running = engine.call(unit.digest, bytes('L'), { ...limits, timeoutMs: 1_500 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    await engine.discard(unit.digest);
    // Not cut off by the discard (as on wasmtime): the loop is stopped by its own quota.
    expect(await running).toMatchObject({ reason: 'timeout' });
    await expect(readdir(join(cacheDir, 'jco', unit.digest))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(text((await engine.call(other, bytes('still'), limits)).output)).toBe('still');
    expect(await engine.load(unit)).toMatchObject({ source: 'compiled' });
    expect(text((await engine.call(unit.digest, bytes('back'), limits)).output)).toBe('back');
  });

  it('issue 8 #9: a core module changed after its tree was verified is refused when read for compiling', async () => {
    const fresh = new JcoEngine({ cacheDir, maxMemoryBytes: 64 * MiB });
    try {
      const unit = await fixtureUnit('grow');
      expect(await fresh.load(unit)).toMatchObject({ source: expect.stringMatching(/compiled|disk/) });
      // Loaded (fn.mjs and the manifest verified), not yet compiled: swap the core module now.
      const dir = join(cacheDir, 'jco', unit.digest);
      await writeFile(join(dir, 'fn.core.wasm'), (await fixtureUnit('echo')).component);
      const err = await fresh.call(unit.digest, bytes('x'), limits).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'internal', status: 500 });
      expect((err as Error).message).toMatch(/does not match its manifest/);
      // The tree was dropped: the next load transpiles again, and the function works.
      expect(await fresh.load(unit)).toMatchObject({ source: 'compiled' });
      await expect(fresh.call(unit.digest, bytes('x'), { ...limits, memoryBytes: 1 * MiB })).rejects.toMatchObject({ reason: 'memory_limit' });
    } finally {
      await fresh.close();
    }
  });
});
