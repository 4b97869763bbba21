/**
 * `wafer trigger add|ls|rm` as a user runs it: real `wafer` processes against a real host over
 * HTTP (one engine: the CLI does not depend on it), with the exit codes of cli/exit.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wafer as run } from '../helpers/cli.js';
import { fixture, startTestHost, type TestHost } from '../helpers/host.js';

describe('wafer trigger', () => {
  let host: TestHost;
  const wafer = (...args: string[]) => run(args, { WAFER_URL: host.url, WAFER_TOKEN: host.token });

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('cli-fn', await fixture('respond'));
  });
  afterAll(() => host?.destroy());

  it('prints --help for trigger and each of add, ls and rm, with the exit codes', async () => {
    expect((await wafer('trigger', '--help')).stdout).toMatch(/Usage: wafer trigger[\s\S]*add[\s\S]*ls[\s\S]*rm/);
    const add = (await wafer('trigger', 'add', '--help')).stdout;
    expect(add).toContain('Usage: wafer trigger add [options] <name> <id>');
    for (const flag of ['--cron', '--tz', '--queue', '--stream', '--durable', '--max-deliver', '--backoff', '--concurrency', '--dead-letter', '--publish', '--json']) expect(add).toContain(flag);
    expect(add).toContain('Exit codes:');
    expect((await wafer('trigger', 'ls', '--help')).stdout).toContain('Usage: wafer trigger ls [options] <name>');
    expect((await wafer('trigger', 'rm', '--help')).stdout).toContain('Usage: wafer trigger rm [options] <name> <id>');
  });

  it('adds a cron trigger, replaces it, lists it (as a table and as JSON) and removes it', async () => {
    const made = await wafer('trigger', 'add', 'cli-fn', 'nightly', '--cron', '0 3 * * *', '--tz', 'Europe/Paris');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^made cron trigger nightly of cli-fn: 0 3 \* \* \* \(Europe\/Paris\), next at \S+Z\n$/);
    expect((await wafer('trigger', 'add', 'cli-fn', 'nightly', '--cron', '0 4 * * *')).stdout).toMatch(/^replaced cron trigger nightly of cli-fn: 0 4 \* \* \* \(UTC\)/);
    const table = (await wafer('trigger', 'ls', 'cli-fn')).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^ID\s+TYPE\s+FIRED BY\s+PUBLISH$/);
    expect(table[1]).toMatch(/^nightly\s+cron\s+0 4 \* \* \* \(UTC\)$/);
    const json = JSON.parse((await wafer('trigger', 'ls', 'cli-fn', '--json')).stdout);
    expect(json).toMatchObject({ name: 'cli-fn', triggers: [{ id: 'nightly', type: 'cron', schedule: '0 4 * * *', timezone: 'UTC' }] });
    expect((await wafer('trigger', 'rm', 'cli-fn', 'nightly')).stdout.trim()).toBe('removed trigger nightly of cli-fn');
    expect((await wafer('trigger', 'ls', 'cli-fn')).stdout.trim()).toBe('cli-fn has no triggers');
  });

  it('exits 2 on flags that do not make a trigger, before sending anything', async () => {
    for (const args of [
      ['cli-fn', 'x'],
      ['cli-fn', 'x', '--cron', '* * * * *', '--queue', 'a.b'],
      ['cli-fn', 'x', '--cron', '* * * * *', '--concurrency', '2'],
      ['cli-fn', 'x', '--queue', 'a.b', '--tz', 'UTC'],
      ['cli-fn', 'x', '--queue', 'a.b', '--max-deliver', 'many'],
    ]) {
      const refused = await wafer('trigger', 'add', ...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(/^wafer: /);
    }
  });

  it("exits 1 with the host's error: a bad schedule, a queue trigger on a host without a cluster, an unknown trigger", async () => {
    const bad = await wafer('trigger', 'add', 'cli-fn', 'x', '--cron', 'often');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('400 invalid_request: schedule is not a cron expression');
    const queue = await wafer('trigger', 'add', 'cli-fn', 'q', '--queue', 'orders.new', '--max-deliver', '3');
    expect(queue.code).toBe(1);
    expect(queue.stderr).toContain('400 invalid_request: queue triggers need NATS');
    const gone = await wafer('trigger', 'rm', 'cli-fn', 'nope');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('404 not_found');
  });
});
