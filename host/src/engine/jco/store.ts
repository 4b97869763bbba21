/**
 * @module engine/jco/store
 * The jco engine's on-disk cache: a component transpiled once by jco's `transpile` lives under
 * `<cacheDir>/jco/<digest>/` as `fn.mjs` (exposing `instantiate(getCoreModule, imports)`), its
 * core `.wasm` files and a `manifest.json`, so a restart never transpiles it again. A directory
 * appears whole or not at all: it is written into a temporary directory, every file fsynced,
 * then renamed into place. Transpiling runs in a one-shot worker under a timeout and a heap limit.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ComponentError } from '../../errors.js';

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

/** Bounds on one transpile (the host's compileTimeoutMs and compileMemoryBytes). */
export interface TranspileLimits {
  timeoutMs: number;
  memoryBytes: number;
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
    const result = await transpileInWorker(bytes, this.limits).catch((err: unknown) => {
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

/** What jco's `transpile` answers. */
interface TranspileResult {
  files: Record<string, Uint8Array>;
  imports: string[];
  exports: [string, 'function' | 'instance'][];
}

const TRANSPILE_WORKER_URL = new URL('./transpile-worker.js', import.meta.url);
/** `instantiate(getCoreModule, imports)` output, no TypeScript, every core module a separate file. */
const TRANSPILE_OPTIONS = {
  name: 'fn',
  instantiation: 'sync',
  nodejsCompat: false,
  tlaCompat: false,
  base64Cutoff: 0,
  quiet: true,
  emitTypescriptDeclarations: false, // jco-transpile's spelling; jco passes options through
};

/** A transpile stopped by its time or memory limit; the upload is refused as `invalid_component`. */
class TranspileLimitError extends ComponentError {
  constructor(
    readonly limit: 'time' | 'memory',
    message: string,
  ) {
    super('invalid_component', message);
  }
}

const MiB = 1024 * 1024;
/**
 * Starting the worker and loading jco is the host's own work, not the component's: it is bounded
 * apart from the compile timeout, generously, since a cold start on a busy machine takes seconds.
 */
const WORKER_START_TIMEOUT_MS = 30_000;

/**
 * Runs jco's `transpile` in a one-shot worker so its seconds of synchronous work never block calls.
 * The worker is terminated when the transpile runs past `limits.timeoutMs`; its JS heap is capped at `limits.memoryBytes`
 * (jco's own wasm memory lives outside the heap and is bounded only by the upload size).
 */
function transpileInWorker(bytes: Uint8Array, limits: TranspileLimits): Promise<TranspileResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(TRANSPILE_WORKER_URL, {
      workerData: { bytes, options: TRANSPILE_OPTIONS },
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(limits.memoryBytes / MiB)) },
    });
    worker.stdout.resume(); // jco's console chatter is dropped
    worker.stderr.resume();
    let settled = false;
    const settle = (err: Error | undefined, result?: TranspileResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate(); // the shim's I/O thread would keep it alive
      if (err) reject(err);
      else resolve(result!);
    };
    let timer = setTimeout(() => {
      settle(new Error(`the jco transpile worker did not start within ${WORKER_START_TIMEOUT_MS} ms`));
    }, WORKER_START_TIMEOUT_MS);
    worker.on('message', (msg: { started: true } | ({ ok: true } & TranspileResult) | { ok: false; message: string }) => {
      if ('started' in msg) {
        clearTimeout(timer);
        timer = setTimeout(() => {
          settle(new TranspileLimitError('time', `transpiling the component took longer than ${limits.timeoutMs} ms (the host's compile timeout)`));
        }, limits.timeoutMs);
      } else if (msg.ok) settle(undefined, msg);
      else settle(new ComponentError('invalid_component', `jco could not transpile the component: ${msg.message.split('\n')[0]}`));
    });
    worker.once('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        settle(
          new TranspileLimitError(
            'memory',
            `transpiling the component needed more than ${Math.round(limits.memoryBytes / MiB)} MiB (the host's compile memory ceiling)`,
          ),
        );
      } else {
        settle(new ComponentError('invalid_component', `jco could not transpile the component: ${err.message}`, err));
      }
    });
    worker.once('exit', (code) => {
      settle(new Error(`the jco transpile worker exited (code ${code}) without an answer`));
    });
  });
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
