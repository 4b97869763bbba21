/**
 * @module registry/fs
 * The embedded registry: a data directory on local disk.
 *
 *   <data>/blobs/sha256/<hex>      component bytes, content-addressed
 *   <data>/functions/<name>.json   {name, current, nextVersion, versions[], aliases{}, tokens[], triggers[]} per function
 *   <data>/staging/                uploads in flight (cleared at start)
 *
 * Every write is a temp file, fsync, rename, then fsync of the directory, so a crash leaves
 * either the old or the new state, never a torn file. A blob is committed (synced and renamed
 * into place) before the record that references it is published, and garbage collection only
 * removes blobs that no record on disk and no upload in flight references, so a crash at any
 * point never leaves a published record without its blob.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, WaferError } from '../errors.js';
import type { AliasTarget } from './alias.js';
import { addTokenTo, publishVersion, removeAliasOf, removeFunction, removeTokenOf, removeTriggerOf, rollbackTo, setAliasTo, setTriggerOf, type RecordChange } from './changes.js';
import { DIGEST_PATTERN, historyOf, parseRecord, referencedBy, type FunctionRecord } from './record.js';
import type { FunctionHistory, FunctionLimits, FunctionVersion, InvokeToken, RecordProblem, Registry, RegistryScan, StagedBlob, Trigger } from './registry.js';
import { storageError } from './storage-error.js';

const TMP_SUFFIX = '.tmp';

/** Writes `data` to `path` atomically and durably; the temp file is removed if anything fails. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${randomUUID()}${TMP_SUFFIX}`;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(join(path, '..'));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes all of `chunk` (a file write may be short). */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Reads and drops the rest of an upload in the background after storing it failed, so the
 * client, still sending, gets the error answer instead of a reset connection. The body's own
 * size limit and the server's request timeout bound it.
 */
function drain(iterator: AsyncIterator<Uint8Array>): void {
  void (async () => {
    while (!(await iterator.next()).done);
  })().catch(() => undefined);
}

/** Removes temp files that a crash left in `dir` (their writes never completed). */
async function sweepTemp(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith(TMP_SUFFIX)) await rm(join(dir, name), { force: true, recursive: true });
  }
}

export class FsRegistry implements Registry {
  private readonly blobs: string;
  private readonly functions: string;
  private readonly staging: string;
  /** Serialises writes per name so two uploads of one name cannot both become version N. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Serialises blob commits with blob collection, so a blob is never removed under a commit. */
  private blobLock: Promise<unknown> = Promise.resolve();
  /** Digests of uploads between staging and publishing, with how many uploads hold each. */
  private readonly pins = new Map<string, number>();
  /**
   * While a collection runs: every digest pinned at its start or since. An upload pinned while
   * the collection runs may publish (after the collection took its view of the references) and
   * unpin before the collection reaches its digest, so "not pinned now" is not enough.
   */
  private pinnedDuringCollect: Set<string> | undefined;
  /**
   * What each record on disk references, read once at open and updated by every record write
   * (under that name's lock), so a collection does not read every record again.
   */
  private readonly references = new Map<string, string[]>();
  /** Records that could not be read: while any exists, nothing is collected. */
  private readonly unreadableNames = new Set<string>();

  private constructor(readonly dataDir: string) {
    this.blobs = join(dataDir, 'blobs', 'sha256');
    this.functions = join(dataDir, 'functions');
    this.staging = join(dataDir, 'staging');
  }

