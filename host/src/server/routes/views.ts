/**
 * @module server/routes/views
 * The JSON shapes the management API answers with (snake_case, as the query parameters), and
 * the query parsing its routes share.
 */
import { InvalidInputError } from '../../errors.js';
import { DEFAULT_WORLD } from '../../executors/index.js';
import { DEFAULT_INSTANCE_MODE, DEFAULT_INVOKE_AUTH, DEFAULT_MAX_CONCURRENCY } from '../../limits.js';
import type { FunctionLimits, FunctionVersion, InvokeToken } from '../../registry/registry.js';

const MiB = 1024 * 1024;

/**
 * A version's `limits` in the API. `fuel` only when set; `max_concurrency` of records written
 * before the setting is the default they run with.
 */
function limitsView(limits: FunctionLimits): Record<string, unknown> {
  return {
    timeout_ms: limits.timeoutMs,
    memory_mb: limits.memoryBytes / MiB,
    instance: limits.instance ?? DEFAULT_INSTANCE_MODE,
    ...(limits.fuel === undefined ? {} : { fuel: limits.fuel }),
    max_concurrency: limits.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
  };
}

/**
 * The JSON shape of a function version in the API (snake_case, as the query parameters). `env`
 * lists the names of its environment variables only: values may be secrets and are never answered.
 */
export function functionView(fn: FunctionVersion): Record<string, unknown> {
  return {
    name: fn.name,
    version: fn.version,
    digest: `sha256:${fn.digest}`,
    size: fn.size,
    limits: limitsView(fn.limits),
    env: (fn.limits.env ?? []).map(([name]) => name),
    invoke_auth: fn.limits.invokeAuth ?? DEFAULT_INVOKE_AUTH,
    outbound: fn.limits.outbound ?? [],
    created_at: fn.createdAt,
    world: fn.world ?? DEFAULT_WORLD,
  };
}

/** An invoke token in the API: never its hash (nor, after its creation, the token). */
export function tokenView(token: InvokeToken): Record<string, unknown> {
  return { id: token.id, label: token.label ?? null, created_at: token.createdAt };
}

/** A query parameter that must be a non-negative integer (the last one when repeated). */
export function intParam(value: string | string[] | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[value.length - 1]! : value;
  if (!/^\d{1,10}$/.test(text)) throw new InvalidInputError('invalid_request', `${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** An RFC 3339 timestamp with a time zone, e.g. 2026-12-03T08:00:00Z or 2026-12-03T09:00:00.5+01:00. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** The last value of a query parameter that may be repeated. */
export function lastParam(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** A query parameter that is a time: RFC 3339, or Unix milliseconds; answers Unix ms. */
export function timeParam(value: string | string[] | undefined, name: string): number | undefined {
  const text = lastParam(value);
  if (text === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : RFC3339.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidInputError('invalid_request', `${name} must be an RFC 3339 time (2026-01-02T03:04:05Z) or Unix milliseconds, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return ms;
}
