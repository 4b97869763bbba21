/**
 * The `wafer` CLI as a user runs it: a real `wafer serve` process, then `deploy`, `invoke`,
 * `ls` and `rm` against it, and `new` + `build` for every guest language (and `new --world http`).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { SHARED_CACHE } from '../helpers/host.js';
import { BUILT_LANGUAGES } from '../helpers/samples.js';

const run = promisify(execFile);
const WAFER = join(ROOT, 'bin', 'wafer.js');

function wafer(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [WAFER, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
}

describe('wafer CLI', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wafer-cli-'));
    env = { WAFER_DATA_DIR: join(dir, 'data'), WAFER_TOKEN: '' };
    server = spawn(process.execPath, [WAFER, 'serve', '--port', '0', '--no-samples', '--cache-dir', SHARED_CACHE, '--log-level', 'warn'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = out.match(/listening on (http:\/\/\S+)/);
        if (match) resolve(match[1]!);
      });
      server.on('exit', (code) => reject(new Error(`wafer serve exited with ${code}: ${out}`)));
    });
    expect(out).toMatch(/management token \(saved to .*token, shown once\): \S+/);
  });

  afterAll(async () => {
    server?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('prints --help for every command', async () => {
    for (const command of ['serve', 'deploy', 'invoke', 'ls', 'rm', 'versions', 'rollback', 'alias', 'logs', 'build', 'new', 'bench', 'dev']) {
      const { stdout } = await wafer([command, '--help']);
      expect(stdout, command).toContain(`Usage: wafer ${command}`);
    }
  });

  it('deploys, lists, invokes and removes a function, reading the token from the data directory', async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'dist', 'respond.wasm');
    const deployed = await wafer(['deploy', 'greeter', fixture, '--url', url, '--timeout-ms', '2000'], env);
    expect(deployed.stdout).toMatch(/deployed greeter version 1/);
    const listed = await wafer(['ls', '--url', url], env);
    expect(listed.stdout).toMatch(/greeter\s+1\s+/);
    const invoked = await wafer(['invoke', 'greeter', '--url', url]);
    expect(invoked.stdout).toBe('ok');
    await wafer(['rm', 'greeter', '--url', url], env);
    const gone = await wafer(['invoke', 'greeter', '--url', url]).catch((err: { stderr: string; code: number }) => err);
    expect(gone).toMatchObject({ code: 1 });
    expect((gone as { stderr: string }).stderr).toContain('404 not_found');
  });

  it('says what is wrong when a deploy is refused', async () => {
    const refused = await wafer(['deploy', 'Bad_Name', join(ROOT, 'package.json'), '--url', url], env).catch((err) => err);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('invalid_name');
  });

  it.each(BUILT_LANGUAGES)('scaffolds a %s function with new, builds it with build, and serves it', async (lang) => {
    const name = `fresh-${lang}`;
    const fnDir = join(dir, name);
    await wafer(['new', lang, name, '--dir', fnDir]);
    const built = await wafer(['build', fnDir]);
    const out = join(fnDir, `${name}.wasm`);
    expect(built.stdout).toContain(out);
    expect((await stat(out)).size).toBeGreaterThan(1000);
    await wafer(['deploy', name, out, '--url', url], env);
    const { stdout } = await wafer(['invoke', name, '?name=Ada', '--url', url]);
    expect(stdout).toContain('Ada');
  }, 600_000);

  describe('new --world http', () => {
    it.each([
      ['ts', ['handler.ts', 'wafer.world']],
      ['rust', ['Cargo.toml', 'src/lib.rs']],
      ['python', ['app.py', 'wafer.world']],
    ] as const)('scaffolds a standard wasi:http function in %s', async (lang, files) => {
      const fnDir = join(dir, `http-${lang}`);
      const made = await wafer(['new', lang, `http-${lang}`, '--dir', fnDir, '--world', 'http']);
      expect(made.stdout).toContain('wasi:http/proxy');
      for (const file of files) expect((await stat(join(fnDir, file))).isFile()).toBe(true);
      if (files.includes('wafer.world')) expect(await readFile(join(fnDir, 'wafer.world'), 'utf8')).toBe('wasi:http/proxy\n');
    });

    it('builds the TypeScript one into a wasi:http component the host serves', async () => {
      const fnDir = join(dir, 'http-ts');
      const built = JSON.parse((await wafer(['build', fnDir, '--json'])).stdout) as { out: string; lang: string };
      expect(built.lang).toBe('ts');
      const deployed = JSON.parse((await wafer(['deploy', 'http-ts', built.out, '--url', url, '--json'], env)).stdout) as { world: string };
      expect(deployed.world).toBe('wasi:http/proxy@0.2.x');
      const { stdout } = await wafer(['invoke', 'http-ts', '?name=Ada', '--url', url]);
      expect(stdout).toContain('Hello, Ada!');
    }, 300_000);

    it('refuses Go, saying why', async () => {
      const refused = await wafer(['new', 'go', 'http-go', '--dir', join(dir, 'http-go'), '--world', 'http']).catch((err: { code: number; stderr: string }) => err);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('Go cannot target the wasi:http world');
      expect(refused.stderr).toContain('docs/go.md');
    });

    it('refuses an unknown world', async () => {
      const refused = await wafer(['new', 'ts', 'x', '--dir', join(dir, 'x'), '--world', 'nope']).catch((err: { code: number; stderr: string }) => err);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('unknown world "nope"');
    });
  });
});
