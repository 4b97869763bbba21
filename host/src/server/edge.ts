/**
 * @module server/edge
 * The Node HTTP server under the Koa app, with the bounds that belong to the connection rather
 * than to a route: how long headers and a whole request may take to arrive (slowloris, slow
 * bodies), how long an idle keep-alive connection stays, how many connections are held, when a
 * body is invited (`100 Continue`), and JSON answers for requests Koa never sees (timed out or
 * malformed).
 */
import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './errors.js';

export interface EdgeLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** How long a refused connection may drain before it is closed (see server/linger). */
  lingerMs: number;
}

/** Creates the HTTP server for `listener` with the edge limits applied. */
export function createEdgeServer(listener: RequestListener, limits: EdgeLimits): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this period (30 s by default, which would let a
      // 10 s headers timeout run to 40 s): check a few times per headers timeout, at most 1/s.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    listener,
  );
  // With this listener Node no longer answers `Expect: 100-continue` at once: the app does, when
  // it starts reading the body (server/body), so a refused request never has its body invited.
  server.on('checkContinue', listener);
  // Past this, Node closes new connections as they are accepted.
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, limits.lingerMs));
  return server;
}

/**
 * Answers a request that failed below Koa: 408 `request_timeout` when headers or body did not
 * arrive in time, 431 or 400 `invalid_request` when it is not HTTP. Nothing is written when an
 * answer has already started or the client is gone.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, lingerMs: number): void {
  const net = socket as Duplex & { bytesWritten?: number };
  if (err.code === 'ECONNRESET' || !socket.writable || (net.bytesWritten ?? 0) > 0) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'invalid_request', 'the request headers are too large']
        : [400, 'invalid_request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Half-closed: the client reads the answer; whatever it still sends is not waited for long.
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
