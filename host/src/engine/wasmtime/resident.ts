/**
 * @module engine/wasmtime/resident
 * Which components the wasmtime engine keeps loaded: an LRU bounded by bytes (`moduleCacheBytes`),
 * a component weighing what its compiled artifact weighs on disk (the mapped `.cwasm`: code,
 * data segments and the memory image). Past the bound the least recently used component is
 * unloaded from the addon; its artifact stays on disk, and the next call maps it again in
 * milliseconds (`reload`, counted by the addon as a disk load). That is scale to zero: an idle
 * function costs its directory entry, nothing more.
 *
 * An evicted component may still have calls running: each holds the component it was given, so
 * they finish. A component larger than the whole bound is kept (weighed at the bound), evicting
 * all the others, so it can still be called.
 */
import { stat } from 'node:fs/promises';

import { LRUCache } from 'lru-cache';

import type { LoadInfo, LoadUnit } from '../engine.js';

/** Thrown by the bytes of a reload: the disk has no usable artifact, and a call has no bytes to compile. */
class NotOnDisk extends Error {}

export interface ResidentOptions {
  /** Bytes of compiled artifacts kept loaded. */
  maxBytes: number;
  /** Unloads a component from the addon (its artifact stays on disk). */
  unload: (digest: string) => void;
}

export class Resident {
  private readonly lru: LRUCache<string, number>;
  private readonly maxBytes: number;
  private evictions = 0;
  private reloads = 0;

  constructor(private readonly options: ResidentOptions) {
    this.maxBytes = Math.max(1, options.maxBytes);
    this.lru = new LRUCache<string, number>({
      maxSize: this.maxBytes,
      sizeCalculation: (bytes) => Math.min(this.maxBytes, Math.max(1, bytes)),
      dispose: (_bytes, digest, reason) => {
        if (reason !== 'evict') return;
        this.evictions++;
        this.options.unload(digest);
      },
    });
  }

  /** A component was loaded (compiled or mapped from `artifactPath`): weigh it, evicting others if need be. */
  async loaded(digest: string, artifactPath: string): Promise<void> {
    const bytes = await stat(artifactPath).then(
      (s) => s.size,
      () => 1,
    );
    this.lru.set(digest, bytes);
  }

  /** A component was used: it becomes the most recently used. */
  touch(digest: string): void {
    this.lru.get(digest);
  }

  /** A component was unloaded by the engine itself: stop counting it, without unloading it again. */
  forget(digest: string): void {
    this.lru.delete(digest);
  }

  /**
   * Maps `digest` again from its artifact, through the engine's `load`, for a call that found it
   * unloaded (evicted, or unloaded by the host). False when the disk has no usable artifact: a
   * call has no component bytes to compile, so it answers `not_ready` (engine.ts).
   */
  async reload(digest: string, load: (unit: LoadUnit) => Promise<LoadInfo>): Promise<boolean> {
    try {
      await load({ digest, bytes: () => Promise.reject(new NotOnDisk(digest)) });
    } catch (err) {
      if (err instanceof NotOnDisk) return false;
      throw err;
    }
    this.reloads++;
    return true;
  }

  /** `residentBytes` (gauge), `evictions` and `reloads` (counters). */
  stats(): Record<string, number> {
    return { residentBytes: this.lru.calculatedSize, evictions: this.evictions, reloads: this.reloads };
  }
}
