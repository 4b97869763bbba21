/**
 * @module registry/registry
 * The function store, behind one interface so a distributed store can replace the embedded
 * data directory later. It knows names, versions, aliases and blobs; it never imports an engine.
 */
import type { AliasTarget } from './alias.js';
import type { Trigger } from './trigger.js';

export type { AliasTarget } from './alias.js';
export type { CronTrigger, QueueTrigger, Trigger } from './trigger.js';

/** How a function's calls get their instance; see `DEFAULT_INSTANCE_MODE` in limits.ts. */
export type InstanceMode = 'fresh' | 'reuse';
export const INSTANCE_MODES: readonly InstanceMode[] = ['fresh', 'reuse'];

/** Whether invoking a function needs one of its invoke tokens (or the management token). */
export type InvokeAuth = 'none' | 'token';
export const INVOKE_AUTHS: readonly InvokeAuth[] = ['none', 'token'];

/**
 * Per-version quotas and settings, fixed when the version is made (an upload, or a settings
 * change, which makes a new version of the same component). Settings added later are optional:
 * records written before them read as their defaults.
 */
export interface FunctionLimits {
  timeoutMs: number;
  memoryBytes: number;
  /** Absent in records written before the setting existed: read as `DEFAULT_INSTANCE_MODE`. */
  instance?: InstanceMode;
  /** Fuel per call (wasmtime only; a fuel-metered build); absent: unmetered. */
  fuel?: number;
  /** Calls of this function running at once while this version serves; absent: the host's default. */
  maxConcurrency?: number;
  /** The guest's environment (wasi:cli/environment), as [name, value] pairs sorted by name; absent: empty. */
  env?: [string, string][];
  /** Absent: `DEFAULT_INVOKE_AUTH` (none). */
  invokeAuth?: InvokeAuth;
  /**
   * Hosts outbound HTTP may reach: patterns (`api.example.com`, `*.example.org`, `host:8080`)
   * or `*` for any; absent or empty: none. Function calls (`*.wafer.internal`) are not governed by it.
   */
  outbound?: string[];
}

/**
 * An invoke token of a function, as stored: never the token itself, only its sha256. Tokens
 * belong to the function, not a version: they outlive deploys and rollbacks, and go with a delete.
 */
export interface InvokeToken {
  /** Short random hex, how the token is named in the API (list, revoke). */
  id: string;
  /** sha256 hex of the token. */
  hash: string;
  label?: string;
  createdAt: string;
}

/** One immutable uploaded version of a function. */
export interface FunctionVersion {
  name: string;
  /** 1, 2, 3, … per name; never reused, even after a delete. */
  version: number;
  /** sha256 hex of the component bytes; the blob's address. */
  digest: string;
  size: number;
  limits: FunctionLimits;
  createdAt: string;
  /**
   * The world (ABI) the component was accepted as, e.g. `wafer:function/handler@1.0.0`. Absent in
   * records written before worlds were stored: those are of that world.
   */
  world?: string;
}

/**
 * Everything kept of one deployed function: the serving version, every kept version (oldest
 * first; the current one and every version an alias names are always among them), and its
 * aliases by name.
 */
export interface FunctionHistory {
  current: FunctionVersion;
  versions: FunctionVersion[];
  aliases: ReadonlyMap<string, readonly AliasTarget[]>;
  /** The function's invoke tokens (hashed), oldest first. */
  tokens: readonly InvokeToken[];
  /** The function's triggers (registry/trigger.ts), by id. */
  triggers: readonly Trigger[];
  /**
   * Where this state stands in the registry's order of changes (the cluster registry's KV
   * revision): a history older than the one served is not applied. Absent in the embedded registry.
   */
  revision?: number;
}

/** A function's record changed in a shared registry (cluster/nats-registry.ts): on this host or another. */
export interface RegistryChange {
  name: string;
  /** The record's revision: changes arrive at most once each, oldest first, but may repeat one already applied. */
  revision: number;
  /** The function as it is now; undefined when it is deleted. */
  history: FunctionHistory | undefined;
  /** True for a write this host made (its caller applies the result itself). */
  local: boolean;
}

/** `publish(…, ifCurrent)` found another version current (a deploy or rollback got there first). */
export class CurrentMovedError extends Error {
  /** The function as the registry holds it now (undefined: deleted meanwhile). */
  constructor(name: string, expected: number, readonly history: FunctionHistory | undefined) {
    super(`${name}: version ${expected} is no longer current (now ${history?.current.version ?? 'none'})`);
  }
}

