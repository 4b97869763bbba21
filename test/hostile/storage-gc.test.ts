/**
 * Issue 8 #12: garbage. Redeploys keep the last N versions (`keepVersions`, default 10) and
 * DELETE keeps none; blobs and compiled artifacts (wasmtime `.cwasm`/`.sum`, jco transpiled
 * trees) that no kept version references are removed, superseded versions leave memory, a
 * digest shared by two names survives while either uses it, and leftovers of a crash are swept
 * at start. Each host gets its own compiled cache so the files it holds can be counted.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineName } from '../../host/src/engine/engine.js';
import { warmupDigest } from '../../host/src/engine/warmup.js';
import { DEFAULT_KEEP_VERSIONS } from '../../host/src/limits.js';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { filesIn, sha256, variant } from './storage-kit.js';

const HEX = /^[0-9a-f]{64}/;

/** Digests that have a compiled artifact in `cacheDir` for `engine`, besides the engine's own warm-up component (engine/warmup.ts). */
async function artifactDigests(engine: EngineName, cacheDir: string): Promise<string[]> {
  const names = await filesIn(join(cacheDir, engine));
  const warmup = warmupDigest();
  return [...new Set(names.filter((n) => HEX.test(n) && !n.startsWith(warmup)).map((n) => n.slice(0, 64)))].sort();
}

async function blobDigests(host: TestHost): Promise<string[]> {
  return filesIn(join(host.dataDir, 'blobs', 'sha256'));
}

