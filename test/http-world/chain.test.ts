/**
 * The http-chain sample: a wasi:http component calling another function in process through
 * `wasi:http/outgoing-handler` at `http://hello-rust.wafer.internal` (samples/README.md,
 * "http-chain"). Both are deployed with the default settings, as `wafer serve` deploys the
 * samples.
 *
 * NEEDS the in-process routing of `http://<fn>.wafer.internal` (issue 11 item 2, the outbound
 * HTTP work). On a host without it the call is denied and the chain answers
 * `502 chain: calling hello-rust.wafer.internal failed: ErrorCode::HttpRequestDenied`, which
 * fails these tests: that is the point of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample, startTestHost, type TestHost } from '../helpers/host.js';

describe('the http-chain sample on wasmtime (needs *.wafer.internal routing)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('hello-rust', await sample('hello-rust'));
    await host.deploy('http-chain-rust', await sample('http-chain-rust'));
  });
  afterAll(() => host?.destroy());

  it('calls hello-rust in process and answers its greeting', async () => {
    const res = await host.call('http-chain-rust', '?name=Ada');
    expect(await res.text()).toBe('chain: Hello, Ada!');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-wafer-sample')).toBe('chain');
  });

  it('passes the name through as received, and calls without one', async () => {
    expect(await (await host.call('http-chain-rust', '/any/path?x=1&name=Gr%C3%A2ce+H')).text()).toBe('chain: Hello, Grâce H!');
    expect(await (await host.call('http-chain-rust')).text()).toBe('chain: Hello, world!');
  });
});
