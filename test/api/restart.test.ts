/**
 * A data directory survives restarts: everything deployed before is served after.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';

describe.each(ENGINES)('restart on %s', (engine) => {
  let host: TestHost | undefined;
  afterAll(() => host?.destroy());

  it('serves every function deployed before the restart, at its latest version', async () => {
    host = await startTestHost(engine);
    await host.deploy('alpha', await fixture('respond'));
    await host.deploy('beta', await fixture('respond'));
    await host.deploy('beta', await fixture('counter'));
    host = await host.restart();
    const alpha = await host.call('alpha');
    expect(alpha.status).toBe(200);
    expect(await alpha.text()).toBe('ok');
    const beta = await host.call('beta');
    expect(new Uint8Array(await beta.arrayBuffer())).toEqual(new Uint8Array([1]));
    const { functions } = await (await host.api('GET', '/v1/functions')).json();
    expect(functions.map((f: { name: string; version: number }) => `${f.name}@${f.version}`)).toEqual(['alpha@1', 'beta@2']);
  });

  it('loads from the on-disk compiled cache after a restart instead of compiling again', async () => {
    host ??= await startTestHost(engine);
    await host.deploy('cached', await fixture('echo'));
    host = await host.restart();
    await loaded(host, ['cached']);
    const stats = host.service.engine.stats();
    expect(stats.compiled).toBe(0);
    expect(stats.loadedFromDisk).toBeGreaterThanOrEqual(1);
  });

  it('issue 9 #7: loads every deployed function in the background after a restart, so no first call pays a load', async () => {
    host ??= await startTestHost(engine);
    const names = ['warm-a', 'warm-b', 'warm-c'];
    await Promise.all(names.map(async (name, i) => host!.deploy(name, await fixture(['respond', 'counter', 'echo'][i]!))));
    host = await host.restart();
    await loaded(host, names);
    const before = host.service.engine.stats();
    // `echo` answers its input, which is no Response (502): what counts is that nothing loads.
    for (const name of names) await (await host.call(name, '', { method: 'POST', body: 'x' })).arrayBuffer();
    expect(await (await host.call('warm-a')).text()).toBe('ok');
    const after = host.service.engine.stats();
    expect(after.compiled - before.compiled).toBe(0);
    expect(after.loadedFromDisk - before.loadedFromDisk).toBe(0);
  });

  it('issue 9 #7: a background load that fails is logged, and the first call loads the function', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'wafer-warm-cache-'));
    let first: TestHost | undefined = await startTestHost(engine, { cacheDir });
    try {
      const { digest } = await first.deploy('fragile', await fixture('respond'));
      await first.close();
      // No compiled artifact and, for now, no blob: the background load cannot succeed.
      const blob = join(first.dataDir, 'blobs', 'sha256', String(digest).replace('sha256:', ''));
      await rename(blob, `${blob}.away`);
      await rm(cacheDir, { recursive: true, force: true });
      const second = await startTestHost(engine, { cacheDir }, first.dataDir);
      first = second;
      await until(() => second.logs.some((l) => l.fields?.fn === 'fragile' && /could not load a function in the background/.test(l.msg)));
      expect(second.service.isLoaded('fragile')).toBe(false);
      await rename(`${blob}.away`, blob);
      const res = await second.call('fragile');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
    } finally {
      await first.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

/** Waits, with a generous deadline, until `check` holds. */
async function until(check: () => boolean, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not true within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the host has loaded every one of `names` without being called. */
function loaded(host: TestHost, names: string[]): Promise<void> {
  return until(() => names.every((name) => host.service.isLoaded(name)));
}

describe('function records', () => {
  it('issue 9 #4: reads a record written before worlds were stored as the wafer handler world', async () => {
    const host = await startTestHost('wasmtime');
    try {
      await host.deploy('legacy', await fixture('respond'));
      const path = join(host.dataDir, 'functions', 'legacy.json');
      const record = JSON.parse(await readFile(path, 'utf8'));
      expect(record.versions[0].world).toBe('wafer:function/handler@1.0.0');
      for (const version of record.versions) delete version.world;
      await writeFile(path, JSON.stringify(record));
      const again = await host.restart();
      try {
        const got = await (await again.api('GET', '/v1/functions/legacy')).json();
        expect(got.world).toBe('wafer:function/handler@1.0.0');
        const res = await again.call('legacy');
        expect(await res.text()).toBe('ok');
      } finally {
        await again.destroy();
      }
    } catch (err) {
      await host.destroy().catch(() => undefined);
      throw err;
    }
  });
});
