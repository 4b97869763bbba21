/**
 * `wafer build` and `wafer dev` on a TypeScript function as a user runs them: real `wafer`
 * processes, a real host over HTTP. The build shows its progress on a terminal (a pseudo-terminal
 * from util-linux's `script`) and none without one; `dev` builds, deploys, tails the log, and on an
 * edit builds and deploys again, until Ctrl-C. The CLI does not depend on the engine, so one is
 * enough; a TypeScript build takes 10-20 s, so the file runs three.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isIgnored } from '../../host/src/cli/dev.js';
import { WAFER, wafer } from '../helpers/cli.js';
import { startTestHost, type TestHost } from '../helpers/host.js';

const ESC = '\x1b';

/** Runs a shell command line in a pseudo-terminal; resolves with what it wrote there. */
function inTerminal(command: string): Promise<{ code: number; screen: string }> {
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code) : 0, screen: stdout });
    });
  });
}

describe('wafer dev watches', () => {
  it('the source, not dependencies, build outputs, dot-folders or what the builds write', () => {
    for (const path of ['handler.ts', 'src/lib.rs', 'app.py', 'lib/util.ts', 'go.mod', 'Cargo.toml']) expect(isIgnored(path), path).toBe(false);
    for (const path of ['node_modules/x/index.js', 'target/release/x', '.git/HEAD', '.venv/lib/x.py', 'dist/x.js', '__pycache__/app.pyc', 'greet.wasm', 'greet.wasm.123.tmp', 'greet.wasm.tmp.99', 'Cargo.lock', 'go.sum', 'handler.ts~', '.handler.ts.swp']) {
      expect(isIgnored(join(...path.split('/'))), path).toBe(true);
    }
  });
});

describe('wafer build and wafer dev (TypeScript)', () => {
  let host: TestHost;
  let dir: string;
  let fn: string;
  let dev: ChildProcess | undefined;

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    dir = await mkdtemp(join(tmpdir(), 'wafer-cli-dev-'));
    fn = join(dir, 'dev-fn');
    const made = await wafer(['new', 'ts', 'dev-fn', '--dir', fn]);
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(async () => {
    dev?.kill('SIGKILL');
    await host?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('build shows a spinner with the elapsed time on a terminal, and prints {dir, lang, out, size, elapsed_ms} with --json', async () => {
    const json = join(dir, 'built.json');
    const { code, screen } = await inTerminal(`'${process.execPath}' '${WAFER}' build '${fn}' --json > '${json}'`);
    expect(code, screen).toBe(0);
    expect(screen).toContain(`building ${fn} (ts) -> ${join(fn, 'dev-fn.wasm')}`);
    expect(screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] building dev-fn \(ts\) \d+\.\d s/);
    const built = JSON.parse(await readFile(json, 'utf8'));
    expect(built).toEqual({ dir: fn, lang: 'ts', out: join(fn, 'dev-fn.wasm'), size: expect.any(Number), elapsed_ms: expect.any(Number) });
  }, 120_000);

  it('dev deploys, serves each edit after rebuilding it, tails the log, and stops on Ctrl-C with 130; no progress drawn without a terminal', async () => {
    const child = spawn(process.execPath, [WAFER, 'dev', fn, '--json'], {
      env: { ...process.env, WAFER_URL: host.url, WAFER_TOKEN: host.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev = child;
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const events: Array<Record<string, any>> = [];
    let stdout = '';
    let stderr = '';
    const waiters: Array<() => void> = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      for (const line of lines) events.push(JSON.parse(line));
      waiters.splice(0).forEach((wake) => wake());
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    /** Resolves with the first event that matches, waiting for more output as needed. */
    const event = async (match: (e: Record<string, any>) => boolean) => {
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`wafer dev exited ${child.exitCode}: ${stderr}`);
        await new Promise<void>((wake) => waiters.push(wake));
      }
    };

    const first = await event((e) => e.event === 'deployed');
    expect(first).toMatchObject({ name: 'dev-fn', version: 1, digest: expect.stringMatching(/^sha256:/), size: expect.any(Number) });
    expect(await (await host.call('dev-fn', '?name=Ada')).text()).toBe('Hello, Ada!\n');

    const source = join(fn, 'handler.ts');
    const text = await readFile(source, 'utf8');
    await writeFile(source, text.replace('export function handle(req: Request): Response {', "export function handle(req: Request): Response {\n  console.log('dev saw ' + req.queryParamText('name'));").replace('Hello, ', 'Hi, '));
    await event((e) => e.event === 'deployed' && e.version === 2);
    expect(await (await host.call('dev-fn', '?name=Bo')).text()).toBe('Hi, Bo!\n');
    const logged = await event((e) => e.event === 'log');
    expect(logged.entry).toMatchObject({ version: 2, status: 200, stdout: 'dev saw Bo\n' });

    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain(`watching ${fn} for changes`);
    expect(stderr).toContain(`building ${fn} (ts)`);
    expect(stderr).not.toContain(ESC);
  }, 240_000);
});
