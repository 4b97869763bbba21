/**
 * @module functions/service
 * The function host proper: deploys uploads (validate, compile, store, publish) and admits calls
 * into the invoke pipeline (`pipeline.ts`). The server talks only to this; this talks to the
 * registry, the engine and the executors. Retiring and collecting old versions is `collector.ts`'s.
 */
import { validateComponent } from '../abi/validate.js';
import type { Engine } from '../engine/engine.js';
import { InvalidInputError, NotFoundError, WaferError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DEFAULT_CALL_SHARE, DEFAULT_MAX_CALLS, DEFAULT_MAX_QUEUED_CALLS, DEFAULT_WARM_CONCURRENCY } from '../limits.js';
import type { FunctionLimits, FunctionVersion, RecordProblem, Registry } from '../registry/registry.js';
import { dropUndefined } from '../util.js';
import { Collector } from './collector.js';
import { Limiter } from './limiter.js';
import { Loader } from './loader.js';
import type { Metrics } from './metrics.js';
import { admit, type Admission, type Invocation, type InvocationInput, type PipelineDeps } from './pipeline.js';

export type { Admission, Invocation, InvocationInput } from './pipeline.js';

/** A function name: lower-case letter, then up to 62 lower-case letters, digits or dashes. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export interface ServiceOptions {
  registry: Registry;
  engine: Engine;
  logger: Logger;
  metrics?: Metrics;
  defaults: FunctionLimits;
  ceilings: FunctionLimits;
  maxUploadBytes: number;
  /** Calls running at once per function. */
  maxConcurrency: number;
  /** Calls waiting per function. */
  maxQueue: number;
  /** Calls running at once, host-wide (default DEFAULT_MAX_CALLS). */
  maxCalls?: number;
  /** Calls waiting host-wide (default DEFAULT_MAX_QUEUED_CALLS). */
  maxQueuedCalls?: number;
  /** The fraction of the host-wide calls one function may hold (default DEFAULT_CALL_SHARE). */
  callShare?: number;
  /** Largest `ok` output a guest may return; longer answers `bad_response`. */
  maxResponseBytes: number;
  /** Versions kept per function (blobs and compiled artifacts); older ones are collected. */
  keepVersions: number;
}

/** Throws `invalid_name` unless `name` is a valid function name. */
export function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      'invalid_name',
      `invalid function name ${JSON.stringify(name)}: use a lower-case letter then up to 62 of a-z, 0-9 and -`,
    );
  }
}

