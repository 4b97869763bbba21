/**
 * Triggers on one host, without a cluster (issue 12 #2): PUT/GET/DELETE
 * /v1/functions/{name}/triggers[/{id}] over real HTTP on both engines, the validation of their
 * bodies, and cron triggers firing. A cron trigger calls its function through the same pipeline
 * as HTTP, as `POST /`: `logger-rust` writes `logger: <method> <path>` to stdout, and the
 * function's log shows each call. Queue triggers and `publish` need NATS and are refused here;
 * test/cluster/triggers.test.ts covers them.
 *
 * Firing is waited for (the log is polled), never timed: a per-second schedule fires within
 * seconds, and the waits are bounded by the test's timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TRIGGERS } from '../../host/src/limits.js';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
const EVERY_SECOND = '* * * * * *';

interface LogEntry {
  invocation_id: string;
  status: number;
  stdout?: string;
}

describe.each(ENGINES)('triggers on %s', (engine) => {
  let host: TestHost;
  let logger: Buffer;
  let respond: Buffer;
  beforeAll(async () => {
    host = await startTestHost(engine);
    logger = await sample('logger-rust');
    respond = await fixture('respond');
  });
  afterAll(() => host?.destroy());

  const put = (name: string, id: string, body: unknown) => host.api('PUT', `/v1/functions/${name}/triggers/${id}`, typeof body === 'string' ? body : JSON.stringify(body), JSON_HEADERS);
  const entries = async (name: string): Promise<LogEntry[]> => {
    const res = await host.api('GET', `/v1/functions/${name}/logs?limit=1000`);
    return res.status === 200 ? ((await res.json()) as { entries: LogEntry[] }).entries : [];
  };
  /** Waits until `name`'s log holds at least `n` entries; resolves with them. */
  const logged = async (name: string, n: number): Promise<LogEntry[]> => {
    for (;;) {
      const found = await entries(name);
      if (found.length >= n) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe('PUT, GET and DELETE /v1/functions/:name/triggers/:id', () => {
    it('makes a cron trigger (201), replaces it (200), lists it, reads it, and deletes it (204)', async () => {
      await host.deploy('crud', respond);
      const made = await put('crud', 'nightly', { type: 'cron', schedule: '0 3 * * *', timezone: 'Europe/Paris' });
      expect(made.status).toBe(201);
      const view = (await made.json()) as Record<string, unknown>;
      expect(view).toMatchObject({ name: 'crud', id: 'nightly', type: 'cron', schedule: '0 3 * * *', timezone: 'Europe/Paris', publish: null });
      // 03:00 in Paris is 01:00 or 02:00 UTC, depending on the season.
      expect(view.next_at).toMatch(/T0[12]:00:00\.000Z$/);
      const replaced = await put('crud', 'nightly', { type: 'cron', schedule: '30 4 * * 1' });
      expect(replaced.status).toBe(200);
      const again = (await replaced.json()) as Record<string, unknown>;
      expect(again).toMatchObject({ schedule: '30 4 * * 1', timezone: 'UTC', created_at: view.created_at });
      expect(new Date(again.next_at as string).getUTCDay()).toBe(1);
      expect((await put('crud', 'hourly', { type: 'cron', schedule: '@hourly' })).status).toBe(201);
      const list = (await (await host.api('GET', '/v1/functions/crud/triggers')).json()) as { name: string; triggers: { id: string }[] };
      expect(list.name).toBe('crud');
      expect(list.triggers.map((t) => t.id)).toEqual(['hourly', 'nightly']);
      const one = await host.api('GET', '/v1/functions/crud/triggers/nightly');
      expect(await one.json()).toMatchObject({ id: 'nightly', schedule: '30 4 * * 1' });
      expect((await host.api('DELETE', '/v1/functions/crud/triggers/nightly')).status).toBe(204);
      const gone = await host.api('GET', '/v1/functions/crud/triggers/nightly');
      expect(gone.status).toBe(404);
      expect((await errorOf(gone)).code).toBe('not_found');
      expect((await errorOf(await host.api('DELETE', '/v1/functions/crud/triggers/nightly'))).code).toBe('not_found');
    });

    it('answers 404 for an unknown function and invalid_name for a bad trigger id, before reading the body', async () => {
      expect((await errorOf(await put('nobody', 'tick', { type: 'cron', schedule: '* * * * *' }))).code).toBe('not_found');
      await host.deploy('named', respond);
      for (const id of ['Tick', '1tick', 'a_b', 'x'.repeat(64)]) {
        const res = await put('named', id, { type: 'cron', schedule: '* * * * *' });
        expect(res.status, id).toBe(400);
        expect((await errorOf(res)).code, id).toBe('invalid_name');
      }
    });

    it('refuses bodies that are not a valid trigger with invalid_request naming the field', async () => {
      await host.deploy('strict', respond);
      const cases: Array<[unknown, RegExp]> = [
        ['not json', /not valid JSON/],
        [[], /not a JSON object/],
        [{ type: 'webhook' }, /type must be cron or queue/],
        [{ type: 'cron', schedule: '* * * * *', extra: 1 }, /unknown field "extra"/],
        [{ type: 'cron' }, /schedule must be a cron expression/],
        [{ type: 'cron', schedule: 'every minute' }, /schedule is not a cron expression/],
        [{ type: 'cron', schedule: '61 * * * *' }, /schedule is not a cron expression/],
        [{ type: 'cron', schedule: '0 0 0 * * * 2030' }, /schedule is not a cron expression/],
        [{ type: 'cron', schedule: '* * * * *', timezone: 'Mars/Olympus' }, /timezone must be an IANA time zone/],
        [{ type: 'cron', schedule: '* * * * *', timezone: 7 }, /timezone must be/],
        [{ type: 'cron', schedule: 'x'.repeat(200) }, /schedule must be a cron expression of at most/],
        [{ type: 'cron', schedule: '* * * * *', publish: 'a.*' }, /publish must be a NATS subject without wildcards/],
        [{ type: 'cron', schedule: '* * * * *', publish: '$JS.API.STREAM.DELETE.X' }, /publish must be a NATS subject/],
        [{ type: 'cron', schedule: '* * * * *', publish: '_INBOX.abc' }, /publish may not be a reply subject/],
        [{ type: 'queue', subject: '>' }, /subject must start with a literal token/],
        [{ type: 'queue', subject: '$KV.wafer_cluster.>' }, /subject must be a NATS subject/],
        [{ type: 'queue', stream: 'KV_wafer_cluster' }, /stream may not be a KV bucket/],
        [{ type: 'queue', subject: 'a.b', max_deliver: 0 }, /max_deliver must be an integer from 1 to 100/],
        [{ type: 'queue', subject: 'a.b', backoff_ms: [] }, /backoff_ms must be a list of 1 to 10 waits/],
        [{ type: 'queue', subject: 'a.b', concurrency: 65 }, /concurrency must be an integer from 1 to 64/],
        [{ type: 'queue', subject: 'a.b', dead_letter: 'a.b' }, /may not be the subject the trigger listens on/],
        [{ type: 'queue', subject: 'a.b', schedule: '* * * * *' }, /unknown field "schedule" for a queue trigger/],
        [{ type: 'queue' }, /needs subject .* or stream/],
      ];
      for (const [body, message] of cases) {
        const res = await put('strict', 'bad', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        const error = await errorOf(res);
        expect(error.code).toBe('invalid_request');
        expect(error.message).toMatch(message);
      }
      expect((await host.api('GET', '/v1/functions/strict/triggers')).status).toBe(200);
      expect(((await (await host.api('GET', '/v1/functions/strict/triggers')).json()) as { triggers: unknown[] }).triggers).toEqual([]);
    });

    it('refuses queue triggers and publish on a host without a cluster, saying they need NATS', async () => {
      await host.deploy('lonely', respond);
      for (const body of [{ type: 'queue', subject: 'orders.new' }, { type: 'queue', stream: 'ORDERS' }, { type: 'cron', schedule: '* * * * *', publish: 'ticks' }]) {
        const res = await put('lonely', 'q', body);
        expect(res.status).toBe(400);
        const error = await errorOf(res);
        expect(error.code).toBe('invalid_request');
        expect(error.message).toMatch(/need(s)? NATS.*--cluster/);
      }
    });

    it(`keeps at most ${MAX_TRIGGERS} triggers per function`, async () => {
      await host.deploy('many', respond);
      for (let i = 0; i < MAX_TRIGGERS; i++) expect((await put('many', `t${i}`, { type: 'cron', schedule: '0 0 1 1 *' })).status).toBe(201);
      const over = await put('many', 'one-more', { type: 'cron', schedule: '0 0 1 1 *' });
      expect(over.status).toBe(400);
      expect((await errorOf(over)).message).toMatch(new RegExp(`already has ${MAX_TRIGGERS} triggers`));
      // Replacing one is not adding one.
      expect((await put('many', 't0', { type: 'cron', schedule: '0 0 2 1 *' })).status).toBe(200);
    });
  });

  describe('cron triggers', () => {
    it('call the function as POST / at each tick, through the pipeline (logged and metered like any call)', async () => {
      await host.deploy('ticker', logger);
      expect((await put('ticker', 'every-second', { type: 'cron', schedule: EVERY_SECOND, timezone: 'Asia/Kolkata' })).status).toBe(201);
      const seen = await logged('ticker', 2);
      for (const entry of seen) {
        expect(entry.status).toBe(200);
        expect(entry.stdout).toBe('logger: POST /\n');
      }
      const usage = (await (await host.api('GET', '/v1/functions/ticker/usage')).json()) as { totals: { invocations: number } };
      expect(usage.totals.invocations).toBeGreaterThanOrEqual(2);
      expect((await host.api('DELETE', '/v1/functions/ticker/triggers/every-second')).status).toBe(204);
    });

    it('fire no more once the DELETE answered', async () => {
      await host.deploy('stopper', logger);
      await put('stopper', 'tick', { type: 'cron', schedule: EVERY_SECOND });
      await logged('stopper', 1);
      expect((await host.api('DELETE', '/v1/functions/stopper/triggers/tick')).status).toBe(204);
      const before = (await entries('stopper')).length;
      await sleep(2_500); // two ticks and more
      expect((await entries('stopper')).length).toBe(before);
    });

    it('run functions deployed with invoke_auth=token (the trigger is the host calling)', async () => {
      await host.deploy('guarded', logger, '?invoke_auth=token');
      expect((await host.call('guarded')).status).toBe(401);
      await put('guarded', 'tick', { type: 'cron', schedule: EVERY_SECOND });
      const [entry] = await logged('guarded', 1);
      expect(entry!.status).toBe(200);
      await host.api('DELETE', '/v1/functions/guarded/triggers/tick');
    });

    it('keep firing across a new deploy, and go with the function when it is deleted', async () => {
      await host.deploy('redeployed', logger);
      await put('redeployed', 'tick', { type: 'cron', schedule: EVERY_SECOND });
      await logged('redeployed', 1);
      const version = (await host.deploy('redeployed', logger, '?timeout_ms=2000')).version;
      for (;;) {
        const res = await host.api('GET', '/v1/functions/redeployed/logs?limit=1000');
        const page = (await res.json()) as { entries: Array<{ version: number }> };
        if (page.entries.some((e) => e.version === version)) break;
        await sleep(100);
      }
      expect((await host.api('DELETE', '/v1/functions/redeployed')).status).toBe(204);
      await host.deploy('redeployed', logger);
      expect(((await (await host.api('GET', '/v1/functions/redeployed/triggers')).json()) as { triggers: unknown[] }).triggers).toEqual([]);
      await sleep(2_500);
      expect(await entries('redeployed')).toEqual([]);
    });
  });
});

describe('cron triggers across a restart', () => {
  it('are kept in the function record and resume after a restart (ticks missed while down are skipped)', async () => {
    let host = await startTestHost('wasmtime');
    try {
      await host.deploy('survivor', await sample('logger-rust'));
      const res = await host.api('PUT', '/v1/functions/survivor/triggers/tick', JSON.stringify({ type: 'cron', schedule: EVERY_SECOND }), JSON_HEADERS);
      expect(res.status).toBe(201);
      host = await host.restart();
      const restarted = Date.now();
      expect(((await (await host.api('GET', '/v1/functions/survivor/triggers')).json()) as { triggers: { id: string }[] }).triggers.map((t) => t.id)).toEqual(['tick']);
      for (;;) {
        const page = (await (await host.api('GET', '/v1/functions/survivor/logs?limit=1000')).json()) as { entries: Array<{ time: string }> };
        if (page.entries.some((e) => Date.parse(e.time) >= restarted)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await host.destroy();
    }
  });
});
