/**
 * @module server/routes/functions
 * The management API: PUT/GET/DELETE /v1/functions[/{name}], behind the bearer token, and the
 * settings (PATCH, routes/settings), invoke tokens (routes/tokens), versions and aliases
 * (routes/versions), logs (routes/logs), usage (routes/usage) and triggers (routes/triggers) of a function.
 * The token guard is the first middleware of every route, so it runs for every path the router
 * maps to that route, however the path is spelled (letter case, trailing slash, encoding). It is
 * not a `router.use` layer: those match the prefix case-sensitively while routes do not, so
 * `/V1/Functions` would reach a route and skip the guard.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { DEFAULT_MAX_JSON_BYTES } from '../../limits.js';
import type { FunctionService } from '../../functions/service.js';
import { checkName } from '../../functions/service.js';
import { checkDeclaredLength, limitedBody } from '../body.js';
import { functionView } from './views.js';
import { versionRoutes } from './versions.js';
import { logRoutes } from './logs.js';
import { usageRoutes } from './usage.js';
import { settingsQuery, settingsRoutes } from './settings.js';
import { tokenRoutes } from './tokens.js';
import { triggerRoutes } from './triggers.js';
import type { TriggerRunner } from '../../triggers/runner.js';

/**
 * The method and OpenAPI path (`/v1/functions/{name}`) of every route of a management router,
 * HEAD left out (the router serves it wherever GET is): what test/api/openapi.test.ts compares
 * with the OpenAPI document.
 */
export function routeTable(router: Router): Array<{ method: string; path: string }> {
  return router.stack.flatMap((layer) => {
    const path = String(layer.path).replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
    return layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method: method.toLowerCase(), path }));
  });
}

export function functionRoutes(service: FunctionService, maxUploadBytes: number, guard: Middleware, triggers?: TriggerRunner): Router {
  const router = new Router({ prefix: '/v1/functions' });

  router.get('/', guard, (ctx) => {
    ctx.body = { functions: service.list().map(functionView) };
  });

  router.put('/:name', guard, async (ctx) => {
    const name = ctx.params.name!;
    checkName(name);
    checkDeclaredLength(ctx.req, maxUploadBytes, 'upload');
    // Checked before the body is read: a bad setting never waits for a 64 MiB upload.
    const limits = service.resolveLimits(settingsQuery(ctx.query));
    const version = await service.deploy(name, limitedBody(ctx, maxUploadBytes, 'upload'), limits);
    ctx.status = 201;
    ctx.body = functionView(version);
  });

  router.get('/:name', guard, (ctx) => {
    ctx.body = functionView(service.get(ctx.params.name!));
  });

  router.delete('/:name', guard, async (ctx) => {
    await service.remove(ctx.params.name!);
    ctx.status = 204;
  });

  settingsRoutes(router, service, guard, DEFAULT_MAX_JSON_BYTES);
  tokenRoutes(router, service, guard, DEFAULT_MAX_JSON_BYTES);
  versionRoutes(router, service, guard, DEFAULT_MAX_JSON_BYTES);
  logRoutes(router, service, guard);
  usageRoutes(router, service, guard);
  triggerRoutes(router, service, triggers, guard, DEFAULT_MAX_JSON_BYTES);

  return router;
}
