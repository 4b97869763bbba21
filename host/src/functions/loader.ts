/**
 * @module functions/loader
 * Which components the engine has loaded, so a call loads its component once and later calls
 * skip straight to the engine. Loads of one digest already under way are shared by the engine
 * itself (both engines keep their in-flight loads by digest), so they are not tracked here.
 * A version with a fuel limit runs a fuel-metered build (engine.ts `LoadUnit.fuel`), which is
 * loaded on its own: a component is loaded once per build it is called with (`loadKey`).
 */
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { FunctionVersion, Registry } from '../registry/registry.js';

/** Whether calls of `fn` run the component's fuel-metered build. */
export function metered(fn: FunctionVersion): boolean {
  return fn.limits.fuel !== undefined;
}

/** What a loaded build is known by: the digest, marked when it is the fuel-metered build. */
export function loadKey(fn: FunctionVersion): string {
  return metered(fn) ? `${fn.digest}+fuel` : fn.digest;
}

export class Loader {
  private readonly loaded = new Set<string>();

  constructor(
    private readonly engine: Engine,
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  /** Makes `fn`'s component callable: from memory, the compiled cache, or by compiling it. */
  ensure(fn: FunctionVersion): Promise<void> {
    return this.loaded.has(loadKey(fn)) ? Promise.resolve() : this.load(fn);
  }

  /**
   * Loads every function in `fns` in the background, at most `concurrency` at once, so their
   * first calls pay no load. A load that fails is logged, never thrown: the function's first
   * call tries again (and answers the error if it fails again). Resolves when all have settled.
   */
  async warm(fns: FunctionVersion[], concurrency: number): Promise<void> {
    const queue = [...fns];
    const started = performance.now();
    let failed = 0;
    const worker = async (): Promise<void> => {
      for (let fn = queue.shift(); fn; fn = queue.shift()) {
        try {
          await this.ensure(fn);
        } catch (err) {
          failed++;
          this.logger.warn({ fn: fn.name, digest: fn.digest, err }, 'could not load a function in the background; its first call loads it');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    this.logger.info({ functions: fns.length, failed, ms: Math.round(performance.now() - started) }, 'loaded deployed functions');
  }

  /** True once the build `fn` calls is loaded (and not forgotten since). */
  has(fn: FunctionVersion): boolean {
    return this.loaded.has(loadKey(fn));
  }

  /** The engine dropped `digest` (unloaded or discarded), every build of it: the next call loads it again. */
  forget(digest: string): void {
    this.loaded.delete(digest);
    this.loaded.delete(`${digest}+fuel`);
  }

  private async load(fn: FunctionVersion): Promise<void> {
    const info = await this.engine.load({ digest: fn.digest, world: fn.world, bytes: () => this.registry.readBlob(fn.digest), fuel: metered(fn) });
    this.loaded.add(loadKey(fn));
    this.logger.debug({ fn: fn.name, digest: fn.digest, load: info }, 'loaded');
  }
}
