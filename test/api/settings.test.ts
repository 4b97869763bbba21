/**
 * Per-function settings (issue 10 #5): timeout, memory, instance, fuel, max_concurrency, the
 * guest's environment and invoke_auth, given as the query of PUT /v1/functions/{name} or changed
 * by PATCH /v1/functions/{name} (a new version of the same component), over real HTTP on both
 * engines. `env` answers its environment as its body, one NAME=VALUE line per variable; `loop`
 * never returns.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ENV_VARS, MAX_FUEL } from '../../host/src/limits.js';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Every file under `dir`, as relative paths, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length)).sort();
}

describe.each(ENGINES)('per-function settings on %s', (engine) => {
  let host: TestHost;
  let cacheDir: string;
  let env: Buffer;
  let respond: Buffer;
  let loop: Buffer;
  beforeAll(async () => {
    // Its own compiled cache, so a test can see that a settings change compiles nothing. One
    // queued call per function, so a second call past max_concurrency is visible at once.
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-settings-cache-'));
    host = await startTestHost(engine, { cacheDir, maxQueue: 1 });
    env = await fixture('env');
    respond = await fixture('respond');
    loop = await fixture('loop');
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const patch = (name: string, body: unknown) =>
    host.api('PATCH', `/v1/functions/${name}`, typeof body === 'string' ? body : JSON.stringify(body), JSON_HEADERS);
  const put = (name: string, bytes: Uint8Array, query: string) =>
    host.api('PUT', `/v1/functions/${name}${query}`, bytes, { 'content-type': 'application/wasm' });
  const text = async (target: string) => {
    const res = await host.call(target);
    expect(res.status, target).toBe(200);
    return res.text();
  };

  describe('PUT /v1/functions/:name settings', () => {
    it('shows every setting in the version view, with the defaults when none is given', async () => {
      const plain = await host.deploy('plain', respond);
      expect(plain.limits).toEqual({ timeout_ms: 5000, memory_mb: 256, instance: 'fresh', max_concurrency: 8 });
      expect(plain.env).toEqual([]);
      expect(plain.invoke_auth).toBe('none');
      const set = await host.deploy('set', respond, '?timeout_ms=1500&memory_mb=64&instance=reuse&max_concurrency=3&invoke_auth=token&env=B=2&env=A=1');
      expect(set.limits).toEqual({ timeout_ms: 1500, memory_mb: 64, instance: 'reuse', max_concurrency: 3 });
      expect(set.env).toEqual(['A', 'B']);
      expect(set.invoke_auth).toBe('token');
      const read = (await (await host.api('GET', '/v1/functions/set')).json()) as Record<string, unknown>;
      expect(read).toEqual(set);
    });

    it('passes the environment to the guest, and never answers its values', async () => {
      const view = await host.deploy('envy', env, `?env=GREETING=${encodeURIComponent('hello world')}&env=EMPTY=&env=EQ=${encodeURIComponent('a=b')}`);
      expect(JSON.stringify(view)).not.toContain('hello world');
      expect(await text('envy')).toBe('EMPTY=\nEQ=a=b\nGREETING=hello world\n');
      const versions = await (await host.api('GET', '/v1/functions/envy/versions')).text();
      expect(versions).not.toContain('hello world');
    });

    it('gives a guest without env an empty environment', async () => {
      await host.deploy('bare', env);
      expect(await text('bare')).toBe('');
    });

    it('gives each warm instance (instance=reuse) the environment of its own version', async () => {
      await host.deploy('warm', env, '?instance=reuse&env=V=one');
      expect(await text('warm')).toBe('V=one\n');
      expect(await text('warm')).toBe('V=one\n');
      expect((await patch('warm', { env: { V: 'two' } })).status).toBe(200);
      expect(await text('warm')).toBe('V=two\n');
      expect(await text('warm@1')).toBe('V=one\n');
    });

    it('lets max_concurrency=1 run one call at a time: a second waits in the queue, a third is overloaded', async () => {
      // Three calls that each run to their timeout arrive together: one runs, one waits (the
      // host's queue is 1 here), the third is refused at once.
      await host.deploy('single', loop, '?max_concurrency=1&timeout_ms=2000');
      const statuses = (await Promise.all([0, 1, 2].map(() => host.call('single')))).map((r) => r.status).sort();
      expect(statuses).toEqual([503, 504, 504]);
      await host.deploy('double', loop, '?max_concurrency=2&timeout_ms=2000');
      const doubled = (await Promise.all([0, 1, 2].map(() => host.call('double')))).map((r) => r.status).sort();
      expect(doubled).toEqual([504, 504, 504]);
    });

    it('refuses each bad setting with invalid_request naming it, before the upload is read', async () => {
      const cases: [string, string][] = [
        ['?fuel=0', 'fuel'],
        [`?fuel=${MAX_FUEL + 1}`, 'fuel'],
        ['?fuel=lots', 'fuel'],
        ['?max_concurrency=0', 'max_concurrency'],
        ['?max_concurrency=9', 'max_concurrency'],
        ['?invoke_auth=maybe', 'invoke_auth'],
        ['?instance=shared', 'instance'],
        ['?env=NOVALUE', 'env'],
        ['?env=1X=a', 'env'],
        [`?env=${'N'.repeat(129)}=a`, 'env'],
        [`?env=BIG=${'x'.repeat(4097)}`, 'env'],
        ['?env=NUL=a%00b', 'env'],
        ['?env=A=1&env=A=2', 'env'],
        [`?${Array.from({ length: MAX_ENV_VARS + 1 }, (_, i) => `env=V${i}=x`).join('&')}`, 'env'],
      ];
      for (const [query, setting] of cases) {
        const res = await put('refused', respond, query);
        expect(res.status, query.slice(0, 60)).toBe(400);
        const error = await errorOf(res);
        expect(error.code).toBe('invalid_request');
        expect(error.message, query.slice(0, 60)).toContain(setting);
      }
      expect((await host.api('GET', '/v1/functions/refused')).status).toBe(404);
    });
  });

  describe('fuel', () => {
    if (engine === 'wasmtime') {
      it('stops a loop that runs out of fuel with out_of_fuel, well before its time quota', async () => {
        const view = await host.deploy('metered', loop, '?fuel=1000000&timeout_ms=60000');
        expect(view.limits).toMatchObject({ fuel: 1000000 });
        const res = await host.call('metered');
        expect(res.status).toBe(500);
        expect((await errorOf(res)).code).toBe('out_of_fuel');
      });

      it('runs a call within its fuel, and meters the fuel it used', async () => {
        await host.deploy('fueled', respond, '?fuel=1000000');
        expect(await text('fueled')).toBe('ok');
        const usage = (await (await host.api('GET', '/v1/functions/fueled/usage')).json()) as { lifetime: { fuel: number } };
        expect(usage.lifetime.fuel).toBeGreaterThan(0);
      });
    } else {
      it('is refused: V8 cannot meter fuel', async () => {
        const res = await put('metered', loop, '?fuel=1000000');
        expect(res.status).toBe(400);
        const error = await errorOf(res);
        expect(error.code).toBe('invalid_request');
        expect(error.message).toMatch(/fuel needs the wasmtime engine/);
        expect((await patch('plain', { fuel: 1000 })).status).toBe(400);
      });
    }
  });

  describe('PATCH /v1/functions/:name', () => {
    it('makes a new version of the same component with the settings changed and the rest carried over', async () => {
      const v1 = await host.deploy('tuned', env, '?timeout_ms=1000&env=A=1&max_concurrency=2');
      const res = await patch('tuned', { timeout_ms: 3000, env: { B: '2' } });
      expect(res.status).toBe(200);
      const v2 = (await res.json()) as Record<string, unknown>;
      expect(v2).toMatchObject({ name: 'tuned', version: 2, digest: v1.digest, size: v1.size, world: v1.world, env: ['B'] });
      expect(v2.limits).toEqual({ ...(v1.limits as object), timeout_ms: 3000 });
      expect(await text('tuned')).toBe('B=2\n');
    });

    it('is undone by a rollback: the previous version comes back with its own settings', async () => {
      const v1 = await host.deploy('undo', env, '?env=OLD=1');
      await patch('undo', { env: {}, timeout_ms: 2000 });
      expect(await text('undo')).toBe('');
      const back = (await (await host.api('POST', '/v1/functions/undo/rollback')).json()) as Record<string, unknown>;
      expect(back).toMatchObject({ version: 1, limits: v1.limits, env: ['OLD'], rolled_back_from: 2 });
      expect(await text('undo')).toBe('OLD=1\n');
    });

    it('lands on the version current when it lands: a PATCH racing a deploy never republishes the older component', async () => {
      const old = await host.deploy('racy', env, '?env=A=1');
      for (let round = 0; round < 3; round++) {
        // PATCHes back to back for as long as a deploy of another component takes.
        let deploying = true;
        const patches = (async () => {
          let n = 0;
          while (deploying || n < 3) {
            expect((await patch('racy', { timeout_ms: 1000 + (n++ % 50) })).status).toBe(200);
          }
        })();
        const fresh = await host.deploy('racy', round % 2 === 0 ? respond : env, `?env=ROUND=${round}`);
        deploying = false;
        await patches;
        const { versions } = (await (await host.api('GET', '/v1/functions/racy/versions')).json()) as { versions: Array<{ version: number; digest: string; env: string[] }> };
        // Every version made after the deploy carries the deployed component and its env.
        for (const v of versions.filter((v) => v.version > (fresh.version as number))) {
          expect({ version: v.version, digest: v.digest, env: v.env }).toEqual({ version: v.version, digest: fresh.digest, env: ['ROUND'] });
        }
      }
      expect(old.version).toBe(1);
    });

    it('compiles nothing when only settings change', async () => {
      await host.deploy('cached', respond);
      expect(await text('cached')).toBe('ok');
      const before = await filesUnder(cacheDir);
      const res = await patch('cached', { timeout_ms: 2500, memory_mb: 128, instance: 'reuse', max_concurrency: 4, env: { X: 'y' }, invoke_auth: 'none' });
      expect(res.status).toBe(200);
      expect(await text('cached')).toBe('ok');
      expect(await filesUnder(cacheDir)).toEqual(before);
    });

    if (engine === 'wasmtime') {
      it('turns fuel on and off: null removes it', async () => {
        await host.deploy('toggle', loop, '?timeout_ms=60000');
        const on = (await (await patch('toggle', { fuel: 500000 })).json()) as { limits: Record<string, unknown> };
        expect(on.limits.fuel).toBe(500000);
        expect((await errorOf(await host.call('toggle'))).code).toBe('out_of_fuel');
        const off = (await (await patch('toggle', { fuel: null, timeout_ms: 200 })).json()) as { limits: Record<string, unknown> };
        expect(off.limits).not.toHaveProperty('fuel');
        expect((await errorOf(await host.call('toggle'))).code).toBe('timeout');
      });
    }

    it('refuses a malformed body with invalid_request, and a large one with payload_too_large', async () => {
      const tooMuch = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`V${i}`, 'x'.repeat(4000)]));
      for (const body of [JSON.stringify({ env: tooMuch }), '{', '[]', '{"timeout_ms":"5"}', '{"colour":"red"}', '{"env":{"A":1}}', '{"env":null}', '{"fuel":1.5}', '{"memory_mb":100000}']) {
        const res = await patch('plain', body);
        expect(res.status, body).toBe(400);
        expect((await errorOf(res)).code, body).toBe('invalid_request');
      }
      const big = await patch('plain', { env: { A: 'x'.repeat(70 * 1024) } });
      expect(big.status).toBe(413);
      expect((await errorOf(big)).code).toBe('payload_too_large');
      expect((await host.api('GET', '/v1/functions/plain/versions')).ok).toBe(true);
      const versions = (await (await host.api('GET', '/v1/functions/plain/versions')).json()) as { versions: unknown[] };
      expect(versions.versions).toHaveLength(1);
    });

    it('answers not_found for an unknown function, and needs the management token', async () => {
      expect((await patch('nobody', { timeout_ms: 100 })).status).toBe(404);
      const res = await fetch(`${host.url}/v1/functions/plain`, { method: 'PATCH', body: '{}', headers: JSON_HEADERS });
      expect(res.status).toBe(401);
    });
  });

  it('keeps every setting across a restart', async () => {
    await host.deploy('kept', env, '?env=K=v&max_concurrency=5&invoke_auth=token');
    const before = (await (await host.api('GET', '/v1/functions/kept')).json()) as Record<string, unknown>;
    host = await host.restart();
    expect(await (await host.api('GET', '/v1/functions/kept')).json()).toEqual(before);
    const res = await host.call('kept', '', { headers: { authorization: `Bearer ${host.token}` } });
    expect(await res.text()).toBe('K=v\n');
  });
});
