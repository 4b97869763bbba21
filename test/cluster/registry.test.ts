/**
 * The cluster registry (host/src/cluster/nats-registry.ts) read and written directly, as two
 * hosts would, on a real nats-server: what the HTTP tests cannot reach. The record rules are the
 * embedded registry's; what NATS adds is checked here: the stored bytes are not trusted (a blob
 * is hashed again on every read, a record is validated), numbers survive a delete, and another
 * registry's changes arrive through the watch.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOBS_BUCKET, FUNCTIONS_BUCKET, NatsRegistry } from '../../host/src/cluster/nats-registry.js';
import { silentLogger } from '../../host/src/logger.js';
import type { RegistryChange } from '../../host/src/registry/registry.js';
import { startNats, type TestNats } from '../helpers/nats.js';

const LIMITS = { timeoutMs: 1000, memoryBytes: 16 * 1024 * 1024 };

async function* chunks(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

describe('the cluster registry', () => {
  let nats: TestNats;
  let dir: string;
  let one: NatsRegistry;
  let two: NatsRegistry;

  beforeAll(async () => {
    nats = await startNats();
    dir = await mkdtemp(join(tmpdir(), 'wafer-nats-registry-'));
    one = await NatsRegistry.open({ servers: nats.url, dataDir: join(dir, 'one'), logger: silentLogger });
    two = await NatsRegistry.open({ servers: nats.url, dataDir: join(dir, 'two'), logger: silentLogger });
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await nats?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  async function commit(registry: NatsRegistry, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
    const staged = await registry.stage(chunks(bytes), 1 << 20);
    await staged.commit();
    await staged.discard();
    return { digest: staged.digest, size: staged.size };
  }

  it('stores a blob by its sha256 and reads it back on another host', async () => {
    const bytes = new TextEncoder().encode('component bytes');
    const { digest } = await commit(one, bytes);
    expect(digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(Buffer.from(await two.readBlob(digest)).toString()).toBe('component bytes');
  });

  it('refuses a blob whose bytes in the object store do not hash to its name', async () => {
    const nc = await connect({ servers: nats.url });
    const store = await new Objm(nc).open(BLOBS_BUCKET);
    const digest = createHash('sha256').update('what it should be').digest('hex');
    await store.putBlob({ name: digest }, new TextEncoder().encode('something else'));
    await nc.close();
    await expect(one.readBlob(digest)).rejects.toMatchObject({ code: 'internal', status: 500 });
  });

  it('never reuses a version number after a delete, and tells the other host of each change', async () => {
    const seen: RegistryChange[] = [];
    two.watch((change) => {
      if (change.name === 'renumbered') seen.push(change);
    });
    const blob = await commit(one, new TextEncoder().encode('v'));
    expect((await one.publish('renumbered', blob, LIMITS, 10)).current.version).toBe(1);
    expect((await one.publish('renumbered', blob, LIMITS, 10)).current.version).toBe(2);
    expect(await one.remove('renumbered')).toBe(true);
    expect(await one.remove('renumbered')).toBe(false);
    expect((await one.publish('renumbered', blob, LIMITS, 10)).current.version).toBe(3);
    // The watch delivers in order; poll until the last change has arrived.
    for (let i = 0; i < 100 && seen.at(-1)?.history?.current.version !== 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((c) => c.history?.current.version ?? 'deleted')).toEqual([1, 2, 'deleted', 3]);
    expect(seen.every((c, i) => i === 0 || c.revision > seen[i - 1]!.revision)).toBe(true);
    expect((await two.get('renumbered'))?.version).toBe(3);
  });

  it('skips a record that is not a valid function record, reports it, and collects nothing meanwhile', async () => {
    const nc = await connect({ servers: nats.url });
    const kv = await new Kvm(nc).open(FUNCTIONS_BUCKET);
    await kv.put('garbled', '{"name":"garbled","current":7,"nextVersion":1,"versions":[]}');
    let problems: { name: string }[] = [];
    for (let i = 0; i < 100 && problems.length === 0; i++) {
      problems = (await two.scan()).problems;
      if (problems.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(problems.map((p) => p.name)).toEqual(['garbled']);
    expect(await two.get('garbled')).toBeUndefined();
    expect(await two.collect(async () => true)).toEqual([]);
    await kv.delete('garbled');
    await nc.close();
  });

  it('refuses writes with 503 not_ready while NATS is down, and takes them again once it is back', async () => {
    const blob = await commit(one, new TextEncoder().encode('outage'));
    await one.publish('outage', blob, LIMITS, 10);
    await nats.stop();
    await expect(one.publish('outage', blob, LIMITS, 10)).rejects.toMatchObject({ code: 'not_ready', status: 503 });
    await expect(one.stage(chunks(new Uint8Array(1)), 10)).rejects.toMatchObject({ code: 'not_ready', status: 503 });
    expect((await one.get('outage'))?.version).toBe(1);
    await nats.start();
    for (let i = 0; i < 500 && !one.available; i++) await new Promise((r) => setTimeout(r, 20));
    expect(one.available).toBe(true);
    expect((await one.publish('outage', blob, LIMITS, 10)).current.version).toBe(2);
  });
});
