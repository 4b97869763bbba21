/**
 * @module engine/jco/store
 * The jco engine's on-disk cache: a component transpiled once by jco's `transpile` lives under
 * `<cacheDir>/jco/<digest>/` as `fn.mjs` (exposing `instantiate(getCoreModule, imports)`), its
 * core `.wasm` files and a `manifest.json`, so a restart never transpiles it again. A directory
 * appears whole or not at all: it is written into a temporary directory (named after this host,
 * this process and random bytes), every file fsynced, then renamed into place; no file is ever
 * rewritten in place.
 *
 * The manifest binds the directory to one component digest, one jco version and this format,
 * and records the sha256 of every file. The bytes that are used are the bytes that are checked:
 * `fn.mjs` is read and verified once, then imported by the workers from that verified text (a
 * `data:` URL), never from the file; each core module is verified as it is read, right before it
 * is compiled. A directory whose manifest or files do not match is refused (and re-transpiled).
 * The JS stored is jco's output with the lift guard of `lift-guard.ts` spliced in. Transpiling
 * runs in a one-shot child process under the compile limits (`transpiler.ts`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ComponentError } from '../../errors.js';
import { guardHandleLift, UnguardedLiftError } from './lift-guard.js';
import { componentImports, type ImportedInstance } from './component-imports.js';
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
const FORMAT = 3;
const JS_FILE = 'fn.mjs';
const MANIFEST = 'manifest.json';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Temporary directories older than this are leftovers of a crash. */
const STALE_TMP_MS = 10 * 60_000;

/** A transpiled component on disk. */
export interface Artifact {
  digest: string;
  dir: string;
  /** `data:` URL of the verified transpiled JS module, for `import()` in a worker. */
  jsUrl: string;
  /** Core module file names, exactly as the JS asks `getCoreModule` for them. */
  modules: string[];
  /** sha256 hex of every file, from the manifest; `readModule` checks against it. */
  sha256: Record<string, string>;
  /** How many core instances the JS makes of each module (a module's memories exist once per instance). */
  instances: Record<string, number>;
  /** The instances the component imports and what it expects in each (read from its binary); undefined if unknown. */
  imported?: ImportedInstance[];
}

interface Manifest {
  format: number;
  jcoVersion: string;
  digest: string;
  modules: string[];
  imports: string[];
  /** Every imported instance and its items, from the binary (jco's `imports` lists only the used ones). */
  imported?: ImportedInstance[];
  /** sha256 hex of `fn.mjs` and of each core module. */
  sha256: Record<string, string>;
}

/** A cached file whose bytes are not the ones its manifest recorded. */
export class TamperedArtifactError extends Error {}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Core instances per module file, read from the verified JS: jco binds each module once
 * (`const moduleN = getCoreModule('fn.coreN.wasm')`) and instantiates it with
 * `instantiateCore(moduleN, …)` once per core instance. The worker checks the count at run time.
 */
