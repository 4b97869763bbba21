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
import type { FunctionLimits, FunctionVersion, Registry } from '../registry/registry.js';
import { Limiter } from './limiter.js';
import type { Metrics } from './metrics.js';
import { dropUndefined } from '../util.js';

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
  maxConcurrency: number;
  maxQueue: number;
  /** Largest `ok` output a guest may return; longer answers `bad_response`. */
  maxResponseBytes: number;
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
  private readonly limiters = new Map<string, Limiter>();
  private readonly loaded = new Set<string>();

  constructor(private readonly options: ServiceOptions) {}

  get engine(): Engine {
    return this.options.engine;
  }

  get defaults(): FunctionLimits {
    return this.options.defaults;
  }

  /** Loads the registry's index so every function deployed before a restart is served. */
  async init(): Promise<void> {
    for (const fn of await this.options.registry.list()) this.index.set(fn.name, fn);
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
    try {
      checkName(name);
      const limits = this.resolveLimits(requested);
      const staged = await registry.stage(body, this.options.maxUploadBytes);
      try {
        const bytes = await staged.read();
        await validateComponent(bytes);
        const info = await engine.prepare({ digest: staged.digest, bytes: async () => bytes });
        await staged.commit();
        const version = await registry.publish(name, staged, limits);
        this.index.set(name, version);
        logger.info({ fn: name, version: version.version, digest: staged.digest, size: staged.size, prepare: info }, 'deployed');
        metrics?.upload('ok');
        return version;
      } catch (err) {
        await staged.discard();
        throw err;
      }
    } catch (err) {
      metrics?.upload(err instanceof WaferError ? err.code : 'internal');
      throw err;
    }
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
    this.limiters.delete(name);
    if (![...this.index.values()].some((other) => other.digest === fn.digest)) {
      this.options.engine.unload(fn.digest);
      this.loaded.delete(fn.digest);
    }
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
      release = await this.limiterFor(name).acquire();
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

  private limiterFor(name: string): Limiter {
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = new Limiter(name, this.options.maxConcurrency, this.options.maxQueue);
      this.limiters.set(name, limiter);
    }
    return limiter;
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
