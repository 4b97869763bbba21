/**
 * @module server/body
 * Reads a request body with a size limit checked while it streams, so an oversized body is
 * refused with `payload_too_large` without ever being buffered whole. How long a body may take
 * is the HTTP server's `requestTimeout` (server/edge).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, WaferError } from '../errors.js';

/** The request and its response, as Koa's context carries them. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Refuses at once when the declared Content-Length is over the limit. */
export function checkDeclaredLength(req: IncomingMessage, maxBytes: number, what: string): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new InvalidInputError('payload_too_large', `the ${what} is ${declared} bytes, over the limit of ${maxBytes} bytes`);
  }
}

/**
 * Yields the body's chunks, throwing `payload_too_large` as soon as more than `maxBytes` arrive.
 * Stopping early leaves the request open (not destroyed): destroying an unfinished request
 * destroys its socket at once, before the 413 is written (see server/linger).
 */
export async function* limitedBody(http: Exchange, maxBytes: number, what: string): AsyncGenerator<Uint8Array> {
  const { req, res } = http;
  checkDeclaredLength(req, maxBytes, what);
  // The client waits for an invitation (`Expect: 100-continue`, see server/edge): give it only
  // now, after the name, the token, the slot and the declared size were all checked.
  if (req.headers.expect?.toLowerCase() === '100-continue' && !res.headersSent) res.writeContinue();
  let size = 0;
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new InvalidInputError('payload_too_large', `the ${what} is over the limit of ${maxBytes} bytes`);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof WaferError) throw err;
    // The client went away or the server cut a slow request off: nobody is left to answer.
    throw new InvalidInputError('invalid_request', `the ${what} could not be read whole: ${(err as Error).message}`);
  }
}

/** Reads the whole body (under the limit) into one buffer. */
export async function readBody(http: Exchange, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of limitedBody(http, maxBytes, what)) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Reads a JSON body (under the limit); `invalid_request` when it is not JSON. */
export async function readJson(http: Exchange, maxBytes: number, what: string): Promise<unknown> {
  const text = (await readBody(http, maxBytes, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the body back.
    throw new InvalidInputError('invalid_request', `the ${what} is not valid JSON`);
  }
}
