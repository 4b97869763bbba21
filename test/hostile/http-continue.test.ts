/**
 * Hostile HTTP: `Expect: 100-continue` (curl sends it for uploads over 1 MiB). The host answers
 * a request it will refuse (no token, unknown name, declared size over the limit, full function)
 * before inviting the body, so the client never sends it; a request it will serve gets
 * `100 Continue` only when its body is about to be read (issue 8 #6: nothing is read, or asked
 * for, before the name, the token and the size are checked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { collect, openSocket, rawErrorCode, rawRequest, send } from './http-kit.js';

const KiB = 1024;

describe.each(ENGINES)('Expect: 100-continue on %s', (engine) => {
  let host: TestHost;
  let component: Buffer;

  beforeAll(async () => {
    host = await startTestHost(engine, { maxUploadBytes: 64 * KiB, maxRequestBytes: 16 * KiB });
    component = await fixture('respond');
    await host.deploy('healthy', component);
  });
  afterAll(() => host?.destroy());

  async function stillServing(): Promise<void> {
    const res = await send(host.url, 'GET', '/fn/healthy');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
  }

  const refusals: Array<{ what: string; head: () => string; status: number; code: string }> = [
    {
      what: 'an upload declared over maxUploadBytes',
      head: () => `PUT /v1/functions/big HTTP/1.1\nHost: wafer\nAuthorization: Bearer ${host.token}\nExpect: 100-continue\nContent-Length: ${1024 * KiB}\n\n`,
      status: 413,
      code: 'payload_too_large',
    },
    {
      what: 'an upload without the token',
      head: () => `PUT /v1/functions/big HTTP/1.1\nHost: wafer\nExpect: 100-continue\nContent-Length: ${8 * KiB}\n\n`,
      status: 401,
      code: 'unauthorized',
    },
    {
      what: 'a call of an unknown name',
      head: () => `POST /fn/nobody-here HTTP/1.1\nHost: wafer\nExpect: 100-continue\nContent-Length: ${8 * KiB}\n\n`,
      status: 404,
      code: 'not_found',
    },
    {
      what: 'a call body declared over maxRequestBytes',
      head: () => `POST /fn/healthy HTTP/1.1\nHost: wafer\nExpect: 100-continue\nContent-Length: ${1024 * KiB}\n\n`,
      status: 413,
      code: 'payload_too_large',
    },
  ];

  it.each(refusals)('issue 8 #6: $what is refused ($status) without inviting the body', async ({ head, status, code }) => {
    const answer = await rawRequest(host.url, head(), 3_000);
    expect(answer.text).not.toContain('100 Continue');
    expect(answer.status).toBe(status);
    expect(rawErrorCode(answer)).toBe(code);
    expect(answer.closed).toBe(true);
    await stillServing();
  });

  it('invites the body of an upload it accepts, and deploys it', async () => {
    const socket = await openSocket(host.url);
    socket.write(`PUT /v1/functions/invited HTTP/1.1\r\nHost: wafer\r\nAuthorization: Bearer ${host.token}\r\nExpect: 100-continue\r\nContent-Length: ${component.length}\r\nConnection: close\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once('data', (chunk: Buffer) => (expect(chunk.toString()).toMatch(/^HTTP\/1\.1 100 Continue\r\n/), resolve())));
    socket.write(component);
    const answer = await collect(socket, 10_000);
    expect(answer.status).toBe(201);
    const res = await host.call('invited');
    expect(res.status).toBe(200);
    await stillServing();
  });

  it('invites the body of a call it admits, and answers it', async () => {
    const socket = await openSocket(host.url);
    socket.write('POST /fn/healthy HTTP/1.1\r\nHost: wafer\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', (chunk: Buffer) => (expect(chunk.toString()).toMatch(/^HTTP\/1\.1 100 Continue\r\n/), resolve())));
    socket.write('hello');
    const answer = await collect(socket, 10_000);
    expect(answer.status).toBe(200);
    expect(answer.text.endsWith('ok')).toBe(true);
  });
});
