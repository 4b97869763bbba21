#!/usr/bin/env node
/**
 * @module build
 * Builds a TypeScript (or JavaScript) wafer function into a component of the
 * `wafer:function@1.0.0` world `handler`, or, when the entry's folder holds a `wafer.world` file
 * reading `wasi:http/proxy`, of the standard `wasi:http/proxy` 0.2 world (see below):
 *   1. rolldown bundles the user's entry with the SDK into one ES module (componentize-js takes a
 *      single source); the entry's `handle(req: Request): Response` is wrapped by the SDK's `wrap`
 *      into the ABI export `handle(list<u8>) -> result<list<u8>, string>`;
 *   2. componentize-js (SpiderMonkey/StarlingMonkey, pre-initialised with wizer) makes the component.
 * The engine links WASI (stdio, clocks, random) only when the bundled code mentions a global that
 * needs it: a component without WASI imports instantiates and answers faster (README.md has numbers).
 *
 * The wasi:http world: the entry is bundled as it is (no SDK) and handles requests the web's way,
 * `addEventListener('fetch', (event) => event.respondWith(response))` (StarlingMonkey's fetch
 * event, which implements `wasi:http/incoming-handler`); the component gets every engine feature.
 * The WIT is sdk/wasi-http/wit/, passed inline (see sdk/wasi-http/README.md for its version).
 *
 * CLI:  node sdk/typescript/build.mjs <entry.ts> <out.wasm> [--wasi | --no-wasi] [--world wafer|http]
 * API:  await buildTypeScriptFunction(entry, out, { wasi: 'auto' | true | false, world: 'auto' | 'wafer' | 'http' })
 */
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
/** The SDK's entry point; user code imports it as `@wafer/sdk`. */
const SDK_INDEX = join(HERE, 'src/index.ts');
/** The ABI world, passed as source: componentize-js's WIT reader has no filesystem under preview2-shim >= 0.25. */
const WIT_PATH = join(REPO, 'abi/wit/1.0.0/world.wit');
const WORLD = 'handler';
/** The wasi:http world's WIT folder (world.wit and deps/). */
const HTTP_WIT_DIR = join(REPO, 'sdk/wasi-http/wit');
/** The marker file of a wasi:http function folder, and what it must say. */
export const WORLD_MARKER = 'wafer.world';
const HTTP_WORLD_NAME = 'wasi:http/proxy';
/** StarlingMonkey (componentize-js 0.23) implements the fetch event against this wasi:http release. */
const STARLINGMONKEY_WASI_VERSION = '0.2.10';
const ENTRY_ID = '\0wafer:entry';

/** Every engine feature; `http`/`fetch-event` are never wanted (the host grants no network). */
const ALL_FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'];
/** Features a function with WASI gets: console output, clocks and timers, real randomness. */
const WASI_FEATURES = ['stdio', 'random', 'clocks'];
/**
 * Globals that need WASI in StarlingMonkey. Without it (measured): console output is dropped,
 * Date.now() returns the build time, performance.now() and timers trap, and Math.random()/crypto
 * repeat the same sequence in every instance. Async code without timers works either way.
 */
const WASI_GLOBALS = /\b(console|Date|performance|crypto|Math\s*\.\s*random|setTimeout|setInterval)\b/;

/**
 * Builds `entry` (a module exporting `handle`) into the component file `out`, written atomically.
 * `wasi`: true links stdio/clocks/random, false builds a pure component, 'auto' (default) decides
 * from the bundled code.
 * @returns {Promise<{out: string, size: number, ms: number, wasi: boolean}>}
 */
export async function buildTypeScriptFunction(entry, out, { wasi = 'auto', world = 'auto' } = {}) {
  const started = performance.now();
  entry = resolve(entry);
  out = resolve(out);
  await stat(entry).catch(() => fail(`entry file not found: ${entry}`));
  if (world === 'auto') world = await worldOf(dirname(entry));
  if (world !== 'wafer' && world !== 'http') fail(`unknown world ${JSON.stringify(world)}: wafer or http`);

  const http = world === 'http';
  const code = await bundle(entry, http);
  const useWasi = http || (wasi === 'auto' ? WASI_GLOBALS.test(code) : Boolean(wasi));
  const component = http ? await componentizeHttp(code) : await componentizeSource(code, useWasi);

  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, component);
  await rename(tmp, out);
  return { out, size: component.length, ms: Math.round(performance.now() - started), wasi: useWasi, world };
}

