/**
 * Issue 8 #2: validation survives any input. jco's `componentWit` (a wasm component) traps on
 * some malformed uploads; in-process, the trapped instance then refused every later upload as
 * `invalid_component` until a restart. `poison-insert.wasm` is hello-rust with one byte inserted,
 * found by a seeded mutation fuzzer (seed 3, mutation 312): it makes the decoder hit `unreachable`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';

const poison = () => readFile(join(import.meta.dirname, 'fixtures', 'poison-insert.wasm'));

describe.each(ENGINES)('upload validation on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('healthy', await fixture('respond'));
  });
  afterAll(() => host?.destroy());

  async function expectHealthy(): Promise<void> {
    const res = await host.call('healthy');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  }

  it('issue 8 #2: an upload that traps the validator is refused, and the next valid upload is accepted', async () => {
    const res = await host.api('PUT', '/v1/functions/poison', await poison(), { 'content-type': 'application/wasm' });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_component');
    expect(error.message).toMatch(/could not be decoded/);
    const ok = await host.api('PUT', '/v1/functions/after-poison', await sample('hello-rust'), { 'content-type': 'application/wasm' });
    expect(ok.status).toBe(201);
    expect((await host.call('after-poison')).status).toBe(200);
    await expectHealthy();
  });

  it('issue 8 #2: ten traps in a row each cost only their own validation', async () => {
    const bad = await poison();
    const good = await fixture('respond');
    for (let i = 0; i < 10; i++) {
      const res = await host.api('PUT', `/v1/functions/p${i}`, bad, { 'content-type': 'application/wasm' });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_component');
      const ok = await host.api('PUT', `/v1/functions/g${i}`, good, { 'content-type': 'application/wasm' });
      expect(ok.status).toBe(201);
    }
    await expectHealthy();
  });

  it('issue 8 #2: valid uploads sent alongside a poisonous one are all accepted', async () => {
    const bad = await poison();
    const good = await sample('hello-rust');
    const answers = await Promise.all([
      host.api('PUT', '/v1/functions/side-1', good, { 'content-type': 'application/wasm' }),
      host.api('PUT', '/v1/functions/side-bad', bad, { 'content-type': 'application/wasm' }),
      host.api('PUT', '/v1/functions/side-2', good, { 'content-type': 'application/wasm' }),
      host.api('PUT', '/v1/functions/side-bad-2', bad, { 'content-type': 'application/wasm' }),
      host.api('PUT', '/v1/functions/side-3', good, { 'content-type': 'application/wasm' }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([201, 400, 201, 400, 201]);
    expect((await errorOf(answers[1]!)).code).toBe('invalid_component');
    await expectHealthy();
  });

  it('issue 8 #2: a first section that claims to be 4 GiB long is refused, and the next valid upload is accepted', async () => {
    const good = await sample('hello-rust');
    // Byte 8 is the first section's id; its LEB128 size follows. 0xffffffff0f = 4 GiB - 1.
    let end = 9;
    while (good[end]! & 0x80) end++;
    const lying = Buffer.concat([good.subarray(0, 9), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), good.subarray(end + 1)]);
    const res = await host.api('PUT', '/v1/functions/lying-size', lying, { 'content-type': 'application/wasm' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_component');
    expect((await host.api('PUT', '/v1/functions/after-lying', good, { 'content-type': 'application/wasm' })).status).toBe(201);
    await expectHealthy();
  });

  it('refuses a component truncated inside a section with invalid_component and keeps accepting', async () => {
    const good = await sample('hello-rust');
    const res = await host.api('PUT', '/v1/functions/truncated', good.subarray(0, 4096), { 'content-type': 'application/wasm' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_component');
    expect((await host.api('PUT', '/v1/functions/whole', good, { 'content-type': 'application/wasm' })).status).toBe(201);
    await expectHealthy();
  });
});
