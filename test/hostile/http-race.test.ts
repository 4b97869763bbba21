/**
 * Hostile HTTP: delete and redeploy racing a call whose body is still arriving (issue 8 #6 moved
 * admission before the body, which widens that window). A call is admitted by name; the name is
 * resolved again when the body has arrived, so a function deleted meanwhile answers 404
 * `not_found` (never a stale run, never a 500 for a collected blob), and one redeployed
 * meanwhile answers with its new version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { collect, openSocket, rawErrorCode, respondingComponent, send } from './http-kit.js';

describe.each(ENGINES)('calls racing delete and redeploy on %s', (engine) => {
  let host: TestHost;
  let v1: Buffer;
  let v2: Uint8Array;

  beforeAll(async () => {
    host = await startTestHost(engine);
    v1 = await fixture('respond');
    v2 = await respondingComponent({ status: 200, headers: [], body: Buffer.from('v2') });
    await host.deploy('healthy', v1);
  });
  afterAll(() => host?.destroy());

  /** Sends a call's headers and half its body, runs `meanwhile`, then the rest; returns the answer. */
  async function callAround(name: string, meanwhile: () => Promise<void>) {
    const socket = await openSocket(host.url);
    socket.write(`POST /fn/${name} HTTP/1.1\r\nHost: wafer\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await meanwhile();
    const answer = collect(socket, 10_000);
    socket.write('world');
    return answer;
  }

  it('issue 8 #6: a function deleted while its call body arrives answers 404 not_found', async () => {
    await host.deploy('racer', v1);
    const answer = await callAround('racer', async () => {
      expect((await host.api('DELETE', '/v1/functions/racer')).status).toBe(204);
    });
    expect(answer.status).toBe(404);
    expect(rawErrorCode(answer)).toBe('not_found');
    expect((await send(host.url, 'GET', '/fn/healthy')).status).toBe(200);
  });

  it('issue 8 #6: a function redeployed while its call body arrives answers with the new version', async () => {
    await host.deploy('racer', v1);
    const answer = await callAround('racer', async () => {
      await host.deploy('racer', v2);
    });
    expect(answer.status).toBe(200);
    expect(answer.text.endsWith('\r\n\r\nv2')).toBe(true);
    expect((await send(host.url, 'GET', '/fn/healthy')).status).toBe(200);
  });
});
