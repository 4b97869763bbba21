/**
 * The CLI's exit codes (host/src/cli/exit.ts), one table for every command and printed in every
 * --help: 0 ok, 1 the host answered an error, 2 usage error, 3 cannot reach the host, 4 the build
 * failed, 130 interrupted. Real `wafer` processes against a real host over HTTP.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { WAFER, wafer } from '../helpers/cli.js';
import { sample, startTestHost, type TestHost } from '../helpers/host.js';

const COMMANDS = ['serve', 'deploy', 'invoke', 'ls', 'rm', 'versions', 'rollback', 'alias', 'logs', 'trigger', 'build', 'new', 'bench', 'dev'];

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe('wafer exit codes', () => {
  let host: TestHost;
  let dir: string;
  const env = () => ({ WAFER_URL: host.url, WAFER_TOKEN: host.token });

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    dir = await mkdtemp(join(tmpdir(), 'wafer-cli-exit-'));
    await host.deploy('exit-fn', await sample('hello-rust'));
    await host.deploy('exit-logger', await sample('logger-rust'));
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('are listed in `wafer --help` and in every command\'s --help', async () => {
    for (const args of [['--help'], ...COMMANDS.map((c) => [c, '--help'])]) {
      const { code, stdout } = await wafer(args);
      expect(code, args.join(' ')).toBe(0);
      expect(stdout, args.join(' ')).toMatch(/Exit codes:\n {2}0 +success\n {2}1 +the host answered an error[\s\S]*\n {2}2 +usage error[\s\S]*\n {2}3 +cannot reach the host\n {2}4 +the build failed[\s\S]*\n {2}130 +interrupted/);
    }
  });

  it('0 when the command succeeds', async () => {
    expect((await wafer(['invoke', 'exit-fn'], env())).code).toBe(0);
    expect((await wafer(['--version'])).code).toBe(0);
  });

  it('1 when the host answers an error, printing its code on stderr', async () => {
    const missing = await wafer(['versions', 'nobody'], env());
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('wafer: 404 not_found: no function named nobody\n');
    const refused = await wafer(['ls'], { ...env(), WAFER_TOKEN: 'wrong' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401 unauthorized');
    const badQuota = await wafer(['deploy', 'exit-fn', join(ROOT, 'samples', 'dist', 'hello-rust.wasm'), '--timeout-ms', 'soon'], env());
    expect(badQuota.code).toBe(1);
    expect(badQuota.stderr).toContain('400 invalid_request');
  });

  it('1 when the function answers a status other than 2xx', async () => {
    await host.deploy('exit-fib', await sample('fib-rust'));
    const answered = await wafer(['invoke', 'exit-fib', '?n=999'], env());
    expect(answered).toMatchObject({ code: 1, stdout: 'n must be an integer from 0 to 78' });
  });

  it.each([
    ['an unknown flag', ['ls', '--bogus'], "unknown option '--bogus'"],
    ['a missing argument', ['deploy', 'exit-fn'], "missing required argument 'file'"],
    ['no command', [], 'Usage: wafer'],
    ['a malformed --version', ['rollback', 'exit-fn', '--version', 'last'], '--version must be a version number'],
    ['a malformed alias target', ['alias', 'exit-fn', 'live', 'newest'], 'bad target'],
    ['a malformed header', ['invoke', 'exit-fn', '-H', 'no-colon'], 'bad header'],
    ['an unknown language', ['new', 'cobol', 'x'], 'unknown language "cobol"'],
    ['a file that is not there', ['deploy', 'exit-fn', '/nonexistent/x.wasm'], 'cannot read /nonexistent/x.wasm'],
    ['a folder that is no function', ['build', '/'], 'cannot tell the language'],
    ['a bad bench flag', ['bench', '--engine', 'v9'], 'unknown engine'],
  ])('2 on a usage error: %s', async (_what, args, message) => {
    const result = await wafer(args, env());
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('3 when the host cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['ls'], ['invoke', 'exit-fn'], ['logs', 'exit-fn', '--follow']]) {
      const result = await wafer([...args, '--url', url], { WAFER_TOKEN: 't' });
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toContain(`wafer: cannot reach ${url}`);
    }
  });

  it('4 when the build fails, after its output', async () => {
    const fn = join(dir, 'broken');
    await wafer(['new', 'ts', 'broken', '--dir', fn]);
    await writeFile(join(fn, 'handler.ts'), "import { nothing } from './missing.js';\nexport const handle = nothing;\n");
    const result = await wafer(['build', fn, '--json']);
    expect(result).toMatchObject({ code: 4, stdout: '' });
    expect(result.stderr).toContain('missing');
    expect(result.stderr).toMatch(/wafer: the ts build failed \(exit 1\)/);
  }, 60_000);

  it('130 when interrupted (Ctrl-C) while following a log', async () => {
    const child = spawn(process.execPath, [WAFER, 'logs', 'exit-logger', '--follow'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // Calls until the follower has printed one, so it is surely following.
    while (!out.includes('logger: GET /ping')) {
      await host.call('exit-logger', '/ping');
      await new Promise((done) => setTimeout(done, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
  }, 30_000);
});
