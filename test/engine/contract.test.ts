/**
 * The one contract every engine keeps (host/src/engine/engine.ts), run against each engine
 * through the `Engine` interface only, on real components: the hand-written fixtures of
 * test/fixtures/dist, a few built here from component text, and the hello-rust sample.
 * Where the engines cannot behave alike, the test says so and checks what each one does.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse, encodeRequest } from '../../host/src/abi/envelope.js';
import type { Engine, EngineName, LoadUnit } from '../../host/src/engine/engine.js';
import { createEngine } from '../../host/src/engine/index.js';
import { ComponentError, GuestResultError, GuestTrapError, WaferError } from '../../host/src/errors.js';
import { silentLogger } from '../../host/src/logger.js';
import { ROOT } from '../../host/src/paths.js';
import { ENGINES, fixture, sample } from '../helpers/host.js';
import { ALLOC, LIFT, LIFT_HANDLE } from '../fixtures/kit.mjs';

const MiB = 1024 * 1024;
const PAGE = 65536;
const CEILING = 64 * MiB;
const LIMITS = { timeoutMs: 5_000, memoryBytes: 16 * MiB };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');

function unitOf(bytes: Uint8Array): LoadUnit {
  return { digest: createHash('sha256').update(bytes).digest('hex'), bytes: async () => bytes };
}

/** A unit whose bytes must never be read: a load that needs them fails the test. */
function diskOnly(digest: string): LoadUnit {
  return { digest, bytes: () => Promise.reject(new Error('the component bytes were read; the on-disk cache should have served')) };
}

async function rejection(p: Promise<unknown>): Promise<WaferError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as WaferError,
  );
}

/**
 * `count` extra memories, one per core module, beside the main module's; `handle` grows the last
 * one a page at a time, `pages` times, trapping when a grow fails (as an allocator does), then
 * answers ok(empty).
 */
function lopsided(count: number, pages: number): string {
  const modules = range(count)
    .map((i) => `
  (core module $mem${i}
    (memory (export "memory") 0)
    (func (export "grow") (result i32) (memory.grow (i32.const 1))))
  (core instance $g${i} (instantiate $mem${i}))`)
    .join('');
  return `(component ${modules}
  (core instance $gs (export "grow" (func $g${count - 1} "grow")))
  (core module $m
    (import "g" "grow" (func $grow (result i32)))
    ${ALLOC}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (local $n i32)
      (local.set $n (i32.const ${pages}))
      (block $done (loop $more
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.eq (call $grow) (i32.const -1)) (then (unreachable)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $more)))
      (call $ok (local.get $ptr) (i32.const 0))))
  (core instance $i (instantiate $m (with "g" (instance $gs))))
  ${LIFT_HANDLE})`;
}

/** Grows every one of `count` memories (one module instantiated `count` times) a page at a time, in turn, without end. */
function everyMemory(count: number): string {
  return `(component
  (core module $mem
    (memory (export "memory") 0)
    (func (export "grow") (result i32) (memory.grow (i32.const 1))))
  ${range(count).map((i) => `(core instance $g${i} (instantiate $mem))`).join('\n  ')}
  (core instance $gs ${range(count).map((i) => `(export "f${i}" (func $g${i} "grow"))`).join(' ')})
  (core module $m
    ${range(count).map((i) => `(import "g" "f${i}" (func $f${i} (result i32)))`).join('\n    ')}
    ${ALLOC}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (loop $more
        ${range(count).map((i) => `(if (i32.eq (call $f${i}) (i32.const -1)) (then (unreachable)))`).join('\n        ')}
        (br $more))
      (unreachable)))
  (core instance $i (instantiate $m (with "g" (instance $gs))))
  ${LIFT_HANDLE})`;
}

function make(name: EngineName, cacheDir: string): Promise<Engine> {
  return createEngine(name, { cacheDir, maxMemoryBytes: CEILING, moduleCacheBytes: 256 * MiB, logger: silentLogger, warmUp: false });
}

