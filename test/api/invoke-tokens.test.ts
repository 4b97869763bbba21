/**
 * Invoke tokens (issue 10 #5): POST/GET /v1/functions/{name}/tokens and DELETE …/tokens/{id},
 * and calls of a version with `invoke_auth=token`, over real HTTP on both engines. `respond`
 * answers "ok"; `request` answers the wafer.v1.Request it was given, so the test sees what
 * reached the guest.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRequest } from '../../host/src/abi/envelope.js';
import { MAX_INVOKE_TOKENS } from '../../host/src/limits.js';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { rawErrorCode, rawRequest } from '../hostile/http-kit.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

interface Created {
  id: string;
  token: string;
  label: string | null;
  created_at: string;
}

/** Every file under `dir` holding `text`. */
async function filesHolding(dir: string, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(text)) found.push(path);
  }
  return found;
}

describe.each(ENGINES)('invoke tokens on %s', (engine) => {
  let host: TestHost;
  let respond: Buffer;
  beforeAll(async () => {
    host = await startTestHost(engine);
    respond = await fixture('respond');
  });
  afterAll(() => host?.destroy());

  const create = async (name: string, body?: unknown): Promise<Created> => {
    const res = await host.api('POST', `/v1/functions/${name}/tokens`, body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : JSON_HEADERS);
    expect(res.status).toBe(201);
    return (await res.json()) as Created;
  };
  const callWith = (target: string, token?: string) => host.call(target, '', token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  describe('POST, GET and DELETE /v1/functions/:name/tokens', () => {
    it('makes a token shown once, lists it without the token, and revokes it', async () => {
      await host.deploy('crud', respond);
      const made = await create('crud', { label: 'ci deploys' });
      expect(made.token).toMatch(/^wft_[A-Za-z0-9_-]{43}$/);
      expect(made.id).toMatch(/^[0-9a-f]+$/);
      expect(made.label).toBe('ci deploys');
      expect(Number.isNaN(Date.parse(made.created_at))).toBe(false);
      const other = await create('crud');
      expect(other.label).toBeNull();
      expect(other.token).not.toBe(made.token);
      const list = await (await host.api('GET', '/v1/functions/crud/tokens')).text();
      expect(JSON.parse(list)).toEqual({
        name: 'crud',
        tokens: [
          { id: made.id, label: 'ci deploys', created_at: made.created_at },
          { id: other.id, label: null, created_at: other.created_at },
        ],
      });
      expect(list).not.toContain(made.token);
      expect((await host.api('DELETE', `/v1/functions/crud/tokens/${made.id}`)).status).toBe(204);
      const after = (await (await host.api('GET', '/v1/functions/crud/tokens')).json()) as { tokens: { id: string }[] };
      expect(after.tokens.map((t) => t.id)).toEqual([other.id]);
      const again = await host.api('DELETE', `/v1/functions/crud/tokens/${made.id}`);
      expect(again.status).toBe(404);
      expect((await errorOf(again)).code).toBe('not_found');
    });

    it('keeps tokens hashed: the clear token is nowhere in the data directory', async () => {
      await host.deploy('hashed', respond);
      const made = await create('hashed');
      expect(await filesHolding(host.dataDir, made.token)).toEqual([]);
      expect(await filesHolding(host.dataDir, made.token.slice(4))).toEqual([]);
      expect(JSON.stringify(host.logs)).not.toContain(made.token);
    });

    it(`allows at most ${MAX_INVOKE_TOKENS} tokens per function`, async () => {
      await host.deploy('many', respond);
      for (let i = 0; i < MAX_INVOKE_TOKENS; i++) await create('many');
      const res = await host.api('POST', '/v1/functions/many/tokens');
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toContain(String(MAX_INVOKE_TOKENS));
    });

    it('refuses a bad body with invalid_request, an unknown function with not_found, and anyone without the management token', async () => {
      await host.deploy('picky', respond);
      for (const body of ['{', '[]', '{"label":5}', '{"label":""}', `{"label":"${'x'.repeat(129)}"}`, '{"label":"a\\u0007b"}', '{"name":"x"}']) {
        const res = await host.api('POST', '/v1/functions/picky/tokens', body, JSON_HEADERS);
        expect(res.status, body).toBe(400);
        expect((await errorOf(res)).code, body).toBe('invalid_request');
      }
      expect((await host.api('POST', '/v1/functions/nobody/tokens')).status).toBe(404);
      expect((await host.api('GET', '/v1/functions/nobody/tokens')).status).toBe(404);
      const made = await create('picky');
      // An invoke token is no management token.
      for (const [method, path] of [['GET', '/v1/functions/picky/tokens'], ['POST', '/v1/functions/picky/tokens'], ['GET', '/v1/functions/picky'], ['DELETE', `/v1/functions/picky/tokens/${made.id}`]]) {
        const res = await fetch(`${host.url}${path}`, { method, headers: { authorization: `Bearer ${made.token}` } });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect((await errorOf(res)).code).toBe('unauthorized');
      }
    });
  });

  describe('ANY /fn/:name with invoke_auth=token', () => {
    it('needs one of the function\'s tokens or the management token, and answers 401 otherwise', async () => {
      await host.deploy('locked', respond, '?invoke_auth=token');
      const made = await create('locked');
      await host.deploy('elsewhere', respond, '?invoke_auth=token');
      const foreign = await create('elsewhere');
      for (const token of [undefined, 'wft_wrong', made.token.slice(0, -1), foreign.token]) {
        const res = await callWith('locked', token);
        expect(res.status, String(token)).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect((await errorOf(res)).code).toBe('unauthorized');
      }
      expect(await (await callWith('locked', made.token)).text()).toBe('ok');
      expect(await (await callWith('locked', host.token)).text()).toBe('ok');
      expect(await (await callWith('locked@1', made.token)).text()).toBe('ok');
    });

    it('answers 401 before reading the body', async () => {
      await host.deploy('early', respond, '?invoke_auth=token');
      // Declares a body it never sends: only an answer given before reading it can arrive.
      const exchange = await rawRequest(host.url, 'POST /fn/early HTTP/1.1\nHost: wafer\nContent-Length: 100000\n\n');
      expect(exchange.status).toBe(401);
      expect(rawErrorCode(exchange)).toBe('unauthorized');
    });

    it('stops a revoked token at once', async () => {
      await host.deploy('revoked', respond, '?invoke_auth=token');
      const made = await create('revoked');
      expect((await callWith('revoked', made.token)).status).toBe(200);
      await host.api('DELETE', `/v1/functions/revoked/tokens/${made.id}`);
      expect((await callWith('revoked', made.token)).status).toBe(401);
    });

    it('follows the serving version: invoke_auth=none opens the function again, a rollback closes it', async () => {
      await host.deploy('toggle', respond, '?invoke_auth=token');
      expect((await callWith('toggle')).status).toBe(401);
      await host.api('PATCH', '/v1/functions/toggle', JSON.stringify({ invoke_auth: 'none' }), JSON_HEADERS);
      expect((await callWith('toggle')).status).toBe(200);
      expect((await callWith('toggle@1')).status).toBe(401);
      await host.api('POST', '/v1/functions/toggle/rollback');
      expect((await callWith('toggle')).status).toBe(401);
    });

    it('hides the Authorization header from the guest of an authenticated call', async () => {
      const request = await fixture('request');
      await host.deploy('private', request, '?invoke_auth=token');
      const made = await create('private');
      const res = await host.call('private', '', { headers: { authorization: `Bearer ${made.token}`, 'x-kept': 'yes' } });
      expect(res.status).toBe(200);
      const seen = decodeRequest(new Uint8Array(await res.arrayBuffer()));
      const names = seen.headers.map((h) => h.name);
      expect(names).toContain('x-kept');
      expect(names).not.toContain('authorization');
      // A function without invoke auth gets the header as sent: it may do its own.
      await host.deploy('public', request);
      const open = decodeRequest(new Uint8Array(await (await host.call('public', '', { headers: { authorization: 'Bearer mine' } })).arrayBuffer()));
      expect(open.headers).toContainEqual({ name: 'authorization', value: 'Bearer mine' });
    });

    it('keeps tokens across a restart, and drops them with the function', async () => {
      await host.deploy('durable', respond, '?invoke_auth=token');
      const made = await create('durable');
      host = await host.restart();
      expect(await (await callWith('durable', made.token)).text()).toBe('ok');
      expect((await host.api('DELETE', '/v1/functions/durable')).status).toBe(204);
      await host.deploy('durable', respond, '?invoke_auth=token');
      expect((await callWith('durable', made.token)).status).toBe(401);
      expect(((await (await host.api('GET', '/v1/functions/durable/tokens')).json()) as { tokens: unknown[] }).tokens).toEqual([]);
    });
  });
});
