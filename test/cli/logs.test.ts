/**
 * `wafer logs` as a user runs it: a real `wafer` process against a real host over HTTP. The CLI
 * does not depend on the engine, so one is enough.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { sample, startTestHost, type TestHost } from '../helpers/host.js';

const run = promisify(execFile);
const WAFER = join(ROOT, 'bin', 'wafer.js');

describe('wafer logs', () => {
  let host: TestHost;
  const env = () => ({ ...process.env, WAFER_URL: host.url, WAFER_TOKEN: host.token });
  const wafer = (...args: string[]) => run(process.execPath, [WAFER, ...args], { env: env() });

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('cli-logger', await sample('logger-rust'));
  });
  afterAll(() => host?.destroy());

  it('prints --help naming its argument and flags', async () => {
    expect((await wafer('logs', '--help')).stdout).toMatch(/Usage: wafer logs \[options\] <name>[\s\S]*--follow[\s\S]*--since[\s\S]*--limit[\s\S]*--json/);
  });

  it("prints each call's header line and its output, and JSON lines with --json", async () => {
    const id = (await host.call('cli-logger', '/one')).headers.get('x-wafer-invocation-id')!;
    const { stdout } = await wafer('logs', 'cli-logger');
    expect(stdout).toMatch(new RegExp(`^\\S+Z v1 ${id} 200 ok \\d+µs cold\\n  out\\| logger: GET /one\\n  err\\| logger: done\\n$`));
    const [line] = (await wafer('logs', 'cli-logger', '--json', '--limit', '1')).stdout.trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({ invocation_id: id, stdout: 'logger: GET /one\n' });
  });

  it('refuses an unknown function and a bad limit with the host\'s error', async () => {
    const err = await wafer('logs', 'nobody').catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1, stderr: expect.stringContaining('404 not_found: no function named nobody') });
    const bad = await wafer('logs', 'cli-logger', '--limit', '0').catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('400 invalid_request: limit must be') });
  });

  it('follows new entries with --follow until stopped', async () => {
    const child = spawn(process.execPath, [WAFER, 'logs', 'cli-logger', '--follow', '--limit', '1'], { env: env() });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // The newest entry is printed first; then a call made while it follows.
    while (!out.includes('GET /one')) await new Promise((resolve) => setTimeout(resolve, 20));
    await (await host.call('cli-logger', '/two')).arrayBuffer();
    while (!out.includes('GET /two')) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill();
    expect(out).toMatch(/out\| logger: GET \/one[\s\S]*out\| logger: GET \/two/);
  });
});
