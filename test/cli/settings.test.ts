/**
 * `wafer deploy` with settings, `wafer tokens` and `wafer invoke --token` as a user runs them:
 * real `wafer` processes against a real host over HTTP. The CLI does not depend on the engine,
 * so one is enough.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { startTestHost, type TestHost } from '../helpers/host.js';

const run = promisify(execFile);
const WAFER = join(ROOT, 'bin', 'wafer.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'dist');

describe('wafer deploy settings, tokens and invoke --token', () => {
  let host: TestHost;
  const wafer = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [WAFER, ...args], { env: { ...process.env, WAFER_URL: host.url, WAFER_TOKEN: host.token, ...env } });
  const fails = (args: string[], env: Record<string, string> = {}) =>
    wafer(args, env).then(
      () => expect.unreachable('the command succeeded'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
  });
  afterAll(() => host?.destroy());

  it('documents the new flags and the tokens command in --help', async () => {
    expect((await wafer(['deploy', '--help'])).stdout).toMatch(/--fuel <n>[\s\S]*--max-concurrency <n>[\s\S]*--env <KEY=VALUE>[\s\S]*--invoke-auth <mode>/);
    expect((await wafer(['tokens', '--help'])).stdout).toMatch(/Usage: wafer tokens \[options\] <name>[\s\S]*--create[\s\S]*--label <label>[\s\S]*--revoke <id>/);
    expect((await wafer(['invoke', '--help'])).stdout).toContain('--token <token>');
  });

  it('deploys with settings, makes a token, calls with it, and revokes it', async () => {
    const deployed = JSON.parse(
      (await wafer(['deploy', 'cli-env', join(FIXTURES, 'env.wasm'), '--env', 'A=1', '--env', 'B=x y', '--max-concurrency', '2', '--fuel', '100000000', '--invoke-auth', 'token', '--json'])).stdout,
    );
    expect(deployed).toMatchObject({ env: ['A', 'B'], invoke_auth: 'token', limits: { max_concurrency: 2, fuel: 100000000 } });
    expect((await fails(['invoke', 'cli-env'], { WAFER_TOKEN: '' })).stderr).toContain('401 unauthorized');
    const made = (await wafer(['tokens', 'cli-env', '--create', '--label', 'ci'])).stdout;
    const token = made.split('\n')[0]!;
    expect(token).toMatch(/^wft_/);
    expect((await wafer(['invoke', 'cli-env', '--token', token])).stdout).toBe('A=1\nB=x y\n');
    expect((await wafer(['invoke', 'cli-env'], { WAFER_INVOKE_TOKEN: token })).stdout).toBe('A=1\nB=x y\n');
    const listed = (await wafer(['tokens', 'cli-env'])).stdout.trimEnd().split('\n');
    expect(listed[0]).toMatch(/^ID\s+LABEL\s+CREATED$/);
    const id = listed[1]!.split(/\s+/)[0]!;
    expect(listed[1]).toContain('ci');
    expect((await wafer(['tokens', 'cli-env', '--revoke', id])).stdout.trim()).toBe(`revoked token ${id} of cli-env`);
    expect((await fails(['invoke', 'cli-env', '--token', token])).stderr).toContain('401 unauthorized');
  });

  it('refuses a malformed --env before uploading, as a usage error (exit 2)', async () => {
    const refused = await fails(['deploy', 'cli-bad', join(FIXTURES, 'env.wasm'), '--env', 'NOEQUALS']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--env must be KEY=VALUE');
  });
});
