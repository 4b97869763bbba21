/**
 * Cluster mode (docs/CLUSTER.md): one nats-server and three wafer hosts, real child processes
 * on loopback ports, sharing the registry through NATS JetStream. Every change made through one
 * host is served by the others; version numbers stay distinct under concurrent deploys; a host
 * killed under load loses no acknowledged deploy; and the hosts ride out a NATS restart.
 *
 * "Within a second" is polled (every 20 ms, up to 1 s): it is the watch's promise, not a speed
 * threshold. Loading a component a host has not loaded yet is not part of it, so propagation is
 * checked on the management API first, then the call.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type TestNats } from '../helpers/nats.js';
import { component, startClusterHost, within, type ClusterHost } from '../helpers/cluster.js';

let nats: TestNats;
let hosts: ClusterHost[] = [];
let hello: Uint8Array;
let echo: Uint8Array;

beforeAll(async () => {
  nats = await startNats();
  hello = await component('sample', 'hello-rust');
  echo = await component('fixture', 'echo');
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.destroy()));
  await nats?.destroy();
});

/** The version `host` serves for `name` (its management view), or 404's status. */
async function servedVersion(host: ClusterHost, name: string): Promise<number | 404> {
  const res = await host.api('GET', `/v1/functions/${name}`);
  if (res.status === 404) return 404;
  return ((await res.json()) as { version: number }).version;
}

