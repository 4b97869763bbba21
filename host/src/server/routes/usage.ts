/**
 * @module server/routes/usage
 * GET /v1/functions/{name}/usage[?from=&to=&granularity=minute|hour], on the management router
 * (behind the token): the function's usage buckets in the window, their sum, and its lifetime
 * totals (functions/usage.ts). The window's ends are rounded out to whole buckets.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../../errors.js';
import type { FunctionService } from '../../functions/service.js';
import { GRANULARITY_MS, type Granularity } from '../../functions/usage.js';
import { USAGE_MINUTE_RETENTION_MS } from '../../limits.js';
import { lastParam, timeParam } from './views.js';

/** The window a plain GET answers: the last hour. */
const DEFAULT_WINDOW_MS = 3_600_000;

export function usageRoutes(router: Router, service: FunctionService, guard: Middleware): void {
  router.get('/:name/usage', guard, (ctx) => {
    const now = Date.now();
    const to = timeParam(ctx.query.to, 'to') ?? now;
    const from = timeParam(ctx.query.from, 'from') ?? to - DEFAULT_WINDOW_MS;
    if (from >= to) throw new InvalidInputError('invalid_request', 'from must be before to');
    const asked = lastParam(ctx.query.granularity);
    if (asked !== undefined && asked !== 'minute' && asked !== 'hour') {
      throw new InvalidInputError('invalid_request', `granularity must be minute or hour, got ${JSON.stringify(asked.slice(0, 20))}`);
    }
    // Minute buckets are kept a day: an older window is answered by the hour.
    const granularity: Granularity = (asked as Granularity | undefined) ?? (from >= now - USAGE_MINUTE_RETENTION_MS ? 'minute' : 'hour');
    const ms = GRANULARITY_MS[granularity];
    const start = from - (from % ms);
    const end = to % ms === 0 ? to : to - (to % ms) + ms;
    const name = ctx.params.name!;
    const { totals, lifetime, buckets } = service.usage(name, { granularity, from: start, to: end });
    ctx.body = { name, granularity, from: new Date(start).toISOString(), to: new Date(end).toISOString(), totals, lifetime, buckets };
  });
}
