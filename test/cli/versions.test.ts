/**
 * `wafer versions`, `wafer rollback` and `wafer alias` as a user runs them: real `wafer`
 * processes against a real host over HTTP. The CLI does not depend on the engine, so one is enough.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { fixture, startTestHost, type TestHost } from '../helpers/host.js';

const run = promisify(execFile);
const WAFER = join(ROOT, 'bin', 'wafer.js');

describe('wafer versions, rollback and alias', () => {
  let host: TestHost;
  const wafer = (...args: string[]) =>
    run(process.execPath, [WAFER, ...args], { env: { ...process.env, WAFER_URL: host.url, WAFER_TOKEN: host.token } });
  /** Runs `wafer` expecting it to fail; resolves with its exit code and stderr. */
  const fails = (...args: string[]) =>
    wafer(...args).then(
      () => expect.unreachable('the command succeeded'),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('cli-fn', await fixture('respond'));
    await host.deploy('cli-fn', await fixture('counter'));
  });
  afterAll(() => host?.destroy());

  it('prints --help for each command, naming its arguments and flags', async () => {
    expect((await wafer('versions', '--help')).stdout).toContain('Usage: wafer versions [options] <name>');
    expect((await wafer('rollback', '--help')).stdout).toMatch(/Usage: wafer rollback \[options\] <name>[\s\S]*--version <n>/);
    expect((await wafer('alias', '--help')).stdout).toMatch(/Usage: wafer alias \[options\] <name> \[alias\] \[target\][\s\S]*--rm/);
  });

  it('lists the kept versions, newest first, marking the current one', async () => {
    const { stdout } = await wafer('versions', 'cli-fn');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+VERSION\s+CREATED\s+SIZE/);
    expect(lines[1]).toMatch(/^\*\s+2\s/);
    expect(lines[2]).toMatch(/^\s+1\s/);
    const json = JSON.parse((await wafer('versions', 'cli-fn', '--json')).stdout);
    expect(json).toMatchObject({ name: 'cli-fn', current: 2, versions: [{ version: 2 }, { version: 1 }] });
  });

  it('rolls back to the previous version, and to a given one with --version', async () => {
    expect((await wafer('rollback', 'cli-fn')).stdout.trim()).toBe('cli-fn now serves version 1 (was 2)');
    expect((await (await host.call('cli-fn')).text())).toBe('ok');
    const json = JSON.parse((await wafer('rollback', 'cli-fn', '--version', '2', '--json')).stdout);
    expect(json).toMatchObject({ name: 'cli-fn', version: 2, rolled_back_from: 1 });
    const refused = await fails('rollback', 'cli-fn', '--version', '9');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('404 not_found: version 9 of cli-fn is not kept (kept: 1, 2)');
  });

  it('sets, shows, lists and removes aliases, and `wafer invoke name@alias` calls one', async () => {
    expect((await wafer('alias', 'cli-fn', 'live', '1')).stdout.trim()).toBe('cli-fn@live → 1');
    expect((await wafer('alias', 'cli-fn', 'canary', '1=90,2=10')).stdout.trim()).toBe('cli-fn@canary → 1=90 (90%) 2=10 (10%)');
    expect(JSON.parse((await wafer('alias', 'cli-fn', 'live', '--json')).stdout)).toEqual({ name: 'cli-fn', alias: 'live', version: 1, versions: { '1': 1 } });
    const listed = (await wafer('alias', 'cli-fn')).stdout;
    expect(listed).toMatch(/^ALIAS\s+VERSIONS\ncanary\s+1=90 \(90%\) 2=10 \(10%\)\nlive\s+1\n$/);
    expect((await wafer('versions', 'cli-fn')).stdout).toMatch(/\s1\s.*canary,live\n/);
    expect((await wafer('invoke', 'cli-fn@live')).stdout).toBe('ok');
    expect((await wafer('alias', 'cli-fn', 'live', '--rm')).stdout.trim()).toBe('removed alias live of cli-fn');
    expect((await fails('alias', 'cli-fn', 'live')).stderr).toContain('404 not_found: cli-fn has no alias live');
    expect((await fails('alias', 'cli-fn', 'live', '1=x')).stderr).toContain('bad target "1=x"');
    expect((await fails('alias', 'cli-fn', 'live', '1=0')).stderr).toContain('400 invalid_request: at least one weight must be positive');
  });
});