/** A blob written to the store but not yet published under a name. */
export interface StagedBlob {
  digest: string;
  size: number;
  /** Reads the staged bytes. */
  read(): Promise<Uint8Array>;
  /** Moves the blob into the content-addressed store (idempotent). */
  commit(): Promise<void>;
  /**
   * Forgets the staged bytes (if not committed) and stops protecting the digest from garbage
   * collection. Call it once the upload is published or refused; idempotent.
   */
  discard(): Promise<void>;
}

/** A function record that could not be read or has the wrong shape; it is skipped, not served. */
export interface RecordProblem {
  name: string;
  error: string;
}

/** Every function record, read whole: what is served, and what could not be read. */
export interface RegistryScan {
  functions: FunctionVersion[];
  /** The same functions with their kept versions and aliases. */
  histories: FunctionHistory[];
  problems: RecordProblem[];
}

export interface Registry {
  /** Streams an upload into a staging area, hashing as it goes; rejects past `maxBytes`. */
  stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob>;
  /** Reads a committed blob. */
  readBlob(digest: string): Promise<Uint8Array>;
  /**
   * Records a new version of `name` pointing at a committed blob, atomically, and makes it
   * current. Keeps the last `keepVersions` versions of `name` plus every version an alias names
   * (older ones are dropped from the record; `collect` then removes what nothing references).
   * `blob.world` is stored as the version's world. Resolves with the function's new history.
   * With `ifCurrent`, publishes only while version `ifCurrent` is still current (checked in the
   * same atomic step), else rejects with `CurrentMovedError` and changes nothing: a change
   * derived from the current version (a settings PATCH) never lands on top of a newer one.
   */
  publish(name: string, blob: { digest: string; size: number; world?: string }, limits: FunctionLimits, keepVersions: number, ifCurrent?: number): Promise<FunctionHistory>;
  /**
   * Makes kept version `to` of `name` current (by default the newest kept version before the
   * current one); no version is created, and later uploads still get fresh numbers.
   * `not_found` when the function or that version is not there.
   */
  rollback(name: string, to?: number): Promise<FunctionHistory>;
  /** Creates or replaces alias `alias` of `name`; every target must be a kept version (`not_found`). */
  setAlias(name: string, alias: string, targets: readonly AliasTarget[]): Promise<FunctionHistory>;
  /** Removes alias `alias` of `name` (`not_found` if there is none). */
  removeAlias(name: string, alias: string): Promise<FunctionHistory>;
  /** Adds an invoke token (hashed) to `name`; `invalid_request` past `max` tokens, `not_found` when not deployed. */
  addToken(name: string, token: InvokeToken, max: number): Promise<FunctionHistory>;
  /** Removes invoke token `id` of `name` (`not_found` if there is none). */
  removeToken(name: string, id: string): Promise<FunctionHistory>;
  /**
   * Creates or replaces trigger `trigger.id` of `name` (already checked: registry/trigger.ts);
   * `invalid_request` past `max` triggers, `not_found` when not deployed.
   */
  setTrigger(name: string, trigger: Trigger, max: number): Promise<FunctionHistory>;
  /** Removes trigger `id` of `name` (`not_found` if there is none). */
  removeTrigger(name: string, id: string): Promise<FunctionHistory>;
  /** The current version of every function whose record reads; unreadable ones are skipped. */
  list(): Promise<FunctionVersion[]>;
  /** Reads every record: the current versions, and the records that could not be read. */
  scan(): Promise<RegistryScan>;
  /**
   * Removes every blob that no kept version references and no upload in flight is using,
   * calling `forget(digest)` before each removal (to drop compiled artifacts); `forget` answers
   * false to keep that digest for now (calls may still run on it). `candidates` are
   * digests that may have artifacts but no blob (an upload that failed after compiling); they
   * are forgotten on the same terms. Collects nothing while any record is unreadable, since what
   * it references is unknown. Resolves with the removed digests.
   */
  collect(forget: (digest: string) => Promise<boolean>, candidates?: string[]): Promise<string[]>;
  /** The current version of `name`, if deployed. */
  get(name: string): Promise<FunctionVersion | undefined>;
  /**
   * Removes `name` with all its versions, aliases, tokens and triggers; resolves false if it was not deployed. Only the version
   * counter is kept, so numbers are never reused.
   */
  remove(name: string): Promise<boolean>;
  /**
   * A registry other hosts write too: calls `listener` with every function now, then with each
   * change made anywhere, so this host serves what the registry holds. The embedded registry
   * has no other writer and no watch.
   */
  watch?(listener: (change: RegistryChange) => void): void;
  /** Lets go of what the registry holds open (a connection); the embedded registry has nothing to close. */
  close?(): Promise<void>;
}
