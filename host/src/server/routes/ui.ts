/**
 * @module server/routes/ui
 * The dashboard: the static files of `host/ui/` at `/ui/`, and `GET /` sends a browser there.
 * The files are a fixed allow-list read once at start, so no request path ever reaches the file
 * system: `/ui/../token`, `/ui/%2e%2e/token` and every other spelling that is not exactly one of
 * the listed paths falls through to the 404 route. The page carries no secrets (the operator
 * pastes the management token, and it calls the JSON API with it), and is served under a strict
 * Content-Security-Policy: scripts and styles from this origin only, no inline script, no
 * framing, and Trusted Types required, so an `innerHTML` assignment of API data would throw.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import { ROOT } from '../../paths.js';

/** Where the dashboard lives in the URL space. */
export const UI_PREFIX = '/ui/';

/** The files served, by name under `host/ui/`, with their content types. */
const UI_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'tail.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'render.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** The policy every dashboard answer carries (see the module comment). */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface UiFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** Reads the allow-listed files of `dir` (default `host/ui/`); a missing one fails the start. */
export function loadUiFiles(dir = join(ROOT, 'host', 'ui')): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const [name, type] of Object.entries(UI_FILES)) {
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(`${UI_PREFIX}${name}`, { body, type, etag });
  }
  files.set(UI_PREFIX, files.get(`${UI_PREFIX}index.html`)!);
  return files;
}

/** Serves the dashboard's files (GET and HEAD) and the redirects to it; anything else passes on. */
export function uiRoute(files: Map<string, UiFile> = loadUiFiles()): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const path = ctx.path;
    if (path === '/' || path === '/ui') {
      ctx.set(SECURITY_HEADERS);
      ctx.redirect(UI_PREFIX);
      return;
    }
    const file = files.get(path);
    if (!file) return next();
    ctx.set(SECURITY_HEADERS);
    // Revalidated on every load (cheap: a 304), so a host upgrade shows its new page at once.
    ctx.set('cache-control', 'no-cache');
    ctx.type = file.type;
    ctx.etag = file.etag;
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = file.body;
  };
}
