/**
 * @module functions/service
 * The function host proper: deploys uploads (validate, compile, store, publish) and invokes
 * functions (bound concurrency, envelope, engine call). The server talks only to this; this
 * talks to the registry, the engine and the ABI glue.
 */
import { randomUUID } from 'node:crypto';
import { decodeResponse, encodeRequest, type GuestRequest, type GuestResponse } from '../abi/envelope.js';
import { validateComponent } from '../abi/validate.js';
import type { CallReport, Engine } from '../engine/engine.js';
import { GuestResultError, InvalidInputError, NotFoundError, WaferError, type GuestOutput } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FunctionLimits, FunctionVersion, RecordProblem, Registry } from '../registry/registry.js';
import { Limiter } from './limiter.js';
import { DEFAULT_CALL_SHARE, DEFAULT_MAX_CALLS, DEFAULT_MAX_QUEUED_CALLS } from '../limits.js';
import type { Metrics } from './metrics.js';
import { dropUndefined } from '../util.js';

/** How long past its time quota a retired version stays loaded, for calls already under way. */
const UNLOAD_GRACE_MS = 1_000;

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

/** The HTTP call as the service needs it; the server fills it from Koa's context. */
export type InvocationInput = Omit<GuestRequest, 'invocationId' | 'deadlineMs'> & { invocationId?: string };

export interface Invocation {
  invocationId: string;
  response: GuestResponse;
  report: CallReport;
}

/** A call that has its function and a slot; `release` gives the slot back (once). */
export interface Admission {
  fn: FunctionVersion;
  call(input: InvocationInput): Promise<Invocation>;
  release(): void;
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
  private readonly limiter: Limiter;
  private readonly loaded = new Set<string>();
  /** Function records skipped at start because they could not be read. */
  private skipped: RecordProblem[] = [];
  /** The garbage collection running now, and whether another is wanted after it. */
  private collecting: Promise<void> | undefined;
  private collectAgain = false;
  /** Digests with compiled artifacts but perhaps no blob (a deploy that failed late). */
  private readonly candidates = new Set<string>();
  /** Digests that stopped being current less than their time quota ago, with how many times. */
  private readonly retiring = new Map<string, number>();

