/**
 * @module server/body
 * Reads a request body with a size limit checked while it streams, so an oversized body is
 * refused with `payload_too_large` without ever being buffered whole. How long a body may take
 * is the HTTP server's `requestTimeout` (server/edge).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
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

/**
 * Reads the whole body (under the limit) into one buffer. A small request usually arrives whole
 * with its headers: by the time the invoke route asks for it, Node has parsed all of it into the
 * request's buffer (`req.complete`), and it is taken from there at once, with the same checks,
 * instead of through the stream's async iterator (several promise hops per request).
 */
export function readBody(http: Exchange, maxBytes: number, what: string): Buffer | Promise<Buffer> {
  return takeComplete(http, maxBytes, what) ?? readStreamed(http, maxBytes, what);
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

/**
 * The rest of the body as it streams in: `limitedBody`'s checks and errors, on the stream's own
 * events rather than its async iterator (one promise per body, not several per chunk). `finished`
 * (what the iterator itself uses) settles it on the end, an error or a premature close, also for
 * a request that ended or closed before this was called: a client that hung up while its call
 * waited in the queue. Stopping early (over the limit) leaves the request paused and open, as
 * `limitedBody` does.
 */
function readStreamed(http: Exchange, maxBytes: number, what: string): Promise<Buffer> {
  const { req, res } = http;
  checkDeclaredLength(req, maxBytes, what);
  if (req.headers.expect?.toLowerCase() === '100-continue' && !res.headersSent) res.writeContinue();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stop();
      req.off('data', onData);
      req.pause();
      reject(new InvalidInputError('payload_too_large', `the ${what} is over the limit of ${maxBytes} bytes`));
    };
    const stop = finished(req, { writable: false }, (err) => {
      stop();
      req.off('data', onData);
      // The client went away or the server cut a slow request off: nobody is left to answer.
      if (err) reject(new InvalidInputError('invalid_request', `the ${what} could not be read whole: ${err.message}`));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('data', onData);
  });
}

/**
 * The body of a request Node has already parsed whole and nobody has read from, or undefined:
 * the message is complete, or its declared `Content-Length` bytes (no `Transfer-Encoding`) are
 * all in the request's buffer (Node marks the message complete a moment later).
 */
export function takeComplete(http: Exchange, maxBytes: number, what: string): Buffer | undefined {
  const { req, res } = http;
  // Flowing (or ever read from), destroyed or errored: leave it to the stream path.
  if (req.destroyed || req.readableFlowing !== null || req.readableDidRead || req.errored) return undefined;
  if (!req.complete) {
    const declared = req.headers['content-length'];
    if (declared === undefined || req.headers['transfer-encoding'] !== undefined || Number(declared) !== req.readableLength) return undefined;
  }
  checkDeclaredLength(req, maxBytes, what);
  if (req.headers.expect?.toLowerCase() === '100-continue' && !res.headersSent) res.writeContinue();
  // Not flowing, so read() hands over everything buffered as one chunk; null when the body is empty.
  const body = req.read() as Buffer | null;
  if (body === null) return EMPTY_BODY;
  if (body.length > maxBytes) throw new InvalidInputError('payload_too_large', `the ${what} is over the limit of ${maxBytes} bytes`);
  return body;
}

const EMPTY_BODY = Buffer.alloc(0);
