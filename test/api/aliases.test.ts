/**
 * Aliases and pinned calls (issue 10 #1): PUT/GET/DELETE /v1/functions/{name}/aliases[/{alias}]
 * and /fn/{name}@{alias|version}/…, over real HTTP on both engines. Every call answers
 * `x-wafer-version`, the version that ran; `respond` answers "ok" and `counter` one byte, so
 * the body shows it too.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ALIASES } from '../../host/src/limits.js';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

describe.each(ENGINES)('aliases on %s', (engine) => {
  let host: TestHost;
  let respond: Buffer;
  let counter: Buffer;
  beforeAll(async () => {
    host = await startTestHost(engine, { keepVersions: 3 });
    respond = await fixture('respond');
    counter = await fixture('counter');
  });
  afterAll(() => host?.destroy());

  const putAlias = (name: string, alias: string, body: unknown) =>
    host.api('PUT', `/v1/functions/${name}/aliases/${alias}`, typeof body === 'string' ? body : JSON.stringify(body), JSON_HEADERS);

  /** Calls `target` (`name`, `name@alias`, `name@N`) and says which version ran, checking the body agrees. */
  const ran = async (target: string, rest = ''): Promise<number> => {
    const res = await host.call(target, rest);
    expect(res.status, target).toBe(200);
    const version = Number(res.headers.get('x-wafer-version'));
    const body = new Uint8Array(await res.arrayBuffer());
    return body.length === 1 ? -version : version; // negative: `counter` answered
  };

  /** Deploys `respond` as version 1 and `counter` as version 2 of `name`. */
  const two = async (name: string) => {
    await host.deploy(name, respond);
    await host.deploy(name, counter);
  };

  describe('PUT, GET and DELETE /v1/functions/:name/aliases/:alias', () => {
    it('points an alias at one version, lists it, reads it, and removes it', async () => {
      await two('crud');
      const put = await putAlias('crud', 'prod', { version: 1 });
      expect(put.status).toBe(200);
      expect(await put.json()).toEqual({ name: 'crud', alias: 'prod', version: 1, versions: { '1': 1 } });
      await putAlias('crud', 'canary', { versions: { '2': 10, '1': 90 } });
      const one = await host.api('GET', '/v1/functions/crud/aliases/canary');
      expect(await one.json()).toEqual({ name: 'crud', alias: 'canary', versions: { '1': 90, '2': 10 } });
      const list = await host.api('GET', '/v1/functions/crud/aliases');
      expect(await list.json()).toEqual({
        name: 'crud',
        aliases: [
          { name: 'crud', alias: 'canary', versions: { '1': 90, '2': 10 } },
          { name: 'crud', alias: 'prod', version: 1, versions: { '1': 1 } },
        ],
      });
      const replaced = await putAlias('crud', 'prod', { version: 2 });
      expect((await replaced.json()).version).toBe(2);
      const del = await host.api('DELETE', '/v1/functions/crud/aliases/prod');
      expect(del.status).toBe(204);
      const gone = await host.api('GET', '/v1/functions/crud/aliases/prod');
      expect(gone.status).toBe(404);
      expect(await errorOf(gone)).toMatchObject({ code: 'not_found', message: 'crud has no alias prod' });
      const again = await host.api('DELETE', '/v1/functions/crud/aliases/prod');
      expect(again.status).toBe(404);
    });

    it('answers not_found for an unknown function, before reading the body', async () => {
      for (const [method, path] of [
        ['GET', '/v1/functions/nobody/aliases'],
        ['GET', '/v1/functions/nobody/aliases/prod'],
        ['PUT', '/v1/functions/nobody/aliases/prod'],
        ['DELETE', '/v1/functions/nobody/aliases/prod'],
      ] as const) {
        const res = await host.api(method, path, method === 'PUT' ? '{"version": 1}' : undefined, JSON_HEADERS);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'no function named nobody' });
      }
    });

    it('refuses a bad alias name with invalid_name', async () => {
      await host.deploy('names', respond);
      for (const alias of ['Prod', '9lives', 'a_b', 'x'.repeat(64), '1']) {
        const res = await putAlias('names', alias, { version: 1 });
        expect(res.status, alias).toBe(400);
        expect((await errorOf(res)).code, alias).toBe('invalid_name');
      }
    });

    it('refuses hostile bodies with invalid_request and leaves the alias as it was', async () => {
      await two('hostile');
      await putAlias('hostile', 'live', { version: 1 });
      const bodies: unknown[] = [
        'not json',
        '',
        [1],
        null,
        {},
        { version: 0 },
        { version: '1' },
        { version: 1.5 },
        { version: 1, versions: { '1': 1 } },
        { version: 1, extra: true },
        { versions: {} },
        { versions: [1, 2] },
        { versions: { '1': -1 } },
        { versions: { '1': '1' } },
        { versions: { '1': null } },
        { versions: { '1': 0, '2': 0 } },
        { versions: { x: 1 } },
        { versions: { '01': 1 } },
        { versions: { '1.0': 1 } },
        { versions: { '1': 1e300 } },
        { versions: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [String(i + 1), 1])) },
        { versions: Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [String(i + 1), 1])) },
      ];
      for (const body of bodies) {
        const res = await putAlias('hostile', 'live', body);
        const what = JSON.stringify(body).slice(0, 60);
        expect(res.status, what).toBe(400);
        const error = await errorOf(res);
        expect(error.code, what).toBe('invalid_request');
        expect(error.message.length, what).toBeLessThan(300);
      }
      // Infinity and NaN are not JSON: they arrive as text and are refused as not JSON.
      expect((await putAlias('hostile', 'live', '{"versions": {"1": Infinity}}')).status).toBe(400);
      expect(await ran('hostile@live')).toBe(1);
    });

    it('refuses a version that is not kept with 404 not_found naming it', async () => {
      await host.deploy('unkept', respond);
      const res = await putAlias('unkept', 'next', { versions: { '1': 1, '7': 1 } });
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'version 7 of unkept is not kept (kept: 1)' });
      expect((await host.api('GET', '/v1/functions/unkept/aliases')).status).toBe(200);
      expect((await (await host.api('GET', '/v1/functions/unkept/aliases')).json()).aliases).toEqual([]);
    });

    it('refuses a body over the JSON limit with 413 payload_too_large', async () => {
      await host.deploy('big', respond);
      const res = await putAlias('big', 'huge', JSON.stringify({ version: 1, pad: 'x'.repeat(100 * 1024) }));
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('payload_too_large');
    });

    it(`allows at most ${MAX_ALIASES} aliases per function`, async () => {
      await host.deploy('many', respond);
      for (let i = 0; i < MAX_ALIASES; i++) expect((await putAlias('many', `a${i}`, { version: 1 })).status).toBe(200);
      const res = await putAlias('many', 'one-more', { version: 1 });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
      expect((await putAlias('many', 'a0', { version: 1 })).status).toBe(200); // replacing one is fine
    });

    it('takes names that are properties of every JavaScript object as plain aliases', async () => {
      await host.deploy('protos', respond);
      for (const alias of ['constructor', 'tostring', 'hasownproperty']) {
        expect((await host.call(`protos@${alias}`)).status, alias).toBe(404);
      }
      const unknown = await host.call('protos@constructor');
      expect((await errorOf(unknown)).message).toBe('protos has no alias "constructor"');
      expect((await putAlias('protos', 'constructor', { version: 1 })).status).toBe(200);
      expect(await ran('protos@constructor')).toBe(1);
    });
  });

  describe('/fn/:name@:alias and /fn/:name@:version', () => {
    it('calls the current version plainly, a pinned version by number, and an alias by name, with the rest of the path', async () => {
      await two('pins');
      await putAlias('pins', 'stable', { version: 1 });
      expect(await ran('pins')).toBe(-2);
      expect(await ran('pins@1')).toBe(1);
      expect(await ran('pins@2')).toBe(-2);
      expect(await ran('pins@stable')).toBe(1);
      expect(await ran('pins@stable', '/deep/path?q=1')).toBe(1);
      expect(await ran('pins@1', '/x')).toBe(1);
    });

    it('answers 404 not_found saying which alias or version is missing', async () => {
      await host.deploy('missing', respond);
      const cases: Array<[string, string]> = [
        ['missing@nope', 'missing has no alias "nope"'],
        ['missing@9', 'missing has no kept version 9'],
        ['missing@', 'missing has no alias ""'],
        ['nobody@1', 'no function named nobody'],
      ];
      for (const [target, message] of cases) {
        const res = await host.call(target, '', { method: 'POST', body: 'x' });
        expect(res.status, target).toBe(404);
        expect(await errorOf(res), target).toEqual({ code: 'not_found', message });
      }
    });

    it('follows an alias when it is moved, and a rollback does not move it', async () => {
      await two('moving');
      await putAlias('moving', 'live', { version: 2 });
      expect(await ran('moving@live')).toBe(-2);
      await host.api('POST', '/v1/functions/moving/rollback');
      expect(await ran('moving')).toBe(1);
      expect(await ran('moving@live')).toBe(-2);
      await putAlias('moving', 'live', { version: 1 });
      expect(await ran('moving@live')).toBe(1);
    });

    it('splits calls by weight: 1:0 and 0:1 exactly, and 50:50 reaches both sides', async () => {
      await two('split');
      await putAlias('split', 'canary', { versions: { '1': 1, '2': 0 } });
      for (let i = 0; i < 30; i++) expect(await ran('split@canary')).toBe(1);
      await putAlias('split', 'canary', { versions: { '1': 0, '2': 1 } });
      for (let i = 0; i < 30; i++) expect(await ran('split@canary')).toBe(-2);
      await putAlias('split', 'canary', { versions: { '1': 50, '2': 50 } });
      const seen = new Map<number, number>();
      for (let i = 0; i < 200; i++) {
        const v = Math.abs(await ran('split@canary'));
        seen.set(v, (seen.get(v) ?? 0) + 1);
      }
      // Each side misses all 200 calls with probability 2^-200: this cannot flake.
      expect(seen.get(1)).toBeGreaterThan(0);
      expect(seen.get(2)).toBeGreaterThan(0);
      expect((seen.get(1) ?? 0) + (seen.get(2) ?? 0)).toBe(200);
    });
  });

  describe('keep-versions never collects what an alias names', () => {
    it('keeps an aliased version past keep-versions, callable by alias and number, until the alias goes', async () => {
      await host.deploy('kept', respond);
      await putAlias('kept', 'old', { version: 1 });
      for (let i = 0; i < 4; i++) await host.deploy('kept', counter);
      const versions = async () => ((await (await host.api('GET', '/v1/functions/kept/versions')).json()).versions as Array<{ version: number; digest: string }>);
      expect((await versions()).map((v) => v.version)).toEqual([5, 4, 3, 1]);
      expect(await ran('kept@old')).toBe(1);
      expect(await ran('kept@1')).toBe(1);
      const digest = (await versions()).find((v) => v.version === 1)!.digest.replace('sha256:', '');
      await stat(join(host.dataDir, 'blobs', 'sha256', digest));
      await host.api('DELETE', '/v1/functions/kept/aliases/old');
      await host.deploy('kept', counter);
      expect((await versions()).map((v) => v.version)).toEqual([6, 5, 4]);
      const res = await host.call('kept@1');
      expect(res.status).toBe(404);
      expect((await errorOf(res)).message).toBe('kept has no kept version 1');
    });

    it('drops a function\'s aliases with the function', async () => {
      await host.deploy('dropped', respond);
      await putAlias('dropped', 'live', { version: 1 });
      expect((await host.api('DELETE', '/v1/functions/dropped')).status).toBe(204);
      await host.deploy('dropped', respond);
      expect((await host.call('dropped@live')).status).toBe(404);
      expect((await (await host.api('GET', '/v1/functions/dropped/aliases')).json()).aliases).toEqual([]);
    });
  });

  it('needs the management token on every spelling of the alias routes', async () => {
    await host.deploy('locked', respond);
    await putAlias('locked', 'live', { version: 1 });
    const routes: Array<[string, string]> = [
      ['GET', '/v1/functions/locked/aliases'],
      ['GET', '/v1/functions/locked/aliases/live'],
      ['GET', '/V1/Functions/locked/ALIASES/live/'],
      ['GET', '/v1/functions/%6Cocked/aliases/%6Cive'],
      ['DELETE', '/v1/functions/locked/aliases/%6Cive/'],
      ['PUT', '/v1/functions/locked/aliases/live'],
      ['PUT', '/v1/functions/locked/Aliases/evil'],
      ['DELETE', '/v1/functions/locked/aliases/live'],
      ['POST', '/v1/functions/locked/aliases/live'],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${host.url}${path}`, { method, body: method === 'PUT' ? '{"version": 1}' : null });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
    expect((await (await host.api('GET', '/v1/functions/locked/aliases')).json()).aliases.map((a: { alias: string }) => a.alias)).toEqual(['live']);
  });

  describe('in the data directory', () => {
    it('survives a restart, weights included', async () => {
      let own = await startTestHost(engine);
      try {
        await own.deploy('durable', respond);
        await own.deploy('durable', counter);
        await own.api('PUT', '/v1/functions/durable/aliases/live', '{"version": 1}');
        await own.api('PUT', '/v1/functions/durable/aliases/canary', '{"versions": {"1": 0, "2": 3}}');
        own = await own.restart();
        const list = await (await own.api('GET', '/v1/functions/durable/aliases')).json();
        expect(list.aliases).toEqual([
          { name: 'durable', alias: 'canary', versions: { '1': 0, '2': 3 } },
          { name: 'durable', alias: 'live', version: 1, versions: { '1': 1 } },
        ]);
        expect(Number((await own.call('durable@live')).headers.get('x-wafer-version'))).toBe(1);
        expect(Number((await own.call('durable@canary')).headers.get('x-wafer-version'))).toBe(2);
        expect(Number((await own.call('durable')).headers.get('x-wafer-version'))).toBe(2);
      } finally {
        await own.destroy();
      }
    });

    it('skips a record whose aliases are corrupt, names it on /healthz, and serves the rest', async () => {
      let own = await startTestHost(engine);
      try {
        await own.deploy('healthy', respond);
        await own.deploy('damaged', respond);
        await own.api('PUT', '/v1/functions/damaged/aliases/live', '{"version": 1}');
        await own.close();
        const path = join(own.dataDir, 'functions', 'damaged.json');
        const record = JSON.parse(await readFile(path, 'utf8'));
        record.aliases.live = [{ version: 99, weight: 1 }];
        await writeFile(path, JSON.stringify(record));
        own = await startTestHost(engine, {}, own.dataDir);
        const health = await (await fetch(`${own.url}/healthz`)).json();
        expect(health.status).toBe('degraded');
        expect(health.problems).toEqual([{ name: 'damaged', error: 'aliases["live"] names version 99, which is not kept' }]);
        expect((await own.call('healthy')).status).toBe(200);
        expect((await own.call('damaged@live')).status).toBe(404);
      } finally {
        await own.destroy();
      }
    });
  });
});
