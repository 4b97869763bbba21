/**
 * @module server/routes/settings
 * A version's settings as the API takes them: the query of `PUT /v1/functions/{name}`
 * (`timeout_ms`, `memory_mb`, `instance`, `fuel`, `max_concurrency`, `env=KEY=VALUE` repeated,
 * `invoke_auth`, `outbound=HOST,…` or `outbound=*`), and `PATCH /v1/functions/{name}`, whose JSON body changes some settings of the
 * current version and makes a new version of the same component with them. Shapes are checked
 * here; the rules and the host's ceilings in functions/service.ts (`resolveLimits`).
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../../errors.js';
import type { FunctionService, SettingsPatch } from '../../functions/service.js';
import { MAX_ENV_VARS, MAX_FUEL, MAX_OUTBOUND_HOSTS } from '../../limits.js';
import { INSTANCE_MODES, INVOKE_AUTHS, type FunctionLimits, type InstanceMode, type InvokeAuth } from '../../registry/registry.js';
import { readJson } from '../body.js';
import { functionView, intParam, lastParam } from './views.js';

const MiB = 1024 * 1024;

const bad = (message: string) => new InvalidInputError('invalid_request', message);

/** One of `allowed`, or a 400 naming the setting. */
function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (!allowed.includes(value as T)) throw bad(`${name} must be ${allowed.join(' or ')}, got ${JSON.stringify(value)?.slice(0, 40)}`);
  return value as T;
}

/** `KEY=VALUE` strings (the query's `env`) as pairs; the names and values are checked by the service. */
function envPairs(values: string[]): [string, string][] {
  if (values.length > MAX_ENV_VARS) throw bad(`env may hold at most ${MAX_ENV_VARS} variables, got ${values.length}`);
  return values.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq < 1) throw bad(`env must be KEY=VALUE, got ${JSON.stringify(kv.slice(0, 40))}`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/**
 * `outbound` as the query gives it: comma-separated host patterns, repeatable; `*` for any host,
 * empty for none. Host names are case-insensitive (kept lower case); the patterns are checked by the service.
 */
function outboundHosts(values: string[]): string[] {
  const hosts = values.flatMap((v) => v.split(',')).map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  if (hosts.length > MAX_OUTBOUND_HOSTS) throw bad(`outbound may hold at most ${MAX_OUTBOUND_HOSTS} hosts, got ${hosts.length}`);
  return hosts;
}

/** The settings a PUT's query asks for (undefined where it says nothing: the defaults apply). */
export function settingsQuery(query: Record<string, string | string[] | undefined>): Partial<FunctionLimits> {
  const settings: Partial<FunctionLimits> = {};
  const timeoutMs = intParam(query.timeout_ms, 'timeout_ms');
  if (timeoutMs !== undefined) settings.timeoutMs = timeoutMs;
  const memoryMb = intParam(query.memory_mb, 'memory_mb');
  if (memoryMb !== undefined) settings.memoryBytes = memoryMb * MiB;
  const instance = lastParam(query.instance);
  if (instance !== undefined) settings.instance = oneOf(instance, INSTANCE_MODES, 'instance');
  const fuel = lastParam(query.fuel);
  if (fuel !== undefined) {
    if (!/^\d{1,13}$/.test(fuel)) throw bad(`fuel must be an integer from 1 to ${MAX_FUEL}, got ${JSON.stringify(fuel.slice(0, 40))}`);
    settings.fuel = Number(fuel);
  }
  const concurrency = intParam(query.max_concurrency, 'max_concurrency');
  if (concurrency !== undefined) settings.maxConcurrency = concurrency;
  if (query.env !== undefined) settings.env = envPairs(Array.isArray(query.env) ? query.env : [query.env]);
  const auth = lastParam(query.invoke_auth);
  if (auth !== undefined) settings.invokeAuth = oneOf(auth, INVOKE_AUTHS, 'invoke_auth');
  if (query.outbound !== undefined) settings.outbound = outboundHosts(Array.isArray(query.outbound) ? query.outbound : [query.outbound]);
  return settings;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON setting that must be a whole number (its range is the service's to check). */
function intField(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value)) throw bad(`${name} must be an integer, got ${JSON.stringify(value)?.slice(0, 40)}`);
  return value as number;
}

const PATCH_KEYS = new Set(['timeout_ms', 'memory_mb', 'instance', 'fuel', 'max_concurrency', 'env', 'invoke_auth', 'outbound']);

/** A PATCH body as a settings change; anything but the documented keys and types is `invalid_request`. */
export function parseSettingsBody(body: unknown): SettingsPatch {
  if (!isObject(body)) throw bad('the settings are not a JSON object');
  const unknown = Object.keys(body).filter((k) => !PATCH_KEYS.has(k));
  if (unknown.length > 0) throw bad(`unknown setting ${JSON.stringify(unknown[0]!.slice(0, 40))}; settings are ${[...PATCH_KEYS].join(', ')}`);
  const patch: SettingsPatch = {};
  if (body.timeout_ms !== undefined) patch.timeoutMs = intField(body.timeout_ms, 'timeout_ms');
  if (body.memory_mb !== undefined) patch.memoryBytes = intField(body.memory_mb, 'memory_mb') * MiB;
  if (body.instance !== undefined) patch.instance = oneOf<InstanceMode>(body.instance, INSTANCE_MODES, 'instance');
  if (body.fuel !== undefined) patch.fuel = body.fuel === null ? null : intField(body.fuel, 'fuel');
  if (body.max_concurrency !== undefined) patch.maxConcurrency = intField(body.max_concurrency, 'max_concurrency');
  if (body.invoke_auth !== undefined) patch.invokeAuth = oneOf<InvokeAuth>(body.invoke_auth, INVOKE_AUTHS, 'invoke_auth');
  if (body.outbound !== undefined) {
    if (body.outbound === '*') patch.outbound = ['*'];
    else if (Array.isArray(body.outbound) && body.outbound.every((h) => typeof h === 'string')) patch.outbound = outboundHosts(body.outbound as string[]);
    else throw bad('outbound must be a list of host patterns, or "*"');
  }
  if (body.env !== undefined) {
    if (!isObject(body.env)) throw bad('env must be an object of names to string values');
    const entries = Object.entries(body.env);
    if (entries.length > MAX_ENV_VARS) throw bad(`env may hold at most ${MAX_ENV_VARS} variables, got ${entries.length}`);
    patch.env = entries.map(([name, value]) => {
      if (typeof value !== 'string') throw bad(`env: the value of ${JSON.stringify(name.slice(0, 40))} must be a string`);
      return [name, value];
    });
  }
  return patch;
}

/** Adds `PATCH /v1/functions/{name}` to the management router. */
export function settingsRoutes(router: Router, service: FunctionService, guard: Middleware, maxJsonBytes: number): void {
  router.patch('/:name', guard, async (ctx) => {
    const name = ctx.params.name!;
    service.history(name); // an unknown function is answered before the body is read
    const patch = parseSettingsBody(await readJson(ctx, maxJsonBytes, 'settings'));
    ctx.body = functionView(await service.configure(name, patch));
  });
}
