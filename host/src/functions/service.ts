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
import { DEFAULT_CALL_SHARE, DEFAULT_INSTANCE_MODE, DEFAULT_INVOKE_AUTH, DEFAULT_MAX_CALLS, DEFAULT_MAX_QUEUED_CALLS, DEFAULT_WARM_CONCURRENCY, MAX_INVOKE_TOKENS, MAX_TRIGGERS } from '../limits.js';
import { ALIAS_PATTERN, targetsProblem } from '../registry/alias.js';
import { CurrentMovedError, type AliasTarget, type FunctionHistory, type FunctionLimits, type FunctionVersion, type InvokeToken, type RecordProblem, type Registry, type RegistryChange, type Trigger } from '../registry/registry.js';
import { TRIGGER_ID_PATTERN, triggerProblem } from '../registry/trigger.js';

/** How often a settings change is derived again when deploys keep moving the current version. */
const MAX_CONFIGURE_ATTEMPTS = 5;
import { settingsProblem } from '../registry/settings.js';
import { newToken } from './tokens.js';
import { dropUndefined } from '../util.js';
import { Collector } from './collector.js';
import { Limiter } from './limiter.js';
import { Loader, loadKey, metered } from './loader.js';
import type { Metrics } from './metrics.js';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { DEFAULT_FUNCTION_LOG_BYTES, DEFAULT_USAGE_FLUSH_MS, LOG_SEGMENTS_PER_CAP, USAGE_HOUR_RETENTION_MS, USAGE_MINUTE_RETENTION_MS } from '../limits.js';
import { LogStore, type LogEntry, type LogPage, type LogQuery } from './logs.js';
import { emptyCounters, UsageStore, type UsageWindow } from './usage.js';
import { admit, invokeNested, type Admission, type Caller, type Invocation, type InvocationInput, type PipelineDeps } from './pipeline.js';

export type { Admission, Caller, Invocation, InvocationInput } from './pipeline.js';

/**
 * A settings change (`PATCH /v1/functions/{name}`): what is given replaces the current
 * version's setting, the rest is carried over; `fuel: null` removes the fuel limit.
 */
export type SettingsPatch = Partial<Omit<FunctionLimits, 'fuel'>> & { fuel?: number | null };

/** An invoke token as answered once, at its creation. */
export interface CreatedToken {
  token: string;
  stored: InvokeToken;
}

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
  /** Deployed functions loaded at once in the background at start; default DEFAULT_WARM_CONCURRENCY. */
  warmConcurrency?: number;
  /** The data directory: with it, calls are logged (`<data>/logs`) and metered (`<data>/usage`). */
  dataDir?: string;
  /** Guest output kept per function; default DEFAULT_FUNCTION_LOG_BYTES. */
  functionLogBytes?: number;
  /** How often usage is written; default DEFAULT_USAGE_FLUSH_MS. */
  usageFlushMs?: number;
  /**
   * False turns usage metering and the per-function logs off even with a data directory (the
   * usage and logs routes then answer nothing), to measure what they cost per call; default true.
   */
  metering?: boolean;
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

/** Throws `invalid_name` unless `alias` is a valid alias name. */
export function checkAlias(alias: string): void {
  if (!ALIAS_PATTERN.test(alias)) {
    throw new InvalidInputError(
      'invalid_name',
      `invalid alias name ${JSON.stringify(alias).slice(0, 80)}: use a lower-case letter then up to 62 of a-z, 0-9 and -`,
    );
  }
}

/** Throws `invalid_name` unless `id` is a valid trigger id. */
export function checkTriggerId(id: string): void {
  if (!TRIGGER_ID_PATTERN.test(id)) {
    throw new InvalidInputError('invalid_name', `invalid trigger id ${JSON.stringify(id).slice(0, 80)}: use a lower-case letter then up to 62 of a-z, 0-9 and -`);
  }
}

