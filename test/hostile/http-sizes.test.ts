/**
 * Hostile HTTP: sizes at the edge (issue 8 #5, #6). A guest's output over `maxResponseBytes`
 * answers 502 `bad_response`; an unknown function name answers 404 before any body is read; an
 * upload or request body refused for its size reaches a plain fetch client as a readable 413,
 * whether its length was declared or it simply kept coming.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { fetchFromChild, largeResponseComponent, rawErrorCode, rawRequest } from './http-kit.js';

const KiB = 1024;
const LIMITS = { maxResponseBytes: KiB, maxUploadBytes: 64 * KiB, maxRequestBytes: 16 * KiB };

describe.each(ENGINES)('sizes at the HTTP edge on %s', (engine) => {
  let host: TestHost;
  let component: Buffer;

  beforeAll(async () => {
    component = await fixture('respond');
    host = await startTestHost(engine, LIMITS);
    await host.deploy('healthy', component);
    await host.deploy('large', await largeResponseComponent(64 * KiB));
    await host.deploy('small', await largeResponseComponent(KiB / 2));
  });
  afterAll(() => host?.destroy());

  async function stillServing(): Promise<void> {
    const res = await host.call('healthy');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  }

  it('issue 8 #5: output over maxResponseBytes answers 502 bad_response', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await host.call('large');
      expect(res.status).toBe(502);
      expect((await errorOf(res)).code).toBe('bad_response');
    }
    const small = await host.call('small');
    expect(small.status).toBe(200);
    expect((await small.arrayBuffer()).byteLength).toBe(KiB / 2);
    await stillServing();
  });

  it('issue 8 #6: an unknown name answers 404 without waiting for the body', async () => {
    const answer = await rawRequest(host.url, 'POST /fn/nobody-here HTTP/1.1\nHost: wafer\nContent-Length: 10000\n\n', 3_000);
    expect(answer.status).toBe(404);
    expect(rawErrorCode(answer)).toBe('not_found');
    expect(answer.ms).toBeLessThan(2_000);
    await stillServing();
  });

  const REFUSED = Array.from({ length: 10 }, () => ({ status: 413, code: 'payload_too_large' }));
  const BIG = 8 * 1024 * KiB;

  it('issue 8 #6: an upload with a declared length over maxUploadBytes reaches fetch as 413', async () => {
    const headers = { authorization: `Bearer ${host.token}`, 'content-type': 'application/wasm' };
    const results = await fetchFromChild(`${host.url}/v1/functions/too-big`, { method: 'PUT', headers, bytes: BIG, chunked: false }, 10);
    expect(results).toEqual(REFUSED);
    await stillServing();
  });

  it('issue 8 #6: a chunked upload growing past maxUploadBytes reaches fetch as 413', async () => {
    const headers = { authorization: `Bearer ${host.token}`, 'content-type': 'application/wasm' };
    const results = await fetchFromChild(`${host.url}/v1/functions/too-big`, { method: 'PUT', headers, bytes: BIG, chunked: true }, 10);
    expect(results).toEqual(REFUSED);
    expect((await host.api('GET', '/v1/functions/too-big')).status).toBe(404);
    await stillServing();
  });

  it('issue 8 #6: a request body with a declared length over maxRequestBytes reaches fetch as 413', async () => {
    const results = await fetchFromChild(`${host.url}/fn/healthy`, { method: 'POST', bytes: BIG, chunked: false }, 10);
    expect(results).toEqual(REFUSED);
    await stillServing();
  });

  it('issue 8 #6: a chunked request body growing past maxRequestBytes reaches fetch as 413', async () => {
    const results = await fetchFromChild(`${host.url}/fn/healthy`, { method: 'POST', bytes: BIG, chunked: true }, 10);
    expect(results).toEqual(REFUSED);
    await stillServing();
  });
});