  constructor(private readonly options: ServiceOptions) {
    this.limiter = new Limiter({
      maxCalls: options.maxCalls ?? DEFAULT_MAX_CALLS,
      maxQueuedCalls: options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS,
      share: options.callShare ?? DEFAULT_CALL_SHARE,
      concurrency: options.maxConcurrency,
      queue: options.maxQueue,
    });
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
   * collects what a crash may have left unreferenced.
   */
  async init(): Promise<void> {
    const { functions, problems } = await this.options.registry.scan();
    for (const fn of functions) this.index.set(fn.name, fn);
    this.skipped = problems;
    for (const problem of problems) {
      this.options.logger.error({ fn: problem.name, err: problem.error }, 'skipped an unreadable function record');
    }
    if (problems.length > 0) this.options.logger.warn({ skipped: problems.length }, 'garbage collection is off until every record reads');
    await this.collect();
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
   * validates and compiles, so a failed upload leaves the serving version untouched.
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
        await validateComponent(bytes);
        const info = await engine.prepare({ digest: staged.digest, bytes: async () => bytes });
        prepared = staged.digest;
        // Blob first, then the record that references it: a crash in between leaves only an
        // unreferenced blob, which the next collection removes.
        await staged.commit();
        version = await registry.publish(name, staged, limits, this.options.keepVersions);
        logger.info({ fn: name, version: version.version, digest: staged.digest, size: staged.size, prepare: info }, 'deployed');
      } finally {
        await staged.discard();
      }
      metrics?.upload('ok');
    } catch (err) {
      metrics?.upload(err instanceof WaferError ? err.code : 'internal');
      // Storing failed after compiling (a full disk, say): drop the artifact and any committed
      // blob, unless something else references that digest.
      if (prepared !== undefined) await this.collect([prepared]);
      throw err;
    }
    const previous = this.index.get(name);
    this.index.set(name, version);
    if (previous && previous.digest !== version.digest) this.retire(previous);
    await this.collect();
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
    this.retire(fn);
    await this.collect();
  }

  /**
   * A version stopped being current (redeployed or deleted). Calls already under way on it
   * finish first: it stays loaded, and its blob and artifacts stay, until its time quota plus a
   * grace second have passed; then it leaves memory and the next collection may remove its files.
   */
  private retire(fn: FunctionVersion): void {
    const { digest } = fn;
    this.retiring.set(digest, (this.retiring.get(digest) ?? 0) + 1);
    const settle = () => {
      const left = (this.retiring.get(digest) ?? 1) - 1;
      if (left > 0) {
        this.retiring.set(digest, left);
        return;
      }
      this.retiring.delete(digest);
      try {
        if (![...this.index.values()].some((other) => other.digest === digest)) {
          this.options.engine.unload(digest);
          this.loaded.delete(digest);
        }
      } catch (err) {
        this.options.logger.debug({ err, digest }, 'could not unload a retired version (engine closed?)');
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
      this.collectAgain = true;
      return this.collecting;
    }
    const run = async (): Promise<void> => {
      do {
        this.collectAgain = false;
        const candidates = [...this.candidates];
        this.candidates.clear();
        try {
          const forget = async (digest: string): Promise<boolean> => {
            if (this.retiring.has(digest)) return false; // calls may still run on it
            this.loaded.delete(digest);
            await this.options.engine.discard(digest);
            return true;
          };
          const removed = await this.options.registry.collect(forget, candidates);
          if (removed.length > 0) this.options.logger.info({ digests: removed }, 'collected unreferenced components');
        } catch (err) {
          this.options.logger.error({ err }, 'garbage collection failed; it runs again after the next deploy or delete');
        }
      } while (this.collectAgain);
    };
    this.collecting = run().finally(() => {
      this.collecting = undefined;
    });
    return this.collecting;
  }

  /**
   * The first steps of a call, taken before its body is read: look `name` up (`not_found`), then
   * take one of its slots (`overloaded`). The caller reads the body, calls, and releases.
   */
  async admit(name: string): Promise<Admission> {
    const fn = this.index.get(name);
    if (!fn) throw new NotFoundError(`no function named ${name}`);
    let release: () => void;
    try {
      release = await this.limiter.acquire(name);
    } catch (err) {
      this.options.metrics?.call(name, err instanceof WaferError ? err.code : 'internal');
      throw err;
    }
    return { fn, release, call: (input) => this.call(name, input) };
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

  /**
   * Runs one admitted call: resolve, load, envelope, engine call under the limits, output checks.
   * The name is resolved again here, after the body arrived: a function deleted meanwhile answers
   * `not_found` (its blob may be gone), one redeployed meanwhile runs its new version.
   */
  private async call(name: string, input: InvocationInput): Promise<Invocation> {
    const { metrics, maxResponseBytes } = this.options;
    const invocationId = input.invocationId ?? randomUUID();
    try {
      const fn = this.index.get(name);
      if (!fn) throw new NotFoundError(`no function named ${name} (it was removed while the request arrived)`);
      await this.ensureLoaded(fn);
      const request = encodeRequest({ ...input, invocationId, deadlineMs: Date.now() + fn.limits.timeoutMs });
      let report: CallReport;
      try {
        report = await this.options.engine.call(fn.digest, request, { ...fn.limits, maxOutputBytes: maxResponseBytes });
      } catch (err) {
        if (err instanceof WaferError && 'output' in err) this.logGuest(name, invocationId, err.output as GuestOutput);
        throw err;
      }
      this.logGuest(name, invocationId, report);
      // The engine refuses longer output before copying it; this is the second line.
      if (report.output.byteLength > maxResponseBytes) {
        throw new GuestResultError(
          'bad_response',
          `the function answered ${report.output.byteLength} bytes, over the limit of ${maxResponseBytes} bytes`,
          report,
        );
      }
      const invocation = { invocationId, response: decodeResponse(report.output, report), report };
      metrics?.call(name, 'ok', report.durationUs);
      return invocation;
    } catch (err) {
      metrics?.call(name, err instanceof WaferError ? err.code : 'internal');
      throw err;
    }
  }

  private async ensureLoaded(fn: FunctionVersion): Promise<void> {
    if (this.loaded.has(fn.digest)) return;
    const info = await this.options.engine.load({ digest: fn.digest, bytes: () => this.options.registry.readBlob(fn.digest) });
    this.loaded.add(fn.digest);
    this.options.logger.debug({ fn: fn.name, digest: fn.digest, load: info }, 'loaded');
  }

  private logGuest(fn: string, invocation: string, output: GuestOutput): void {
    for (const [stream, bytes] of [['stdout', output.stdout], ['stderr', output.stderr]] as const) {
      if (!bytes || bytes.length === 0) continue;
      for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
        if (line.length > 0) this.options.logger.info({ fn, invocation, stream }, line);
      }
    }
  }
}
