/**
 * @module engine/jco/store
 * The jco engine's on-disk cache: a component transpiled once by jco's `transpile` lives under
 * `<cacheDir>/jco/<digest>/` as `fn.mjs` (exposing `instantiate(getCoreModule, imports)`), its
 * core `.wasm` files and a `manifest.json`, so a restart never transpiles it again. A directory
 * appears whole or not at all: it is written into a temporary directory, every file fsynced,
 * then renamed into place. Transpiling runs in a one-shot child process under the compile limits
 * (`transpiler.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { ComponentError } from '../../errors.js';
import { TranspileLimitError, transpileInChild, type TranspileLimits } from './transpiler.js';

/** jco's version, read from its package.json (its `exports` map hides the file from `import`). */
export const JCO_VERSION: string = (() => {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@bytecodealliance/jco'));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@bytecodealliance/jco' && pkg.version) return pkg.version;
    } catch {
      // not this directory
    }
  }
  return 'unknown';
})();

/** Bumped when the layout or the transpile options change, so old entries are redone. */
const FORMAT = 1;
const JS_FILE = 'fn.mjs';
const MANIFEST = 'manifest.json';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Temporary directories older than this are leftovers of a crash. */
const STALE_TMP_MS = 10 * 60_000;

/** A transpiled component on disk. */
export interface Artifact {
  digest: string;
  dir: string;
  /** file: URL of the transpiled JS module, for `import()` in a worker. */
  jsUrl: string;
  /** Core module file names, exactly as the JS asks `getCoreModule` for them. */
  modules: string[];
}

interface Manifest {
  format: number;
  jcoVersion: string;
  digest: string;
  modules: string[];
  imports: string[];
}

/** Why transpiles were stopped, for `stats()`. */
export interface TranspileStats {
  compileTimeouts: number;
  compileMemoryKills: number;
}

export class ArtifactStore {
  private readonly root: string;
  private swept = false;
  private readonly counters: TranspileStats = { compileTimeouts: 0, compileMemoryKills: 0 };

  constructor(
    cacheDir: string,
    private readonly limits: TranspileLimits,
  ) {
    this.root = join(cacheDir, 'jco');
  }

  stats(): TranspileStats {
    return { ...this.counters };
  }

  /** The cached artifact of `digest`, or undefined when there is none usable (absent, other jco version). */
  async read(digest: string): Promise<Artifact | undefined> {
    const dir = this.dirOf(digest);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
    if (manifest.format !== FORMAT || manifest.jcoVersion !== JCO_VERSION || manifest.digest !== digest) return undefined;
    return this.artifact(digest, manifest.modules);
  }

  /** Removes the cached artifact of `digest`, if any. */
  async remove(digest: string): Promise<void> {
    await rm(this.dirOf(digest), { recursive: true, force: true });
  }

  /** Reads one core module of an artifact. */
  async readModule(artifact: Artifact, name: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(artifact.dir, name)));
  }

  /**
   * Transpiles a component and stores the result. Rejects with `invalid_component` when jco
   * cannot transpile it and `abi_mismatch` when it does not export `handle`.
   */
  async transpileAndStore(digest: string, bytes: Uint8Array): Promise<Artifact> {
    const dir = this.dirOf(digest);
    const result = await transpileInChild(bytes, this.limits).catch((err: unknown) => {
      if (err instanceof TranspileLimitError) this.counters[err.limit === 'time' ? 'compileTimeouts' : 'compileMemoryKills']++;
      throw err;
    });
    if (!result.exports.some(([name, kind]) => name === 'handle' && kind === 'function')) {
      const found = result.exports.map(([name]) => name).join(', ') || 'nothing';
      throw new ComponentError('abi_mismatch', `the component does not export a handle function (it exports ${found})`);
    }
    const js = result.files['fn.js'];
    if (!js) throw new ComponentError('invalid_component', 'jco produced no fn.js for the component');
    const modules = Object.keys(result.files).filter((name) => name.endsWith('.wasm'));
    const asked = [...Buffer.from(js).toString('utf8').matchAll(/getCoreModule\('([^']+)'\)/g)].map((m) => m[1]!);
    if (asked.some((name) => !modules.includes(name)) || modules.some((name) => !SAFE_NAME.test(name))) {
      // Every core module must be a file we can cap; an inlined one would escape the memory quota.
      throw new ComponentError('invalid_component', `unexpected jco output layout (modules ${asked.join(', ')})`);
    }
    const manifest: Manifest = { format: FORMAT, jcoVersion: JCO_VERSION, digest, modules, imports: result.imports };
    const files: [string, Uint8Array][] = [[JS_FILE, js], ...modules.map((name) => [name, result.files[name]!] as [string, Uint8Array])];
    await this.writeDir(dir, files, manifest);
    return this.artifact(digest, modules);
  }

  private artifact(digest: string, modules: string[]): Artifact {
    const dir = this.dirOf(digest);
    return { digest, dir, jsUrl: pathToFileURL(join(dir, JS_FILE)).href, modules };
  }

  private dirOf(digest: string): string {
    if (!SAFE_NAME.test(digest) || digest.length > 128) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    return join(this.root, digest);
  }

  /** Writes `files` then the manifest into a temporary directory and renames it to `dir`. */
  private async writeDir(dir: string, files: [string, Uint8Array][], manifest: Manifest): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.sweepStale();
    const tmp = join(this.root, `.tmp-${manifest.digest.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
    try {
      for (const [name, data] of files) await writeSynced(join(tmp, name), data);
      await writeSynced(join(tmp, MANIFEST), Buffer.from(JSON.stringify(manifest, null, 2)));
      await syncDir(tmp);
      try {
        await rename(tmp, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another writer won the race, or an entry of another jco version is in the way.
        if (await this.read(manifest.digest)) return;
        const old = `${tmp}.old`;
        await rename(dir, old);
        await rename(tmp, dir);
        await rm(old, { recursive: true, force: true });
      }
      await syncDir(this.root);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Removes temporary directories a crash left behind, once per process. */
  private async sweepStale(): Promise<void> {
    if (this.swept) return;
    this.swept = true;
    for (const name of await readdir(this.root)) {
      if (!name.startsWith('.tmp-')) continue;
      const path = join(this.root, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(path, { recursive: true, force: true });
    }
  }
}

async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
