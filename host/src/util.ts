/**
 * @module util
 * Small helpers with no home of their own.
 */

/** A copy of `value` without its undefined properties, so spreading it never erases a default. */
export function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
