/**
 * Versions and rollback (issue 10 #1): GET /v1/functions/{name}/versions and
 * POST /v1/functions/{name}/rollback, over real HTTP on both engines. `respond` answers "ok",
 * `counter` answers one byte (its call count), so a call shows which version ran.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

interface VersionView {
  name: string;
  version: number;
  digest: string;
  size: number;
  limits: { timeout_ms: number; memory_mb: number; instance: string };
  created_at: string;
  world: string;
}

/** What a call of `respond` or `counter` answered, as a word. */
async function which(res: Response): Promise<string> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  return bytes.length === 1 ? 'counter' : new TextDecoder().decode(bytes) === 'ok' ? 'respond' : `?${bytes}`;
}

describe.each(ENGINES)('versions and rollback on %s', (engine) => {
  let host: TestHost;
  let respond: Buffer;
  let counter: Buffer;
  beforeAll(async () => {
    host = await startTestHost(engine, { keepVersions: 3 });
    respond = await fixture('respond');
    counter = await fixture('counter');
  });
  afterAll(() => host?.destroy());

  const versionsOf = async (name: string) => {
    const res = await host.api('GET', `/v1/functions/${name}/versions`);
    expect(res.status).toBe(200);
    return (await res.json()) as { name: string; current: number; versions: VersionView[] };
  };

  describe('GET /v1/functions/:name/versions', () => {
    it('lists every kept version, newest first, with version, digest, size, limits, world and created_at', async () => {
      await host.deploy('listed', respond, '?timeout_ms=1500');
      await host.deploy('listed', counter);
      const body = await versionsOf('listed');
      expect(body.name).toBe('listed');
      expect(body.current).toBe(2);
      expect(body.versions.map((v) => v.version)).toEqual([2, 1]);
      const [second, first] = body.versions;
      expect(first).toMatchObject({ name: 'listed', version: 1, size: respond.length, limits: { timeout_ms: 1500 }, world: 'wafer:function/handler@1.0.0' });
      expect(second).toMatchObject({ version: 2, size: counter.length });
      for (const v of body.versions) {
        expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(Number.isNaN(Date.parse(v.created_at))).toBe(false);
      }
      expect(first!.digest).not.toBe(second!.digest);
    });

    it('answers 404 not_found for an unknown name and invalid_name for a bad one', async () => {
      const res = await host.api('GET', '/v1/functions/nobody/versions');
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: expect.stringContaining('nobody') });
      const bad = await host.api('GET', '/v1/functions/Bad_Name/versions');
      expect(bad.status).toBe(400);
      expect((await errorOf(bad)).code).toBe('invalid_name');
    });

    it('keeps only the newest keep-versions versions', async () => {
      for (let i = 0; i < 5; i++) await host.deploy('trimmed', i % 2 ? counter : respond);
      expect((await versionsOf('trimmed')).versions.map((v) => v.version)).toEqual([5, 4, 3]);
    });
  });

  describe('POST /v1/functions/:name/rollback', () => {
    it('returns to the previous version by moving the current pointer, without a new version', async () => {
      await host.deploy('roll', respond);
      await host.deploy('roll', counter);
      expect(await which(await host.call('roll'))).toBe('counter');
      const res = await host.api('POST', '/v1/functions/roll/rollback');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'roll', version: 1, rolled_back_from: 2 });
      expect(await which(await host.call('roll'))).toBe('respond');
      expect((await (await host.api('GET', '/v1/functions/roll')).json()).version).toBe(1);
      const listed = await versionsOf('roll');
      expect(listed.current).toBe(1);
      expect(listed.versions.map((v) => v.version)).toEqual([2, 1]);
    });

    it('goes to a given kept version with ?version=N, forward as well as back', async () => {
      await host.deploy('pick', respond);
      await host.deploy('pick', counter);
      await host.deploy('pick', respond);
      const back = await host.api('POST', '/v1/functions/pick/rollback?version=2');
      expect(await back.json()).toMatchObject({ version: 2, rolled_back_from: 3 });
      expect(await which(await host.call('pick'))).toBe('counter');
      const forward = await host.api('POST', '/v1/functions/pick/rollback?version=3');
      expect(await forward.json()).toMatchObject({ version: 3, rolled_back_from: 2 });
      expect(await which(await host.call('pick'))).toBe('respond');
    });

    it('refuses a version that is not kept with 404 not_found naming the kept ones', async () => {
      await host.deploy('gone', respond);
      const res = await host.api('POST', '/v1/functions/gone/rollback?version=7');
      expect(res.status).toBe(404);
      const error = await errorOf(res);
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/version 7 of gone is not kept \(kept: 1\)/);
      const first = await host.api('POST', '/v1/functions/gone/rollback');
      expect(first.status).toBe(404);
      expect((await errorOf(first)).message).toMatch(/no kept version before version 1/);
      expect((await (await host.api('GET', '/v1/functions/gone')).json()).version).toBe(1);
    });

    it('refuses a malformed version with invalid_request and an unknown function with not_found', async () => {
      await host.deploy('strict', respond);
      for (const q of ['abc', '-1', '0', '1.5', '']) {
        const res = await host.api('POST', `/v1/functions/strict/rollback?version=${q}`);
        expect(res.status, q).toBe(400);
        expect((await errorOf(res)).code, q).toBe('invalid_request');
      }
      const res = await host.api('POST', '/v1/functions/nobody/rollback');
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe('not_found');
    });

    it('gives a later deploy a fresh, higher version number', async () => {
      await host.deploy('fresh', respond);
      await host.deploy('fresh', counter);
      await host.api('POST', '/v1/functions/fresh/rollback');
      const next = await host.deploy('fresh', counter);
      expect(next.version).toBe(3);
      expect(await which(await host.call('fresh'))).toBe('counter');
    });

    it('serves the oldest kept version after rolling back to it; the next deploy is current and trims as usual', async () => {
      for (let i = 0; i < 3; i++) await host.deploy('pinned', i === 0 ? counter : respond);
      await host.api('POST', '/v1/functions/pinned/rollback?version=1');
      expect((await versionsOf('pinned')).versions.map((v) => v.version)).toEqual([3, 2, 1]);
      expect(await which(await host.call('pinned'))).toBe('counter');
      await host.deploy('pinned', respond);
      expect((await versionsOf('pinned')).versions.map((v) => v.version)).toEqual([4, 3, 2]);
      expect(await which(await host.call('pinned'))).toBe('respond');
    });
  });

  it('needs the management token on every spelling of the new routes', async () => {
    await host.deploy('guarded', respond);
    const routes: Array<[string, string]> = [
      ['GET', '/v1/functions/guarded/versions'],
      ['GET', '/V1/Functions/guarded/Versions/'],
      ['POST', '/v1/functions/guarded/rollback'],
      ['POST', '/v1/FUNCTIONS/guarded/ROLLBACK?version=1'],
      ['PATCH', '/v1/functions/guarded/versions'],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${host.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
    expect((await (await host.api('GET', '/v1/functions/guarded')).json()).version).toBe(1);
  });

  it('survives a restart: kept versions and the rolled-back current version', async () => {
    let own = await startTestHost(engine);
    try {
      await own.deploy('durable', respond);
      await own.deploy('durable', counter);
      await own.api('POST', '/v1/functions/durable/rollback');
      own = await own.restart();
      const after = own;
      const res = await after.api('GET', '/v1/functions/durable/versions');
      expect(await res.json()).toMatchObject({ current: 1, versions: [{ version: 2 }, { version: 1 }] });
      expect(await which(await after.call('durable'))).toBe('respond');
      expect((await after.deploy('durable', counter)).version).toBe(3);
      expect((await readdir(join(after.dataDir, 'functions'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await own.destroy();
    }
  });
});
