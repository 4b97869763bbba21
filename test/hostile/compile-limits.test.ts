/**
 * Issue 8 #10: compiles and transpiles are bounded. A compile runs past `compileTimeoutMs` or
 * above `compileMemoryBytes` is stopped and the upload refused with `invalid_component` saying
 * which limit it hit; the host keeps serving and the next compile works. After a wiped cache, a
 * burst of calls to many functions compiles at most `compileConcurrency` of them at once.
 * Each host here has its own compiled cache, so every component really is compiled.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../host/src/config.js';
import type { EngineName } from '../../host/src/engine/engine.js';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { build, manyExports } from './kit.js';

/** The compile timeout of the timeout case: see the numbers there. */
const COMPILE_TIMEOUT_MS = 1_500;

const WASM = { 'content-type': 'application/wasm' };

/** `bytes` with a custom section appended: a distinct digest, the same behaviour. */
function variant(bytes: Uint8Array, tag: string): Uint8Array {
  const name = Buffer.from(tag);
  const body = Buffer.concat([Buffer.from([name.length]), name]);
  return Buffer.concat([bytes, Buffer.from([0x00, body.length]), body]);
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A test host with a fresh compiled cache of its own. */
async function hostWithOwnCache(engine: EngineName, overrides: ConfigInput): Promise<{ host: TestHost; cacheDir: string }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'wafer-compile-cache-'));
  const host = await startTestHost(engine, { cacheDir, ...overrides });
  cleanup.push(() => rm(cacheDir, { recursive: true, force: true }));
  cleanup.push(() => host.destroy());
  return { host, cacheDir };
}

describe.each(ENGINES)('compile limits on %s', (engine) => {
  it('issue 8 #10: a compile longer than compileTimeoutMs is refused, the host keeps serving, the next compile works', async () => {
    // A tiny fixture compiles or transpiles in ~10-30 ms; the slow uploads take far longer on
    // either engine: hello-python 6-10 s under Cranelift, and a component with 8,000 exports
    // ~11 s under jco (its bindings grow faster than linearly). 1.5 s leaves a wide margin both
    // ways, even on a loaded machine (issue 8's CI once saw hello-ts transpile under 1 s, and a
    // tiny transpile take over 300 ms under load).
    const { host } = await hostWithOwnCache(engine, { compileTimeoutMs: COMPILE_TIMEOUT_MS });
    await host.deploy('healthy', await fixture('respond'));
    const slowUpload = engine === 'jco' ? await build(manyExports(8_000)) : await sample('hello-python');
    const slow = host.api('PUT', '/v1/functions/slow', slowUpload, WASM);
    const during = await host.call('healthy');
    expect(during.status).toBe(200);
    expect(await during.text()).toBe('ok');
    const res = await slow;
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_component');
    expect(error.message).toMatch(new RegExp(`took longer than ${COMPILE_TIMEOUT_MS} ms`));
    expect((await host.call('slow')).status).toBe(404);
    expect(host.service.engine.stats().compileTimeouts).toBe(1);
    // The stopped compile cost only itself: a fresh compile succeeds right after.
    await host.deploy('after', await fixture('echo'));
    expect((await host.call('healthy')).status).toBe(200);
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  }, 120_000);

  it('issue 8 #10: after a wiped cache, a burst of calls to six functions compiles at most compileConcurrency at once', async () => {
    const overrides = { compileConcurrency: 2 };
    const { host: first, cacheDir } = await hostWithOwnCache(engine, overrides);
    const respond = await fixture('respond');
    const names = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
    for (const name of names) await first.deploy(name, variant(respond, `wafer-burst-${name}`));
    await first.close();
    await rm(cacheDir, { recursive: true, force: true });
    const host = await startTestHost(engine, { cacheDir, ...overrides }, first.dataDir);
    cleanup.push(() => host.destroy());
    const answers = await Promise.all(names.map((name) => host.call(name)));
    expect(answers.map((r) => r.status)).toEqual(names.map(() => 200));
    expect(await Promise.all(answers.map((r) => r.text()))).toEqual(names.map(() => 'ok'));
    // The host also loads deployed functions in the background at start, so compiles come from
    // both; each digest is still compiled once: six, plus the engine's warm-up component
    // (engine/warmup.ts), compiled again into the wiped cache before the host listened.
    await host.service.warming;
    const stats = host.service.engine.stats();
    expect(stats.compiled).toBe(6 + 1);
    // Six compiles were asked for at once; two ran at a time, the rest waited their turn.
    expect(stats.compilesRunningPeak).toBe(2);
    expect(stats.compilesRunning).toBe(0);
    expect(stats.compilesQueued).toBe(0);
  }, 120_000);
});

/**
 * The ceiling bounds the compile process's resident memory: a wasmtime compile process idles at
 * ~50 MiB and Cranelift needs ~500 MiB for hello-ts; a jco transpile process needs ~150 MiB for a
 * small fixture and ~300 MiB for hello-python.
 */
describe.each([
  ['wasmtime', 128, 'hello-ts'],
  ['jco', 200, 'hello-python'],
] as const)('compile memory ceiling on %s', (engine, ceilingMiB, big) => {
  it(`issue 8 #10: a compile above compileMemoryBytes (${ceilingMiB} MiB for ${big}) is stopped, the host stays up, the next compile works`, async () => {
    const { host } = await hostWithOwnCache(engine, { compileMemoryBytes: ceilingMiB });
    await host.deploy('healthy', await fixture('respond'));
    const upload = host.api('PUT', '/v1/functions/big', await sample(big), WASM);
    expect((await host.call('healthy')).status).toBe(200);
    const res = await upload;
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_component');
    expect(error.message).toMatch(new RegExp(`needed more than ${ceilingMiB} MiB`));
    expect(host.service.engine.stats().compileMemoryKills).toBe(1);
    await host.deploy('after', await fixture('echo'));
    expect((await host.call('healthy')).status).toBe(200);
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
