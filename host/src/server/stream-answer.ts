/**
 * @module server/stream-answer
 * Sends a streamed answer (`HttpAnswer.stream`, wasi:http on wasmtime): the head at once, then the
 * body as the guest writes it, one batch at a time, asking for the next only once the socket has
 * taken the last (so a slow client holds the guest up, never host memory). With the guest's
 * declared length the answer has a `content-length`; without, it is chunked, and the call's
 * metered duration follows as the trailer `x-wafer-duration-us`.
 *
 * A failure once the head is out (a trap, the deadline, a limit, a body off its declared length)
 * cuts the connection: a chunked answer never gets its last chunk and a sized one falls short, so
 * the client sees an error, never a truncated success. A client that goes away aborts the guest's
 * writes; the body is still read to its end, so the call is metered and logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyStream } from '../executors/index.js';

/** The trailer a chunked streamed answer ends with. */
export const DURATION_TRAILER = 'x-wafer-duration-us';

/** Resolves once `res` can take more (drained) or has closed; rejects when the call fails meanwhile. */
function writable(res: ServerResponse, ended: Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    ended.then((ok) => ok || (done(), reject(new Error('the call failed'))), reject);
  });
}

/**
 * Writes `stream` to `res`, whose status and headers are set; resolves once the call has ended.
 * `durationUs` is read when the body has ended (the pipeline has metered the call by then).
 */
export async function sendStream(res: ServerResponse, stream: BodyStream, durationUs: () => number | undefined): Promise<void> {
  // No body at all for these statuses (Node sends none): no length, no trailer.
  const bodiless = res.statusCode === 204 || res.statusCode === 304;
  const sized = stream.contentLength !== undefined;
  if (bodiless) {
    // nothing to frame
  } else if (sized) res.setHeader('content-length', String(stream.contentLength));
  else res.setHeader('trailer', DURATION_TRAILER);
  res.flushHeaders();
  let gone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    gone = true;
    stream.abort();
  };
  res.on('close', onClose);
  try {
    for (;;) {
      const chunks = await stream.read();
      if (chunks === undefined) break;
      if (gone) continue;
      let full = false;
      for (const chunk of chunks) full = !res.write(chunk) || full;
      if (full && !gone) await writable(res, stream.ended);
    }
    if (gone) return;
    const duration = durationUs();
    if (!sized && !bodiless && duration !== undefined) res.addTrailers({ [DURATION_TRAILER]: String(duration) });
    res.end();
  } catch {
    // Failed after the head: cut the connection. Read on to the end, so the call is metered
    // and logged (what is left is bounded by the engine: stream.ts in the addon).
    res.destroy();
    for (;;) {
      try {
        if ((await stream.read()) === undefined) break;
      } catch {
        break;
      }
    }
  } finally {
    res.off('close', onClose);
  }
}

/**
 * After a streamed answer, the part of the request body the guest never read: discarded, so the
 * connection can serve its next request, up to `maxBytes` (then the connection is closed). How
 * long it may take is the HTTP server's `requestTimeout`, as for any body.
 */
export function discardRest(req: IncomingMessage, maxBytes: number): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) req.socket.destroy();
  });
  req.resume();
}
