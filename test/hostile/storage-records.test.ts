/**
 * Issue 8 #8: a corrupt or unreadable function record on disk. The host starts anyway, serves
 * every other function, lists the bad record in /healthz (status `degraded`), and never serves,
 * overwrites or garbage-collects on the strength of a record it cannot read.
 */
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { variant } from './storage-kit.js';

interface Health {
  status: string;
  functions: number;
  problems: { name: string; error: string }[];
}

describe.each(ENGINES)('corrupt function records on %s', (engine) => {
  let host: TestHost | undefined;
  afterEach(async () => {
    await host?.destroy();
    host = undefined;
  });

  /** Deploys `good` and `victim`, stops the host, damages victim's record, and starts again. */
  async function startWithDamagedRecord(damage: (path: string) => Promise<void>, keepVersions?: number): Promise<TestHost> {
    const first = await startTestHost(engine);
    await first.deploy('good', await fixture('respond'));
    await first.deploy('victim', variant(await fixture('respond'), 'victim'));
    await first.close();
    await damage(join(first.dataDir, 'functions', 'victim.json'));
    return startTestHost(engine, keepVersions ? { keepVersions } : {}, first.dataDir);
  }

  async function expectSkipped(h: TestHost, error: RegExp): Promise<void> {
    const health = (await (await fetch(`${h.url}/healthz`)).json()) as Health;
    expect(health.status).toBe('degraded');
    expect(health.functions).toBe(1);
    expect(health.problems).toEqual([{ name: 'victim', error: expect.stringMatching(error) }]);
    expect(health.problems[0]!.error).not.toContain(h.dataDir);
    const good = await h.call('good');
    expect(good.status).toBe(200);
    expect(await good.text()).toBe('ok');
    const missing = await h.api('GET', '/v1/functions/victim');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    expect((await errorOf(await h.call('victim'))).code).toBe('not_found');
    expect(h.logs.some((l) => l.msg === 'skipped an unreadable function record' && l.fields.fn === 'victim')).toBe(true);
  }

  it('issue 8 #8: a record that is not JSON is skipped and shown in /healthz', async () => {
    host = await startWithDamagedRecord((path) => writeFile(path, '{"name": "victim", "current": 1, "vers'));
    await expectSkipped(host, /^the record is not valid JSON$/);
  });

  it('issue 8 #8: a record of the wrong shape (a digest that is a path) is skipped', async () => {
    host = await startWithDamagedRecord((path) =>
      writeFile(
        path,
        JSON.stringify({
          name: 'victim',
          current: 1,
          nextVersion: 2,
          versions: [{ name: 'victim', version: 1, digest: '../../token', size: 1, limits: { timeoutMs: 1, memoryBytes: 1 }, createdAt: '' }],
        }),
      ),
    );
    await expectSkipped(host, /digest/);
  });

  it('issue 8 #8: a record that cannot be read (a directory, or mode 000 when not root) is skipped', async () => {
    host = await startWithDamagedRecord(async (path) => {
      if (process.getuid?.() === 0) {
        // root reads a mode-000 file anyway; a directory in the record's place cannot be read by anyone.
        await rm(path);
        await mkdir(path);
      } else {
        await chmod(path, 0o000);
      }
    });
    await expectSkipped(host, /EISDIR|EACCES/);
  });

  it('issue 8 #8: an upload to a name whose record is unreadable is refused, the record kept, and nothing collected', async () => {
    host = await startWithDamagedRecord((path) => writeFile(path, 'not json'), 1);
    const blobs = await readdir(join(host.dataDir, 'blobs', 'sha256'));
    const res = await host.api('PUT', '/v1/functions/victim', await fixture('respond'));
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('internal');
    // Another function's redeploy works, but garbage collection waits (here with one version
    // kept): the unreadable record may reference any blob, so none is removed.
    await host.deploy('good', variant(await fixture('respond'), 'good-2'), '');
    await host.deploy('good', variant(await fixture('respond'), 'good-3'), '');
    expect((await readdir(join(host.dataDir, 'blobs', 'sha256'))).length).toBe(blobs.length + 2);
    const good = await host.call('good');
    expect(good.status).toBe(200);
  });
});
