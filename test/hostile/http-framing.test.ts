/**
 * Hostile HTTP: a guest never controls HTTP framing (issue 8 #4). A 1xx status answers 502
 * `bad_response`; the guest's hop-by-hop and framing headers (`connection`, `transfer-encoding`,
 * `content-length`, `upgrade`, `keep-alive`, `te`, `trailer`, `proxy-*`), and its
 * `service-worker-allowed` (the dashboard shares the origin), are dropped and the
 * rest of its answer is delivered. Guests are hand-written components that answer exactly what a
 * hostile guest would; answers are read raw, where a client library would hide broken framing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { rawErrorCode, rawRequest, respondingComponent, send } from './http-kit.js';

const STATUSES = [100, 101, 103, 199];

/** Framing headers a guest might answer, each with a value a client could act on. */
const FRAMING: Array<[string, string]> = [
  ['connection', 'upgrade'],
  ['Connection', 'close, x-guest'],
  ['transfer-encoding', 'chunked'],
  ['Transfer-Encoding', 'gzip, chunked'],
  ['content-length', '9999'],
  ['upgrade', 'websocket'],
  ['keep-alive', 'timeout=3600, max=100000'],
  ['te', 'trailers'],
  ['trailer', 'x-guest-trailer'],
  ['proxy-authenticate', 'Basic realm="guest"'],
  ['proxy-connection', 'keep-alive'],
  ['Proxy-Authorization', 'Basic Z3Vlc3Q6Z3Vlc3Q='],
  // Not framing, but as dangerous: would let the guest's service worker control the whole
  // origin (the dashboard at /ui/ and the API) rather than its own /fn/{name}/ paths.
  ['Service-Worker-Allowed', '/'],
];

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

describe.each(ENGINES)('a guest cannot control HTTP framing on %s', (engine) => {
  let host: TestHost;

  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('healthy', await fixture('respond'));
    for (const status of STATUSES) {
      await host.deploy(`status-${status}`, await respondingComponent({ status, headers: [], body: Buffer.from('informational') }));
    }
    for (const [i, [name, value]] of FRAMING.entries()) {
      const headers = [{ name: 'x-kept', value: 'yes' }, { name, value }];
      await host.deploy(`frame-${i}-${slug(name)}`, await respondingComponent({ status: 200, headers, body: Buffer.from('framed ok') }));
    }
    await host.deploy('forger', await respondingComponent({ status: 200, headers: [{ name: 'X-Wafer-Invocation-Id', value: 'forged' }], body: Buffer.from('ok') }));
  });
  afterAll(() => host?.destroy());

  async function stillServing(): Promise<void> {
    const res = await host.call('healthy');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  }

  it.each(STATUSES)('issue 8 #4: a guest answering status %i gets 502 bad_response', async (status) => {
    const answer = await rawRequest(host.url, `GET /fn/status-${status} HTTP/1.1\nHost: wafer\nConnection: close\n\n`, 5_000);
    expect(answer.status).toBe(502);
    expect(rawErrorCode(answer)).toBe('bad_response');
    expect(answer.text).not.toContain('informational');
    await stillServing();
  });

  it.each(FRAMING.map(([name, value], i) => ({ i, name, value })))(
    'issue 8 #4: the guest header $name: $value is dropped, the rest delivered',
    async ({ i, name, value }) => {
      const res = await send(host.url, 'GET', `/fn/frame-${i}-${slug(name)}`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('framed ok');
      expect(res.headers['x-kept']).toBe('yes');
      const sent: Array<[string, string]> = [];
      for (let k = 0; k + 1 < res.rawHeaders.length; k += 2) sent.push([res.rawHeaders[k]!.toLowerCase(), res.rawHeaders[k + 1]!]);
      expect(sent).not.toContainEqual([name.toLowerCase(), value]);
      expect(res.headers['content-length']).toBe(String('framed ok'.length));
      expect(res.headers['transfer-encoding']).toBeUndefined();

      // The same connection stays usable for the next request: the framing was the host's.
      const raw = await rawRequest(host.url, `GET /fn/frame-${i}-${slug(name)} HTTP/1.1\nHost: wafer\n\nGET /fn/healthy HTTP/1.1\nHost: wafer\nConnection: close\n\n`, 5_000);
      expect(raw.text.match(/HTTP\/1\.1 200 /g)?.length, raw.text).toBe(2);
      expect(raw.text.endsWith('ok')).toBe(true);
      await stillServing();
    },
  );

  it('a guest cannot forge the invocation id the host answers (held before issue 8; kept as a guard)', async () => {
    const res = await send(host.url, 'GET', '/fn/forger');
    expect(res.status).toBe(200);
    const ids = res.rawHeaders.filter((_, k) => k % 2 === 0 && res.rawHeaders[k]!.toLowerCase() === 'x-wafer-invocation-id').length;
    expect(ids).toBe(1);
    expect(res.headers['x-wafer-invocation-id']).toMatch(/^[0-9a-f-]{36}$/);
    await stillServing();
  });
});
