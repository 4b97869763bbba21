/**
 * Hostile HTTP: every spelling of a path that the router maps to a management route needs the
 * token (issue 8 #1). Requests go out with `node:http`, which sends the path exactly as written;
 * fetch would normalise it. A spelling either reaches the management route, and then needs the
 * token for GET, PUT and DELETE alike, or is not a route at all (404 with or without the token).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { send } from './http-kit.js';

const NAME = 'target';

/** Spellings of `/v1/functions/target`; `reaches` says whether the router maps it to the route. */
const NAMED: Array<{ path: string; reaches: boolean }> = [
  { path: '/v1/functions/target', reaches: true },
  { path: '/V1/Functions/target', reaches: true },
  { path: '/V1/FUNCTIONS/target', reaches: true },
  { path: '/v1/FUNCTIONS/target/', reaches: true },
  { path: '/v1/functions/target/', reaches: true },
  { path: '/v1/functions/%74arget', reaches: true },
  { path: '/V1/Functions/%74%61rget/', reaches: true },
  { path: '/%761/functions/target', reaches: false },
  { path: '/%76%31/%66unctions/target', reaches: false },
  { path: '/v1%2Ffunctions/target', reaches: false },
  { path: '//v1/functions/target', reaches: false },
  { path: '/v1//functions/target', reaches: false },
  { path: '/v1/functions//target', reaches: false },
  { path: '/x/../v1/functions/target', reaches: false },
  { path: '/v1/./functions/target', reaches: false },
  { path: '/v1/functions/./target', reaches: false },
  { path: '/v1/functions/x/../target', reaches: false },
];

/** Spellings of the collection `/v1/functions`: GET lists, PUT and DELETE are not allowed. */
const COLLECTION: Array<{ path: string; reaches: boolean }> = [
  { path: '/v1/functions', reaches: true },
  { path: '/V1/FUNCTIONS', reaches: true },
  { path: '/v1/Functions/', reaches: true },
  { path: '/%761/functions', reaches: false },
  { path: '//v1//functions', reaches: false },
  { path: '/x/../v1/functions', reaches: false },
];

describe.each(ENGINES)('management routes by any spelling on %s', (engine) => {
  let host: TestHost;
  let component: Buffer;
  const bearer = () => ({ authorization: `Bearer ${host.token}` });

  beforeAll(async () => {
    host = await startTestHost(engine);
    component = await fixture('respond');
    await host.deploy('healthy', component);
  });
  afterAll(() => host?.destroy());

  /** The healthy function still answers and the host still serves. */
  async function stillServing(): Promise<void> {
    const res = await host.call('healthy');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  }

  /** Version of `target` as the canonical route reports it, or 0 if there is none. */
  async function targetVersion(): Promise<number> {
    const res = await send(host.url, 'GET', `/v1/functions/${NAME}`, { headers: bearer() });
    return res.status === 200 ? (JSON.parse(res.body.toString()) as { version: number }).version : 0;
  }

  it.each(NAMED)('issue 8 #1: GET, PUT and DELETE $path need the token (reaches: $reaches)', async ({ path, reaches }) => {
    await host.deploy(NAME, component);
    const before = await targetVersion();
    expect(before).toBeGreaterThan(0);

    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${host.token.slice(0, -1)}` }]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const body = method === 'PUT' ? component : undefined;
        const res = await send(host.url, method, path, { headers: { ...headers, 'content-type': 'application/wasm' }, body });
        expect(`${method} ${res.status} ${res.code}`).toBe(reaches ? `${method} 401 unauthorized` : `${method} 404 not_found`);
      }
    }
    expect(await targetVersion()).toBe(before);

    const put = await send(host.url, 'PUT', path, { headers: { ...bearer(), 'content-type': 'application/wasm' }, body: component });
    const get = await send(host.url, 'GET', path, { headers: bearer() });
    const del = await send(host.url, 'DELETE', path, { headers: bearer() });
    expect([put.status, get.status, del.status]).toEqual(reaches ? [201, 200, 204] : [404, 404, 404]);
    expect(await targetVersion()).toBe(reaches ? 0 : before);
    await stillServing();
  });

  it.each(COLLECTION)('issue 8 #1: GET, PUT and DELETE on the collection $path need the token (reaches: $reaches)', async ({ path, reaches }) => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await send(host.url, method, path);
      expect(`${method} ${res.status} ${res.code}`).toBe(reaches ? `${method} 401 unauthorized` : `${method} 404 not_found`);
    }
    const list = await send(host.url, 'GET', path, { headers: bearer() });
    expect(list.status).toBe(reaches ? 200 : 404);
    if (reaches) expect(JSON.parse(list.body.toString()).functions.map((f: { name: string }) => f.name)).toContain('healthy');
    for (const method of ['PUT', 'DELETE']) {
      const res = await send(host.url, method, path, { headers: bearer() });
      expect(res.status).toBe(reaches ? 405 : 404);
    }
    await stillServing();
  });
});
