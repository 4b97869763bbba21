/**
 * A data directory survives restarts: everything deployed before is served after.
 */
import { readFile, writeFile } from 'node:fs/promises';
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
    const before = host.service.engine.stats();
    await host.call('cached');
    const after = host.service.engine.stats();
    expect(after.compiled - before.compiled).toBe(0);
    expect(after.loadedFromDisk - before.loadedFromDisk).toBe(1);
  });
});

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
