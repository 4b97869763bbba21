/**
 * @module registry/changes
 * What each write of the `Registry` does to a function's record, as pure functions both
 * registries apply under their own atomicity: the file registry under its per-name lock
 * (registry/fs.ts), the cluster's on a compare-and-set of the record's KV revision, retried on a
 * conflict (cluster/nats-registry.ts), so one change may be applied to several reads. A change
 * takes the stored record (undefined: none), answers the record to store, or undefined when
 * nothing changes, and throws the API's errors (`not_found`, `invalid_request`) for a change
 * that cannot be made.
 */
import { InvalidInputError, NotFoundError } from '../errors.js';
import { MAX_ALIASES } from '../limits.js';
import type { AliasTarget } from './alias.js';
import { aliasedVersions, historyOf, withoutTrigger, withTrigger, type FunctionRecord } from './record.js';
import { CurrentMovedError, type FunctionLimits, type FunctionVersion, type InvokeToken, type Trigger } from './registry.js';

export type RecordChange = (stored: FunctionRecord | undefined) => FunctionRecord | undefined;

/** The record of a deployed function; `not_found` when there is none. */
function live(name: string, record: FunctionRecord | undefined): FunctionRecord {
  if (!record || record.current === 0) throw new NotFoundError(`no function named ${name}`);
  return record;
}

function keptList(record: FunctionRecord): string {
  return record.versions.map((v) => v.version).join(', ');
}

/** Throws `not_found` unless `version` is a kept version of the record. */
function checkKept(record: FunctionRecord, version: number): void {
  if (!record.versions.some((v) => v.version === version)) {
    throw new NotFoundError(`version ${version} of ${record.name} is not kept (kept: ${keptList(record)})`);
  }
}

/** A new current version of `name` (see `Registry.publish`, `ifCurrent` included). */
export function publishVersion(name: string, blob: { digest: string; size: number; world?: string }, limits: FunctionLimits, keepVersions: number, ifCurrent?: number): RecordChange {
  return (stored) => {
    const record = stored ?? { name, current: 0, nextVersion: 1, versions: [] };
    if (ifCurrent !== undefined && record.current !== ifCurrent) throw new CurrentMovedError(name, ifCurrent, historyOf(record));
    const version: FunctionVersion = {
      name,
      version: record.nextVersion,
      digest: blob.digest,
      size: blob.size,
      limits,
      createdAt: new Date().toISOString(),
      ...(blob.world === undefined ? {} : { world: blob.world }),
    };
    record.versions.push(version);
    // The newest `keepVersions`, and whatever an alias names however old: an alias never
    // points at a collected version. The new version is the newest, so it is always kept.
    const recent = new Set(record.versions.slice(-Math.max(1, keepVersions)).map((v) => v.version));
    const aliased = aliasedVersions(record);
    record.versions = record.versions.filter((v) => recent.has(v.version) || aliased.has(v.version));
    record.current = version.version;
    record.nextVersion += 1;
    return record;
  };
}

/** Kept version `to` (default: the newest before the current one) becomes current. */
export function rollbackTo(name: string, to?: number): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    const target = to ?? record.versions.filter((v) => v.version < record.current).at(-1)?.version;
    if (target === undefined) {
      throw new NotFoundError(`${name} has no kept version before version ${record.current} to roll back to (kept: ${keptList(record)})`);
    }
    checkKept(record, target);
    if (target === record.current) return undefined;
    record.current = target;
    return record;
  };
}

export function setAliasTo(name: string, alias: string, targets: readonly AliasTarget[]): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    for (const { version } of targets) checkKept(record, version);
    const aliases = { ...record.aliases };
    if (!Object.hasOwn(aliases, alias) && Object.keys(aliases).length >= MAX_ALIASES) {
      throw new InvalidInputError('invalid_request', `${name} already has ${MAX_ALIASES} aliases, the most a function may have; remove one first`);
    }
    aliases[alias] = [...targets].sort((a, b) => a.version - b.version).map(({ version, weight }) => ({ version, weight }));
    record.aliases = aliases;
    return record;
  };
}

export function removeAliasOf(name: string, alias: string): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    if (!record.aliases || !Object.hasOwn(record.aliases, alias)) throw new NotFoundError(`${name} has no alias ${alias}`);
    const aliases = { ...record.aliases };
    delete aliases[alias];
    record.aliases = aliases;
    return record;
  };
}

export function addTokenTo(name: string, token: InvokeToken, max: number): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    const tokens = record.tokens ?? [];
    if (tokens.length >= max) throw new InvalidInputError('invalid_request', `${name} already has ${max} invoke tokens, the most a function may have; revoke one first`);
    record.tokens = [...tokens, token];
    return record;
  };
}

export function removeTokenOf(name: string, id: string): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    const tokens = record.tokens ?? [];
    if (!tokens.some((t) => t.id === id)) throw new NotFoundError(`${name} has no invoke token ${JSON.stringify(id).slice(0, 40)}`);
    record.tokens = tokens.filter((t) => t.id !== id);
    return record;
  };
}

export function setTriggerOf(name: string, trigger: Trigger, max: number): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    record.triggers = withTrigger(name, record.triggers ?? [], trigger, max);
    return record;
  };
}

export function removeTriggerOf(name: string, id: string): RecordChange {
  return (stored) => {
    const record = live(name, stored);
    record.triggers = withoutTrigger(name, record.triggers ?? [], id);
    return record;
  };
}

/**
 * Deletes the function: the record stays (version numbers are never reused), its versions go, so
 * nothing of a deleted function pins blobs or compiled artifacts, and its aliases, tokens and
 * triggers go with them. Undefined (nothing to do) when no function is deployed under the name.
 */
export const removeFunction: RecordChange = (record) => {
  if (!record || record.current === 0) return undefined;
  record.current = 0;
  record.versions = [];
  delete record.aliases;
  delete record.tokens;
  delete record.triggers;
  return record;
};
