/**
 * ABI compatibility: a guest built against ABI 1.0 (kept under test/fixtures/abi-1.0) and every
 * current sample keep working when the host sends an envelope that has grown new fields of
 * every wire type.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse } from '../../host/src/abi/envelope.js';
import { ROOT } from '../../host/src/paths.js';
import { ENGINES, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { BUILT_LANGUAGES } from '../helpers/samples.js';

const future = protobuf.loadSync(join(ROOT, 'test', 'abi', 'envelope-1.1.test.proto')).lookupType('wafer.v1.Request');

/** A request carrying every field added after 1.0, with the 1.0 fields asking hello for "Ada". */
function grownRequest(): Uint8Array {
  return future
    .encode({
      method: 'GET',
      path: '/compat',
      query: 'name=Ada',
      headers: [{ name: 'x-a', value: '1', sensitive: true }],
      body: new Uint8Array(0),
      invocationId: 'compat-1',
      deadlineMs: Date.now() + 5000,
      peer: { address: '127.0.0.1', port: 40000 },
      attributes: { region: 'local', tier: 'test' },
      traceId: '81985529216486895',
      attempt: 3,
      budgetDelta: -42,
      flags: [1, 2, 300],
    })
    .finish();
}

describe('the grown envelope', () => {
  it('really carries the fields added after 1.0', () => {
    const decoded = future.toObject(future.decode(grownRequest()), { longs: String });
    expect(decoded).toMatchObject({
      peer: { address: '127.0.0.1', port: 40000 },
      attributes: { region: 'local', tier: 'test' },
      traceId: '81985529216486895',
      attempt: 3,
      budgetDelta: '-42',
      flags: [1, 2, 300],
    });
  });
});

describe.each(ENGINES)('ABI compatibility on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
  });
  afterAll(() => host?.destroy());

  async function callWithGrownEnvelope(name: string, bytes: Uint8Array): Promise<string> {
    const fn = await host.deploy(name, bytes);
    const digest = String(fn.digest).replace(/^sha256:/, '');
    const { engine: e } = host.service;
    await e.load({ digest, bytes: async () => bytes });
    const report = await e.call(digest, grownRequest(), host.service.defaults);
    const response = decodeResponse(report.output);
    expect(response.status).toBe(200);
    return Buffer.from(response.body).toString('utf8');
  }

  it('runs the hello guest built against ABI 1.0 over HTTP', async () => {
    await host.deploy('hello-abi10', await readFile(join(ROOT, 'test', 'fixtures', 'abi-1.0', 'hello-rust.wasm')));
    const res = await host.call('hello-abi10', '/p?name=Ada');
    expect(await res.text()).toBe('Hello, Ada!');
  });

  it('the ABI 1.0 guest skips envelope fields added after 1.0', async () => {
    const bytes = await readFile(join(ROOT, 'test', 'fixtures', 'abi-1.0', 'hello-rust.wasm'));
    expect(await callWithGrownEnvelope('hello-abi10-grown', bytes)).toBe('Hello, Ada!');
  });

  it.each(BUILT_LANGUAGES)('the current %s SDK skips envelope fields it does not know', async (lang) => {
    expect(await callWithGrownEnvelope(`hello-grown-${lang}`, await sample(`hello-${lang}`))).toBe('Hello, Ada!');
  });
});
