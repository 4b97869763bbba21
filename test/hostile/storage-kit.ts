/**
 * Helpers for the storage and crash tests: a real `wafer serve` child process (so a test can
 * kill it, limit its file descriptors or file size, or give it a tiny filesystem), a slow
 * chunked upload over `node:http`, and distinct components made by appending a custom section.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import { ROOT } from '../../host/src/paths.js';

const TOKEN = 'storage-test-token';

/** Newest mtime of any file under `dir` with one of the extensions. */
function newest(dir: string, exts: string[]): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(path, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) max = Math.max(max, statSync(path).mtimeMs);
  }
  return max;
}

function builtAt(): number {
  try {
    return statSync(join(ROOT, 'dist', 'host', 'src', 'cli', 'main.js')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Builds dist/ (what `bin/wafer.js` runs) when any host source is newer than it. A lock
 * directory keeps two test files from building at once (vitest runs two in parallel).
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(ROOT, '.wafer-test-build.lock');
  const stale = () => builtAt() < newest(join(ROOT, 'host', 'src'), ['.ts', '.js']);
  if (!stale()) return;
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 120_000) throw new Error(`${lock} is held for two minutes; remove it if no build runs`);
      await sleep(200);
    }
  }
  try {
    if (stale()) {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], {
        stdio: 'inherit',
      });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface ChildHost {
  url: string;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal when the child ends. */
  exited: Promise<string>;
  api(method: string, path: string, body?: Uint8Array): Promise<Response>;
  call(name: string): Promise<Response>;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export interface ChildOptions {
  dataDir: string;
  cacheDir: string;
  engine: EngineName;
  args?: string[];
}

/** Starts `node bin/wafer.js serve` on an ephemeral port and waits until it listens. */
export async function startChild(options: ChildOptions): Promise<ChildHost> {
  const args = [
    join(ROOT, 'bin', 'wafer.js'),
    'serve',
    '--port', '0',
    '--data-dir', options.dataDir,
    '--cache-dir', options.cacheDir,
    '--engine', options.engine,
    '--no-samples',
    '--log-level', 'warn',
    ...(options.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { env: { ...process.env, WAFER_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<string>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? String(code))));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child host did not start:\n${text}`)), 90_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+) with/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`child host exited (${how}) before listening:\n${text}`));
    });
  });
  const auth = { authorization: `Bearer ${TOKEN}` };
  return {
    url,
    token: TOKEN,
    dataDir: options.dataDir,
    proc,
    pid: proc.pid!,
    output: () => text,
    exited,
    api: (method, path, body) => fetch(`${url}${path}`, { method, body, headers: { ...auth, 'content-type': 'application/wasm' } }),
    call: (name) => fetch(`${url}/fn/${name}`),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface StreamedAnswer {
  status: number;
  body: string;
}

export interface StreamOptions {
  /** Bytes per chunk. */
  chunkBytes: number;
  /** Chunks to send at most (the upload ends after them unless the host answered first). */
  chunks: number;
  /** Pause between chunks. */
  intervalMs: number;
  /** Called once the first chunk is on the wire (the host has accepted the connection). */
  onStarted?: () => Promise<void> | void;
}

/**
 * A slow chunked PUT: sends `chunks` chunks `intervalMs` apart and resolves with the host's
 * answer, which may arrive before the upload ends (it stops sending then). Rejects only when
 * the connection breaks without an answer.
 */
export function streamPut(host: ChildHost, path: string, options: StreamOptions): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(`${host.url}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/wasm', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    void (async () => {
      const chunk = Buffer.alloc(options.chunkBytes, 0x61);
      for (let i = 0; i < options.chunks && !answered; i++) {
        req.write(chunk);
        if (i === 0) await options.onStarted?.();
        await new Promise((r) => setTimeout(r, options.intervalMs));
      }
      if (!answered) req.end();
    })().catch(reject);
  });
}

/** The `code` of a JSON error body, or the body itself when it is not one. */
export function codeOf(answer: StreamedAnswer): string {
  try {
    return (JSON.parse(answer.body) as { error: { code: string } }).error.code;
  } catch {
    return `not a JSON error: ${answer.body}`;
  }
}

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** `base` with a custom section appended: the same behaviour, a different digest. */
export function variant(base: Uint8Array, tag: string): Uint8Array {
  const name = Buffer.from('wafer-test');
  const data = Buffer.from(tag);
  const payload = [...leb128(name.length), ...name, ...data];
  return Buffer.concat([Buffer.from(base), Buffer.from([0, ...leb128(payload.length), ...payload])]);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Files directly in `dir` (none when it does not exist). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Names of blobs whose bytes do not hash to their name. */
export async function corruptBlobs(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'blobs', 'sha256');
  const bad: string[] = [];
  for (const name of await filesIn(dir)) if (sha256(await readFile(join(dir, name))) !== name) bad.push(name);
  return bad;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
