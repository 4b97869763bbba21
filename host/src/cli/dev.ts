/**
 * @module cli/dev
 * `wafer dev [dir]`: the inner loop. Builds the function as `wafer build` does, deploys it to the
 * running host, tails its log as `wafer logs -f` does, and on every change to its source
 * (debounced) builds and deploys again. A failed build or a refused deploy prints why and keeps
 * watching, the last good version still serving. Ctrl-C stops it (exit 130).
 */
import { basename, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { NAME_PATTERN } from '../functions/service.js';
import type { LogEntry } from '../functions/logs.js';
import { buildFunction, defaultOut } from './build.js';
import { CLIENT_OPTION_HELP, Client, type ClientOptions } from './client.js';
import { deployFile, deployQuery } from './deploy.js';
import { BuildError, CliError, UnreachableError, UsageError } from './exit.js';
import { interruptSignal } from './interrupt.js';
import { printLine } from './progress.js';
import { detectLanguage, parseLanguage } from './languages.js';
import { followLogs, formatEntry } from './logs.js';

/** Quiet time after the last change before a rebuild starts: an editor's save is often several writes. */
const DEBOUNCE_MS = 200;

/** Folders never watched: dependencies, build outputs, caches and version control (and any dot-folder). */
const IGNORED_DIRS = new Set(['node_modules', 'target', 'dist', '__pycache__', 'venv']);
/** Files the builds themselves write. */
const IGNORED_FILES = new Set(['Cargo.lock', 'go.sum']);

interface DevFlags extends ClientOptions {
  name?: string;
  lang?: string;
  out?: string;
  timeoutMs?: string;
  memoryMb?: string;
  instance?: string;
  json?: boolean;
}

/** What `dev --json` prints, one JSON line each. */
type DevEvent =
  | { event: 'deployed'; name: string; version: number; digest: string; size: number; elapsed_ms: number }
  | { event: 'build_failed' | 'deploy_failed' | 'log_closed'; message: string }
  | { event: 'log'; entry: LogEntry };

/** Whether a path (relative to the function folder) is left unwatched. */
export function isIgnored(path: string): boolean {
  if (path === '') return false;
  const parts = path.split(sep);
  const file = parts.at(-1)!;
  if (parts.some((p) => p.startsWith('.') || IGNORED_DIRS.has(p))) return true;
  // The component and the builds' temporary files beside it (x.wasm.tmp.123, x.wasm.123.tmp).
  return IGNORED_FILES.has(file) || /\.wasm($|\.)/.test(file) || file.endsWith('~') || file.endsWith('.swp');
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('build and deploy a function, tail its log, and build and deploy it again on every change to its source')
    .argument('[dir]', 'the function folder', '.')
    .option('--name <name>', 'function name (default: the folder name)')
    .option('--lang <lang>', 'skip detection: ts, rust, go or python')
    .option('-o, --out <file>', 'where to write the component (default <dir>/<folder name>.wasm)')
    .option('--timeout-ms <ms>', 'time quota per call')
    .option('--memory-mb <mb>', 'memory quota per instance')
    .option('--instance <mode>', 'fresh or reuse (see `wafer deploy --help`)')
    .option('--json', 'print one JSON line per event: {event: "deployed" | "build_failed" | "deploy_failed" | "log_closed" | "log", ...}')
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .addHelpText('after', '\nThe build\'s output goes to stderr; deploys and log entries to stdout. Files under node_modules, target,\ndist, dot-folders and the component itself are not watched.')
    .action(async (dirArg: string, flags: DevFlags) => {
      const dir = resolve(dirArg);
      const lang = flags.lang ? parseLanguage(flags.lang) : detectLanguage(dir);
      const name = flags.name ?? basename(dir);
      if (!NAME_PATTERN.test(name)) throw new UsageError(`${JSON.stringify(name)} is not a function name (a-z, then up to 62 of a-z, 0-9, -): give one with --name`);
      const out = resolve(flags.out ?? defaultOut(dir));
      const client = new Client(flags);
      const signal = interruptSignal();
      const say = (event: DevEvent, text: string) => printLine(flags.json ? JSON.stringify(event) : text);

      // A host that is down or refuses the token is found before a build that may take a minute.
      await client.json('GET', '/v1/functions');
      const logPath = `/v1/functions/${encodeURIComponent(name)}/logs`;
      const newest = await client.json<{ next: string }>('GET', `${logPath}?limit=1`).catch((err: unknown) => {
        if (err instanceof CliError && err.message.startsWith('404 ')) return { next: '0' };
        throw err;
      });
      let cursor = newest.next;
      let following = false;
      const follow = () => {
        following = true;
        const onEntry = (entry: LogEntry) => {
          cursor = String(entry.seq);
          say({ event: 'log', entry }, formatEntry(entry));
        };
        followLogs(client, name, new URLSearchParams({ since: cursor }), onEntry, signal).then(
          (deleted) => {
            following = false;
            if (deleted) cursor = '0';
            if (!signal.aborted) say({ event: 'log_closed', message: deleted ? `${name} was deleted` : 'the host closed the log stream' }, `log: ${deleted ? `${name} was deleted` : 'the host closed the log stream'}; it resumes after the next deploy`);
          },
          (err: Error) => {
            following = false;
            if (!signal.aborted) say({ event: 'log_closed', message: err.message }, `log: ${err.message}; it resumes after the next deploy`);
          },
        );
      };

      let running = false;
      let pending = false;
      let version: number | undefined;
      const cycle = async () => {
        if (running) {
          pending = true;
          return;
        }
        running = true;
        do {
          pending = false;
          const started = Date.now();
          try {
            await buildFunction(dir, { lang, out, signal });
            const fn = await deployFile(client, name, out, deployQuery(flags), undefined, signal);
            version = fn.version;
            const elapsed = Date.now() - started;
            say({ event: 'deployed', ...fn, elapsed_ms: elapsed }, `deployed ${fn.name} version ${fn.version} (${fn.size} bytes) in ${(elapsed / 1000).toFixed(1)} s: ${client.url}/fn/${fn.name}`);
            if (!following) follow();
          } catch (err) {
            if (signal.aborted) break;
            if (!(err instanceof CliError) || err instanceof UsageError) throw err;
            const still = version === undefined ? 'nothing deployed yet' : `still serving version ${version}`;
            const event = err instanceof BuildError ? 'build_failed' : 'deploy_failed';
            const why = err instanceof UnreachableError || err instanceof BuildError ? err.message : `the host refused it: ${err.message}`;
            say({ event, message: err.message }, `${event === 'build_failed' ? 'build failed' : 'deploy failed'}: ${why}; ${still}`);
          }
        } while (pending && !signal.aborted);
        running = false;
      };

      // Loaded here, so the other commands do not load a file watcher.
      const { watch } = await import('chokidar');
      await new Promise<void>((done, fail) => {
        const run = () => cycle().catch((err: unknown) => {
          watcher.close().catch(() => {});
          fail(err);
        });
        let timer: NodeJS.Timeout | undefined;
        const watcher = watch(dir, { ignoreInitial: true, ignored: (path) => isIgnored(relative(dir, path)) });
        watcher.on('all', (_event, path) => {
          if (resolve(path) === out) return;
          clearTimeout(timer);
          timer = setTimeout(run, DEBOUNCE_MS);
        });
        watcher.on('error', (err) => process.stderr.write(`wafer dev: watching: ${(err as Error).message}\n`));
        watcher.on('ready', () => {
          process.stderr.write(`watching ${dir} for changes (Ctrl-C to stop)\n`);
          run();
        });
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          watcher.close().then(() => done(), () => done());
        });
      });
    });
}
