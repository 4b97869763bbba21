/**
 * Tiered start (issue 9 #6): a large upload is compiled by Winch and served at once, Cranelift
 * compiles it in the background, and calls move to the Cranelift build between calls with no
 * failed call. The fixtures here are tiny, so the engines under test tier everything
 * (`tieredStartBytes: 1`); test/engine/tiered-start.test.ts does the same with a real 12 MB
 * component over HTTP.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fixture, unitOf, type FixtureName } from './fixtures.testkit.js';
import { WasmtimeEngine, type WasmtimeEngineOptions } from './index.js';
import { defaultAddonPath, loadAddon, type NativeEngine } from './native.js';

const MiB = 1024 * 1024;
const LIMITS = { timeoutMs: 5_000, memoryBytes: 16 * MiB };

let cacheDir: string;
const engines: WasmtimeEngine[] = [];

function engine(extra: Partial<WasmtimeEngineOptions> = {}): WasmtimeEngine {
  const e = new WasmtimeEngine({
    cacheDir: extra.cacheDir ?? cacheDir,
    maxMemoryBytes: 64 * MiB,
    poolMemories: 64,
    poolComponentInstances: 64,
    tieredStartBytes: 1,
    ...extra,
  });
  engines.push(e);
  return e;
}

/** The artifact files of `digest` in `dir`'s wasmtime cache. */
function artifactsOf(dir: string, digest: string): string[] {
  return readdirSync(join(dir, 'wasmtime')).filter((n) => n.startsWith(`${digest}-`) && n.endsWith('.cwasm'));
}

beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'wafer-tiered-test-'));
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('tiered start', () => {
  it('serves a new upload from Winch at once, then from the Cranelift build, and removes the Winch artifact', async () => {
    const compiles: string[] = [];
    const e = engine({ onCompile: (compiler, seconds) => compiles.push(seconds > 0 ? compiler : `${compiler} in no time`) });
    const unit = unitOf(await fixture('echo'));
    const info = await e.load(unit);
    expect(info.source).toBe('compiled');
    expect(e.tierOf(unit.digest)).toBe('fast');
    expect(existsSync(e.fastArtifactPath(unit.digest))).toBe(true);
    const input = Uint8Array.from({ length: 100 }, (_, i) => i);
    expect(Buffer.from((await e.call(unit.digest, input, LIMITS)).output).equals(Buffer.from(input))).toBe(true);

    await e.tierUpDone(unit.digest);
    expect(e.tierOf(unit.digest)).toBe('full');
    expect(existsSync(e.fastArtifactPath(unit.digest))).toBe(false);
    expect(artifactsOf(cacheDir, unit.digest)).toEqual([e.artifactPath(unit.digest).split('/').pop()]);
    expect(Buffer.from((await e.call(unit.digest, input, LIMITS)).output).equals(Buffer.from(input))).toBe(true);
    const s = e.stats();
    // The upload's compile is the one `compiled` counts; the hand-over is neither a compile nor a disk load.
    expect([s.compiled, s.fastCompiles, s.tierUps, s.tierUpFailures, s.loadedFromDisk]).toEqual([1, 1, 1, 0, 0]);
    // What /metrics' compile histogram is told: the upload's Winch compile, then the background Cranelift one.
    expect(compiles).toEqual(['winch', 'cranelift']);
  });

  it('hands over between calls: no call fails, and a call running on Winch finishes there', async () => {
    const e = engine();
    const spin = unitOf(await fixture('spin'));
    await e.load(spin);
    expect(e.tierOf(spin.digest)).toBe('fast');
    // ~300 M iterations: runs across the hand-over, on the component it started with.
    const long = e.call(spin.digest, new Uint8Array(300), { ...LIMITS, timeoutMs: 60_000 });
    const handedOver = e.tierUpDone(spin.digest).then(() => e.tierOf(spin.digest));
    let calls = 0;
    let stop = false;
    void handedOver.then(() => (stop = true));
    while (!stop || calls < 5) {
      const r = await e.call(spin.digest, new Uint8Array(0), LIMITS);
      expect(r.output.byteLength).toBe(0);
      calls++;
    }
    expect(await handedOver).toBe('full');
    expect((await long).output.byteLength).toBe(0);
    expect(e.stats().tierUps).toBe(1);
  });

  it('a restart before the hand-over serves the Winch artifact and compiles Cranelift again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafer-tiered-restart-'));
    try {
      const first = engine({ cacheDir: dir });
      const unit = unitOf(await fixture('counter'));
      await first.load(unit);
      expect(first.tierOf(unit.digest)).toBe('fast');
      // Closing stops the background compile before it writes anything.
      await first.close();
      expect(artifactsOf(dir, unit.digest)).toEqual([first.fastArtifactPath(unit.digest).split('/').pop()]);

      const second = engine({ cacheDir: dir });
      const reads = unit.reads;
      expect((await second.load(unit)).source).toBe('disk');
      expect(second.tierOf(unit.digest)).toBe('fast');
      expect([...(await second.call(unit.digest, new Uint8Array(0), LIMITS)).output]).toEqual([1]);
      await second.tierUpDone(unit.digest);
      expect(second.tierOf(unit.digest)).toBe('full');
      // The background compile read the bytes once; the Winch artifact was mapped without them.
      expect(unit.reads).toBe(reads + 1);
      expect(second.stats()).toMatchObject({ compiled: 0, fastLoadsFromDisk: 1, tierUps: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compiles small uploads with Cranelift alone, and everything when tiered start is off', async () => {
    const small = engine({ tieredStartBytes: MiB });
    const unit = unitOf(await fixture('trap'));
    await small.load(unit);
    expect(small.tierOf(unit.digest)).toBe('full');
    const off = engine({ tieredStartBytes: 0, cacheDir: mkdtempSync(join(tmpdir(), 'wafer-tiered-off-')) });
    await off.load(unit);
    expect(off.tierOf(unit.digest)).toBe('full');
    for (const e of [small, off]) expect(e.stats()).toMatchObject({ fastCompiles: 0, tierUps: 0 });
  });

  it('a component discarded during its background compile leaves no artifact behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafer-tiered-discard-'));
    try {
      const e = engine({ cacheDir: dir });
      const unit = unitOf(await fixture('err'));
      await e.load(unit);
      await e.discard(unit.digest);
      await e.tierUpDone(unit.digest);
      expect(artifactsOf(dir, unit.digest)).toEqual([]);
      expect(e.tierOf(unit.digest)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The fast tier is the same runtime with another compiler: every quota holds on Winch code. Checked
 * on a Winch engine of the addon directly, where no hand-over can move the call to Cranelift.
 */
describe('the Winch tier keeps every quota', () => {
  let winch: NativeEngine;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wafer-winch-'));
    const addon = loadAddon(defaultAddonPath());
    winch = new addon.NativeEngine({ maxMemoryBytes: 64 * MiB, pooling: false, fuel: true, compiler: 'winch' });
  });
  afterAll(() => {
    winch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(name: FixtureName, limits: Partial<typeof LIMITS> & { fuel?: number } = {}, input = new Uint8Array(0)) {
    const unit = unitOf(await fixture(name));
    const loaded = await winch.load(unit.digest, Buffer.from(await unit.bytes()), join(dir, `${unit.digest}.cwasm`));
    expect(loaded.ok).toBe(true);
    const answer = winch.call(unit.digest, Buffer.from(input), { ...LIMITS, ...limits });
    return answer instanceof Promise ? await answer : answer;
  }

  it.each([
    ['loop', { timeoutMs: 50 }, 'timeout'],
    ['grow', { memoryBytes: 4 * MiB }, 'memory_limit'],
    ['bigmem', { memoryBytes: MiB }, 'memory_limit'],
    ['loop', { fuel: 100_000 }, 'out_of_fuel'],
    ['trap', {}, 'trap'],
    ['oob', {}, 'trap'],
    ['stack', {}, 'trap'],
  ] as const)('%s under %o fails with %s', async (name, limits, kind) => {
    const r = await call(name, limits);
    expect(r.ok).toBe(false);
    expect(r.errorKind).toBe(kind);
  });

  it('answers like Cranelift when the guest behaves', async () => {
    const input = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const r = await call('echo', {}, input);
    expect(r.ok).toBe(true);
    expect(Buffer.from(r.output!).equals(Buffer.from(input))).toBe(true);
  });
});
