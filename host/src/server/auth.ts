/**
 * @module server/auth
 * Bearer-token guard for the management routes, and the token's home: `WAFER_TOKEN`, or a
 * token generated on first start into `<data>/token` (mode 0600).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../errors.js';
import { writeFileAtomic } from '../registry/fs.js';

/** Reads the data directory's token, creating one if there is none; `created` says which. */
export async function loadOrCreateToken(dataDir: string): Promise<{ token: string; created: boolean; path: string }> {
  const path = join(dataDir, 'token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length > 0) return { token, created: false, path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = newManagementToken();
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return { token, created: true, path };
}

/** A fresh random management token. */
export function newManagementToken(): string {
  return randomBytes(24).toString('base64url');
}

export function requireToken(token: string): Middleware {
  return requireAnyToken([token], 'this route needs Authorization: Bearer <token> (see WAFER_TOKEN or <data-dir>/token)');
}

/**
 * Guard that accepts `Authorization: Bearer <t>` for any `t` of `tokens`, compared in constant
 * time (every token is compared, so the time does not tell which one came close).
 */
export function requireAnyToken(tokens: readonly string[], message: string): Middleware {
  const expected = tokens.map((token) => Buffer.from(`Bearer ${token}`));
  return async (ctx, next) => {
    const given = Buffer.from(ctx.get('authorization'));
    let ok = false;
    for (const e of expected) ok = (given.length === e.length && timingSafeEqual(given, e)) || ok;
    if (!ok) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new InvalidInputError('unauthorized', message);
    }
    await next();
  };
}