describe.each(ENGINES)('the engine contract on %s', (name) => {
  let cacheDir: string;
  let engine: Engine;
  const units = new Map<string, LoadUnit>();

  /** Loads a fixture (test/fixtures/dist) once and returns its digest. */
  async function loaded(fixtureName: string): Promise<string> {
    let unit = units.get(fixtureName);
    if (!unit) {
      unit = unitOf(await fixture(fixtureName));
      units.set(fixtureName, unit);
    }
    await engine.load(unit);
    return unit.digest;
  }

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), `wafer-contract-${name}-`));
    engine = await make(name, cacheDir);
  });

  afterAll(async () => {
    await engine?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  describe('loading', () => {
    it('compiles a new component, then finds it in memory, and a second engine on the same cache maps it from disk without its bytes', async () => {
      const unit = unitOf(await sample('hello-rust'));
      const before = engine.stats().compiled;
      expect(await engine.prepare(unit)).toMatchObject({ source: 'compiled' });
      expect(engine.stats().compiled).toBe(before + 1);
      expect(await engine.load(unit)).toMatchObject({ source: 'memory' });
      const second = await make(name, cacheDir);
      try {
        const info = await second.load(diskOnly(unit.digest));
        expect(info.source).toBe('disk');
        expect(info.ms).toBeGreaterThanOrEqual(0);
        expect(second.stats()).toMatchObject({ compiled: 0, loadedFromDisk: 1 });
        const request = encodeRequest({ method: 'POST', path: '/', query: '', headers: [], body: Buffer.from('contract'), invocationId: 'c1', deadlineMs: Date.now() + 5_000 });
        const response = decodeResponse((await second.call(unit.digest, request, LIMITS)).output);
        expect(response.status).toBe(200);
        expect(text(response.body)).toBe('Hello, contract!');
      } finally {
        await second.close();
      }
    });

    it.each([
      ['core-module', 'invalid_component'],
      ['wrong-signature', 'abi_mismatch'],
      ['no-handle', 'abi_mismatch'],
    ])('refuses %s with %s and leaves nothing callable', async (fixtureName, code) => {
      const unit = unitOf(await fixture(fixtureName));
      const err = await rejection(engine.prepare(unit));
      expect(err).toBeInstanceOf(ComponentError);
      expect(err).toMatchObject({ code, status: 400 });
      expect(await rejection(engine.call(unit.digest, new Uint8Array(0), LIMITS))).toMatchObject({ code: 'not_ready', status: 503 });
    });

    it('refuses random bytes with invalid_component', async () => {
      const junk = unitOf(Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256));
      expect(await rejection(engine.prepare(junk))).toMatchObject({ code: 'invalid_component', status: 400 });
    });

    it('links a component as the world it was accepted as, and refuses a world it does not run with abi_mismatch', async () => {
      const bytes = await fixture('echo');
      const handler = { ...unitOf(bytes), world: 'wafer:function/handler@1.0.0' };
      await engine.load(handler);
      expect(text((await engine.call(handler.digest, new TextEncoder().encode('hi'), LIMITS)).output)).toBe('hi');
      // Another copy of the bytes (a custom section changes the digest, not the component).
      const other = { ...unitOf(Buffer.concat([bytes, Buffer.from([0, 4, 3, 0x77, 0x6f, 0x72])])), world: 'acme:other/world@1.0.0' };
      const err = await rejection(engine.prepare(other));
      expect(err).toMatchObject({ code: 'abi_mismatch', status: 400 });
      expect(err.message).toContain('acme:other/world@1.0.0');
    });
  });

  describe('calls', () => {
    it('answers the guest output with what the call cost', async () => {
      const digest = await loaded('echo');
      const input = Uint8Array.from({ length: 100 }, (_, i) => i);
      const report = await engine.call(digest, input, LIMITS);
      expect(Buffer.from(report.output).equals(Buffer.from(input))).toBe(true);
      expect(report.durationUs).toBeGreaterThanOrEqual(0);
      expect(report.stdout.byteLength).toBe(0);
      expect(report.stderr.byteLength).toBe(0);
      expect(report.peakMemoryBytes).toBeGreaterThanOrEqual(PAGE);
    });

    it.each([
      ['loop', { timeoutMs: 200 }, GuestTrapError, 'timeout', 504],
      ['grow', { memoryBytes: 2 * MiB }, GuestTrapError, 'memory_limit', 500],
      ['trap', {}, GuestTrapError, 'trap', 500],
      ['err', {}, GuestResultError, 'function_error', 500],
      ['echo', { maxOutputBytes: 3 }, GuestResultError, 'bad_response', 502],
    ] as const)('%s fails with %s, and the engine answers the next call', async (fixtureName, extra, type, code, status) => {
      const digest = await loaded(fixtureName);
      const err = await rejection(engine.call(digest, Uint8Array.of(1, 2, 3, 4), { ...LIMITS, ...extra }));
      expect(err).toBeInstanceOf(type);
      expect(err).toMatchObject({ code, status });
      expect('output' in err).toBe(true);
      const echo = await loaded('echo');
      expect(text((await engine.call(echo, Buffer.from('next'), LIMITS)).output)).toBe('next');
    });

    it('refuses a memory quota over the ceiling with invalid_request, before anything runs', async () => {
      const digest = await loaded('echo');
      const created = engine.stats().instancesCreated;
      const err = await rejection(engine.call(digest, Uint8Array.of(1), { ...LIMITS, memoryBytes: CEILING + PAGE }));
      expect(err).toMatchObject({ code: 'invalid_request', status: 400 });
      expect(err.message).toMatch(/exceeds the engine's ceiling/);
      expect(engine.stats().instancesCreated).toBe(created);
      // The ceiling itself is allowed.
      expect([...(await engine.call(digest, Uint8Array.of(1), { ...LIMITS, memoryBytes: CEILING })).output]).toEqual([1]);
    });

    it('refuses to start a component whose initial memory alone passes the quota, with memory_limit', async () => {
      const echo = (await readFile(join(ROOT, 'test', 'fixtures', 'echo.wat'), 'utf8')).replace('{{ALLOC}}', ALLOC).replace('{{LIFT}}', LIFT);
      const unit = unitOf(await parse(echo.replace('(memory (export "memory") 1)', '(memory (export "memory") 64)')));
      await engine.load(unit);
      expect(await rejection(engine.call(unit.digest, Uint8Array.of(5), { ...LIMITS, memoryBytes: 2 * MiB }))).toMatchObject({ code: 'memory_limit', status: 500 });
      expect([...(await engine.call(unit.digest, Uint8Array.of(5), { ...LIMITS, memoryBytes: 8 * MiB })).output]).toEqual([5]);
    });

    it('counts every memory of every core instance against one quota', async () => {
      const unit = unitOf(await parse(everyMemory(8)));
      await engine.load(unit);
      // Eight memories growing in turn: each alone stays far below 2 MiB when the quota stops them.
      const err = await rejection(engine.call(unit.digest, new Uint8Array(0), { ...LIMITS, memoryBytes: 2 * MiB }));
      expect(err).toMatchObject({ code: 'memory_limit' });
    });

    it('lets one of several memories use the quota the others leave: wasmtime counts the sum as it grows, jco fixes each share in advance', async () => {
      // Main memory (1 page) plus two more; the last grows to 48 pages under a 64-page quota.
      const unit = unitOf(await parse(lopsided(2, 48)));
      await engine.load(unit);
      const call = engine.call(unit.digest, new Uint8Array(0), { ...LIMITS, memoryBytes: 64 * PAGE });
      if (name === 'wasmtime') {
        expect((await call).output).toHaveLength(0);
      } else {
        // V8 has no hook on growth: each of the three memories got a third of the headroom as
        // its declared maximum, so the sum stays under the quota and this one stops at ~21 pages.
        expect(await rejection(call)).toMatchObject({ code: 'memory_limit' });
      }
      // Under a fixed share as large as the need, both engines run it.
      expect((await engine.call(unit.digest, new Uint8Array(0), { ...LIMITS, memoryBytes: 3 * 48 * PAGE + 2 * PAGE })).output).toHaveLength(0);
    });
  });

  describe('unload and discard', () => {
    it('a call after unload maps the component again from disk', async () => {
      const digest = await loaded('respond');
      const fromDisk = engine.stats().loadedFromDisk;
      engine.unload(digest);
      const response = decodeResponse((await engine.call(digest, new Uint8Array(0), LIMITS)).output);
      expect(text(response.body)).toBe('ok');
      expect(engine.stats().loadedFromDisk).toBe(fromDisk + 1);
      expect(engine.stats().compiled).toBeGreaterThan(0);
    });

    it('unload lets a running call finish on its own terms', async () => {
      const digest = await loaded('loop');
      const running = rejection(engine.call(digest, new Uint8Array(0), { ...LIMITS, timeoutMs: 400 }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      engine.unload(digest);
      expect(await running).toMatchObject({ code: 'timeout' });
    });

    it('after discard, a call answers not_ready and a load compiles again', async () => {
      const unit = unitOf(await fixture('counter'));
      await engine.load(unit);
      await engine.call(unit.digest, new Uint8Array(0), LIMITS);
      await engine.discard(unit.digest);
      expect(await rejection(engine.call(unit.digest, new Uint8Array(0), LIMITS))).toMatchObject({ code: 'not_ready', status: 503 });
      expect(await engine.load(unit)).toMatchObject({ source: 'compiled' });
      expect((await engine.call(unit.digest, new Uint8Array(0), LIMITS)).output.byteLength).toBeGreaterThan(0);
    });

    it('a digest never seen answers not_ready, never not_found', async () => {
      const err = await rejection(engine.call('0'.repeat(64), new Uint8Array(0), LIMITS));
      expect(err).toBeInstanceOf(WaferError);
      expect(err).toMatchObject({ code: 'not_ready', status: 503 });
    });
  });

  it('names itself and counts loads and instances in stats', async () => {
    expect(engine.name).toBe(name);
    expect(engine.version).toMatch(name === 'wasmtime' ? /^wasmtime 48\./ : /^jco \d/);
    const stats = engine.stats();
    for (const key of ['compiled', 'loadedFromDisk', 'loadedFromMemory', 'instancesCreated', 'loaded']) {
      expect(typeof stats[key], key).toBe('number');
    }
    expect(stats.compiled).toBeGreaterThan(0);
    expect(stats.loadedFromMemory).toBeGreaterThan(0);
    expect(stats.instancesCreated).toBeGreaterThan(0);
  });

  it('after close, load and call reject', async () => {
    const closing = await make(name, cacheDir);
    const unit = unitOf(await fixture('echo'));
    await closing.load(unit);
    await closing.close();
    expect(await rejection(closing.call(unit.digest, Uint8Array.of(1), LIMITS))).toBeInstanceOf(WaferError);
    await expect(closing.load(unit)).rejects.toBeDefined();
  });
});
