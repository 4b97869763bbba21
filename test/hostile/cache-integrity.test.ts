/**
 * Hostile: the on-disk caches of loaded code. A compiled artifact (wasmtime) or a transpiled
 * tree (jco) is code the host runs without re-checking the component it came from, so it must be
 * bound to that component and that engine build, and verified on the bytes that are then used.
 * Every case tampers with the cache of a stopped host, restarts it on the same directories and
 * checks the function still answers as itself (the tampered file refused, the component
 * compiled again), and that a healthy function answers alongside.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineName } from '../../host/src/engine/engine.js';
import { fixture, startTestHost, type TestHost } from '../helpers/host.js';

/** A host with a cache directory of its own (the cases below damage it on purpose). */
async function isolatedHost(engine: EngineName): Promise<{ host: TestHost; cacheDir: string }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'wafer-cache-'));
  return { host: await startTestHost(engine, { cacheDir }), cacheDir };
}

/** Stops `host`, runs `tamper`, and starts a new host on the same data and cache directories. */
async function restartAfter(engine: EngineName, host: TestHost, cacheDir: string, tamper: () => Promise<void>): Promise<TestHost> {
  await host.close();
  await tamper();
  return startTestHost(engine, { cacheDir }, host.dataDir);
}

/** Deploys `respond` (body "ok") as `fn` and `counter` (body "\x01") as `other`; returns their digests. */
async function deployPair(host: TestHost): Promise<{ fn: string; other: string }> {
  const hex = (d: unknown) => String(d).replace(/^sha256:/, '');
  const fn = hex((await host.deploy('fn', await fixture('respond'))).digest);
  const other = hex((await host.deploy('other', await fixture('counter'))).digest);
  await host.deploy('healthy', await fixture('respond'));
  return { fn, other };
}

/** `fn` answers as `respond`, and the healthy function answers too. */
async function expectServedAsItself(host: TestHost): Promise<void> {
  const res = await host.call('fn');
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('ok');
  const healthy = await host.call('healthy');
  expect(healthy.status).toBe(200);
  expect(await healthy.text()).toBe('ok');
  expect((await host.call('fn')).status).toBe(200);
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe('compiled artifacts on wasmtime', () => {
  const engine = 'wasmtime' as const;

  /** The artifact file of `digest` (`<digest>-<compat>.cwasm`). */
  async function artifactOf(cacheDir: string, digest: string): Promise<string> {
    const dir = join(cacheDir, 'wasmtime');
    const name = (await readdir(dir)).find((n) => n.startsWith(`${digest}-`) && n.endsWith('.cwasm'));
    if (!name) throw new Error(`no artifact for ${digest} in ${dir}`);
    return join(dir, name);
  }

  async function setUp() {
    const { host, cacheDir } = await isolatedHost(engine);
    const digests = await deployPair(host);
    const fnPath = await artifactOf(cacheDir, digests.fn);
    const otherPath = await artifactOf(cacheDir, digests.other);
    let current = host;
    cleanup.push(async () => {
      await current.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    });
    const restart = async (tamper: () => Promise<void>) => {
      current = await restartAfter(engine, current, cacheDir, tamper);
      return current;
    };
    return { fnPath, otherPath, restart };
  }

  const discarded = (host: TestHost) => host.logs.some((l) => l.msg === 'discarded cached artifact');

  it("issue 8 #9: an artifact copied under another component's digest is refused and recompiled, not run", async () => {
    const { fnPath, otherPath, restart } = await setUp();
    const host = await restart(async () => {
      await copyFile(otherPath, fnPath);
      await copyFile(`${otherPath}.sum`, `${fnPath}.sum`);
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
    // Recompiled from the component: the file is no longer the other component's.
    expect(Buffer.compare(await readFile(fnPath), await readFile(otherPath))).not.toBe(0);
  });

  it('issue 8 #9: a tampered payload is discarded and recompiled', async () => {
    const { fnPath, restart } = await setUp();
    const host = await restart(async () => {
      const bytes = await readFile(fnPath);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await writeFile(fnPath, bytes);
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });

  it('issue 8 #9: a tampered .sum is discarded and recompiled', async () => {
    const { fnPath, restart } = await setUp();
    const host = await restart(async () => {
      const sum = await readFile(`${fnPath}.sum`);
      sum[sum.length - 1]! ^= 0x01; // the last byte of the component digest it is bound to
      await writeFile(`${fnPath}.sum`, sum);
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });

  it("issue 8 #9: an artifact whose header names another engine's compatibility hash is discarded", async () => {
    const { fnPath, restart } = await setUp();
    const host = await restart(async () => {
      const sum = await readFile(`${fnPath}.sum`);
      sum.write('0123456789abcdef', 16, 'ascii'); // the compat-hash field
      await writeFile(`${fnPath}.sum`, sum);
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });

  it('issue 8 #9: an artifact of the previous format (WAFERCW1) is discarded cleanly', async () => {
    const { fnPath, restart } = await setUp();
    const host = await restart(async () => {
      const sum = await readFile(`${fnPath}.sum`);
      sum.write('WAFERCW1', 0, 'ascii');
      sum.writeUInt32LE(1, 8);
      await writeFile(`${fnPath}.sum`, sum.subarray(0, 48));
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });
});

describe('transpiled components on jco', () => {
  const engine = 'jco' as const;

  async function setUp() {
    const { host, cacheDir } = await isolatedHost(engine);
    const digests = await deployPair(host);
    // Calls make sure the transpiled trees are on disk and have been used once.
    expect((await host.call('fn')).status).toBe(200);
    expect((await host.call('other')).status).toBe(200);
    let current = host;
    cleanup.push(async () => {
      await current.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    });
    const restart = async (tamper: () => Promise<void>) => {
      current = await restartAfter(engine, current, cacheDir, tamper);
      return current;
    };
    return { fnDir: join(cacheDir, 'jco', digests.fn), otherDir: join(cacheDir, 'jco', digests.other), cacheDir, restart };
  }

  const discarded = (host: TestHost) => host.logs.some((l) => l.msg === 'jco: discarded cached transpile');

  it('issue 8 #9: a tampered fn.mjs is refused and re-transpiled, never imported', async () => {
    const { fnDir, cacheDir, restart } = await setUp();
    const marker = join(cacheDir, 'tampered-code-ran');
    const host = await restart(async () => {
      const js = await readFile(join(fnDir, 'fn.mjs'), 'utf8');
      // Behaves exactly as before, but leaves a mark if it is ever imported.
      const payload = `import { writeFileSync as __mark } from 'node:fs';\n__mark(${JSON.stringify(marker)}, 'ran');\n`;
      await writeFile(join(fnDir, 'fn.mjs'), payload + js);
    });
    await expectServedAsItself(host);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(discarded(host)).toBe(true);
  });

  it("issue 8 #9: a core module swapped for another component's is refused and re-transpiled", async () => {
    const { fnDir, otherDir, restart } = await setUp();
    const host = await restart(async () => {
      await copyFile(join(otherDir, 'fn.core.wasm'), join(fnDir, 'fn.core.wasm'));
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });

  it("issue 8 #9: another component's whole tree copied under this digest is refused", async () => {
    const { fnDir, otherDir, restart } = await setUp();
    const host = await restart(async () => {
      for (const name of await readdir(otherDir)) await copyFile(join(otherDir, name), join(fnDir, name));
    });
    await expectServedAsItself(host);
    expect(discarded(host)).toBe(true);
  });
});
