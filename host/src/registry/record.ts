/**
 * @module registry/record
 * The on-disk function record, `<data>/functions/<name>.json`, and its validation. A record is
 * read back from disk that anyone could have edited or a disk could have damaged, so its whole
 * shape is checked, not only that it parses: a bad record is reported and skipped, never served.
 */
import { InvalidInputError, NotFoundError } from '../errors.js';
import { MAX_ALIASES, MAX_INVOKE_TOKENS, MAX_TRIGGERS } from '../limits.js';
import { ALIAS_PATTERN, targetsProblem, type AliasTarget } from './alias.js';
import { INSTANCE_MODES, INVOKE_AUTHS, type FunctionHistory, type FunctionVersion, type InvokeToken } from './registry.js';
import { settingsProblem } from './settings.js';
import { triggerProblem, type Trigger } from './trigger.js';

export interface FunctionRecord {
  name: string;
  /** The serving version; 0 once the function is deleted. */
  current: number;
  /** The next version number; kept after a delete so numbers are never reused. */
  nextVersion: number;
  /** The kept versions, oldest first (at most `keepVersions`; none after a delete). */
  versions: FunctionVersion[];
  /**
   * Aliases by name, each a list of kept versions with weights. Absent in records written before
   * aliases existed. Read with `Object.hasOwn`: names like `constructor` are valid aliases.
   */
  aliases?: Record<string, AliasTarget[]>;
  /** Invoke tokens, hashed (registry.ts `InvokeToken`). Absent in records written before them. */
  tokens?: InvokeToken[];
  /** Triggers, sorted by id (registry/trigger.ts). Absent in records written before them. */
  triggers?: Trigger[];
}

/** A token id: short random hex. */
export const TOKEN_ID_PATTERN = /^[0-9a-f]{8,32}$/;

export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;
/** A world's name and version, as `wafer:function/handler@1.0.0` or `wasi:http/proxy@0.2.0`. */
const WORLD_PATTERN = /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*@[0-9A-Za-z.+-]{1,64}$/;

const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a record read for `name`; throws an Error saying what is wrong. */
export function parseRecord(name: string, text: string): FunctionRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file, and problems are shown on /healthz.
    throw new Error('the record is not valid JSON');
  }
  if (!isObject(raw)) throw new Error('the record is not a JSON object');
  if (raw.name !== name) throw new Error(`the record names ${JSON.stringify(raw.name)}, not ${JSON.stringify(name)}`);
  if (!isInt(raw.nextVersion, 1)) throw new Error('nextVersion is not a positive integer');
  if (!isInt(raw.current, 0) || raw.current >= raw.nextVersion) throw new Error('current is not a version number below nextVersion');
  if (!Array.isArray(raw.versions)) throw new Error('versions is not an array');
  let previous = 0;
  for (const [i, v] of raw.versions.entries()) {
    const where = `versions[${i}]`;
    if (!isObject(v)) throw new Error(`${where} is not an object`);
    if (v.name !== name) throw new Error(`${where}.name is not ${JSON.stringify(name)}`);
    if (!isInt(v.version, previous + 1) || v.version >= raw.nextVersion) throw new Error(`${where}.version is out of order`);
    if (typeof v.digest !== 'string' || !DIGEST_PATTERN.test(v.digest)) throw new Error(`${where}.digest is not a sha256 hex digest`);
    if (!isInt(v.size, 0)) throw new Error(`${where}.size is not a size`);
    if (!isObject(v.limits) || !isInt(v.limits.timeoutMs, 1) || !isInt(v.limits.memoryBytes, 1)) throw new Error(`${where}.limits are invalid`);
    if (v.limits.instance !== undefined && !INSTANCE_MODES.includes(v.limits.instance as never)) throw new Error(`${where}.limits.instance is not fresh or reuse`);
    if (v.limits.invokeAuth !== undefined && !INVOKE_AUTHS.includes(v.limits.invokeAuth as never)) throw new Error(`${where}.limits.invokeAuth is not none or token`);
    const settings = settingsProblem(v.limits);
    if (settings) throw new Error(`${where}.limits: ${settings}`);
    if (typeof v.createdAt !== 'string') throw new Error(`${where}.createdAt is not a string`);
    // Absent in records written before worlds were stored: those are of the wafer handler world.
    if (v.world !== undefined && (typeof v.world !== 'string' || !WORLD_PATTERN.test(v.world))) throw new Error(`${where}.world is not a world name`);
    previous = v.version;
  }
  const record = raw as unknown as FunctionRecord;
  if (record.current !== 0 && !record.versions.some((v) => v.version === record.current)) {
    throw new Error(`current version ${record.current} is not among the kept versions`);
  }
  checkAliases(record, raw.aliases);
  checkTokens(raw.tokens);
  checkTriggers(raw.triggers);
  return record;
}

