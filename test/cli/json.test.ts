/**
 * `--json` on every command that prints data: real `wafer` processes against a real host over
 * HTTP; each prints one JSON document on stdout, of the shape README.md's CLI section gives.
 * The CLI does not depend on the engine, so one is enough.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { wafer } from '../helpers/cli.js';
import { sample, startTestHost, type TestHost } from '../helpers/host.js';

describe('wafer --json', () => {
  let host: TestHost;
  let dir: string;
  /** Runs `wafer ...args --json` against the host; fails unless it exits 0, and parses stdout. */
  const json = async (...args: string[]) => {
    const result = await wafer([...args, '--json'], { WAFER_URL: host.url, WAFER_TOKEN: host.token });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const HELLO = join(ROOT, 'samples', 'dist', 'hello-rust.wasm');
  const SHA = expect.stringMatching(/^sha256:[0-9a-f]{64}$/);

  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    dir = await mkdtemp(join(tmpdir(), 'wafer-cli-json-'));
    await host.deploy('js-other', await sample('hello-rust'));
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploy prints the new version: {name, version, digest, size}', async () => {
    expect(await json('deploy', 'js-fn', HELLO, '--timeout-ms', '3000')).toMatchObject({ name: 'js-fn', version: 1, digest: SHA, size: expect.any(Number) });
    expect(await json('deploy', 'js-fn', HELLO)).toMatchObject({ name: 'js-fn', version: 2 });
  });

  it('ls prints {functions: [{name, version, digest, size, limits, created_at}]}', async () => {
    const { functions } = (await json('ls')) as { functions: Array<Record<string, unknown>> };
    expect(functions.map((f) => f.name).sort()).toEqual(['js-fn', 'js-other']);
    expect(functions.find((f) => f.name === 'js-fn')).toMatchObject({ version: 2, digest: SHA, limits: { timeout_ms: expect.any(Number), memory_mb: expect.any(Number) } });
  });

  it('versions prints {name, current, versions: [...newest first]}', async () => {
    expect(await json('versions', 'js-fn')).toMatchObject({ name: 'js-fn', current: 2, versions: [{ version: 2, digest: SHA }, { version: 1, limits: { timeout_ms: 3000 } }] });
  });

  it('alias prints the alias it set or shows, and {aliases} when listing', async () => {
    expect(await json('alias', 'js-fn', 'live', '1')).toMatchObject({ alias: 'live', version: 1 });
    expect(await json('alias', 'js-fn', 'canary', '1=90,2=10')).toMatchObject({ alias: 'canary', versions: { 1: 90, 2: 10 } });
    expect(await json('alias', 'js-fn', 'live')).toMatchObject({ alias: 'live', version: 1 });
    const { aliases } = (await json('alias', 'js-fn')) as { aliases: Array<{ alias: string }> };
    expect(aliases.map((a) => a.alias).sort()).toEqual(['canary', 'live']);
  });

  it('rollback prints {name, version, rolled_back_from}', async () => {
    expect(await json('rollback', 'js-fn')).toMatchObject({ name: 'js-fn', version: 1, rolled_back_from: 2 });
  });

  it('invoke prints {status, headers, body, body_encoding}, the body as text when it is UTF-8', async () => {
    const view = await json('invoke', 'js-fn', '/greet?name=Ada');
    expect(view).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'text/plain; charset=utf-8', 'x-wafer-sample': 'hello', 'x-wafer-path': '/greet', 'x-wafer-version': '1' }),
      body: 'Hello, Ada!',
      body_encoding: 'utf8',
    });
    expect((view.headers as Record<string, string>)['x-wafer-invocation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('invoke prints a body that is not UTF-8 as base64', async () => {
    const file = join(dir, 'binary.bin');
    await writeFile(file, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    const view = await json('invoke', 'js-fn', '--data-file', file);
    expect(view).toMatchObject({ status: 200, body_encoding: 'base64' });
    expect(Buffer.from(view.body as string, 'base64')).toEqual(Buffer.concat([Buffer.from('Hello, '), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('!')]));
  });

  it('logs prints one JSON entry per line', async () => {
    await host.deploy('js-logger', await sample('logger-rust'));
    await host.call('js-logger', '/x');
    const result = await wafer(['logs', 'js-logger', '--json'], { WAFER_URL: host.url, WAFER_TOKEN: host.token });
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ version: 1, status: 200, stdout: 'logger: GET /x\n' })]);
  });

  it('new prints {name, lang, dir, files}', async () => {
    const target = join(dir, 'made');
    expect(await json('new', 'python', 'made', '--dir', target)).toEqual({ name: 'made', lang: 'python', dir: target, files: expect.any(Number) });
  });
});
