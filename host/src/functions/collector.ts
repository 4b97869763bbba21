/**
 * @module functions/collector
 * The end of a version's life. A version that stopped being current (redeployed or deleted)
 * retires: calls already under way on it finish first, so it stays loaded, and its blob and
 * artifacts stay, until its time quota plus a grace second have passed. Then it leaves memory
 * and a collection removes the blobs and compiled artifacts nothing references any more.
 */
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { FunctionVersion, Registry } from '../registry/registry.js';
import type { Loader } from './loader.js';

/** How long past its time quota a retired version stays loaded, for calls already under way. */
const UNLOAD_GRACE_MS = 1_000;

export interface CollectorOptions {
  engine: Engine;
  registry: Registry;
  logger: Logger;
  loader: Loader;
  /** The versions serving now: their digests are never unloaded. */
  current: () => Iterable<FunctionVersion>;
}

export class Collector {
  /** The collection running now, and whether another is wanted after it. */
  private collecting: Promise<void> | undefined;
  private again = false;
  /** Digests with compiled artifacts but perhaps no blob (a deploy that failed late). */
  private readonly candidates = new Set<string>();
  /** Digests that stopped being current less than their time quota ago, with how many times. */
  private readonly retiring = new Map<string, number>();

  constructor(private readonly options: CollectorOptions) {}

  /** `fn` stopped being current: unload it once calls under way on it are over, then collect. */
  retire(fn: FunctionVersion): void {
    const { digest } = fn;
    const { engine, loader, logger, current } = this.options;
    this.retiring.set(digest, (this.retiring.get(digest) ?? 0) + 1);
    const settle = () => {
      const left = (this.retiring.get(digest) ?? 1) - 1;
      if (left > 0) {
        this.retiring.set(digest, left);
        return;
      }
      this.retiring.delete(digest);
      try {
        if (![...current()].some((other) => other.digest === digest)) {
          engine.unload(digest);
          loader.forget(digest);
        }
      } catch (err) {
        logger.debug({ err, digest }, 'could not unload a retired version (engine closed?)');
      }
      void this.collect();
    };
    setTimeout(settle, fn.limits.timeoutMs + UNLOAD_GRACE_MS).unref();
  }

  /**
   * Removes the blobs and compiled artifacts that no kept version references. Runs one at a
   * time; calls that arrive while one runs share the next run. Never fails the caller: the
   * record that made the garbage is already published, and the next run retries.
   */
  collect(alsoConsider: string[] = []): Promise<void> {
    for (const digest of alsoConsider) this.candidates.add(digest);
    if (this.collecting) {
      this.again = true;
      return this.collecting;
    }
    this.collecting = this.run().finally(() => {
      this.collecting = undefined;
    });
    return this.collecting;
  }

  private async run(): Promise<void> {
    const { engine, registry, logger, loader } = this.options;
    const forget = async (digest: string): Promise<boolean> => {
      if (this.retiring.has(digest)) return false; // calls may still run on it
      loader.forget(digest);
      await engine.discard(digest);
      return true;
    };
    do {
      this.again = false;
      const candidates = [...this.candidates];
      this.candidates.clear();
      try {
        const removed = await registry.collect(forget, candidates);
        if (removed.length > 0) logger.info({ digests: removed }, 'collected unreferenced components');
      } catch (err) {
        logger.error({ err }, 'garbage collection failed; it runs again after the next deploy or delete');
      }
    } while (this.again);
  }
}
