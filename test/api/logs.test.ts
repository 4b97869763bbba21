/**
 * Logs per invocation (issue 10, item 2): each call's stdout and stderr, tagged with its
 * invocation id, version and outcome, kept per function in the data directory, bounded by size,
 * read back with GET /v1/functions/{name}/logs and followed as server-sent events.
 */
import { appendFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { build, chatty } from '../hostile/kit.js';
import { MAX_LOG_FOLLOWERS } from '../../host/src/limits.js';
import type { LogEntry } from '../../host/src/functions/logs.js';

type Entry = LogEntry;

interface Page {
  name: string;
  entries: Entry[];
  next: string;
  more: boolean;
}

async function logs(host: TestHost, name: string, query = ''): Promise<Page> {
  const res = await host.api('GET', `/v1/functions/${name}/logs${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Bytes in a function's log directory. */
async function logBytes(host: TestHost, name: string): Promise<number> {
  const dir = join(host.dataDir, 'logs', name);
  let total = 0;
  for (const file of await readdir(dir)) total += (await stat(join(dir, file))).size;
  return total;
}

describe.each(ENGINES)('function logs on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('logger', await sample('logger-rust'));
  });
  afterAll(() => host?.destroy());

  it("keeps a call's stdout and stderr as one entry tagged with its invocation id, version and outcome", async () => {
    const res = await host.call('logger', '/first');
    expect(res.status).toBe(200);
    const id = res.headers.get('x-wafer-invocation-id')!;
    const { entries } = await logs(host, 'logger');
    const entry = entries.find((e) => e.invocation_id === id)!;
    expect(entry).toMatchObject({ version: 1, status: 200, code: 'ok', stdout: 'logger: GET /first\n', stderr: 'logger: done\n' });
    expect(entry.duration_us).toBeGreaterThan(0);
    expect(Date.parse(entry.time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('logs a failed call with its error code and status, even with no output', async () => {
    await host.deploy('trapper', await fixture('trap'));
    const res = await host.call('trapper');
    expect(res.status).toBe(500);
    const id = res.headers.get('x-wafer-invocation-id');
    expect(id).toBeTruthy();
    const { entries } = await logs(host, 'trapper');
    expect(entries).toEqual([expect.objectContaining({ invocation_id: id, version: 1, status: 500, code: 'trap' })]);
  });

  it('leaves no entry for a call that succeeded silently', async () => {
    await host.deploy('quiet', await fixture('respond'));
    expect((await host.call('quiet')).status).toBe(200);
    expect((await logs(host, 'quiet')).entries).toEqual([]);
  });

  it('pages with since (a cursor or a time) and limit, oldest first', async () => {
    await host.deploy('pager', await sample('logger-rust'));
    const before = new Date(Date.now() - 1).toISOString();
    for (let i = 0; i < 5; i++) await (await host.call('pager', `/p${i}`)).arrayBuffer();
    const newest = await logs(host, 'pager', '?limit=2');
    expect(newest.entries.map((e) => e.stdout)).toEqual(['logger: GET /p3\n', 'logger: GET /p4\n']);
    const first = await logs(host, 'pager', `?since=${encodeURIComponent(before)}&limit=3`);
    expect(first.entries.map((e) => e.stdout)).toEqual(['logger: GET /p0\n', 'logger: GET /p1\n', 'logger: GET /p2\n']);
    expect(first.more).toBe(true);
    const rest = await logs(host, 'pager', `?since=${first.next}&limit=3`);
    expect(rest.entries.map((e) => e.stdout)).toEqual(['logger: GET /p3\n', 'logger: GET /p4\n']);
    expect(rest.more).toBe(false);
    expect((await logs(host, 'pager', `?since=${rest.next}`)).entries).toEqual([]);
  });

  it('refuses a bad since, limit or follow with 400 invalid_request, an unknown function with 404, and no token with 401', async () => {
    for (const query of ['?since=yesterday', '?since=2026-13-45', '?limit=0', '?limit=1001', '?limit=ten', '?follow=maybe', '?since=-5']) {
      const res = await host.api('GET', `/v1/functions/logger/logs${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
    const missing = await host.api('GET', '/v1/functions/nobody/logs');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    for (const path of ['/v1/functions/logger/logs', '/V1/Functions/logger/logs/', '/v1/functions/logger/logs?follow=1']) {
      const res = await fetch(`${host.url}${path}`);
      expect(res.status, path).toBe(401);
    }
  });

  it('streams new entries to a follower as server-sent events (follow=1)', async () => {
    const res = await host.api('GET', '/v1/functions/logger/logs?follow=1&limit=1');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The backlog (the newest entry) comes first; then a call made now.
    const call = await host.call('logger', '/followed');
    const id = call.headers.get('x-wafer-invocation-id')!;
    while (!text.includes(id)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const events = text.split('\n\n').filter((block) => block.startsWith('event: log'));
    const last = JSON.parse(events.at(-1)!.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as Entry;
    expect(last).toMatchObject({ invocation_id: id, stdout: 'logger: GET /followed\n' });
    expect(events.length).toBe(2);
  });

  it(`serves at most ${MAX_LOG_FOLLOWERS} following streams per host, then 503 overloaded; a closed one frees its place`, async () => {
    const streams: AbortController[] = [];
    // Held, so the client does not collect (and close) an unread stream while the test runs.
    const held: Response[] = [];
    try {
      for (let i = 0; i < MAX_LOG_FOLLOWERS; i++) {
        const controller = new AbortController();
        streams.push(controller);
        const res = await fetch(`${host.url}/v1/functions/logger/logs?follow=1&limit=1`, { headers: { authorization: `Bearer ${host.token}` }, signal: controller.signal });
        expect(res.status).toBe(200);
        held.push(res);
      }
      const refused = await host.api('GET', '/v1/functions/logger/logs?follow=1');
      expect(refused.status).toBe(503);
      expect((await errorOf(refused)).code).toBe('overloaded');
      expect(refused.headers.get('retry-after')).toBe('1');
      // A plain read is not a stream and is still served.
      expect((await host.api('GET', '/v1/functions/logger/logs')).status).toBe(200);
      streams.pop()!.abort();
      let again: Response | undefined;
      for (let tries = 0; tries < 100 && again?.status !== 200; tries++) {
        await again?.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 20));
        again = await host.api('GET', '/v1/functions/logger/logs?follow=1');
      }
      expect(again!.status).toBe(200);
      await again!.body!.cancel();
    } finally {
      for (const controller of streams) controller.abort();
    }
  });

  it('keeps a flooding function under its log cap, dropping the oldest entries', async () => {
    const capped = await startTestHost(engine, { functionLogBytes: 256 });
    try {
      await capped.deploy('flood', await build(chatty('stdout', 4096, 64)));
      for (let i = 0; i < 12; i++) expect((await capped.call('flood')).status).toBe(200);
      const page = await logs(capped, 'flood', '?limit=1000');
      // Each call keeps 64 KiB of its 256 KiB of output: 12 would be 768 KiB; the cap is 256 KiB.
      expect(await logBytes(capped, 'flood')).toBeLessThanOrEqual(256 * 1024);
      expect(page.entries.length).toBeGreaterThan(0);
      expect(page.entries.length).toBeLessThan(12);
    } finally {
      await capped.destroy();
    }
  });

  it('turns a guest flooding 32k lines into a bounded number of host log records', async () => {
    await host.deploy('lines', await build(chatty('stdout', 2, 32_768)), '?timeout_ms=60000');
    const res = await host.call('lines');
    expect(res.status).toBe(200);
    const id = res.headers.get('x-wafer-invocation-id')!;
    const records = host.logs.filter((l) => l.fields?.invocation === id);
    expect(records.length).toBeLessThanOrEqual(2);
    expect(records[0]!.fields).toMatchObject({ fn: 'lines', version: 1, stream: 'stdout' });
    const { entries } = await logs(host, 'lines');
    expect(entries[0]!.stdout!.split('\n').length).toBeGreaterThan(1_000);
  });

  it('keeps entries across a restart, tolerating a line torn by a crash', async () => {
    await host.deploy('durable', await sample('logger-rust'));
    const id = (await host.call('durable', '/before')).headers.get('x-wafer-invocation-id');
    const before = await logs(host, 'durable');
    host = await host.restart();
    // What a crash in the middle of an append leaves: half a line, no newline.
    const dir = join(host.dataDir, 'logs', 'durable');
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment!), '{"seq":99999999999999999,"time":"20');
    const after = (await host.call('durable', '/after')).headers.get('x-wafer-invocation-id');
    const { entries } = await logs(host, 'durable');
    expect(entries.map((e) => e.invocation_id)).toEqual([id, after]);
    expect(entries[1]!.seq).toBeGreaterThan(before.entries[0]!.seq);
  });

  it('removes the log with the function', async () => {
    await host.deploy('doomed', await sample('logger-rust'));
    await (await host.call('doomed')).arrayBuffer();
    await logs(host, 'doomed');
    expect((await host.api('DELETE', '/v1/functions/doomed')).status).toBe(204);
    await expect(readdir(join(host.dataDir, 'logs', 'doomed'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await host.api('GET', '/v1/functions/doomed/logs')).status).toBe(404);
    await host.deploy('doomed', await fixture('respond'));
    expect((await logs(host, 'doomed')).entries).toEqual([]);
  });
});
