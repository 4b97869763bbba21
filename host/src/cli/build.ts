/**
 * @module cli/build
 * `wafer build [dir]`: detects the function's language and runs its SDK's build, which
 * produces the component. On a terminal, a build that takes over a second shows a spinner with
 * the elapsed time and the build's latest output line, and its whole output only if it fails;
 * elsewhere the build's output is passed through to stderr as it comes.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BuildError } from './exit.js';
import { buildCommand, detectLanguage, parseLanguage, type Language } from './languages.js';
import { Progress, type ProgressStream } from './progress.js';

/** The build output kept for a failed build's report: its tail. */
const MAX_KEPT_OUTPUT = 64 * 1024;

export interface BuildOptions {
  /** Skip detection: ts, rust, go or python. */
  lang?: string;
  /** Where to write the component (default <dir>/<folder name>.wasm). */
  out?: string;
  /** Where progress and the build's output go (default process.stderr). */
  stream?: ProgressStream;
  /** Stops the build (the build process is killed). */
  signal?: AbortSignal;
}

/** What `wafer build --json` prints. */
export interface Built {
  dir: string;
  lang: Language;
  out: string;
  size: number;
  elapsed_ms: number;
}

/** The component file a build of `dir` writes unless told otherwise. */
export function defaultOut(dir: string): string {
  return join(dir, `${basename(dir)}.wasm`);
}

/** Builds the function in `dir`; a failing build throws a BuildError (exit 4) after printing its output. */
export async function buildFunction(dirArg: string, options: BuildOptions = {}): Promise<Built> {
  const dir = resolve(dirArg);
  const lang = options.lang ? parseLanguage(options.lang) : detectLanguage(dir);
  const out = resolve(options.out ?? defaultOut(dir));
  const stream = options.stream ?? process.stderr;
  const { command, args } = buildCommand(lang, dir, out);
  const tty = Boolean(stream.isTTY);
  stream.write(`building ${dir} (${lang}) -> ${out}\n`);
  const progress = new Progress(stream);
  progress.wait(`building ${basename(dir)} (${lang})`);
  const started = Date.now();
  let output = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-MAX_KEPT_OUTPUT);
    if (!tty) stream.write(text);
    else progress.note(lastLine(output));
  };
  const code = await new Promise<number | string>((done) => {
    // The build's stdout goes to stderr too: wafer's stdout carries only the result (one JSON document with --json).
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ABORT_ERR') keep(Buffer.from(`cannot run ${command}: ${err.message}\n`));
      done(127);
    });
    child.on('close', (status, signal) => done(status ?? signal ?? 1));
  });
  progress.stop();
  if (options.signal?.aborted) throw new BuildError('the build was interrupted');
  if (code !== 0) {
    if (tty) stream.write(output.endsWith('\n') || output === '' ? output : `${output}\n`);
    throw new BuildError(`the ${lang} build failed (exit ${code}); see its output above`, output);
  }
  const { size } = await stat(out);
  return { dir, lang, out, size, elapsed_ms: Date.now() - started };
}

/** The last non-empty line of `text`, shortened to fit beside the spinner. */
function lastLine(text: string): string {
  const line = text.trimEnd().split('\n').at(-1)?.trim() ?? '';
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the function in a folder into a component (detects Rust, Go, Python or TypeScript)')
    .argument('[dir]', 'the function folder', '.')
    .option('-o, --out <file>', 'where to write the component (default <dir>/<folder name>.wasm)')
    .option('--lang <lang>', 'skip detection: ts, rust, go or python')
    .option('--json', 'print {dir, lang, out, size, elapsed_ms} as JSON')
    .action(async (dirArg: string, flags: { out?: string; lang?: string; json?: boolean }) => {
      const built = await buildFunction(dirArg, flags);
      if (flags.json) console.log(JSON.stringify(built, null, 2));
      else console.log(`${built.out} ${built.size} bytes (${built.lang}, ${(built.elapsed_ms / 1000).toFixed(1)} s)`);
    });
}