describe('the management token in a cluster', () => {
  it('is made by the first host started without one, stored in NATS, and used by every other host', async () => {
    const first = await startClusterHost(nats.url, { env: { WAFER_TOKEN: '' } });
    const second = await startClusterHost(nats.url, { env: { WAFER_TOKEN: '' } });
    hosts.push(first, second);
    const token = /management token \(saved to the cluster's NATS[^)]*\): (\S+)/.exec(first.output())?.[1];
    expect(token).toBeTruthy();
    expect(second.output()).not.toContain('management token');
    const res = await fetch(`${second.url}/v1/functions`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    // Each host also keeps it in <data-dir>/token, where the CLI on that machine looks.
    for (const host of [first, second]) expect((await readFile(join(host.dataDir, 'token'), 'utf8')).trim()).toBe(token);
    await Promise.all([first.destroy(), second.destroy()]);
    hosts = [];
  });
});

describe('three hosts on one registry', () => {
  let a: ClusterHost, b: ClusterHost, c: ClusterHost;
  beforeAll(async () => {
    // C compiles for itself: what it runs comes from the object store, not a cache A filled.
    hosts = await Promise.all((['shared', 'shared', 'own'] as const).map((cache) => startClusterHost(nats.url, { cache, args: ['--keep-versions', '100'] })));
    [a, b, c] = hosts as [ClusterHost, ClusterHost, ClusterHost];
  });

  it('serves a function deployed through A on B and C (C fetching the component and compiling it)', async () => {
    const { status, body } = await a.deploy('spread', hello);
    expect(status).toBe(201);
    for (const host of [b, c]) {
      expect(await within(1000, async () => (await servedVersion(host, 'spread')) === body.version)).toBe(true);
      const res = await host.call('spread');
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Hello');
    }
    // C's own compiled cache had no artifact of it: C compiled the component it fetched.
    const digest = String(body.digest).replace('sha256:', '');
    expect((await readdir(join(c.dataDir, 'cache'), { recursive: true })).some((f) => f.includes(digest))).toBe(true);
  });

  it('answers 404 on A and C within a second of a delete through B', async () => {
    expect((await a.deploy('doomed', hello)).status).toBe(201);
    expect(await within(1000, async () => (await b.call('doomed')).status === 200)).toBe(true);
    expect((await b.api('DELETE', '/v1/functions/doomed')).status).toBe(204);
    for (const host of [a, c]) {
      expect(await within(1000, async () => (await host.call('doomed')).status === 404)).toBe(true);
    }
  });

  it('routes calls everywhere to a rollback and an alias made through C', async () => {
    const v1 = (await a.deploy('moving', hello)).body.version as number;
    const v2 = (await a.deploy('moving', echo)).body.version as number;
    expect(await within(1000, async () => (await servedVersion(c, 'moving')) === v2)).toBe(true);
    expect((await c.api('POST', `/v1/functions/moving/rollback?version=${v1}`)).status).toBe(200);
    expect((await c.api('PUT', '/v1/functions/moving/aliases/stable', JSON.stringify({ version: v2 }), { 'content-type': 'application/json' })).status).toBe(200);
    for (const host of [a, b]) {
      expect(await within(1000, async () => (await servedVersion(host, 'moving')) === v1)).toBe(true);
      expect(await within(1000, async () => (await host.api('GET', '/v1/functions/moving/aliases/stable')).status === 200)).toBe(true);
      expect((await host.call('moving')).headers.get('x-wafer-version')).toBe(String(v1));
      expect((await host.call('moving@stable')).headers.get('x-wafer-version')).toBe(String(v2));
    }
  });

  it('gives concurrent deploys of one name through two hosts distinct version numbers', async () => {
    const deploys = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).deploy('contended', i % 4 < 2 ? hello : echo)));
    expect(deploys.map((d) => d.status)).toEqual(Array(8).fill(201));
    const versions = deploys.map((d) => d.body.version as number).sort((x, y) => x - y);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Every host ends on the same, newest version.
    for (const host of [a, b, c]) expect(await within(1000, async () => (await servedVersion(host, 'contended')) === 8)).toBe(true);
  });

  it('loses no acknowledged deploy and fails no retried call when a host is SIGKILLed under load', async () => {
    expect((await a.deploy('busy', hello)).status).toBe(201);
    for (const host of hosts) expect(await within(5000, async () => (await host.call('busy')).status === 200)).toBe(true);

    // A client that spreads calls over the hosts and, when one fails, retries on the next.
    let stop = false;
    const failures: string[] = [];
    let calls = 0;
    const client = async (start: number) => {
      for (let i = start; !stop; i++) {
        let ok = false;
        for (let attempt = 0; attempt < hosts.length && !ok; attempt++) {
          const host = hosts[(i + attempt) % hosts.length]!;
          try {
            const res = await host.call('busy');
            await res.arrayBuffer();
            ok = res.status === 200;
          } catch {
            ok = false;
          }
        }
        calls++;
        if (!ok) failures.push(`call ${i}`);
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    // Deploys through C (the one killed) and through A, one after another each.
    const acknowledged: number[] = [];
    let deploying = true;
    const deployer = async (host: ClusterHost) => {
      while (deploying) {
        try {
          const { status, body } = await host.deploy('busy', hello);
          if (status === 201) acknowledged.push(body.version as number);
        } catch {
          return; // the host died: its unanswered deploy is not acknowledged
        }
      }
    };
    const deployers = [deployer(c), deployer(a)];
    await within(2000, async () => acknowledged.length >= 4);
    await c.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    deploying = false;
    await Promise.all(deployers);
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(0);
    const res = await b.api('GET', '/v1/functions/busy/versions');
    const kept = ((await res.json()) as { versions: { version: number }[] }).versions.map((v) => v.version);
    for (const version of acknowledged) expect(kept).toContain(version);
    // Every acknowledged version's component is in the object store: a host can run it.
    for (const version of acknowledged.slice(-3)) expect((await b.call(`busy@${version}`)).status).toBe(200);
  });

  it('keeps serving through a NATS restart, refuses changes meanwhile with 503 not_ready, and catches up after', async () => {
    const live = [a, b];
    expect((await a.deploy('steady', hello)).status).toBe(201);
    for (const host of live) expect(await within(1000, async () => (await host.call('steady')).status === 200)).toBe(true);

    await nats.stop();
    for (const host of live) expect((await host.call('steady')).status).toBe(200);
    expect(await within(15_000, async () => (await a.deploy('steady', hello)).status === 503)).toBe(true);
    const refused = await a.deploy('steady', hello);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'not_ready' } });
    expect((await b.api('DELETE', '/v1/functions/steady')).status).toBe(503);

    await nats.start();
    // Reconnecting takes the client's back-off; then deploys work again and every host sees them.
    let deployed: { status: number; body: Record<string, unknown> } | undefined;
    expect(
      await within(20_000, async () => {
        deployed = await a.deploy('steady', echo);
        return deployed.status === 201;
      }),
    ).toBe(true);
    const version = deployed!.body.version as number;
    expect(await within(5000, async () => (await servedVersion(b, 'steady')) === version)).toBe(true);
    expect((await b.call('steady')).headers.get('x-wafer-version')).toBe(String(version));
  });
});
