/**
 * @module registry/settings
 * The rules of a version's settings that do not depend on the host (fuel, concurrency and the
 * environment), shared by the API (functions/service.ts, which adds the host's ceilings) and
 * the record reader (record.ts): a record on disk that breaks them is refused like a bad alias.
 */
import { ENV_NAME_PATTERN, MAX_ENV_BYTES, MAX_ENV_VALUE_BYTES, MAX_ENV_VARS, MAX_FUEL, MAX_OUTBOUND_HOSTS, OUTBOUND_PATTERN } from '../limits.js';

const isInt = (v: unknown, min: number, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** What is wrong with `env` (pairs of name and value), naming the setting; undefined when nothing is. */
export function envProblem(env: unknown): string | undefined {
  if (!Array.isArray(env)) return 'env is not a list of variables';
  if (env.length > MAX_ENV_VARS) return `env may hold at most ${MAX_ENV_VARS} variables, got ${env.length}`;
  const seen = new Set<string>();
  let total = 0;
  for (const pair of env as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return 'env holds something other than a name and a value';
    const [name, value] = pair as [string, string];
    if (!ENV_NAME_PATTERN.test(name)) return `env: ${JSON.stringify(name.slice(0, 40))} is not a variable name (a letter or _, then up to 127 letters, digits or _)`;
    if (seen.has(name)) return `env: ${name} is given twice`;
    seen.add(name);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_ENV_VALUE_BYTES) return `env: the value of ${name} is ${bytes} bytes, over ${MAX_ENV_VALUE_BYTES}`;
    if (value.includes('\0')) return `env: the value of ${name} holds a NUL character`;
    total += name.length + bytes;
  }
  if (total > MAX_ENV_BYTES) return `env: the names and values come to ${total} bytes, over ${MAX_ENV_BYTES}`;
  return undefined;
}

/** What is wrong with `outbound` (host patterns, or `*`), naming the setting; undefined when nothing is. */
export function outboundProblem(outbound: unknown): string | undefined {
  if (!Array.isArray(outbound)) return 'outbound is not a list of hosts';
  if (outbound.length > MAX_OUTBOUND_HOSTS) return `outbound may hold at most ${MAX_OUTBOUND_HOSTS} hosts, got ${outbound.length}`;
  for (const host of outbound as unknown[]) {
    if (typeof host !== 'string' || host.length > 260 || !OUTBOUND_PATTERN.test(host)) {
      return `outbound: ${JSON.stringify(String(host).slice(0, 60))} is not a host pattern (a lower-case host name, *.suffix, an IP address, each with an optional :port, or *)`;
    }
    const port = /:([0-9]+)$/.exec(host);
    if (port && !host.endsWith(']') && (Number(port[1]) < 1 || Number(port[1]) > 65535)) return `outbound: ${host} has a port outside 1-65535`;
  }
  return undefined;
}

/**
 * What is wrong with the host-independent settings of `limits`, naming the setting; undefined
 * when nothing is. `maxConcurrency` is only checked to be positive here: its ceiling is the host's.
 */
export function settingsProblem(limits: { fuel?: unknown; maxConcurrency?: unknown; env?: unknown; outbound?: unknown }): string | undefined {
  if (limits.outbound !== undefined) {
    const problem = outboundProblem(limits.outbound);
    if (problem) return problem;
  }
  if (limits.fuel !== undefined && !isInt(limits.fuel, 1, MAX_FUEL)) return `fuel must be an integer from 1 to ${MAX_FUEL}`;
  if (limits.maxConcurrency !== undefined && !isInt(limits.maxConcurrency, 1, Number.MAX_SAFE_INTEGER)) return 'max_concurrency must be a positive integer';
  if (limits.env !== undefined) return envProblem(limits.env);
  return undefined;
}
