/**
 * @module paths
 * Where the repository's own files are, found from this module's location so the same code
 * works from the TypeScript sources (vitest) and from the compiled `dist/` tree.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'abi', 'wit'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`wafer: cannot find the repository root above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The repository (or installed package) root: the folder holding abi/, samples/, host/. */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const PROTO_PATH = join(ROOT, 'abi', 'proto', 'wafer', 'v1', 'envelope.proto');
export const WIT_PATH = join(ROOT, 'abi', 'wit', '1.0.0', 'world.wit');
export const SAMPLES_DIST = join(ROOT, 'samples', 'dist');
/** Where `wafer bench` writes its run folders by default, and the dashboard reads the newest. */
export const BENCH_RESULTS = join(ROOT, 'bench', 'results');
