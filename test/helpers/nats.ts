/**
 * Test helper: a real nats-server with JetStream on a loopback port, with its store in a temporary
 * directory. It can be stopped and started again on the same port and store (the restart tests),
 * and is ready when it answers a client connection with its INFO line.
 *
 *   const nats = await startNats();
 *   ... nats.url (nats://127.0.0.1:PORT) ...
 *   await nats.stop(); await nats.start();   // a restart: same port, same JetStream store
 *   await nats.destroy();
 *
 * The binary comes from scripts/setup.sh (host/src/cluster/nats-bin.ts finds it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerPath } from '../../host/src/cluster/nats-bin.js';

export interface TestNats {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The JetStream store directory (kept across stop/start). */
  storeDir: string;
  /** Everything the server wrote to stdout and stderr. */
  output(): string;
  /** Starts the server (again) on the same port and store; resolves once it accepts clients. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, or the signal given) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server and removes its store. */
  destroy(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when a client connection to the port receives the server's INFO line. */
function answersInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      if (got.startsWith('INFO ')) done(true);
    });
  });
}

export async function startNats(options: { port?: number } = {}): Promise<TestNats> {
  const bin = natsServerPath();
  const port = options.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'wafer-nats-'));
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const nats: TestNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    output: () => log,
    async start() {
      if (child) return;
      const proc = spawn(bin, ['-js', '-sd', storeDir, '-p', String(port), '-a', '127.0.0.1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      let gone = false;
      void exited.then(() => {
        gone = true;
        if (child === proc) child = null;
      });
      const deadline = Date.now() + 15_000;
      while (!gone && Date.now() < deadline) {
        if (log.includes('Server is ready') && (await answersInfo(port))) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      proc.kill('SIGKILL');
      throw new Error(`nats-server did not become ready on port ${port}:\n${log}`);
    },
    async stop(signal = 'SIGTERM') {
      const proc = child;
      if (!proc) return;
      proc.kill(signal);
      await exited;
      child = null;
    },
    async destroy() {
      await nats.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  await nats.start();
  return nats;
}