export class FunctionService {
  private readonly index = new Map<string, FunctionVersion>();
  /** Function records skipped at start because they could not be read. */
  private skipped: RecordProblem[] = [];
  private readonly loader: Loader;
  private readonly collector: Collector;
  private readonly pipeline: PipelineDeps;
  /** Settles once the background loads started by `init` have (each failure is logged, not thrown). */
  warming: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServiceOptions) {
    const { engine, registry, logger, metrics } = options;
    this.loader = new Loader(engine, registry, logger);
    this.collector = new Collector({ engine, registry, logger, loader: this.loader, current: () => this.index.values() });
    const limiter = new Limiter({
      maxCalls: options.maxCalls ?? DEFAULT_MAX_CALLS,
      maxQueuedCalls: options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS,
      share: options.callShare ?? DEFAULT_CALL_SHARE,
      concurrency: options.maxConcurrency,
      queue: options.maxQueue,
    });
    const lookup = (name: string) => this.index.get(name);
    this.pipeline = { lookup, limiter, loader: this.loader, engine, logger, metrics, maxResponseBytes: options.maxResponseBytes };
  }

  get engine(): Engine {
    return this.options.engine;
  }

  get defaults(): FunctionLimits {
    return this.options.defaults;
  }

  /**
   * Loads the registry's index so every function deployed before a restart is served. A record
   * that cannot be read is logged and skipped (see `problems`); the rest are served. Then
   * collects what a crash may have left unreferenced, and starts loading every function's
   * component in the background (`warming`), so the first calls after a restart pay no load;
   * nothing waits for that.
   */
  async init(): Promise<void> {
    const { functions, problems } = await this.options.registry.scan();
    for (const fn of functions) this.index.set(fn.name, fn);
    this.skipped = problems;
    for (const problem of problems) {
      this.options.logger.error({ fn: problem.name, err: problem.error }, 'skipped an unreadable function record');
    }
    if (problems.length > 0) this.options.logger.warn({ skipped: problems.length }, 'garbage collection is off until every record reads');
    await this.collector.collect();
    this.warming = this.loader.warm(this.list(), DEFAULT_WARM_CONCURRENCY);
  }

  /** True when the serving version of `name` is loaded in the engine (its next call pays no load). */
  isLoaded(name: string): boolean {
    const fn = this.index.get(name);
    return fn !== undefined && this.loader.has(fn.digest);
  }

  /** Function records skipped at start (shown in /healthz). */
  problems(): RecordProblem[] {
    return this.skipped;
  }

  /** Checks requested limits against the ceilings; missing values take the defaults. */
  resolveLimits(requested: Partial<FunctionLimits>): FunctionLimits {
    const { defaults, ceilings } = this.options;
    const limits = { ...defaults, ...dropUndefined(requested) };
    if (!Number.isInteger(limits.timeoutMs) || limits.timeoutMs < 1 || limits.timeoutMs > ceilings.timeoutMs) {
      throw new InvalidInputError('invalid_request', `timeout_ms must be an integer from 1 to ${ceilings.timeoutMs}`);
    }
    const MiB = 1024 * 1024;
    if (!Number.isInteger(limits.memoryBytes) || limits.memoryBytes < MiB || limits.memoryBytes > ceilings.memoryBytes) {
      throw new InvalidInputError('invalid_request', `memory_mb must be an integer from 1 to ${ceilings.memoryBytes / MiB}`);
    }
    return limits;
  }

  /**
   * Deploys an upload as a new version of `name`. Nothing is published unless the component
   * validates (as a component of a world some executor runs) and compiles, so a failed upload
   * leaves the serving version untouched.
   */
  async deploy(name: string, body: AsyncIterable<Uint8Array>, requested: Partial<FunctionLimits> = {}): Promise<FunctionVersion> {
    const { registry, engine, logger, metrics } = this.options;
    let version: FunctionVersion;
    /** Set once the engine has compiled the upload: a later failure leaves files to collect. */
    let prepared: string | undefined;
    try {
      checkName(name);
      const limits = this.resolveLimits(requested);
      const staged = await registry.stage(body, this.options.maxUploadBytes);
      try {
        const bytes = await staged.read();
        const { world } = await validateComponent(bytes);
        const info = await engine.prepare({ digest: staged.digest, bytes: async () => bytes });
        prepared = staged.digest;
        // Blob first, then the record that references it: a crash in between leaves only an
        // unreferenced blob, which the next collection removes.
        await staged.commit();
        version = await registry.publish(name, { digest: staged.digest, size: staged.size, world }, limits, this.options.keepVersions);
        logger.info({ fn: name, version: version.version, digest: staged.digest, size: staged.size, world, prepare: info }, 'deployed');
      } finally {
        await staged.discard();
      }
      metrics?.upload('ok');
    } catch (err) {
      metrics?.upload(err instanceof WaferError ? err.code : 'internal');
      // Storing failed after compiling (a full disk, say): drop the artifact and any committed
      // blob, unless something else references that digest.
      if (prepared !== undefined) await this.collector.collect([prepared]);
      throw err;
    }
    const previous = this.index.get(name);
    this.index.set(name, version);
    if (previous && previous.digest !== version.digest) this.collector.retire(previous);
    await this.collector.collect();
    return version;
  }

  list(): FunctionVersion[] {
    return [...this.index.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): FunctionVersion {
    checkName(name);
    const fn = this.index.get(name);
    if (!fn) throw new NotFoundError(`no function named ${name}`);
    return fn;
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    const fn = this.index.get(name);
    if (!fn || !(await this.options.registry.remove(name))) throw new NotFoundError(`no function named ${name}`);
    this.index.delete(name);
    this.collector.retire(fn);
    await this.collector.collect();
  }

  /** Removes blobs and compiled artifacts that no kept version references (see `Collector`). */
  collect(alsoConsider: string[] = []): Promise<void> {
    return this.collector.collect(alsoConsider);
  }

  /**
   * The first step of a call, taken before its body is read: look `name` up (`not_found`), then
   * take a slot (`overloaded`). The caller reads the body, calls, and releases. A free slot is
   * answered at once (no promise); a call that waits for one gets a promise.
   */
  admit(name: string): Admission | Promise<Admission> {
    return admit(this.pipeline, name);
  }

  /** Calls the current version of `name` with one HTTP request: admit, call, release. */
  async invoke(name: string, input: InvocationInput): Promise<Invocation> {
    const admission = await this.admit(name);
    try {
      return await admission.call(input);
    } finally {
      admission.release();
    }
  }
}
