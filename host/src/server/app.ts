/**
 * @module server/app
 * Composes the Koa application: error handling, health, metrics and /openapi.json, the invoke
 * path, the dashboard's static files, and the token-guarded management API. It only composes;
 * the routes and the service do the work.
 * Authorization is decided by the management router itself, on the path it matched, never on
 * a string prefix of the raw path (another spelling would pass a prefix check).
 */
import Koa from 'koa';
import type { FunctionService } from '../functions/service.js';
import type { Metrics } from '../functions/metrics.js';
import type { Logger } from '../logger.js';
import { ABI_VERSION } from '../abi/envelope.js';
import { BENCH_RESULTS } from '../paths.js';
import { requireAnyToken, requireToken } from './auth.js';
import { errorBody, errorMiddleware } from './errors.js';
import type { LingerBounds } from './linger.js';
import { openApiDocument } from './openapi/document.js';
import { functionRoutes } from './routes/functions.js';
import { invokeRoute } from './routes/invoke.js';
import { benchRoutes } from './routes/bench.js';
import { uiRoute } from './routes/ui.js';
import type { TriggerRunner } from '../triggers/runner.js';

export interface AppOptions {
  service: FunctionService;
  metrics: Metrics;
  logger: Logger;
  token: string;
  /** When set, GET /metrics needs it (or `token`) as a bearer token; unset, /metrics is open. */
  metricsToken?: string;
  maxUploadBytes: number;
  maxRequestBytes: number;
  /** How an answer sent before its request body was read drains the rest before closing. */
  linger: LingerBounds;
  waferVersion: string;
  /** `wafer bench` run folders, for `GET /v1/bench/latest` (default bench/results). */
  benchResultsDir?: string;
  /** Runs the functions' triggers; the trigger routes check with it what this host can run. */
  triggers?: TriggerRunner;
}

export function createApp(options: AppOptions): Koa {
  const { service, metrics, logger, token } = options;
  // Only the exact path `/metrics` serves metrics (no other spelling: `/METRICS` and `/metrics/` are 404).
  const metricsGuard = options.metricsToken
    ? requireAnyToken([options.metricsToken, token], '/metrics needs Authorization: Bearer <token> (the metrics token, --metrics-token, or the management token)')
    : undefined;
  const app = new Koa();
  app.silent = true;
  const openapi = JSON.stringify(openApiDocument(options.waferVersion));
  app.use(errorMiddleware(logger, options.linger));
  app.use(invokeRoute(service, options.maxRequestBytes, token));
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz' && ctx.method === 'GET') {
      // `degraded`: serving, but some function records could not be read at start (listed).
      const problems = service.problems();
      ctx.body = {
        status: problems.length === 0 ? 'ok' : 'degraded',
        engine: service.engine.name,
        versions: { wafer: options.waferVersion, abi: ABI_VERSION, engine: service.engine.version },
        functions: service.list().length,
        problems,
      };
      return;
    }
    if (ctx.path === '/metrics' && ctx.method === 'GET') {
      const serve = async () => {
        ctx.type = metrics.contentType;
        ctx.body = await metrics.text();
      };
      await (metricsGuard ? metricsGuard(ctx, serve) : serve());
      return;
    }
    if (ctx.path === '/openapi.json' && ctx.method === 'GET') {
      ctx.type = 'application/json';
      ctx.body = openapi;
      return;
    }
    await next();
  });
  app.use(uiRoute());
  const guard = requireToken(token);
  const functions = functionRoutes(service, options.maxUploadBytes, guard, options.triggers);
  app.use(functions.routes());
  app.use(benchRoutes(options.benchResultsDir ?? BENCH_RESULTS, guard).routes());
  // The router matched the path but serves no route for this method: the token still comes
  // before it tells which methods it has (405).
  app.use(async (ctx, next) => (ctx.matched?.length ? guard(ctx, next) : next()));
  app.use(functions.allowedMethods());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = errorBody('not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}