describe.each(ENGINES)('garbage collection on %s', (engine) => {
  let host: TestHost | undefined;
  let cacheDir: string;
  afterEach(async () => {
    await host?.destroy();
    host = undefined;
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function start(overrides: Record<string, unknown> = {}, dataDir?: string): Promise<TestHost> {
    cacheDir ??= await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    return startTestHost(engine, { cacheDir, ...overrides }, dataDir);
  }

  async function expectServes(h: TestHost, name: string): Promise<void> {
    const res = await h.call(name);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  }

  it(`issue 8 #12: twelve redeploys keep exactly the blobs and artifacts of the last ${DEFAULT_KEEP_VERSIONS}`, async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start();
    const base = await fixture('respond');
    const digests: string[] = [];
    // A short time quota: a superseded version's files wait for its calls (quota + 1 s), then go.
    for (let v = 1; v <= 12; v++) {
      const bytes = variant(base, `v${v}`);
      digests.push(sha256(bytes));
      await host.deploy('many', bytes, '?timeout_ms=100');
      await expectServes(host, 'many');
    }
    const kept = digests.slice(-DEFAULT_KEEP_VERSIONS).sort();
    const h = host;
    await expect.poll(() => blobDigests(h), { timeout: 10_000, interval: 200 }).toEqual(kept);
    expect(await artifactDigests(engine, cacheDir)).toEqual(kept);
    const fn = (await (await host.api('GET', '/v1/functions/many')).json()) as { version: number; digest: string };
    expect(fn.version).toBe(12);
    expect(fn.digest).toBe(`sha256:${digests[11]}`);
  });

  it('issue 8 #12: DELETE removes what only it referenced; a digest shared with another name survives', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start();
    const base = await fixture('respond');
    const shared = variant(base, 'shared');
    const own = variant(base, 'own');
    const h = host;
    const quick = '?timeout_ms=100';
    await host.deploy('first', own, quick);
    await host.deploy('first', shared, quick);
    await host.deploy('second', shared, quick);
    expect(await blobDigests(host)).toEqual([sha256(own), sha256(shared)].sort());

    expect((await host.api('DELETE', '/v1/functions/first')).status).toBe(204);
    await expect.poll(() => blobDigests(h), { timeout: 10_000, interval: 200 }).toEqual([sha256(shared)]);
    expect(await artifactDigests(engine, cacheDir)).toEqual([sha256(shared)]);
    await expectServes(host, 'second');

    expect((await host.api('DELETE', '/v1/functions/second')).status).toBe(204);
    await expect.poll(() => blobDigests(h), { timeout: 10_000, interval: 200 }).toEqual([]);
    expect(await artifactDigests(engine, cacheDir)).toEqual([]);
    expect((await errorOf(await host.call('second'))).code).toBe('not_found');
    // Version numbers are still never reused after a delete.
    expect((await host.deploy('first', base)).version).toBe(3);
    await expectServes(host, 'first');
  });

  it('issue 8 #12: a redeploy unloads the superseded version from memory once its calls are over', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start();
    const base = await fixture('respond');
    await host.deploy('other', base);
    await expectServes(host, 'other');
    // A short time quota: a superseded version is unloaded after its calls' timeout plus a grace second.
    for (let v = 1; v <= 4; v++) {
      await host.deploy('hot', variant(base, `hot-${v}`), '?timeout_ms=100');
      await expectServes(host, 'hot');
    }
    const h = host;
    // `other` and the current `hot`: nothing superseded stays loaded.
    await expect.poll(() => h.service.engine.stats().loaded, { timeout: 10_000, interval: 200 }).toBe(2);
    await expectServes(host, 'hot');
    await expectServes(host, 'other');
  });

  it('issue 8 #12: a call in flight on the superseded version still answers after a redeploy', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start();
    const fib = await sample('fib-rust');
    await host.deploy('fib', fib, '?timeout_ms=30000');
    // fib(40) runs for about a second here: long enough to redeploy under it.
    const inFlight = host.call('fib', '?n=40');
    await new Promise((r) => setTimeout(r, 150));
    await host.deploy('fib', variant(fib, 'fib-2'));
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('fib(40) = 102334155');
    const again = await host.call('fib', '?n=10');
    expect(await again.text()).toBe('fib(10) = 55');
  });

  it('issue 8 #12: calls racing redeploys and deletes of their function answer 200 or not_found, never 500', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start({ keepVersions: 1 });
    const base = await fixture('respond');
    await host.deploy('steady', base);
    const h = host;
    const seen = new Map<string, number>();
    let stop = false;
    const churn = (async () => {
      // Ends on a deploy (i = 12), so `racy` is served afterwards.
      for (let i = 0; i <= 12; i++) {
        await h.deploy('racy', variant(base, `racy-${i}`));
        if (i % 3 === 2) await h.api('DELETE', '/v1/functions/racy');
      }
      stop = true;
    })();
    const callers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        const res = await h.call('racy');
        const key = res.status === 200 ? `200 ${await res.text()}` : `${res.status} ${(await errorOf(res)).code}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    });
    await Promise.all([churn, ...callers]);
    expect([...seen.keys()].filter((k) => k !== '200 ok' && k !== '404 not_found')).toEqual([]);
    expect(seen.get('200 ok')).toBeGreaterThan(0);
    await expectServes(host, 'steady');
    await expectServes(host, 'racy');
  });

  it('issue 8 #12: leftovers of a crash (staging, temp records, unreferenced blobs and artifacts) are swept at start', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start({ keepVersions: 1 });
    const base = await fixture('respond');
    const orphan = variant(base, 'orphan');
    await host.deploy('keep', base);
    await host.deploy('gone', orphan);
    await host.close();
    // What a crash leaves: an upload in flight, a record write cut short, and (as if the host
    // died between removing a record's last version and collecting) a blob nothing references.
    const dir = host.dataDir;
    await writeFile(join(dir, 'staging', 'c0ffee'), 'partial upload');
    await writeFile(join(dir, 'functions', 'keep.json.1234.tmp'), '{"partial');
    await writeFile(join(dir, 'token.5678.tmp'), 'partial');
    await rm(join(dir, 'functions', 'gone.json'));
    host = await start({ keepVersions: 1 }, dir);
    expect(await filesIn(join(dir, 'staging'))).toEqual([]);
    expect(await filesIn(join(dir, 'functions'))).toEqual(['keep.json']);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await blobDigests(host)).toEqual([sha256(base)]);
    expect(await artifactDigests(engine, cacheDir)).toEqual([sha256(base)]);
    await expectServes(host, 'keep');
  });

  it('issue 8 #12: deploying a digest while the only name holding it is deleted never loses the blob', async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-gc-cache-'));
    host = await start({ keepVersions: 1 });
    const base = await fixture('respond');
    await host.deploy('steady', base);
    for (let round = 0; round < 8; round++) {
      const bytes = variant(base, `race-${round}`);
      await host.deploy('a', bytes);
      const [del, put] = await Promise.all([host.api('DELETE', '/v1/functions/a'), host.api('PUT', '/v1/functions/b', bytes)]);
      expect(del.status).toBe(204);
      expect(put.status).toBe(201);
      expect(await blobDigests(host)).toContain(sha256(bytes));
      await expectServes(host, 'b');
      await expectServes(host, 'steady');
    }
    // After a restart (which collects again) the last `b` and `steady` are all that is left.
    host = await host.restart();
    expect(await blobDigests(host)).toEqual([sha256(base), sha256(variant(base, 'race-7'))].sort());
    await expectServes(host, 'b');
  });
});
