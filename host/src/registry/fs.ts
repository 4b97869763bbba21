/**
 * @module registry/fs
 * The embedded registry: a data directory on local disk.
 *
 *   <data>/blobs/sha256/<hex>      component bytes, content-addressed
 *   <data>/functions/<name>.json   {current, versions[], nextVersion} per function
 *   <data>/staging/                uploads in flight (cleared at start)
 *
 * Every write is a temp file, fsync, rename, then fsync of the directory, so a crash leaves
 * either the old or the new state, never a torn file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { InvalidInputError } from '../errors.js';
import type { FunctionLimits, FunctionVersion, Registry, StagedBlob } from './registry.js';

interface FunctionRecord {
  name: string;
  current: number;
  nextVersion: number;
  versions: FunctionVersion[];
}

/** Writes `data` to `path` atomically and durably. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
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

export class FsRegistry implements Registry {
  private readonly blobs: string;
  private readonly functions: string;
  private readonly staging: string;
  /** Serialises writes per name so two uploads of one name cannot both become version N. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(readonly dataDir: string) {
    this.blobs = join(dataDir, 'blobs', 'sha256');
    this.functions = join(dataDir, 'functions');
    this.staging = join(dataDir, 'staging');
  }

  /** Opens (creating if needed) the data directory. */
  static async open(dataDir: string): Promise<FsRegistry> {
    const registry = new FsRegistry(dataDir);
    await mkdir(registry.blobs, { recursive: true });
    await mkdir(registry.functions, { recursive: true });
    await rm(registry.staging, { recursive: true, force: true });
    await mkdir(registry.staging, { recursive: true });
    return registry;
  }

  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    const path = join(this.staging, randomUUID());
    const out = createWriteStream(path, { mode: 0o644 });
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxBytes) {
          throw new InvalidInputError('payload_too_large', `the upload is larger than the limit of ${maxBytes} bytes`);
        }
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      await rm(path, { force: true });
      throw err;
    }
    const digest = hash.digest('hex');
    const target = join(this.blobs, digest);
    return {
      digest,
      size,
      read: () => readFile(path),
      commit: async () => {
        if (await exists(target)) return rm(path, { force: true });
        const handle = await open(path, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(path, target);
        await syncDir(this.blobs);
      },
      discard: () => rm(path, { force: true }),
    };
  }

  readBlob(digest: string): Promise<Uint8Array> {
    return readFile(join(this.blobs, digest));
  }

  publish(name: string, blob: { digest: string; size: number }, limits: FunctionLimits): Promise<FunctionVersion> {
    return this.withLock(name, async () => {
      const record = (await this.readRecord(name)) ?? { name, current: 0, nextVersion: 1, versions: [] };
      const version: FunctionVersion = {
        name,
        version: record.nextVersion,
        digest: blob.digest,
        size: blob.size,
        limits,
        createdAt: new Date().toISOString(),
      };
      record.versions.push(version);
      record.current = version.version;
      record.nextVersion += 1;
      await writeFileAtomic(this.recordPath(name), JSON.stringify(record, null, 2));
      return version;
    });
  }

  async list(): Promise<FunctionVersion[]> {
    const files = (await readdir(this.functions)).filter((f) => f.endsWith('.json')).sort();
    const records = await Promise.all(files.map((f) => this.readRecord(f.slice(0, -5))));
    return records.flatMap((r) => (r ? [currentOf(r)] : [])).filter((v): v is FunctionVersion => v !== undefined);
  }

  async get(name: string): Promise<FunctionVersion | undefined> {
    const record = await this.readRecord(name);
    return record ? currentOf(record) : undefined;
  }

  remove(name: string): Promise<boolean> {
    return this.withLock(name, async () => {
      const record = await this.readRecord(name);
      if (!record || record.current === 0) return false;
      // Keep the record so version numbers are never reused; current 0 marks it deleted.
      record.current = 0;
      await writeFileAtomic(this.recordPath(name), JSON.stringify(record, null, 2));
      return true;
    });
  }

  private recordPath(name: string): string {
    return join(this.functions, `${name}.json`);
  }

  private async readRecord(name: string): Promise<FunctionRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.recordPath(name), 'utf8')) as FunctionRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(name, next.catch(() => undefined));
    return next;
  }
}

function currentOf(record: FunctionRecord): FunctionVersion | undefined {
  return record.versions.find((v) => v.version === record.current);
}