  /** Opens (creating if needed) the data directory, clearing what a crash left in flight. */
  static async open(dataDir: string): Promise<FsRegistry> {
    const registry = new FsRegistry(dataDir);
    await mkdir(registry.blobs, { recursive: true });
    await mkdir(registry.functions, { recursive: true });
    await rm(registry.staging, { recursive: true, force: true });
    await mkdir(registry.staging, { recursive: true });
    await sweepTemp(registry.functions);
    await sweepTemp(dataDir);
    const { records, problems } = await registry.readAll();
    for (const record of records) registry.references.set(record.name, referencedBy(record));
    for (const problem of problems) registry.unreadableNames.add(problem.name);
    return registry;
  }

  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    const path = join(this.staging, randomUUID());
    const iterator = body[Symbol.asyncIterator]();
    let handle: FileHandle | undefined;
    const hash = createHash('sha256');
    let size = 0;
    let bodyDone = false;
    try {
      handle = await this.createStaged(path);
      for (;;) {
        // Errors of the body itself (too large, client gone) end its iterator: nothing to drain.
        const next = await iterator.next().catch((err: unknown) => {
          bodyDone = true;
          throw err;
        });
        if (next.done) break;
        size += next.value.length;
        if (size > maxBytes) {
          throw new InvalidInputError('payload_too_large', `the upload is larger than the limit of ${maxBytes} bytes`);
        }
        hash.update(next.value);
        await writeAll(handle, next.value);
      }
      bodyDone = true;
      const closing = handle;
      handle = undefined;
      await closing.close();
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await rm(path, { force: true }).catch(() => undefined);
      if (!bodyDone) drain(iterator);
      throw storageError(err, 'the upload');
    }
    const digest = hash.digest('hex');
    this.pin(digest);
    let released = false;
    return {
      digest,
      size,
      read: () => readFile(path).catch((err: unknown) => Promise.reject(storageError(err, 'the upload'))),
      commit: () => this.commitBlob(path, digest).catch((err: unknown) => Promise.reject(storageError(err, 'the upload'))),
      discard: async () => {
        if (released) return;
        released = true;
        this.unpin(digest);
        await rm(path, { force: true }).catch(() => undefined);
      },
    };
  }

  readBlob(digest: string): Promise<Uint8Array> {
    return readFile(join(this.blobs, digest));
  }

  publish(name: string, blob: { digest: string; size: number; world?: string }, limits: FunctionLimits, keepVersions: number, ifCurrent?: number): Promise<FunctionHistory> {
    return this.change(name, publishVersion(name, blob, limits, keepVersions, ifCurrent));
  }

  rollback(name: string, to?: number): Promise<FunctionHistory> {
    return this.change(name, rollbackTo(name, to));
  }

  setAlias(name: string, alias: string, targets: readonly AliasTarget[]): Promise<FunctionHistory> {
    return this.change(name, setAliasTo(name, alias, targets));
  }

  removeAlias(name: string, alias: string): Promise<FunctionHistory> {
    return this.change(name, removeAliasOf(name, alias));
  }

  addToken(name: string, token: InvokeToken, max: number): Promise<FunctionHistory> {
    return this.change(name, addTokenTo(name, token, max));
  }

  removeToken(name: string, id: string): Promise<FunctionHistory> {
    return this.change(name, removeTokenOf(name, id));
  }

  setTrigger(name: string, trigger: Trigger, max: number): Promise<FunctionHistory> {
    return this.change(name, setTriggerOf(name, trigger, max));
  }

  removeTrigger(name: string, id: string): Promise<FunctionHistory> {
    return this.change(name, removeTriggerOf(name, id));
  }

  /** Applies `change` to `name`'s record under its lock, writes what it answers, and answers the history. */
  private change(name: string, change: RecordChange): Promise<FunctionHistory> {
    return this.withLock(name, async () => {
      const record = await this.readRecord(name);
      const next = change(record);
      if (next) await this.writeRecord(next);
      return historyOf(next ?? record!)!;
    });
  }

  async list(): Promise<FunctionVersion[]> {
    return (await this.scan()).functions;
  }

  async scan(): Promise<RegistryScan> {
    const { records, problems } = await this.readAll();
    const histories = records.flatMap((r) => historyOf(r) ?? []);
    return { functions: histories.map((h) => h.current), histories, problems };
  }

  async get(name: string): Promise<FunctionVersion | undefined> {
    const record = await this.readRecord(name);
    return record ? historyOf(record)?.current : undefined;
  }

  remove(name: string): Promise<boolean> {
    return this.withLock(name, async () => {
      const record = removeFunction(await this.readRecord(name));
      if (record) await this.writeRecord(record);
      return record !== undefined;
    });
  }

  collect(forget: (digest: string) => Promise<boolean>, candidates: string[] = []): Promise<string[]> {
    return this.withBlobLock(async () => {
      const pinned = new Set(this.pins.keys());
      this.pinnedDuringCollect = pinned;
      try {
        return await this.collectUnreferenced(pinned, forget, candidates);
      } finally {
        this.pinnedDuringCollect = undefined;
      }
    });
  }

  private async collectUnreferenced(pinned: Set<string>, forget: (digest: string) => Promise<boolean>, candidates: string[]): Promise<string[]> {
    if (this.unreadableNames.size > 0) return [];
    const referenced = new Set([...this.references.values()].flat());
    const removed: string[] = [];
    for (const digest of new Set([...(await readdir(this.blobs)), ...candidates])) {
      if (!DIGEST_PATTERN.test(digest) || referenced.has(digest) || pinned.has(digest)) continue;
      // Artifacts first: a crash between the two leaves the blob, and the next collection
      // finds it unreferenced again and finishes the job.
      if (!(await forget(digest))) continue;
      if (pinned.has(digest)) continue; // an upload of it arrived meanwhile: keep its blob
      await rm(join(this.blobs, digest), { force: true });
      removed.push(digest);
    }
    if (removed.length > 0) await syncDir(this.blobs);
    return removed;
  }

  private async createStaged(path: string): Promise<FileHandle> {
    try {
      return await open(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The staging directory was removed under us (an operator's clean-up): recreate it once.
      await mkdir(this.staging, { recursive: true });
      return open(path, 'wx', 0o644);
    }
  }

  private commitBlob(path: string, digest: string): Promise<void> {
    const target = join(this.blobs, digest);
    return this.withBlobLock(async () => {
      if (await exists(target)) return rm(path, { force: true });
      const handle = await open(path, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(path, target);
      await syncDir(this.blobs);
    });
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

  private recordPath(name: string): string {
    return join(this.functions, `${name}.json`);
  }

  /** Writes a record (the caller holds its name's lock) and keeps `references` equal to the disk. */
  private async writeRecord(record: FunctionRecord): Promise<void> {
    try {
      await writeFileAtomic(this.recordPath(record.name), JSON.stringify(record, null, 2));
      this.references.set(record.name, referencedBy(record));
    } catch (err) {
      // The rename may have happened before the failure (a failed directory fsync): believe the disk.
      try {
        const onDisk = await this.readRecord(record.name);
        this.references.set(record.name, onDisk ? referencedBy(onDisk) : []);
      } catch {
        this.unreadableNames.add(record.name);
      }
      throw storageError(err, `the record of ${record.name}`);
    }
  }

  /** The record of a deployed function (the caller holds its lock); `not_found` when there is none. */
  /** Reads one record; undefined when there is none, `internal` when it is unreadable. */
  private async readRecord(name: string): Promise<FunctionRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.recordPath(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unreadable(name, err);
    }
    try {
      return parseRecord(name, text);
    } catch (err) {
      throw unreadable(name, err);
    }
  }

  private async readAll(): Promise<{ records: FunctionRecord[]; problems: RecordProblem[] }> {
    const names = (await readdir(this.functions)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
    const records: FunctionRecord[] = [];
    const problems: RecordProblem[] = [];
    for (const name of names) {
      try {
        const record = await this.readRecord(name);
        if (record) records.push(record);
      } catch (err) {
        problems.push({ name, error: reasonOf((err as WaferError).cause) });
      }
    }
    return { records, problems };
  }

  private async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.locks.set(name, tail);
    // Forget the lock once nothing waits on it, so the map does not grow with every name ever used.
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  private withBlobLock<T>(work: () => Promise<T>): Promise<T> {
    const next = this.blobLock.then(work, work);
    this.blobLock = next.catch(() => undefined);
    return next;
  }
}

/** The kept version numbers of a record, for messages: "1, 2, 3". */
/** Why a record is unreadable: the errno code (never a path), or what is wrong with its content. */
function reasonOf(cause: unknown): string {
  return cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
}

function unreadable(name: string, cause: unknown): WaferError {
  return new WaferError('internal', 500, `the record of ${name} is unreadable (${reasonOf(cause)}); see /healthz`, { cause });
}