export function instanceCounts(js: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const calls = new Map<string, number>();
  for (const m of js.matchAll(/instantiateCore\((module\d+)\b/g)) calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + 1);
  for (const m of js.matchAll(/const (module\d+) = getCoreModule\('([^']+)'\)/g)) counts[m[2]!] = calls.get(m[1]!) ?? 1;
  return counts;
}

/** The worker imports the verified text itself, so a file swapped after the check is never run. */
function dataUrl(js: Uint8Array): string {
  return `data:text/javascript;base64,${Buffer.from(js.buffer, js.byteOffset, js.byteLength).toString('base64')}`;
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

  /**
   * The cached artifact of `digest`, or undefined when there is none usable: absent, another jco
   * version or format, bound to another digest, or a file whose bytes are not its manifest's.
   * `rejected` hears why a directory that exists was refused.
   */
  async read(digest: string, rejected?: (why: string) => void): Promise<Artifact | undefined> {
    const dir = this.dirOf(digest);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') rejected?.(`unreadable manifest: ${(err as Error).message}`);
      return undefined;
    }
    const refuse = (why: string) => {
      rejected?.(why);
      return undefined;
    };
    if (manifest.format !== FORMAT || manifest.jcoVersion !== JCO_VERSION) return refuse('another format or jco version');
    if (manifest.digest !== digest) return refuse(`bound to another component (${String(manifest.digest).slice(0, 12)})`);
    const hashes = manifest.sha256;
    if (typeof hashes !== 'object' || hashes === null || !Array.isArray(manifest.modules)) return refuse('malformed manifest');
    if (manifest.modules.some((name) => typeof name !== 'string' || !SAFE_NAME.test(name) || typeof hashes[name] !== 'string')) {
      return refuse('malformed manifest');
    }
    let js: Uint8Array;
    try {
      js = await readFile(join(dir, JS_FILE));
      for (const name of manifest.modules) {
        if (sha256(await readFile(join(dir, name))) !== hashes[name]) return refuse(`${name} does not match its manifest`);
      }
    } catch (err) {
      return refuse(`unreadable file: ${(err as Error).message}`);
    }
    if (sha256(js) !== hashes[JS_FILE]) return refuse(`${JS_FILE} does not match its manifest`);
    const imported = Array.isArray(manifest.imported) ? manifest.imported : undefined;
    return this.artifact(digest, manifest.modules, js, hashes, imported);
  }

  /** Removes the cached artifact of `digest`, if any (workers already hold their verified copies). */
  async remove(digest: string): Promise<void> {
    await rm(this.dirOf(digest), { recursive: true, force: true });
  }

  /** Reads one core module of an artifact and checks it against the manifest's sha256. */
  async readModule(artifact: Artifact, name: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(await readFile(join(artifact.dir, name)));
    if (sha256(bytes) !== artifact.sha256[name]) {
      throw new TamperedArtifactError(`cached core module ${name} of ${artifact.digest.slice(0, 12)} does not match its manifest`);
    }
    return bytes;
  }

  /**
   * Transpiles a component and stores the result. Rejects with `invalid_component` when jco
   * cannot transpile it and `abi_mismatch` when it does not export `handle` or exports one of
   * another type.
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
    const raw = result.files['fn.js'];
    if (!raw) throw new ComponentError('invalid_component', 'jco produced no fn.js for the component');
    // handle's result is lifted as strictly as the canonical ABI says (lift-guard.ts).
    // A handle of another type (say `func(u32) -> u32`) has no lift of a result to guard: the
    // guard cannot find it, and that is the component's fault (abi_mismatch, as on wasmtime).
    let guarded: string;
    try {
      guarded = guardHandleLift(Buffer.from(raw).toString('utf8'));
    } catch (err) {
      if (!(err instanceof UnguardedLiftError)) throw err;
      throw new ComponentError('abi_mismatch', `handle is not a func(list<u8>) -> result<list<u8>, string> (${err.message})`, err);
    }
    const js = Buffer.from(guarded, 'utf8');
    const modules = Object.keys(result.files).filter((name) => name.endsWith('.wasm'));
    const asked = [...Buffer.from(js).toString('utf8').matchAll(/getCoreModule\('([^']+)'\)/g)].map((m) => m[1]!);
    if (asked.some((name) => !modules.includes(name)) || modules.some((name) => !SAFE_NAME.test(name))) {
      // Every core module must be a file we can cap; an inlined one would escape the memory quota.
      throw new ComponentError('invalid_component', `unexpected jco output layout (modules ${asked.join(', ')})`);
    }
    const files: [string, Uint8Array][] = [[JS_FILE, js], ...modules.map((name) => [name, result.files[name]!] as [string, Uint8Array])];
    const hashes = Object.fromEntries(files.map(([name, data]) => [name, sha256(data)]));
    const imported = componentImports(bytes);
    const manifest: Manifest = { format: FORMAT, jcoVersion: JCO_VERSION, digest, modules, imports: result.imports, imported, sha256: hashes };
    await this.writeDir(dir, files, manifest);
    return this.artifact(digest, modules, js, hashes, imported);
  }

  private artifact(digest: string, modules: string[], js: Uint8Array, hashes: Record<string, string>, imported?: ImportedInstance[]): Artifact {
    const instances = instanceCounts(Buffer.from(js.buffer, js.byteOffset, js.byteLength).toString('utf8'));
    return { digest, dir: this.dirOf(digest), jsUrl: dataUrl(js), modules, sha256: hashes, instances, imported };
  }

  private dirOf(digest: string): string {
    if (!SAFE_NAME.test(digest) || digest.length > 128) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    return join(this.root, digest);
  }

  /** Writes `files` then the manifest into a temporary directory and renames it to `dir`. */
  private async writeDir(dir: string, files: [string, Uint8Array][], manifest: Manifest): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.sweepStale();
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 32) || 'host';
    const tmp = join(this.root, `.tmp-${manifest.digest.slice(0, 16)}-${host}-${process.pid}-${randomBytes(8).toString('hex')}`);
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
