/**
 * @module server/errors
 * The one place that decides what a client sees of an error: a `WaferError` becomes
 * `{"error": {"code", "message"}}` with its status; anything else is logged and answered
 * as a generic 500 `internal`, its details kept out of the response. `overloaded` carries
 * `Retry-After`; an answer sent before the request body was read closes the connection gently.
 */
import type { Middleware } from 'koa';
import { OverloadedError, WaferError } from '../errors.js';
import type { Logger } from '../logger.js';
import { lingerAfterAnswer, type LingerBounds } from './linger.js';

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function errorMiddleware(logger: Logger, linger: LingerBounds): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof WaferError) {
        ctx.status = err.status;
        ctx.body = errorBody(err.code, err.expose ? err.message : 'internal error');
        if (err.status >= 500 && err.code !== 'timeout' && err.code !== 'overloaded') {
          logger.debug({ code: err.code, err: err.message, path: ctx.path, invocation: ctx.response.get('x-wafer-invocation-id') || undefined }, 'call failed');
        }
      } else {
        logger.error({ err, path: ctx.path, invocation: ctx.response.get('x-wafer-invocation-id') || undefined }, 'unexpected error');
        ctx.status = 500;
        ctx.body = errorBody('internal', 'internal error');
      }
      if (err instanceof OverloadedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
    }
    // Answered before the body was read whole (413, 401, 404, 503, or a route that ignores a
    // body): drain the rest within bounds, then close, rather than read it all or reset.
    if (!ctx.req.complete) lingerAfterAnswer(ctx.req, ctx.res, linger);
  };
}
