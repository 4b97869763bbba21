/**
 * Hostile HTTP: requests that are not valid HTTP/1.1, or lie about their framing (issue 8 #6,
 * and the corpus's "lying Content-Length"). Node's parser refuses them before Koa sees them; the
 * host answers a JSON error (400 or 431 `invalid_request`), closes that connection, and keeps
 * serving everyone else. A body shorter than its Content-Length is cut off by the request timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { collect, openSocket, rawErrorCode, rawRequest, send } from './http-kit.js';

describe.each(ENGINES)('malformed and lying requests on %s', (engine) => {
  let host: TestHost;

  beforeAll(async () => {
    host = await startTestHost(engine, { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    await host.deploy('healthy', await fixture('respond'));
    await host.deploy('echo', await fixture('echo'));
  });
  afterAll(() => host?.destroy());

  async function stillServing(): Promise<void> {
    const res = await send(host.url, 'GET', '/fn/healthy');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
  }

  it('issue 8 #6: Content-Length and Transfer-Encoding together (smuggling) answer 400 invalid_request', async () => {
    const answer = await rawRequest(
      host.url,
      'POST /fn/healthy HTTP/1.1\nHost: wafer\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\n\nGET /v1/functions HTTP/1.1\nHost: wafer\n\n',
    );
    expect(answer.status).toBe(400);
    expect(rawErrorCode(answer)).toBe('invalid_request');
    expect(answer.closed).toBe(true);
    expect(answer.text).not.toContain('"functions"');
    await stillServing();
  });

  it('issue 8 #6: a body longer than its Content-Length leaves garbage that answers 400 invalid_request', async () => {
    const answer = await rawRequest(host.url, 'POST /fn/healthy HTTP/1.1\nHost: wafer\nContent-Length: 2\n\nhi\u0001\u0002 garbage that is no request\n\n');
    // The stray bytes arrive with the request, so the parser fails before the first answer is
    // written: the connection gets the 400 alone.
    expect(answer.text).toMatch(/HTTP\/1\.1 400 Bad Request[\s\S]*"code":"invalid_request"/);
    expect(answer.closed).toBe(true);
    await stillServing();
  });

  it('issue 8 #6: a body shorter than its Content-Length is cut off with 408 request_timeout', async () => {
    const socket = await openSocket(host.url);
    socket.write('POST /fn/echo HTTP/1.1\r\nHost: wafer\r\nContent-Length: 1000\r\n\r\nonly this');
    const answer = await collect(socket, 6_000);
    expect(answer.status).toBe(408);
    expect(rawErrorCode(answer)).toBe('request_timeout');
    expect(answer.closed).toBe(true);
    await stillServing();
  });

  it('issue 8 #6: headers over Node\'s size limit answer 431 invalid_request', async () => {
    const answer = await rawRequest(host.url, `GET /fn/healthy HTTP/1.1\nHost: wafer\nX-Big: ${'a'.repeat(64 * 1024)}\n\n`);
    expect(answer.status).toBe(431);
    expect(rawErrorCode(answer)).toBe('invalid_request');
    expect(answer.closed).toBe(true);
    await stillServing();
  });

  it('issue 8 #6: a request line that is not HTTP answers 400 invalid_request', async () => {
    const answer = await rawRequest(host.url, 'HELLO\u0000 /fn/healthy SPDY/9\n\n');
    expect(answer.status).toBe(400);
    expect(rawErrorCode(answer)).toBe('invalid_request');
    expect(answer.closed).toBe(true);
    await stillServing();
  });
});
