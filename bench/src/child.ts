/**
 * @module bench/child
 * The entry of a server process the bench starts: a whole wafer host (`startHost`) or the Koa
 * baseline, so the server under test never shares an event loop or a CPU queue slot with the
 * client measuring it. Talks to the bench over the IPC channel: `listening` once serving,
 * `rss` on request, and `close` to stop. See servers.ts for the other side.
 */
import { loadConfig, type ConfigInput } from '../../host/src/config.js';
import { silentLogger } from '../../host/src/logger.js';
import { startHost } from '../../host/src/server/host.js';
import { startKoaBaseline } from './koa-baseline.js';

/** What the bench asks the child to start (passed as JSON in argv[2]). */
export type ChildSpec = { kind: 'host'; config: ConfigInput } | { kind: 'koa' };

/** Messages from the child. */
export type ChildMessage =
  | { type: 'listening'; url: string; readyMs: number }
  | { type: 'rss'; id: number; rss: number; heapUsed: number; external: number }
  | { type: 'error'; message: string };

/** Messages to the child. */
export type ParentMessage = { type: 'rss'; id: number } | { type: 'close' };

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  let close: () => Promise<void>;
  let url: string;
  if (spec.kind === 'host') {
    // Only the given settings: the bench must not pick up WAFER_* variables from its shell.
    const host = await startHost(loadConfig(spec.config, {}), silentLogger);
    url = host.url;
    close = host.close;
  } else {
    const koa = await startKoaBaseline();
    url = koa.url;
    close = async () => {
      koa.server.closeAllConnections();
      await new Promise<void>((resolve) => koa.server.close(() => resolve()));
    };
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'rss') {
      const m = process.memoryUsage();
      send({ type: 'rss', id: message.id, rss: m.rss, heapUsed: m.heapUsed, external: m.external });
    } else if (message.type === 'close') {
      void close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'listening', url, readyMs: performance.now() });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
