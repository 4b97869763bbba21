/**
 * @module cluster/nats-registry
 * The cluster registry: the same `Registry` as the embedded data directory (registry/fs.ts),
 * kept in NATS JetStream so any number of hosts share it (docs/CLUSTER.md).
 *
 *   KV bucket `wafer_functions`   one key per function name: the same record as
 *                                 <data>/functions/<name>.json (registry/record.ts), as JSON
 *   object store `wafer_blobs`    component bytes, one object per sha256 hex digest
 *   KV bucket `wafer_cluster`     `management-token`: the cluster's shared management token
 *
 * Every write reads the record with its revision, changes it, and writes it back only if the
 * revision is still the same (compare-and-set); on a conflict it reads again and retries. So two
 * hosts deploying one name at once both succeed with distinct version numbers, and a settings
 * change (`ifCurrent`) never lands on a version another host made meanwhile.
 *
 * Each host keeps a view of every record (read whole at open, then kept up to date by a watch
 * on the bucket and by its own writes), and reports each change with the record's revision to
 * its listener (the FunctionService), which applies changes newer than what it serves. Reads
 * (`get`, `scan`) answer from this view. When NATS is unreachable the view stays as it was, so
 * the host keeps serving what it has; writes are refused with 503 `not_ready` until the
 * connection returns, when the bucket is read whole again and the watch resumes.
 *
 * Uploads are staged on the host's disk (hashed while streamed to a temp file), then put into
 * the object store under their digest; a blob read back is hashed again and refused unless it
 * matches. A blob is removed only when no record references it and it was put more than
 * `BLOB_GRACE_MS` ago: an upload on another host commits its blob (a fresh put) moments before
 * it publishes the record, and no host can see that upload's pin.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { NotFoundError, WaferError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AliasTarget } from '../registry/alias.js';
import { FsRegistry } from '../registry/fs.js';
import { addTokenTo, publishVersion, removeAliasOf, removeFunction, removeTokenOf, removeTriggerOf, rollbackTo, setAliasTo, setTriggerOf } from '../registry/changes.js';
import { DIGEST_PATTERN, historyOf, parseRecord, referencedBy, type FunctionRecord } from '../registry/record.js';
import {
  type FunctionHistory,
  type FunctionLimits,
  type FunctionVersion,
  type InvokeToken,
  type Trigger,
  type RecordProblem,
  type Registry,
  type RegistryChange,
  type RegistryScan,
  type StagedBlob,
} from '../registry/registry.js';

export const FUNCTIONS_BUCKET = 'wafer_functions';
export const BLOBS_BUCKET = 'wafer_blobs';
export const CLUSTER_BUCKET = 'wafer_cluster';
const TOKEN_KEY = 'management-token';

/** How long after its last put an unreferenced blob is kept (an upload elsewhere may be about to publish it). */
export const BLOB_GRACE_MS = 10 * 60_000;
/** Compare-and-set attempts of one write before it gives up (each conflict means another host wrote). */
const MAX_CAS_ATTEMPTS = 50;
/** How long one JetStream request may take before the write is answered 503. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface NatsRegistryOptions {
  /** nats://host:port (a comma-separated list is accepted: any server of the NATS cluster). */
  servers: string;
  /** The host's data directory: uploads are staged under `<data>/cluster/staging`. */
  dataDir: string;
  logger: Logger;
}

/** The 503 every write answers while the cluster's NATS is unreachable. */
function unavailable(cause?: unknown): WaferError {
  return new WaferError('not_ready', 503, 'the cluster registry (NATS) is unreachable: this host serves what it has loaded, and takes no deploys or other changes until it reconnects', { cause });
}

/** True when a JetStream error is a compare-and-set conflict ("wrong last sequence"). */
function isConflict(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string } | undefined;
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}

interface Known {
  revision: number;
  /** Undefined when the key holds no readable record (deleted from the bucket, or unreadable). */
  record: FunctionRecord | undefined;
}

