/**
 * @module server/linger
 * Closes a connection whose request the host answered before reading it whole (413, 404, 401,
 * 503) without losing the answer. Closing a socket that still has unread bytes makes the kernel
 * send a reset, and a client still writing its body then sees "connection reset" or EPIPE
 * instead of the answer. So the answer says `Connection: close`, the host half-closes after
 * writing it, then reads and discards what the client still sends until the client stops, or
 * `ms` pass, or `bytes` arrive, and only then closes: a lingering close, bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface LingerBounds {
  /** Longest time to keep draining after the answer. */
  ms: number;
  /** Most bytes to discard after the answer. */
  bytes: number;
}

/** Marks `res` as the connection's last answer and drains `req`'s unread body when it is sent. */
export function lingerAfterAnswer(req: IncomingMessage, res: ServerResponse, bounds: LingerBounds): void {
  const socket = req.socket;
  if (socket.destroyed || res.headersSent) return;
  res.setHeader('Connection', 'close');
  let discarded = 0;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  // Node pulls an unread body off the wire only for a body nobody started reading; a body read
  // in part stays paused, and its bytes would be the ones that cause the reset.
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bounds.bytes) close();
  });
  req.on('error', () => close());
  req.resume();
  // Once the answer is written, Node closes a `Connection: close` socket with destroySoon(): end
  // it there (FIN after the answer) but destroy it only once the answer is flushed and the client
  // has sent its whole request or closed its side, or the bounds pass.
  socket.destroySoon = () => {
    socket.end();
    timer = setTimeout(close, bounds.ms);
    timer.unref();
    let flushed = false;
    let drained = req.complete;
    const settle = () => {
      if (flushed && drained) close();
    };
    socket.once('finish', () => ((flushed = true), settle()));
    req.once('end', () => ((drained = true), settle()));
    socket.once('end', close);
  };
}
