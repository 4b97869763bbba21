/**
 * @module server/routes/tokens
 * A function's invoke tokens, on the management router (so behind the management token; an
 * invoke token is no use here): POST /v1/functions/{name}/tokens[ {label}] makes one and answers
 * it once, GET lists them (ids and labels, never a token or its hash), DELETE …/tokens/{id}
 * revokes one at once. Calls of a version with `invoke_auth=token` need one (functions/pipeline.ts).
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../../errors.js';
import type { FunctionService } from '../../functions/service.js';
import { MAX_TOKEN_LABEL_CHARS } from '../../limits.js';
import { readJson } from '../body.js';
import { tokenView } from './views.js';

/** A label: printable text, bounded; control characters would garble a terminal listing them. */
const LABEL = new RegExp(`^[^\\p{Cc}]{1,${MAX_TOKEN_LABEL_CHARS}}$`, 'u');

/** The optional `{label}` body of a token creation. */
function parseTokenBody(body: unknown): string | undefined {
  const bad = (why: string) => new InvalidInputError('invalid_request', `${why}; send {"label": "..."} or no body`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the token request is not a JSON object');
  const keys = Object.keys(body);
  if (keys.some((k) => k !== 'label')) throw bad(`unknown field ${JSON.stringify(keys.find((k) => k !== 'label')!.slice(0, 40))}`);
  const { label } = body as { label?: unknown };
  if (label === undefined) return undefined;
  if (typeof label !== 'string' || !LABEL.test(label)) throw bad(`label must be 1 to ${MAX_TOKEN_LABEL_CHARS} characters of text`);
  return label;
}

/** Adds the invoke-token routes to the management router. */
export function tokenRoutes(router: Router, service: FunctionService, guard: Middleware, maxJsonBytes: number): void {
  router.post('/:name/tokens', guard, async (ctx) => {
    const name = ctx.params.name!;
    service.history(name); // an unknown function is answered before the body is read
    const hasBody = ctx.req.headers['content-length'] !== undefined ? ctx.req.headers['content-length'] !== '0' : ctx.req.headers['transfer-encoding'] !== undefined;
    const label = hasBody ? parseTokenBody(await readJson(ctx, maxJsonBytes, 'token request')) : undefined;
    const { token, stored } = await service.createToken(name, label);
    ctx.status = 201;
    ctx.body = { ...tokenView(stored), token };
  });

  router.get('/:name/tokens', guard, (ctx) => {
    const name = ctx.params.name!;
    ctx.body = { name, tokens: service.tokens(name).map(tokenView) };
  });

  router.delete('/:name/tokens/:id', guard, async (ctx) => {
    await service.revokeToken(ctx.params.name!, ctx.params.id!);
    ctx.status = 204;
  });
}