export class NatsRegistry implements Registry {
  private readonly listeners: ((change: RegistryChange) => void)[] = [];
  /** Every record of the bucket as last seen, with its revision. */
  private readonly view = new Map<string, Known>();
  /** Keys whose record could not be read: while any exists, nothing is collected. */
  private readonly unreadable = new Map<string, string>();
  /** Digests of uploads between staging and publishing, with how many uploads hold each. */
  private readonly pins = new Map<string, number>();
  private pinnedDuringCollect: Set<string> | undefined;
  /** Digests this host has seen referenced: their compiled artifacts are dropped once nothing references them. */
  private readonly seen = new Set<string>();
  /** Names this host is writing now: a watched change of one is this host's own (it may arrive before the write returns). */
  private readonly writing = new Map<string, number>();
  private connected = true;
  private closed = false;
  private resyncing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly cluster: KV,
    private readonly blobs: ObjectStore,
    private readonly staging: FsRegistry,
    private readonly logger: Logger,
  ) {}

  /** Connects, creates the buckets if this is the cluster's first host, reads every record, and starts watching. */
  static async open(options: NatsRegistryOptions): Promise<NatsRegistry> {
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: 'wafer',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      maxPingOut: 2,
      timeout: REQUEST_TIMEOUT_MS,
    }).catch((err: unknown) => {
      throw new Error(`cannot connect to the cluster's NATS at ${options.servers}: ${(err as Error).message}`);
    });
    try {
      const js = jetstream(nc, { timeout: REQUEST_TIMEOUT_MS });
      const kvm = new Kvm(js);
      const kv = await kvm.create(FUNCTIONS_BUCKET, { history: 1 });
      const cluster = await kvm.create(CLUSTER_BUCKET, { history: 1 });
      const blobs = await new Objm(js).create(BLOBS_BUCKET);
      const staging = await FsRegistry.open(join(options.dataDir, 'cluster'));
      const registry = new NatsRegistry(nc, kv, cluster, blobs, staging, options.logger);
      await registry.readAll();
      registry.follow();
      return registry;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The cluster's management token: the one stored in NATS, or `generate()`'s, stored if none
   * is (the first host to store one wins; `created` says this host did).
   */
  async sharedToken(generate: () => string): Promise<{ token: string; created: boolean }> {
    const existing = await this.cluster.get(TOKEN_KEY);
    if (existing?.operation === 'PUT' && existing.value.length > 0) return { token: existing.string(), created: false };
    const token = generate();
    try {
      if (existing) await this.cluster.update(TOKEN_KEY, token, existing.revision);
      else await this.cluster.create(TOKEN_KEY, token);
      return { token, created: true };
    } catch (err) {
      if (!isConflict(err) && !/exists/i.test((err as Error).message)) throw err;
      return this.sharedToken(generate);
    }
  }

  /** Calls `listener` with every record now, then with each change (registry.ts `watch`). */
  watch(listener: (change: RegistryChange) => void): void {
    this.listeners.push(listener);
    for (const [name, known] of this.view) listener(changeOf(name, known, false));
  }

  /** The cluster's NATS connection, shared with the trigger bus (triggers/nats.ts). */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** True while NATS is reachable (writes are accepted). */
  get available(): boolean {
    return this.connected && !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.nc.drain().catch(() => this.nc.close().catch(() => undefined));
  }

  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    this.writable();
    const staged = await this.staging.stage(body, maxBytes);
    this.pin(staged.digest);
    let released = false;
    return {
      digest: staged.digest,
      size: staged.size,
      read: () => staged.read(),
      // Always put, even when the object exists: the put refreshes its time, which keeps it from
      // a collection on another host until this upload has published (BLOB_GRACE_MS).
      commit: async () => {
        this.writable();
        const bytes = await staged.read();
        try {
          await this.blobs.putBlob({ name: staged.digest }, bytes);
        } catch (err) {
          throw this.failure(err, 'the upload');
        }
      },
      discard: async () => {
        if (released) return;
        released = true;
        this.unpin(staged.digest);
        await staged.discard();
      },
    };
  }

  async readBlob(digest: string): Promise<Uint8Array> {
    if (!DIGEST_PATTERN.test(digest)) throw new NotFoundError(`no component ${digest.slice(0, 80)}`);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.blobs.getBlob(digest);
    } catch (err) {
      throw this.failure(err, `component ${digest}`);
    }
    if (!bytes) throw new WaferError('internal', 500, `component ${digest} is missing from the cluster's object store`);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== digest) throw new WaferError('internal', 500, `component ${digest} read back from the cluster's object store hashes to ${actual}: refused`);
    return bytes;
  }

  publish(name: string, blob: { digest: string; size: number; world?: string }, limits: FunctionLimits, keepVersions: number, ifCurrent?: number): Promise<FunctionHistory> {
    return this.update(name, publishVersion(name, blob, limits, keepVersions, ifCurrent));
  }

  rollback(name: string, to?: number): Promise<FunctionHistory> {
    return this.update(name, rollbackTo(name, to));
  }

  setAlias(name: string, alias: string, targets: readonly AliasTarget[]): Promise<FunctionHistory> {
    return this.update(name, setAliasTo(name, alias, targets));
  }

  removeAlias(name: string, alias: string): Promise<FunctionHistory> {
    return this.update(name, removeAliasOf(name, alias));
  }

  addToken(name: string, token: InvokeToken, max: number): Promise<FunctionHistory> {
    return this.update(name, addTokenTo(name, token, max));
  }

  removeToken(name: string, id: string): Promise<FunctionHistory> {
    return this.update(name, removeTokenOf(name, id));
  }

  setTrigger(name: string, trigger: Trigger, max: number): Promise<FunctionHistory> {
    return this.update(name, setTriggerOf(name, trigger, max));
  }

  removeTrigger(name: string, id: string): Promise<FunctionHistory> {
    return this.update(name, removeTriggerOf(name, id));
  }

  async list(): Promise<FunctionVersion[]> {
    return (await this.scan()).functions;
  }

  async scan(): Promise<RegistryScan> {
    const histories: FunctionHistory[] = [];
    for (const [name, known] of [...this.view].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const history = known.record && historyOf(known.record);
      if (history) histories.push({ ...history, revision: known.revision });
      else if (this.unreadable.has(name)) continue;
    }
    const problems: RecordProblem[] = [...this.unreadable].map(([name, error]) => ({ name, error }));
    return { functions: histories.map((h) => h.current), histories, problems };
  }

  async get(name: string): Promise<FunctionVersion | undefined> {
    const record = this.view.get(name)?.record;
    return record ? historyOf(record)?.current : undefined;
  }

  async remove(name: string): Promise<boolean> {
    let removed = false;
    await this.update(name, (record) => {
      const next = removeFunction(record);
      removed = next !== undefined;
      return next;
    }).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    return removed;
  }

  /**
   * Drops the compiled artifacts of digests nothing references any more (this host's, through
   * `forget`), and removes from the object store the blobs no record references that were put
   * more than BLOB_GRACE_MS ago. What is referenced comes from this host's view of the bucket;
   * a view that lags can only keep a blob longer (a publish referencing a blob refreshes it).
   */
  async collect(forget: (digest: string) => Promise<boolean>, candidates: string[] = []): Promise<string[]> {
    if (this.unreadable.size > 0 || !this.available) return [];
    const pinned = new Set(this.pins.keys());
    this.pinnedDuringCollect = pinned;
    try {
      const referenced = new Set([...this.view.values()].flatMap((k) => (k.record ? referencedBy(k.record) : [])));
      let objects: Map<string, number>;
      try {
        objects = new Map((await this.blobs.list()).filter((o) => !o.deleted).map((o) => [o.name, Date.parse(o.mtime)]));
      } catch (err) {
        this.logger.warn({ err }, 'could not list the cluster object store; collection skipped');
        return [];
      }
      const removed: string[] = [];
      for (const digest of new Set([...objects.keys(), ...this.seen, ...candidates])) {
        if (!DIGEST_PATTERN.test(digest) || referenced.has(digest) || pinned.has(digest)) continue;
        if (!(await forget(digest))) continue;
        this.seen.delete(digest);
        const putAt = objects.get(digest);
        if (putAt === undefined || Date.now() - putAt < BLOB_GRACE_MS || pinned.has(digest)) continue;
        await this.blobs.delete(digest);
        removed.push(digest);
      }
      return removed;
    } finally {
      this.pinnedDuringCollect = undefined;
    }
  }

  /**
   * Reads `name`'s record with its revision, lets `change` edit a copy (undefined: nothing to
   * write), and writes it if the revision is unchanged; on a conflict, reads again and retries.
   */
  private async update(name: string, change: (record: FunctionRecord | undefined) => FunctionRecord | undefined): Promise<FunctionHistory> {
    this.writable();
    this.writing.set(name, (this.writing.get(name) ?? 0) + 1);
    try {
      return await this.casLoop(name, change);
    } finally {
      const n = (this.writing.get(name) ?? 1) - 1;
      if (n > 0) this.writing.set(name, n);
      else this.writing.delete(name);
    }
  }

  private async casLoop(name: string, change: (record: FunctionRecord | undefined) => FunctionRecord | undefined): Promise<FunctionHistory> {
    for (let attempt = 1; ; attempt++) {
      let entry: KvEntry | null;
      try {
        entry = await this.kv.get(name);
      } catch (err) {
        throw this.failure(err, `the record of ${name}`);
      }
      let record: FunctionRecord | undefined;
      if (entry?.operation === 'PUT') {
        try {
          record = parseRecord(name, entry.string());
        } catch (err) {
          throw new WaferError('internal', 500, `the record of ${name} is unreadable (${(err as Error).message}); see /healthz`, { cause: err });
        }
      }
      const next = change(record);
      if (!next) {
        if (!record || !entry) throw new NotFoundError(`no function named ${name}`);
        return { ...historyOf(record)!, revision: entry.revision };
      }
      let revision: number;
      try {
        revision = entry ? await this.kv.update(name, JSON.stringify(next), entry.revision) : await this.kv.create(name, JSON.stringify(next));
      } catch (err) {
        if ((isConflict(err) || (!entry && /exists/i.test((err as Error).message))) && attempt < MAX_CAS_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          continue;
        }
        throw this.failure(err, `the record of ${name}`);
      }
      this.learn(name, { revision, record: next }, true);
      const history = historyOf(next);
      // A write that deletes answers an empty history; remove() only wants to know it landed.
      return history ? { ...history, revision } : ({ revision } as FunctionHistory);
    }
  }

  /** Takes in a record at `revision` if it is newer than the view's, and tells the listeners. */
  private learn(name: string, known: Known, local: boolean): void {
    const before = this.view.get(name);
    if (before && before.revision >= known.revision) return;
    this.view.set(name, known);
    if (known.record) for (const digest of referencedBy(known.record)) this.seen.add(digest);
    for (const listener of this.listeners) {
      try {
        listener(changeOf(name, known, local));
      } catch (err) {
        this.logger.error({ err, fn: name }, 'applying a registry change failed');
      }
    }
  }

  /** Takes in one entry of the bucket (read or watched). */
  private take(entry: KvEntry): void {
    const name = entry.key;
    if (entry.operation !== 'PUT') {
      this.unreadable.delete(name);
      this.learn(name, { revision: entry.revision, record: undefined }, this.writing.has(name));
      return;
    }
    try {
      const record = parseRecord(name, entry.string());
      this.unreadable.delete(name);
      this.learn(name, { revision: entry.revision, record }, this.writing.has(name));
    } catch (err) {
      const error = (err as Error).message;
      if (this.unreadable.get(name) !== error) this.logger.error({ fn: name, err: error }, 'skipped an unreadable function record in the cluster registry');
      this.unreadable.set(name, error);
    }
  }

  /** Reads every record of the bucket into the view (at open, and after a reconnect). */
  private async readAll(): Promise<void> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    for (const key of keys) {
      const entry = await this.kv.get(key);
      if (entry) this.take(entry);
    }
  }

  /** Watches the bucket and the connection for as long as the registry is open. */
  private follow(): void {
    void this.watchBucket();
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect' || status.type === 'staleConnection') {
          if (this.connected) this.logger.warn({ status: status.type }, 'lost the cluster registry (NATS); serving what is loaded, refusing changes');
          this.connected = false;
        } else if (status.type === 'reconnect') {
          this.logger.info('reconnected to the cluster registry (NATS); reading it again');
          void this.resync();
        }
      }
    })().catch((err: unknown) => this.logger.debug({ err }, 'NATS status stream ended'));
  }

  /** Reads the bucket whole again after a reconnect (retrying while JetStream is not back), then accepts writes. */
  private resync(): Promise<void> {
    this.resyncing ??= (async () => {
      for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2_000)) {
        try {
          await this.readAll();
          this.connected = true;
          this.logger.info({ functions: this.view.size }, 'caught up with the cluster registry');
          return;
        } catch (err) {
          this.logger.debug({ err }, 'the cluster registry is not readable yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    })().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  /** Follows the bucket's changes; a watch that ends (its consumer lost) is started again. */
  private async watchBucket(): Promise<void> {
    while (!this.closed) {
      try {
        const watch = await this.kv.watch({ key: '>' });
        for await (const entry of watch) this.take(entry);
      } catch (err) {
        if (this.closed) return;
        this.logger.debug({ err }, 'the cluster registry watch ended; starting it again');
      }
      if (!this.closed) await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private writable(): void {
    if (!this.available) throw unavailable();
  }

  /** A failed NATS request: 503 while NATS is unreachable (or timed out), else 500. */
  private failure(err: unknown, what: string): WaferError {
    if (err instanceof WaferError) return err;
    const message = (err as Error)?.message ?? String(err);
    if (/max_payload|payload exceeded/i.test(message)) {
      return new WaferError('insufficient_storage', 507, `${what} is larger than the cluster's NATS accepts in one message (max_payload); keep fewer versions or raise max_payload`, { cause: err });
    }
    if (!this.connected || /timeout|disconnect|closed|no responders|connection/i.test(message)) return unavailable(err);
    return new WaferError('internal', 500, `could not store ${what} in the cluster registry (${message.slice(0, 200)})`, { cause: err });
  }

  private pin(digest: string): void {
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    this.pinnedDuringCollect?.add(digest);
  }

  private unpin(digest: string): void {
    const n = (this.pins.get(digest) ?? 1) - 1;
    if (n > 0) this.pins.set(digest, n);
    else this.pins.delete(digest);
  }
}

function changeOf(name: string, known: Known, local: boolean): RegistryChange {
  const history = known.record && historyOf(known.record);
  return { name, revision: known.revision, history: history && { ...history, revision: known.revision }, local };
}