export class FunctionService {
  /** Every deployed function: its current version, kept versions and aliases. */
  private readonly index = new Map<string, FunctionHistory>();
  /**
   * With a shared registry (cluster mode): the newest revision applied per name, deletes
   * included, so a change that arrives late (a watch behind this host's own write) is not applied.
   */
  private readonly revisions = new Map<string, number>();
  /** Functions being dropped (their logs and usage removed), so a second drop waits for the first. */
  private readonly dropping = new Map<string, Promise<void>>();
  /** Function records skipped at start because they could not be read. */
  private skipped: RecordProblem[] = [];
  private readonly loader: Loader;
  private readonly collector: Collector;
  private readonly pipeline: PipelineDeps;
  private readonly limiter: Limiter;
  /** Each function's log and usage, when the service has a data directory. */
  private readonly logStore: LogStore | undefined;
  private readonly usageStore: UsageStore | undefined;
  /** Told of every change of what is deployed (the trigger runner follows it). */
  private readonly listeners = new Set<(name: string) => void>();
  /** Settles once the background loads started by `init` have (each failure is logged, not thrown). */
  warming: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServiceOptions) {
    const { engine, registry, logger, metrics } = options;
    this.loader = new Loader(engine, registry, logger);
    this.collector = new Collector({ engine, registry, logger, loader: this.loader, current: () => this.served() });
    const limiter = (this.limiter = new Limiter({
      maxCalls: options.maxCalls ?? DEFAULT_MAX_CALLS,
      maxQueuedCalls: options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS,
      share: options.callShare ?? DEFAULT_CALL_SHARE,
      concurrency: options.maxConcurrency,
      queue: options.maxQueue,
    }));
    const lookup = (name: string) => this.index.get(name);
    metrics?.watchService({ functions: () => this.index.keys(), load: (name) => limiter.load(name) });
    if (options.dataDir !== undefined && options.metering !== false) {
      const functionLogBytes = options.functionLogBytes ?? DEFAULT_FUNCTION_LOG_BYTES;
      this.logStore = new LogStore({ dir: join(options.dataDir, 'logs'), maxBytes: functionLogBytes, segments: LOG_SEGMENTS_PER_CAP, logger });
      this.usageStore = new UsageStore({
        dir: join(options.dataDir, 'usage'),
        logger,
        flushMs: options.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS,
        retentionMs: { minute: USAGE_MINUTE_RETENTION_MS, hour: USAGE_HOUR_RETENTION_MS },
        known: (name) => this.index.has(name),
      });
    }
    const { logStore: logs, usageStore: usage } = this;
    this.pipeline = { lookup, limiter, loader: this.loader, engine, logger, metrics, usage, logs, maxResponseBytes: options.maxResponseBytes };
    // Function calls made by guests (`http://{fn}.wafer.internal`, the ABI 1.1 `invoke`) come back in here.
    const pipeline = this.pipeline;
    engine.setInvoker?.((call) => invokeNested(pipeline, call));
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
    const { histories, problems } = await this.options.registry.scan();
    for (const history of histories) {
      this.index.set(history.current.name, history);
      if (history.revision !== undefined) this.revisions.set(history.current.name, history.revision);
    }
    // A shared registry: serve what other hosts change from now on (changes since the scan included).
    this.options.registry.watch?.((change) => this.applyChange(change));
    this.skipped = problems;
    for (const problem of problems) {
      this.options.logger.error({ fn: problem.name, err: problem.error }, 'skipped an unreadable function record');
    }
    if (problems.length > 0) this.options.logger.warn({ skipped: problems.length }, 'garbage collection is off until every record reads');
    await this.collector.collect();
    await this.usageStore?.init();
    await this.forgetStale();
    this.warming = this.loader.warm([...this.served()], this.options.warmConcurrency ?? DEFAULT_WARM_CONCURRENCY);
  }

  /** Removes the logs and usage of functions no longer deployed (deleted while a removal failed half-way). */
  private async forgetStale(): Promise<void> {
    if (this.options.dataDir === undefined) return;
    const names = await readdir(join(this.options.dataDir, 'logs')).catch(() => [] as string[]);
    const usage = await readdir(join(this.options.dataDir, 'usage')).catch(() => [] as string[]);
    const stale = new Set([...names, ...usage.map((f) => f.replace(/\.json$/, ''))].filter((n) => NAME_PATTERN.test(n) && !this.index.has(n)));
    for (const name of stale) {
      await this.logStore?.remove(name);
      await this.usageStore?.remove(name);
    }
  }

  /**
   * The versions calls reach without naming a number: every current version, and every version
   * an alias names, once per build (digest, and whether it is fuel-metered: loader.ts).
   */
  private *served(): Generator<FunctionVersion> {
    const seen = new Set<string>();
    for (const { current, versions, aliases } of this.index.values()) {
      const aliased = new Set([...aliases.values()].flatMap((targets) => targets.map((t) => t.version)));
      for (const fn of [current, ...versions.filter((v) => aliased.has(v.version))]) {
        const key = loadKey(fn);
        if (seen.has(key)) continue;
        seen.add(key);
        yield fn;
      }
    }
  }

  /** True when the serving version of `name` is loaded in the engine (its next call pays no load). */
  isLoaded(name: string): boolean {
    const fn = this.index.get(name)?.current;
    return fn !== undefined && this.loader.has(fn);
  }

  /** Function records skipped at start (shown in /healthz). */
  problems(): RecordProblem[] {
    return this.skipped;
  }

  /**
   * Checks requested settings against the rules and the host's ceilings, naming the setting that
   * breaks one (`invalid_request`); missing values take the defaults, which are written out, so
   * a version keeps the settings it was made with whatever the host's defaults become.
   */
  resolveLimits(requested: Partial<FunctionLimits>): FunctionLimits {
    const { defaults, ceilings, engine } = this.options;
    const limits: FunctionLimits = {
      instance: DEFAULT_INSTANCE_MODE,
      maxConcurrency: this.limiter.capFor(undefined),
      invokeAuth: DEFAULT_INVOKE_AUTH,
      ...defaults,
      ...dropUndefined(requested),
    };
    const problem = settingsProblem(limits);
    if (problem) throw new InvalidInputError('invalid_request', problem);
    if (limits.maxConcurrency! > this.limiter.ceiling) {
      throw new InvalidInputError('invalid_request', `max_concurrency must be an integer from 1 to ${this.limiter.ceiling} (this host's share of calls for one function)`);
    }
    if (limits.fuel !== undefined && !engine.metersFuel) {
      throw new InvalidInputError('invalid_request', `fuel needs the wasmtime engine: this host runs ${engine.name}, which cannot meter fuel`);
    }
    if (limits.outbound !== undefined) {
      // `*` allows every host: the other patterns add nothing.
      if (limits.outbound.length === 0) delete limits.outbound;
      else limits.outbound = limits.outbound.includes('*') ? ['*'] : [...new Set(limits.outbound)];
    }
    if (limits.env !== undefined) {
      if (limits.env.length === 0) delete limits.env;
      else limits.env = [...limits.env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    }
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
    let history: FunctionHistory;
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
        const info = await engine.prepare({ digest: staged.digest, world, bytes: async () => bytes, fuel: limits.fuel !== undefined });
        prepared = staged.digest;
        // Blob first, then the record that references it: a crash in between leaves only an
        // unreferenced blob, which the next collection removes.
        await staged.commit();
        history = await registry.publish(name, { digest: staged.digest, size: staged.size, world }, limits, this.options.keepVersions);
        version = history.current;
        logger.info({ fn: name, version: version.version, digest: staged.digest, size: staged.size, world, prepare: info }, 'deployed');
      } finally {
        await staged.discard();
      }
      metrics?.upload('ok', version.size);
    } catch (err) {
      metrics?.upload(err instanceof WaferError ? err.code : 'internal');
      // Storing failed after compiling (a full disk, say): drop the artifact and any committed
      // blob, unless something else references that digest.
      if (prepared !== undefined) await this.collector.collect([prepared]);
      throw err;
    }
    // Not loaded here: the deploy prepared it, and its first call loads it as before.
    this.replace(name, history, false);
    await this.collector.collect();
    return version;
  }

  /**
   * Makes a new version of `name` from its current one's component with `patch`'s settings
   * changed (the rest carried over), and serves it. Nothing is compiled for a settings change:
   * the build is taken from memory or the compiled cache, except the first time a component
   * gets a fuel limit, which needs its fuel-metered build (loader.ts).
   */
  async configure(name: string, patch: SettingsPatch): Promise<FunctionVersion> {
    const { registry, engine, logger } = this.options;
    // The change applies to whatever is current when it lands: if a deploy or rollback moves the
    // current version meanwhile, it is derived again from the new one (never published on top of
    // it with the older component).
    for (let attempt = 1; ; attempt++) {
      const from = this.history(name).current;
      const { fuel, ...rest } = patch;
      const requested: Partial<FunctionLimits> = { ...from.limits, ...dropUndefined(rest) };
      if (fuel === null) delete requested.fuel;
      else if (fuel !== undefined) requested.fuel = fuel;
      const limits = this.resolveLimits(requested);
      const next = { ...from, limits };
      if (!this.loader.has(next)) {
        await engine.prepare({ digest: from.digest, world: from.world, bytes: () => registry.readBlob(from.digest), fuel: metered(next) });
      }
      let history: FunctionHistory;
      try {
        history = await registry.publish(name, { digest: from.digest, size: from.size, world: from.world }, limits, this.options.keepVersions, from.version);
      } catch (err) {
        if (err instanceof CurrentMovedError && attempt < MAX_CONFIGURE_ATTEMPTS) {
          // The registry moved on: catch up with it (the deploy that moved it may not have
          // replaced its history here yet) and derive the change again; deleted meanwhile: 404.
          if (!err.history) throw new NotFoundError(`no function named ${name}`);
          this.replace(name, err.history, false);
          continue;
        }
        throw err;
      }
      logger.info({ fn: name, version: history.current.version, from: from.version }, 'settings changed');
      this.replace(name, history, false);
      await this.collector.collect();
      return history.current;
    }
  }

  /** Makes an invoke token for `name`; the token is in the answer only, its hash in the record. */
  async createToken(name: string, label?: string): Promise<CreatedToken> {
    this.history(name);
    const created = newToken(label);
    this.replace(name, await this.options.registry.addToken(name, created.stored, MAX_INVOKE_TOKENS));
    return created;
  }

  /** The invoke tokens of `name` (hashes, never the tokens). */
  tokens(name: string): readonly InvokeToken[] {
    return this.history(name).tokens;
  }

  /** Revokes invoke token `id` of `name`: calls presenting it are refused from now on. */
  async revokeToken(name: string, id: string): Promise<void> {
    this.history(name);
    this.replace(name, await this.options.registry.removeToken(name, id));
  }

  /** The triggers of `name`, sorted by id. */
  triggers(name: string): readonly Trigger[] {
    return this.history(name).triggers;
  }

  /** Trigger `id` of `name`; `not_found` when there is none. */
  trigger(name: string, id: string): Trigger {
    const history = this.history(name);
    checkTriggerId(id);
    const trigger = history.triggers.find((t) => t.id === id);
    if (!trigger) throw new NotFoundError(`${name} has no trigger ${id}`);
    return trigger;
  }

  /**
   * Creates or replaces a trigger of `name` (its defaults filled in by the caller); resolves
   * with whether it was created. The trigger runner starts, restarts or stops it on the change.
   */
  async setTrigger(name: string, trigger: Trigger): Promise<{ trigger: Trigger; created: boolean }> {
    const before = this.history(name);
    checkTriggerId(trigger.id);
    const problem = triggerProblem(trigger as unknown as Record<string, unknown>);
    if (problem) throw new InvalidInputError('invalid_request', problem);
    const history = await this.options.registry.setTrigger(name, trigger, MAX_TRIGGERS);
    this.replace(name, history);
    return { trigger, created: !before.triggers.some((t) => t.id === trigger.id) };
  }

  /** Removes trigger `id` of `name`: it fires no more. */
  async removeTrigger(name: string, id: string): Promise<void> {
    this.history(name);
    checkTriggerId(id);
    this.replace(name, await this.options.registry.removeTrigger(name, id));
  }

  /** The histories of every deployed function (what the trigger runner runs). */
  histories(): IterableIterator<FunctionHistory> {
    return this.index.values();
  }

  /** Calls `listener` with a function's name whenever it is deployed, changed or deleted; returns the unsubscribe. */
  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(name: string): void {
    for (const listener of this.listeners) {
      try {
        listener(name);
      } catch (err) {
        this.options.logger.error({ fn: name, err }, 'a change listener failed');
      }
    }
  }

  list(): FunctionVersion[] {
    return [...this.index.values()].map((h) => h.current).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): FunctionVersion {
    return this.history(name).current;
  }

  /** The current version, kept versions and aliases of `name`; `not_found` when it is not deployed. */
  history(name: string): FunctionHistory {
    checkName(name);
    const history = this.index.get(name);
    if (!history) throw new NotFoundError(`no function named ${name}`);
    return history;
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    if (!this.index.has(name) || !(await this.options.registry.remove(name))) throw new NotFoundError(`no function named ${name}`);
    await this.drop(name);
  }

  /** Stops serving `name` (deleted): its versions retire, its logs and usage go. */
  private drop(name: string): Promise<void> {
    const running = this.dropping.get(name);
    if (running) return running;
    const history = this.index.get(name);
    if (!history) return Promise.resolve();
    this.index.delete(name);
    this.changed(name);
    this.options.metrics?.forget(name);
    for (const fn of history.versions) this.collector.retire(fn);
    const dropping = (async () => {
      await this.logStore?.remove(name);
      await this.usageStore?.remove(name);
      await this.collector.collect();
    })().finally(() => this.dropping.delete(name));
    this.dropping.set(name, dropping);
    return dropping;
  }

  /**
   * A shared registry says `change.name` changed (cluster mode: a deploy, rollback, alias,
   * token or delete, on this host or another): serve what it holds now, unless this host
   * already serves that revision or a newer one.
   */
  private applyChange({ name, revision, history, local }: RegistryChange): void {
    const known = this.revisions.get(name);
    if (known !== undefined && known >= revision) return;
    if (history) {
      // Another host's deploy is loaded (compiled if this host lacks the artifact) in the background.
      if (!local) this.options.logger.info({ fn: name, version: history.current.version, revision }, 'changed on another host');
      this.replace(name, history, !local);
      return;
    }
    this.revisions.set(name, revision);
    if (!local && this.index.has(name)) this.options.logger.info({ fn: name, revision }, 'deleted on another host');
    this.drop(name).catch((err: unknown) => this.options.logger.warn({ fn: name, err }, 'could not remove the logs or usage of a deleted function'));
  }

  /** Entries of `name`'s log (functions/logs.ts); `not_found` when it is not deployed. */
  async logs(name: string, query: LogQuery): Promise<LogPage> {
    this.history(name);
    return this.logStore ? this.logStore.read(name, query) : { entries: [], more: false };
  }

  /** Calls `listener` with each new entry of `name`'s log, and `null` when the function is deleted; returns the unsubscribe. */
  followLogs(name: string, listener: (entry: LogEntry | null) => void): () => void {
    this.history(name);
    return this.logStore ? this.logStore.follow(name, listener) : () => undefined;
  }

  /** `name`'s usage in `window` (functions/usage.ts); `not_found` when it is not deployed. */
  usage(name: string, window: UsageWindow): ReturnType<UsageStore['query']> {
    this.history(name);
    return this.usageStore ? this.usageStore.query(name, window) : { totals: emptyCounters(), lifetime: emptyCounters(), buckets: [] };
  }

  /** Writes the usage counters and queued log entries (at close). */
  async close(): Promise<void> {
    await this.usageStore?.close();
    await this.logStore?.flush();
  }

  /**
   * Makes kept version `to` of `name` current (by default the newest kept version before the
   * current one) without creating a version. Resolves with the version serving before.
   */
  async rollback(name: string, to?: number): Promise<{ history: FunctionHistory; from: FunctionVersion }> {
    const from = this.history(name).current;
    const history = await this.options.registry.rollback(name, to);
    this.replace(name, history);
    return { history, from };
  }

  /** The versions alias `alias` of `name` points at; `not_found` when there is no such alias. */
  alias(name: string, alias: string): readonly AliasTarget[] {
    const history = this.history(name);
    checkAlias(alias);
    const targets = history.aliases.get(alias);
    if (!targets) throw new NotFoundError(`${name} has no alias ${alias}`);
    return targets;
  }

  /** Points alias `alias` of `name` at kept versions, weighted; creates or replaces it. */
  async setAlias(name: string, alias: string, targets: AliasTarget[]): Promise<FunctionHistory> {
    this.history(name);
    checkAlias(alias);
    const problem = targetsProblem(targets);
    if (problem) throw new InvalidInputError('invalid_request', problem);
    const history = await this.options.registry.setAlias(name, alias, targets);
    this.replace(name, history);
    return history;
  }

  /** Removes alias `alias` of `name`. */
  async removeAlias(name: string, alias: string): Promise<void> {
    this.history(name);
    checkAlias(alias);
    this.replace(name, await this.options.registry.removeAlias(name, alias));
  }

  /**
   * Serves `next` for `name` from now on. A version that stops being served (no longer current,
   * no longer named by an alias, or no longer kept) retires: calls under way on it finish before
   * it is unloaded or collected. Versions that became served are loaded in the background
   * (with `warm`), so the first call after a rollback or an alias change pays no load.
   */
  private replace(name: string, next: FunctionHistory, warm = true): void {
    if (next.revision !== undefined) {
      const known = this.revisions.get(name);
      if (known !== undefined && known >= next.revision) return;
      this.revisions.set(name, next.revision);
    }
    const before = new Map([...this.served()].map((fn) => [fn.digest, fn]));
    const previous = this.index.get(name);
    this.index.set(name, next);
    const after = new Map([...this.served()].map((fn) => [fn.digest, fn]));
    const kept = new Set(next.versions.map((v) => v.version));
    const dropped = (previous?.versions ?? []).filter((v) => !kept.has(v.version));
    const retired = new Map([...before].filter(([digest]) => !after.has(digest)));
    for (const fn of dropped) retired.set(fn.digest, fn);
    for (const fn of retired.values()) this.collector.retire(fn);
    this.changed(name);
    for (const [digest, fn] of after) {
      if (!warm || before.has(digest)) continue;
      this.loader.ensure(fn).catch((err: unknown) => this.options.logger.warn({ fn: fn.name, version: fn.version, err }, 'could not load a version in the background; its first call loads it'));
    }
  }

  /** Removes blobs and compiled artifacts that no kept version references (see `Collector`). */
  collect(alsoConsider: string[] = []): Promise<void> {
    return this.collector.collect(alsoConsider);
  }

  /**
   * The first step of a call, taken before its body is read: look `name` up, and the version
   * `pin` asks for (a version number or an alias; the current one without), `not_found` when
   * either is not there; then take a slot (`overloaded`). The caller reads the body, calls, and
   * releases. A free slot is answered at once (no promise); a call that waits for one gets a promise.
   */
  admit(name: string, pin?: string, caller?: Caller): Admission | Promise<Admission> {
    return admit(this.pipeline, name, pin, caller);
  }

  /** Calls `name` (its current version, or the one `pin` names) with one HTTP request: admit, call, release. */
  async invoke(name: string, input: InvocationInput, pin?: string, caller?: Caller): Promise<Invocation> {
    const admission = await this.admit(name, pin, caller);
    try {
      return await admission.call(input);
    } finally {
      admission.release();
    }
  }
}
