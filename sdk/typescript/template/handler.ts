/**
 * {{name}} — a wafer function: the host calls `handle` once per HTTP request to
 * /fn/{{name}}[/<rest>]. Build it with `npx wafer build .` and see docs/typescript.md.
 */
import type { Request, Response } from '@wafer/sdk';

export function handle(req: Request): Response {
  const name = req.queryParamText('name') || 'world';
  return {
    status: 200,
    headers: [['content-type', 'text/plain; charset=utf-8']],
    body: `Hello, ${name}!\n`,
  };
}
