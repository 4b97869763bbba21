#!/usr/bin/env node
/**
 * @module build
 * Builds a Go wafer function into a component of world wafer:function/handler@1.0.0.
 *
 *   node sdk/go/build.mjs <package-dir> <out.wasm>
 *   import { buildGoFunction } from './sdk/go/build.mjs'
 *
 * Steps: `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` (standard Go, a WASI
 * reactor core module); add the adapter's allocator (adapter-realloc.mjs); embed the WIT
 * world with jco's componentEmbed (its CLI `embed --wit` panics; the API works); wrap it
 * with the preview1 reactor adapter (componentNew). wit-component's fixup module calls the
 * core module's `_initialize` when the component is instantiated, so Go's runtime and the
 * package's init functions run before the first `handle`.
 *
 * Modules that require the SDK without a `replace` directive (what `wafer new go` makes) are
 * built in a temporary workspace that uses this SDK folder, unless GOWORK or a go.work
 * already decides.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { componentEmbed, componentNew, preview1AdapterReactorPath } from '@bytecodealliance/jco';
import { addAdapterRealloc } from './adapter-realloc.mjs';

const run = promisify(execFile);

/** The SDK's module path; functions require it. */
export const SDK_MODULE = 'github.com/wafer-dev/wafer/sdk/go';
/** This folder: the SDK module. */
export const SDK_DIR = path.dirname(fileURLToPath(import.meta.url));
const WIT_PATH = path.resolve(SDK_DIR, '../../abi/wit/1.0.0/world.wit');
const WORLD = 'handler';

/**
 * Builds the Go main package in `dir` into the component `out` (written atomically).
 * @param {string} dir folder of the function's main package
 * @param {string} out path of the .wasm component to write
 * @param {{ log?: (line: string) => void, go?: string }} [options] `log` receives progress
 *   lines (default: none); `go` is the Go binary (default: $GO, PATH, /usr/local/go/bin/go)
 * @returns {Promise<{ out: string, size: number, ms: number }>}
 */
export async function buildGoFunction(dir, out, options = {}) {
  const log = options.log ?? (() => {});
  const started = performance.now();
  dir = path.resolve(dir);
  out = path.resolve(out);
  if (!(await isDir(dir))) throw new Error(`${dir}: no such directory`);
  if (!(await readdir(dir)).some((f) => f.endsWith('.go'))) throw new Error(`${dir}: no .go files`);
  const go = options.go ?? findGo();

  const scratch = await mkdtemp(path.join(tmpdir(), 'wafer-go-'));
  try {
    const env = { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm' };
    const workspace = await workspaceFor(dir, go, scratch);
    if (workspace) env.GOWORK = workspace;

    const coreFile = path.join(scratch, 'core.wasm');
    log(`go build ${path.relative(process.cwd(), dir) || '.'} (GOOS=wasip1 GOARCH=wasm, c-shared)`);
    await runGo(go, ['build', '-buildmode=c-shared', '-trimpath', '-o', coreFile, '.'], { cwd: dir, env });

    const core = addAdapterRealloc(await readFile(coreFile));
    const witSource = await readFile(WIT_PATH, 'utf8');
    const embedded = await componentEmbed({ binary: core, witSource, world: WORLD });
    const adapter = await readFile(preview1AdapterReactorPath());
    const component = await componentNew(embedded, [['wasi_snapshot_preview1', adapter]]);

    const tmpOut = `${out}.${process.pid}.tmp`;
    await writeFile(tmpOut, component);
    await rename(tmpOut, out);
    return { out, size: component.length, ms: Math.round(performance.now() - started) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function findGo() {
  if (process.env.GO) return process.env.GO;
  const onPath = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'go'));
  const found = [...onPath, '/usr/local/go/bin/go'].find((p) => existsSync(p));
  if (!found) throw new Error('the Go toolchain was not found: install Go 1.24 or later, or set GO=/path/to/go');
  return found;
}

async function runGo(go, args, opts) {
  try {
    return await run(go, args, { ...opts, maxBuffer: 64 << 20 });
  } catch (err) {
    const detail = (err.stderr || err.stdout || err.message || '').trim();
    throw new Error(`${path.basename(go)} ${args.join(' ')} failed in ${opts.cwd}:\n${detail}`);
  }
}

/**
 * Returns a go.work path that makes the SDK resolvable, or undefined when the module
 * already resolves it (a replace directive, GOWORK, or an existing go.work).
 */
async function workspaceFor(dir, go, scratch) {
  if (process.env.GOWORK) return undefined;
  const root = findUp(dir, 'go.mod');
  if (!root) throw new Error(`${dir}: not inside a Go module (no go.mod found); see sdk/go/README.md`);
  if (findUp(dir, 'go.work')) return undefined;
  const gomod = await readFile(path.join(root, 'go.mod'), 'utf8');
  const mentions = gomod.includes(SDK_MODULE);
  const replaced = new RegExp(`^\\s*(replace\\s+)?${escape(SDK_MODULE)}(\\s+v[^\\s]+)?\\s*=>`, 'm').test(gomod);
  if (!mentions || replaced || root === SDK_DIR) return undefined;
  const { stdout } = await runGo(go, ['env', 'GOVERSION'], { cwd: dir, env: process.env });
  const version = stdout.trim().replace(/^go/, '').split(/[^0-9.]/)[0];
  const file = path.join(scratch, 'go.work');
  await writeFile(file, `go ${version}\n\nuse (\n\t${JSON.stringify(root)}\n\t${JSON.stringify(SDK_DIR)}\n)\n`);
  return file;
}

function findUp(dir, name) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, name))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function isDir(p) {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) {
    console.error('usage: node sdk/go/build.mjs <package-dir> <out.wasm>');
    process.exit(2);
  }
  buildGoFunction(dir, out, { log: (line) => console.error(line) }).then(
    (r) => console.log(`${r.out}  ${r.size} bytes  ${(r.ms / 1000).toFixed(1)} s`),
    (err) => {
      console.error(`error: ${err.message}`);
      process.exit(1);
    },
  );
}
