/**
 * Hostile uploads: components with thousands of functions, exports, imports or types, binaries
 * cut short, `handle` of the wrong shape, data that does not fit, and memories over the quota.
 * Every upload answers promptly with a clear code (201, or 400 naming what is wrong), and the
 * host keeps serving; what cannot be refused at upload is refused at the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { answering, build, chatty, deepBlocks, deployHealthy, expectCallError, expectHealthy, guest, manyExports, manyFunctions, manyImports, manyInterfaces, manyLocals, manyTypes, nested, upload, whileHealthy } from './kit.js';

/** An upload of this kind must answer within this, or it is a denial of service. */
const PROMPT_MS = 30_000;

describe.each(ENGINES)('hostile uploads on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await deployHealthy(host);
  });
  afterAll(() => host?.destroy());

  /** Uploads `text` while the healthy function is called, checks the answer and the time it took. */
  async function uploads(name: string, text: string, expected: { status: number; code: string }, query = '') {
    const bytes = await build(text);
    const answer = await whileHealthy(host, () => upload(host, name, bytes, query));
    expect({ status: answer.status, code: answer.code }).toEqual(expected);
    expect(answer.ms).toBeLessThan(PROMPT_MS);
    return answer;
  }

  describe('thousands of functions, exports, imports and types', () => {
    it('accepts a component with 5,000 core functions, and calls it', async () => {
      await uploads('many-funcs', manyFunctions(5_000), { status: 201, code: 'ok' });
      await expect((await host.call('many-funcs')).text()).resolves.toBe('ok');
    });

    it('accepts a component with 2,000 exports beside handle, and calls it', async () => {
      await uploads('many-exports', manyExports(2_000), { status: 201, code: 'ok' });
      await expect((await host.call('many-exports')).text()).resolves.toBe('ok');
    });

    it('refuses 1,000 made-up functions imported from one WASI interface with 400 abi_mismatch', async () => {
      await uploads('many-imports', manyImports(1_000), { status: 400, code: 'abi_mismatch' });
    });

    it('refuses 1,000 imports of made-up WASI interfaces with 400 (abi_mismatch or invalid_component)', async () => {
      // The validator cannot print WIT for packages it does not know, so today this is invalid_component.
      const answer = await whileHealthy(host, async () => upload(host, 'many-ifaces', await build(manyInterfaces(1_000))));
      expect(`${answer.status} ${answer.code}`).toMatch(/^400 (abi_mismatch|invalid_component)$/);
      expect(answer.ms).toBeLessThan(PROMPT_MS);
    });

    it('accepts a component defining 1,000 unused types, and calls it', async () => {
      await uploads('many-types', manyTypes(1_000), { status: 201, code: 'ok' });
      await expect((await host.call('many-types')).text()).resolves.toBe('ok');
    });

    it('accepts a function with 50,000 locals, and calls it', async () => {
      await uploads('many-locals', manyLocals(50_000), { status: 201, code: 'ok' });
      await expect((await host.call('many-locals')).text()).resolves.toBe('ok');
    });

    it('answers blocks nested 20,000 deep promptly with 201 (and calls it) or 400 invalid_component', async () => {
      const bytes = await build(deepBlocks(20_000));
      const answer = await whileHealthy(host, () => upload(host, 'deep-blocks', bytes));
      expect(answer.status === 201 ? 'ok' : `${answer.status} ${answer.code}`).toMatch(/^(ok|400 invalid_component)$/);
      expect(answer.ms).toBeLessThan(PROMPT_MS);
      if (answer.status === 201) await expect((await host.call('deep-blocks')).text()).resolves.toBe('ok');
    });

    it('accepts a 4 MiB data segment and a 64 KiB export name, and calls it', async () => {
      const fields = `(data (i32.const 65536) "${'y'.repeat(4 * 1024 * 1024)}")
    (func (export "one") (result i32) (i32.const 1))`;
      const text = answering('', { fields })
        .replace('(memory (export "memory") 1)', '(memory (export "memory") 80)')
        .replace(/\)\s*$/, `\n  (func (export "${'a'.repeat(65_536)}") (result u32) (canon lift (core func $i "one"))))`);
      await uploads('big-data', text, { status: 201, code: 'ok' });
      await expect((await host.call('big-data')).text()).resolves.toBe('ok');
    });

    it('answers a component nesting 500 components promptly with 201 or 400 invalid_component', async () => {
      const bytes = await build(nested(500)).catch(() => null);
      if (!bytes) return; // jco's own parser refuses the depth: nothing to upload
      const answer = await whileHealthy(host, () => upload(host, 'nested', bytes));
      expect(answer.status === 201 ? 'ok' : `${answer.status} ${answer.code}`).toMatch(/^(ok|400 invalid_component)$/);
      expect(answer.ms).toBeLessThan(PROMPT_MS);
    });
  });

  describe('binaries cut short', () => {
    for (const [what, text] of [
      ['the respond fixture', null],
      ['a component importing WASI', chatty('stdout', 16, 1)],
    ] as const) {
      it(`refuses ${what} cut at 40 offsets with 400 each time, and still accepts it whole`, async () => {
        const whole = text ? await build(text) : new Uint8Array(await fixture('respond'));
        const step = Math.max(1, Math.floor(whole.length / 40));
        const answers: Record<string, number> = {};
        for (let cut = 1; cut < whole.length; cut += step) {
          const answer = await upload(host, 'cut', whole.subarray(0, cut));
          answers[`${answer.status} ${answer.code}`] = (answers[`${answer.status} ${answer.code}`] ?? 0) + 1;
        }
        // Cut mid-section it is not a component; cut at a section boundary it is one without `handle`.
        expect(Object.keys(answers).filter((a) => a !== '400 invalid_component' && a !== '400 abi_mismatch')).toEqual([]);
        expect(answers['400 invalid_component']).toBeGreaterThan(30);
        // A bad upload costs only itself (issue 8 #2): the whole binary is still accepted.
        await whileHealthy(host, async () => expect((await upload(host, 'cut', whole)).status).toBe(201));
      });
    }

    it('refuses wasm magic followed by 64 KiB of noise with 400 invalid_component', async () => {
      const noise = new Uint8Array(65536).map((_, i) => (i * 2654435761) >>> 24);
      noise.set([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
      const answer = await whileHealthy(host, () => upload(host, 'noise', noise));
      expect(answer).toMatchObject({ status: 400, code: 'invalid_component' });
    });
  });

  describe('handle of the wrong shape', () => {
    const lift = (type: string) => `(func (export "handle") ${type}
    (canon lift (core func $i "handle") (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc")) (post-return (core func $i "cabi_post_handle"))))`;
    it('refuses handle: func(list<u8>) -> list<u8> (no result) with 400 abi_mismatch', async () => {
      await uploads('shape-list', answering('', { lift: lift('(param "request" (list u8)) (result (list u8))') }).replace('(call $ok (i32.const 64) (i32.const 7))', '(i32.const 16)'), { status: 400, code: 'abi_mismatch' });
    });

    it('refuses handle: func(string) -> result<list<u8>, string> with 400 abi_mismatch', async () => {
      await uploads('shape-string', answering('', { lift: lift('(param "request" string) (result (result (list u8) (error string)))') }), { status: 400, code: 'abi_mismatch' });
    });

    it('refuses handle: func(list<u8>) -> result<string, list<u8>> (swapped) with 400 abi_mismatch', async () => {
      await uploads('shape-swapped', answering('', { lift: lift('(param "request" (list u8)) (result (result string (error (list u8))))') }), { status: 400, code: 'abi_mismatch' });
    });
  });

  describe('data and memory that do not fit', () => {
    it('answers a data segment past the end of memory with 500 trap at the call (it instantiates nowhere)', async () => {
      const text = answering('', { fields: '(data (i32.const 65530) "0123456789abcdef")' });
      const answer = await uploads('data-oob', text, { status: 201, code: 'ok' });
      expect(answer.status).toBe(201);
      await whileHealthy(host, () => expectCallError(host, 'data-oob', 500, 'trap'));
    });

    it('answers an initial memory of 1.25 GiB (over the 256 MiB quota) with 500 memory_limit at the call', async () => {
      const text = guest('(call $ok (i32.const 64) (i32.const 7))', {
        fields: '(data (i32.const 64) "\\08\\c8\\01\\1a\\02ok")',
      }).replace('(memory (export "memory") 1)', '(memory (export "memory") 20000)');
      await uploads('mem-huge', text, { status: 201, code: 'ok' });
      await whileHealthy(host, () => expectCallError(host, 'mem-huge', 500, 'memory_limit'));
    });

    it("answers an initial memory of 16 MiB under a function's 8 MiB quota with 500 memory_limit", async () => {
      const text = answering('').replace('(memory (export "memory") 1)', '(memory (export "memory") 256)');
      await uploads('mem-over', text, { status: 201, code: 'ok' }, '?memory_mb=8');
      await whileHealthy(host, () => expectCallError(host, 'mem-over', 500, 'memory_limit'));
    });

    it('answers an initial table of 10 million elements with 500 memory_limit at the call', async () => {
      const text = answering('', { fields: '(table 10000000 funcref)' });
      await uploads('table-huge', text, { status: 201, code: 'ok' }, '?memory_mb=16');
      await whileHealthy(host, () => expectCallError(host, 'table-huge', 500, 'memory_limit'));
    });
  });

  it('still serves after every hostile upload', async () => {
    await expectHealthy(host);
    const list = (await (await host.api('GET', '/v1/functions')).json()) as { functions: { name: string }[] };
    expect(list.functions.map((f) => f.name)).toContain('ok');
  });
});
