/**
 * @module server/routes/versions
 * Versions and aliases of a function, on the management router (so behind the same per-route
 * token guard): GET /v1/functions/{name}/versions, POST …/rollback[?version=N], and
 * GET/PUT/DELETE …/aliases[/{alias}]. The alias body is `{"version": N}` or
 * `{"versions": {"N": weight, …}}`; its shape is checked here, its rules in registry/alias.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../../errors.js';
import { checkAlias, type FunctionService } from '../../functions/service.js';
import type { AliasTarget, FunctionHistory } from '../../registry/registry.js';
import { MAX_ALIAS_TARGETS } from '../../limits.js';
import { readJson } from '../body.js';
import { functionView, intParam } from './views.js';

/** A version number as a JSON key or value: a positive integer, written plainly. */
const VERSION_KEY = /^[1-9][0-9]{0,9}$/;

/** The JSON shape of an alias: `versions` always, `version` too when it names one version. */
export function aliasView(name: string, alias: string, targets: readonly AliasTarget[]): Record<string, unknown> {
  return {
    name,
    alias,
    ...(targets.length === 1 ? { version: targets[0]!.version } : {}),
    versions: Object.fromEntries(targets.map((t) => [String(t.version), t.weight])),
  };
}

/** The kept versions, newest first, with the current one's number. */
function versionsView(history: FunctionHistory): Record<string, unknown> {
  return { name: history.current.name, current: history.current.version, versions: [...history.versions].reverse().map(functionView) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Turns an alias body into targets, refusing anything but the two documented shapes with `invalid_request`. */
export function parseAliasBody(body: unknown): AliasTarget[] {
  const bad = (why: string) => new InvalidInputError('invalid_request', `${why}; send {"version": N} or {"versions": {"N": weight, ...}}`);
  if (!isObject(body)) throw bad('the alias is not a JSON object');
  const keys = Object.keys(body);
  if (keys.length !== 1 || (keys[0] !== 'version' && keys[0] !== 'versions')) {
    throw bad(`the alias must have exactly one of version or versions, got ${JSON.stringify(keys.slice(0, 4))}`);
  }
  if ('version' in body) {
    const { version } = body;
    if (!Number.isSafeInteger(version) || (version as number) < 1) throw bad(`version must be a positive integer, got ${JSON.stringify(version)}`);
    return [{ version: version as number, weight: 1 }];
  }
  const { versions } = body;
  if (!isObject(versions)) throw bad('versions must be an object of version numbers to weights');
  const entries = Object.entries(versions);
  // Bounded before the entries are looked at one by one (registry/alias checks the rest).
  if (entries.length > MAX_ALIAS_TARGETS) throw bad(`an alias may split calls between at most ${MAX_ALIAS_TARGETS} versions, got ${entries.length}`);
  return entries.map(([key, weight]) => {
    if (!VERSION_KEY.test(key)) throw bad(`${JSON.stringify(key.slice(0, 20))} is not a version number`);
    if (typeof weight !== 'number') throw bad(`the weight of version ${key} must be a number, got ${JSON.stringify(weight)?.slice(0, 20)}`);
    return { version: Number(key), weight };
  });
}

/** Adds the version and alias routes to the management router. */
export function versionRoutes(router: Router, service: FunctionService, guard: Middleware, maxJsonBytes: number): void {
  router.get('/:name/versions', guard, (ctx) => {
    ctx.body = versionsView(service.history(ctx.params.name!));
  });

  router.post('/:name/rollback', guard, async (ctx) => {
    const to = intParam(ctx.query.version, 'version');
    if (to === 0) throw new InvalidInputError('invalid_request', 'version must be a positive integer, got "0"');
    const { history, from } = await service.rollback(ctx.params.name!, to);
    ctx.body = { ...functionView(history.current), rolled_back_from: from.version };
  });

  router.get('/:name/aliases', guard, (ctx) => {
    const history = service.history(ctx.params.name!);
    const aliases = [...history.aliases].sort(([a], [b]) => a.localeCompare(b));
    ctx.body = { name: history.current.name, aliases: aliases.map(([alias, targets]) => aliasView(history.current.name, alias, targets)) };
  });

  router.get('/:name/aliases/:alias', guard, (ctx) => {
    const name = ctx.params.name!;
    const alias = ctx.params.alias!;
    ctx.body = aliasView(name, alias, service.alias(name, alias));
  });

  router.put('/:name/aliases/:alias', guard, async (ctx) => {
    const name = ctx.params.name!;
    const alias = ctx.params.alias!;
    // An unknown function or a bad alias name is answered before the body is read.
    service.history(name);
    checkAlias(alias);
    const targets = parseAliasBody(await readJson(ctx, maxJsonBytes, 'alias'));
    const history = await service.setAlias(name, alias, targets);
    ctx.body = aliasView(name, alias, history.aliases.get(alias)!);
  });

  router.delete('/:name/aliases/:alias', guard, async (ctx) => {
    await service.removeAlias(ctx.params.name!, ctx.params.alias!);
    ctx.status = 204;
  });
}