/** Invoke tokens read back from disk: bounded, each an id, a sha256 and a time. */
function checkTokens(tokens: unknown): void {
  if (tokens === undefined) return;
  if (!Array.isArray(tokens) || tokens.length > MAX_INVOKE_TOKENS) throw new Error(`tokens is not a list of at most ${MAX_INVOKE_TOKENS}`);
  for (const [i, t] of tokens.entries()) {
    if (!isObject(t) || typeof t.id !== 'string' || !TOKEN_ID_PATTERN.test(t.id)) throw new Error(`tokens[${i}].id is not a token id`);
    if (typeof t.hash !== 'string' || !DIGEST_PATTERN.test(t.hash)) throw new Error(`tokens[${i}].hash is not a sha256 hex digest`);
    if (t.label !== undefined && typeof t.label !== 'string') throw new Error(`tokens[${i}].label is not a string`);
    if (typeof t.createdAt !== 'string') throw new Error(`tokens[${i}].createdAt is not a string`);
  }
}

/** Triggers read back from disk follow the rules of triggers set through the API; ids are unique. */
function checkTriggers(triggers: unknown): void {
  if (triggers === undefined) return;
  if (!Array.isArray(triggers) || triggers.length > MAX_TRIGGERS) throw new Error(`triggers is not a list of at most ${MAX_TRIGGERS}`);
  const ids = new Set<unknown>();
  for (const [i, t] of triggers.entries()) {
    if (!isObject(t)) throw new Error(`triggers[${i}] is not an object`);
    const problem = triggerProblem(t);
    if (problem) throw new Error(`triggers[${i}]: ${problem}`);
    if (ids.has(t.id)) throw new Error(`triggers[${i}]: id ${String(t.id)} is used twice`);
    ids.add(t.id);
  }
}

/** An alias read back from disk follows the rules an alias set through the API does, and names kept versions. */
function checkAliases(record: FunctionRecord, aliases: unknown): void {
  if (aliases === undefined) return;
  if (!isObject(aliases)) throw new Error('aliases is not an object');
  const entries = Object.entries(aliases);
  if (entries.length > MAX_ALIASES) throw new Error(`more than ${MAX_ALIASES} aliases`);
  for (const [alias, targets] of entries) {
    const where = `aliases[${JSON.stringify(alias).slice(0, 80)}]`;
    if (!ALIAS_PATTERN.test(alias)) throw new Error(`${where} is not an alias name`);
    if (!Array.isArray(targets) || !targets.every(isObject)) throw new Error(`${where} is not a list of versions`);
    const problem = targetsProblem(targets as unknown as AliasTarget[]);
    if (problem) throw new Error(`${where}: ${problem}`);
    for (const { version } of targets as unknown as AliasTarget[]) {
      if (!record.versions.some((v) => v.version === version)) throw new Error(`${where} names version ${version}, which is not kept`);
    }
  }
}

/** A record's aliases as a map (none when it has none). */
export function aliasesOf(record: FunctionRecord): Map<string, AliasTarget[]> {
  return new Map(Object.entries(record.aliases ?? {}));
}

/** The versions any alias names. */
export function aliasedVersions(record: FunctionRecord): Set<number> {
  return new Set(Object.values(record.aliases ?? {}).flatMap((targets) => targets.map((t) => t.version)));
}

/** Everything kept of a live record; undefined once it is deleted. */
export function historyOf(record: FunctionRecord): FunctionHistory | undefined {
  const current = currentOf(record);
  return current && { current, versions: [...record.versions], aliases: aliasesOf(record), tokens: [...(record.tokens ?? [])], triggers: [...(record.triggers ?? [])] };
}

/** The serving version of a record, if it is not deleted. */
export function currentOf(record: FunctionRecord): FunctionVersion | undefined {
  return record.current === 0 ? undefined : record.versions.find((v) => v.version === record.current);
}

/** Digests a record keeps alive: every kept version of a live function, nothing of a deleted one. */
export function referencedBy(record: FunctionRecord): string[] {
  return record.current === 0 ? [] : record.versions.map((v) => v.digest);
}

/**
 * A record's triggers with `trigger` set (replacing the one with its id), sorted by id;
 * `invalid_request` when that would make more than `max`. Shared by every registry.
 */
export function withTrigger(name: string, triggers: readonly Trigger[], trigger: Trigger, max: number): Trigger[] {
  const others = triggers.filter((t) => t.id !== trigger.id);
  if (others.length >= max) throw new InvalidInputError('invalid_request', `${name} already has ${max} triggers, the most a function may have; remove one first`);
  return [...others, trigger].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A record's triggers without trigger `id`; `not_found` when it has none of that id. */
export function withoutTrigger(name: string, triggers: readonly Trigger[], id: string): Trigger[] {
  if (!triggers.some((t) => t.id === id)) throw new NotFoundError(`${name} has no trigger ${JSON.stringify(id).slice(0, 80)}`);
  return triggers.filter((t) => t.id !== id);
}
