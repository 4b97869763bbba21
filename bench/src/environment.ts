/**
 * @module bench/environment
 * What the numbers were measured on: CPU, cores, memory, load, Node, the engines and the
 * packages, the commit, the options, and what this machine lacks (languages not built, the
 * addon, a `wasmtime` binary for the `wasmtime serve` peer, filled in by peer.ts).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import { ROOT } from '../../host/src/paths.js';
import { WAFER_VERSION } from '../../host/src/version.js';

const PACKAGES = ['koa', '@koa/router', 'autocannon', '@bytecodealliance/jco', '@bytecodealliance/componentize-js', '@bytecodealliance/preview2-shim', 'protobufjs', 'lru-cache', 'pino'];

export interface Environment {
  date: string;
  command: string;
  cpu: string;
  cores: number;
  memory_gib: number;
  load_average_start: number[];
  load_average_end?: number[];
  os: string;
  node: string;
  uv_threadpool_size: string;
  wafer: string;
  commit: string | null;
  engines: Partial<Record<EngineName, string>>;
  packages: Record<string, string>;
  languages: string[];
  /** The `wasmtime` CLI the `peer` scenario races (path, version, where found), or null (peer.ts). */
  wasmtime_cli: string | null;
  options: Record<string, unknown>;
  skipped: { scenario: string; language?: string; engine?: string; reason: string }[];
  duration_s?: number;
}

/** The wasmtime addon's version, or why it cannot load. */
export async function wasmtimeVersion(): Promise<{ version?: string; error?: string }> {
  try {
    const { loadAddon } = await import('../../host/src/engine/wasmtime/native.js');
    return { version: `wasmtime ${loadAddon().version()}` };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function packageVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The first executable named `name` on PATH, if any. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

export function collectEnvironment(input: {
  command: string;
  engines: Partial<Record<EngineName, string>>;
  languages: string[];
  options: Record<string, unknown>;
}): Environment {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) {
    const v = packageVersion(name);
    if (v) packages[name] = v;
  }
  return {
    date: new Date().toISOString(),
    command: input.command,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    load_average_start: loadavg().map((x) => Math.round(x * 100) / 100),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? 'default (4)',
    wafer: WAFER_VERSION,
    commit: gitCommit(),
    engines: input.engines,
    packages,
    languages: input.languages,
    wasmtime_cli: null,
    options: input.options,
    skipped: [],
  };
}