/** `http` when `dir` holds a wafer.world file reading wasi:http/proxy, else `wafer`. */
async function worldOf(dir) {
  const text = await readFile(join(dir, WORLD_MARKER), 'utf8').catch((err) => (err.code === 'ENOENT' ? null : fail(`cannot read ${WORLD_MARKER}: ${err.message}`)));
  if (text === null) return 'wafer';
  const named = text.replace(/#.*$/gm, '').trim();
  if (named === HTTP_WORLD_NAME) return 'http';
  fail(`${join(dir, WORLD_MARKER)} names ${JSON.stringify(named)}; the only world it may name is ${HTTP_WORLD_NAME}`);
}

/**
 * Bundles the entry and the SDK into one ES module whose `handle` is the ABI export; for the
 * wasi:http world, the entry alone, as it is (its exports, if any, and its side effects).
 */
async function bundle(entry, http) {
  const { rolldown } = await import('rolldown');
  const problems = [];
  const build = await rolldown({
    input: ENTRY_ID,
    platform: 'neutral',
    cwd: dirname(entry),
    resolve: {
      alias: { '@wafer/sdk': SDK_INDEX },
      // SDK and user sources import './x.js' for './x.ts' (TypeScript's NodeNext convention).
      extensionAlias: { '.js': ['.ts', '.js'] },
      extensions: ['.ts', '.mts', '.js', '.mjs'],
      // The guest is a browser-like ES module world (StarlingMonkey): no Node built-ins.
      mainFields: ['module', 'main'],
      conditionNames: ['import', 'module', 'browser', 'default'],
    },
    // Libraries branch on this; the guest has no `process`.
    transform: { define: { 'process.env.NODE_ENV': '"production"' } },
    plugins: [
      {
        name: 'wafer-entry',
        resolveId: (id) => (id === ENTRY_ID ? id : null),
        load: (id) =>
          id === ENTRY_ID && http
            ? `export * from ${JSON.stringify(entry)};\n`
            : id === ENTRY_ID
            ? `import { handle as userHandle } from ${JSON.stringify(entry)};\n` +
              `import { wrap } from ${JSON.stringify(SDK_INDEX)};\n` +
              `export const handle = wrap(userHandle);\n`
            : null,
      },
    ],
    onLog(level, log) {
      // Anything unresolved would fail later inside the engine with a far worse message.
      if (level === 'warn' && ['UNRESOLVED_IMPORT', 'MISSING_EXPORT'].includes(log.code)) problems.push(log.message);
      else if (level === 'warn') console.warn(`build: ${log.message}`);
    },
  }).catch((err) => fail(`bundling ${entry} failed:\n${err.message}`));
  try {
    const { output } = await build.generate({ format: 'esm', codeSplitting: false, comments: false });
    if (problems.length) fail(`bundling ${entry} failed:\n  ${problems.join('\n  ')}`);
    return output[0].code;
  } catch (err) {
    fail(err.code === 'WAFER_BUILD' ? err.message : `bundling ${entry} failed:\n${err.message}`);
  } finally {
    await build.close();
  }
}

async function componentizeSource(code, useWasi) {
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const dir = await mkdtemp(join(tmpdir(), 'wafer-ts-'));
  try {
    const sourcePath = join(dir, 'function.js');
    await writeFile(sourcePath, code);
    const { component } = await componentize({
      sourcePath,
      witWorld: await readFile(WIT_PATH, 'utf8'),
      worldName: WORLD,
      disableFeatures: ALL_FEATURES.filter((f) => !(useWasi && WASI_FEATURES.includes(f))),
    });
    return component;
  } catch (err) {
    fail(`componentize-js failed:\n${err.message}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The wasi:http world's WIT as one source: world.wit, then each deps/ package nested in it, every
 * WASI version relabelled to the one StarlingMonkey's fetch event is built against.
 */
async function httpWitSource() {
  const deps = join(HTTP_WIT_DIR, 'deps');
  let source = await readFile(join(HTTP_WIT_DIR, 'world.wit'), 'utf8');
  for (const file of (await readdir(deps)).filter((f) => f.endsWith('.wit')).sort()) {
    const text = await readFile(join(deps, file), 'utf8');
    source += `\n${text.replace(/^package ([^;]+);/m, 'package $1 {')}\n}\n`;
  }
  return source.replace(/(wasi:[a-z-]+(?:\/[a-z-]+)?)@0\.2\.\d+/g, `$1@${STARLINGMONKEY_WASI_VERSION}`).replace(/@since\(version = 0\.2\.\d+\)/g, '@since(version = 0.2.0)');
}

async function componentizeHttp(code) {
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const dir = await mkdtemp(join(tmpdir(), 'wafer-ts-'));
  try {
    const sourcePath = join(dir, 'function.js');
    await writeFile(sourcePath, code);
    const { component } = await componentize({ sourcePath, witWorld: await httpWitSource(), worldName: 'proxy' });
    return component;
  } catch (err) {
    fail(`componentize-js failed:\n${err.message}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fail(message) {
  throw Object.assign(new Error(message), { code: 'WAFER_BUILD' });
}

async function main(argv) {
  argv = [...argv];
  let world = 'auto';
  const w = argv.indexOf('--world');
  if (w >= 0) [, world] = argv.splice(w, 2);
  const flags = argv.filter((a) => a.startsWith('--'));
  const [entry, out, ...extra] = argv.filter((a) => !a.startsWith('--'));
  const unknown = flags.filter((f) => !['--wasi', '--no-wasi'].includes(f));
  if (!entry || !out || extra.length || unknown.length || !['auto', 'wafer', 'http'].includes(world)) {
    console.error('usage: node sdk/typescript/build.mjs <entry.ts> <out.wasm> [--wasi | --no-wasi] [--world wafer|http]');
    process.exit(2);
  }
  const wasi = flags.includes('--wasi') ? true : flags.includes('--no-wasi') ? false : 'auto';
  try {
    const r = await buildTypeScriptFunction(entry, out, { wasi, world });
    const mb = (r.size / 1e6).toFixed(1);
    const shown = relative(process.cwd(), r.out);
    const kind = r.world === 'http' ? 'wasi:http' : r.wasi ? 'wasi' : 'pure';
    console.log(`${shown.startsWith('..') ? r.out : shown}  ${mb} MB  ${kind}  ${(r.ms / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`error: ${err.code === 'WAFER_BUILD' ? err.message : err.stack}`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
