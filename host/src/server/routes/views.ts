/**
 * @module server/routes/views
 * The JSON shapes the management API answers with (snake_case, as the query parameters), and
 * the query parsing its routes share.
 */
import { InvalidInputError } from '../../errors.js';
import { DEFAULT_WORLD } from '../../executors/index.js';
import { DEFAULT_INSTANCE_MODE } from '../../limits.js';
import type { FunctionVersion } from '../../registry/registry.js';

const MiB = 1024 * 1024;

/** The JSON shape of a function version in the API (snake_case, as the query parameters). */
export function functionView(fn: FunctionVersion): Record<string, unknown> {
  return {
    name: fn.name,
    version: fn.version,
    digest: `sha256:${fn.digest}`,
    size: fn.size,
    limits: { timeout_ms: fn.limits.timeoutMs, memory_mb: fn.limits.memoryBytes / MiB, instance: fn.limits.instance ?? DEFAULT_INSTANCE_MODE },
    created_at: fn.createdAt,
    world: fn.world ?? DEFAULT_WORLD,
  };
}

/** A query parameter that must be a non-negative integer (the last one when repeated). */
export function intParam(value: string | string[] | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[value.length - 1]! : value;
  if (!/^\d{1,10}$/.test(text)) throw new InvalidInputError('invalid_request', `${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}
