/**
 * @module registry/alias
 * An alias names a kept version of a function, or splits its calls between several by weight
 * (a canary). Its rules live here, because they are checked both where an alias arrives (the
 * API) and where it is read back from disk (the record). Whether the versions are kept is the
 * registry's to check, under the function's lock.
 */
import { MAX_ALIAS_TARGETS, MAX_ALIAS_WEIGHT } from '../limits.js';

/** An alias name: a lower-case letter first, so it never reads as a version number after `@`. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** One version an alias points at, with its weight in the split (relative to the others). */
export interface AliasTarget {
  version: number;
  weight: number;
}

/** Why `targets` are not a valid alias (distinct versions, finite weights, one positive), or undefined. */
export function targetsProblem(targets: readonly AliasTarget[]): string | undefined {
  if (targets.length === 0) return 'an alias needs at least one version';
  if (targets.length > MAX_ALIAS_TARGETS) return `an alias may split calls between at most ${MAX_ALIAS_TARGETS} versions, got ${targets.length}`;
  const seen = new Set<number>();
  for (const { version, weight } of targets) {
    if (!Number.isSafeInteger(version) || version < 1) return `version ${JSON.stringify(version)} is not a version number`;
    if (seen.has(version)) return `version ${version} is named twice`;
    seen.add(version);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_ALIAS_WEIGHT) {
      return `the weight of version ${version} must be a number from 0 to ${MAX_ALIAS_WEIGHT}, got ${JSON.stringify(weight)}`;
    }
  }
  if (!targets.some((t) => t.weight > 0)) return 'at least one weight must be positive';
  return undefined;
}

/** Picks a version by weight (`random` in [0, 1)); a version of weight 0 is never picked. */
export function pickTarget(targets: readonly AliasTarget[], random: () => number = Math.random): number {
  let total = 0;
  for (const t of targets) total += t.weight;
  let left = random() * total;
  let last = 0;
  for (const t of targets) {
    if (t.weight <= 0) continue;
    last = t.version;
    left -= t.weight;
    if (left < 0) return t.version;
  }
  return last; // rounding left a sliver past the end: the last positive one
}
