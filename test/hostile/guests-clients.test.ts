/**
 * Hostile clients: requests whose framing lies (Content-Length longer or shorter than the body,
 * Content-Length with Transfer-Encoding, malformed lengths), sent over raw `node:net` sockets to
 * the upload and invoke routes, and races of deploy, delete and invoke on one name. Every answer
 * is a legal one, nothing lying is deployed, and the host keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { build, deployHealthy, expectHealthy, guest, raw, whileHealthy } from './kit.js';

/** A guest answering 200 with a one-letter body, so racing versions can be told apart. */
const letter = (c: string) => guest('(call $ok (i32.const 64) (i32.const 6))', { fields: `(data (i32.const 64) "\\08\\c8\\01\\1a\\01${c}")` });

describe.each(ENGINES)('hostile clients on %s', (engine) => {
  let host: TestHost;
  let component: Buffer;
  const auth = 'authorization: Bearer test-token\r\n';
  beforeAll(async () => {
    host = await startTestHost(engine);
    await deployHealthy(host);
    component = await fixture('respond');
  });
  afterAll(() => host?.destroy());

  /** The function `name` is not deployed. */
  const absent = async (name: string) => expect((await host.api('GET', `/v1/functions/${name}`)).status).toBe(404);

  describe('lying Content-Length on upload (PUT /v1/functions/{name})', () => {
    it('deploys nothing when the body is shorter than declared and the client hangs up', async () => {
      const head = `PUT /v1/functions/liar-long HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/wasm\r\ncontent-length: ${component.length + 1000}\r\n\r\n`;
      const answer = await whileHealthy(host, () => raw(host, [head, component], { end: true }));
      // The server may answer 400 for the incomplete body or just close; never 201 or 5xx.
      expect(answer.statuses.filter((s) => s !== 400)).toEqual([]);
      expect(answer.closedByServer).toBe(true);
      await absent('liar-long');
    });

    it('refuses the declared prefix with 400 invalid_component and answers the bytes after it as the next request', async () => {
      const head = `PUT /v1/functions/liar-short HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/wasm\r\ncontent-length: 100\r\n\r\n`;
      const next = 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n';
      const answer = await whileHealthy(host, () => raw(host, [Buffer.concat([Buffer.from(head), component.subarray(0, 100), Buffer.from(next)])]));
      expect(answer.statuses).toEqual([400, 200]);
      expect(answer.text).toContain('"code":"invalid_component"');
      await absent('liar-short');
    });

    it('refuses a body longer than declared with 400 and closes when the rest is not a request', async () => {
      const head = `PUT /v1/functions/liar-short HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/wasm\r\ncontent-length: 100\r\n\r\n`;
      const answer = await whileHealthy(host, () => raw(host, [Buffer.concat([Buffer.from(head), component])]));
      // Node's parser meets the leftover bytes before the upload is answered: only its 400 arrives.
      expect(answer.statuses.at(-1)).toBe(400);
      expect(answer.closedByServer).toBe(true);
      await absent('liar-short');
    });

    it('refuses Content-Length together with Transfer-Encoding with 400 and closes (no smuggling)', async () => {
      const chunked = `${component.length.toString(16)}\r\n`;
      const head = `PUT /v1/functions/liar-both HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/wasm\r\ncontent-length: 10\r\ntransfer-encoding: chunked\r\n\r\n${chunked}`;
      const answer = await whileHealthy(host, () => raw(host, [head, component, '\r\n0\r\n\r\n']));
      expect(answer.statuses).toEqual([400]);
      expect(answer.closedByServer).toBe(true);
      await absent('liar-both');
    });

    it('refuses two different Content-Length headers with 400 and closes', async () => {
      const head = `PUT /v1/functions/liar-two HTTP/1.1\r\nhost: x\r\n${auth}content-length: ${component.length}\r\ncontent-length: 5\r\n\r\n`;
      const answer = await whileHealthy(host, () => raw(host, [head, component]));
      expect(answer.statuses).toEqual([400]);
      expect(answer.closedByServer).toBe(true);
      await absent('liar-two');
    });

    it('answers a declared 10 GiB upload with a readable 413 payload_too_large without waiting for it', async () => {
      const head = `PUT /v1/functions/liar-huge HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/wasm\r\ncontent-length: ${10 * 1024 ** 3}\r\n\r\n`;
      const answer = await whileHealthy(host, () => raw(host, [head, component.subarray(0, 64)], { waitMs: 5_000 }));
      expect(answer.statuses[0]).toBe(413);
      expect(answer.text).toContain('"code":"payload_too_large"');
      await absent('liar-huge');
    });
  });

  describe('lying Content-Length on invoke (POST /fn/{name})', () => {
    it('keeps serving when the body is shorter than declared and the client hangs up', async () => {
      const head = 'POST /fn/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n';
      const answer = await whileHealthy(host, () => raw(host, [head, 'only a little'], { end: true }));
      expect(answer.statuses.filter((s) => s !== 400)).toEqual([]);
      expect(answer.closedByServer).toBe(true);
    });

    it('answers 400 and closes when the bytes after the declared body are not a request', async () => {
      const head = 'POST /fn/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n';
      const answer = await whileHealthy(host, () => raw(host, [head + 'hello, and then \x00\x01 garbage\r\n\r\n']));
      expect(answer.statuses.at(-1)).toBe(400);
      expect(answer.statuses.filter((s) => s !== 200 && s !== 400)).toEqual([]);
      expect(answer.closedByServer).toBe(true);
    });

    it('treats a management request hidden past the declared body as its own request, which still needs the token', async () => {
      const smuggled = 'DELETE /v1/functions/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n';
      const head = `POST /fn/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n`;
      const answer = await raw(host, [head + smuggled], { waitMs: 1_500 });
      expect(answer.statuses).toEqual([200, 401]);
      await expectHealthy(host);
    });

    it('refuses Content-Length together with Transfer-Encoding with 400 and closes', async () => {
      const head = 'POST /fn/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
      const answer = await whileHealthy(host, () => raw(host, [head]));
      expect(answer.statuses).toEqual([400]);
      expect(answer.closedByServer).toBe(true);
    });

    it('refuses a chunk size that is not hex with 400 and closes', async () => {
      const head = 'POST /fn/ok HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n';
      const answer = await whileHealthy(host, () => raw(host, [head]));
      expect(answer.statuses).toEqual([400]);
      expect(answer.closedByServer).toBe(true);
    });

    it('refuses a negative Content-Length with 400 and closes', async () => {
      const answer = await whileHealthy(host, () => raw(host, ['POST /fn/ok HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\nhello']));
      expect(answer.statuses).toEqual([400]);
      expect(answer.closedByServer).toBe(true);
    });
  });

  describe('races of deploy, delete and invoke on one name', () => {
    it('answers every interleaving with a legal code and ends consistent with the last acknowledged operation', async () => {
      const versions = { A: await build(letter('A')), B: await build(letter('B')) };
      const digests = new Map<string, string>();
      const seen: Record<string, number> = {};
      const legal = { deploy: [201], remove: [204, 404], invoke: [200, 404] };
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);

      for (let round = 0; round < 12; round++) {
        type Outcome = { op: 'deploy' | 'remove' | 'invoke'; status: number };
        const ops = Array.from({ length: 24 }, (): Promise<Outcome> => {
          const r = random();
          if (r < 0.25) {
            const which = random() < 0.5 ? 'A' : 'B';
            return host.api('PUT', '/v1/functions/race', versions[which], { 'content-type': 'application/wasm' }).then(async (res) => {
              const body = (await res.json()) as { digest?: string };
              if (res.status === 201) digests.set(body.digest!, which);
              return { op: 'deploy' as const, status: res.status };
            });
          }
          if (r < 0.45) return host.api('DELETE', '/v1/functions/race').then(async (res) => (await res.arrayBuffer(), { op: 'remove' as const, status: res.status }));
          return host.call('race').then(async (res) => {
            const text = await res.text();
            if (res.status === 200) expect(text).toMatch(/^[AB]$/);
            return { op: 'invoke' as const, status: res.status };
          });
        });
        ops.push(host.call('ok').then(async (res) => (expect(await res.text()).toBe('ok'), { op: 'invoke' as const, status: res.status })));
        for (const { op, status } of await Promise.all(ops)) {
          seen[`${op} ${status}`] = (seen[`${op} ${status}`] ?? 0) + 1;
          expect(legal[op], `${op} answered ${status}`).toContain(status);
        }
        // At rest, the record, the index and the invoke path agree.
        const get = await host.api('GET', '/v1/functions/race');
        const call = await host.call('race');
        if (get.status === 200) {
          const which = digests.get(((await get.json()) as { digest: string }).digest);
          expect(which).toBeDefined();
          expect(call.status).toBe(200);
          expect(await call.text()).toBe(which);
        } else {
          expect(get.status).toBe(404);
          expect(call.status).toBe(404);
          await call.arrayBuffer();
        }
      }
      // The last acknowledged operation decides, and a restart keeps it.
      expect((await host.api('PUT', '/v1/functions/race', versions.B, { 'content-type': 'application/wasm' })).status).toBe(201);
      expect(await (await host.call('race')).text()).toBe('B');
      expect((await host.api('DELETE', '/v1/functions/race')).status).toBe(204);
      expect((await host.call('race')).status).toBe(404);
      host = await host.restart();
      expect((await host.api('GET', '/v1/functions/race')).status).toBe(404);
      await expectHealthy(host);
      // The interleavings really happened: versions replaced, deleted, and called on both sides of it.
      expect(Object.keys(seen)).toEqual(expect.arrayContaining(['deploy 201', 'remove 204', 'remove 404', 'invoke 200', 'invoke 404']));
    });

    for (const change of ['deleted', 'replaced'] as const) {
      it(`lets calls already running finish when their function is ${change} under them`, async () => {
        // Counts to 100 million before answering: long enough to be mid-call when the change lands.
        const slow = guest(`(local.set $len (i32.const 0))
      (loop $l (local.set $len (i32.add (local.get $len) (i32.const 1))) (br_if $l (i32.lt_u (local.get $len) (i32.const 100000000))))
      (call $ok (i32.const 64) (i32.const 6))`, { fields: '(data (i32.const 64) "\\08\\c8\\01\\1a\\01S")' });
        const name = `doomed-${change}`;
        await host.deploy(name, await build(slow), '?timeout_ms=30000');
        await host.call(name).then((r) => r.text());
        const running = Array.from({ length: 6 }, () => host.call(name).then(async (r) => `${r.status} ${await r.text()}`));
        await new Promise((resolve) => setTimeout(resolve, 30));
        const answer =
          change === 'deleted'
            ? await host.api('DELETE', `/v1/functions/${name}`)
            : await host.api('PUT', `/v1/functions/${name}`, await build(letter('A')), { 'content-type': 'application/wasm' });
        expect(answer.status).toBe(change === 'deleted' ? 204 : 201);
        expect(await Promise.all(running)).toEqual(Array(6).fill('200 S'));
        const after = await host.call(name);
        expect(`${after.status} ${change === 'deleted' ? (await errorOf(after)).code : await after.text()}`).toBe(change === 'deleted' ? '404 not_found' : '200 A');
        await expectHealthy(host);
      });
    }
  });
});
