/**
 * Hostile guests, part 2: results that break the canonical ABI (pointers, lengths and
 * discriminants a lift must refuse, allocators and post-returns that lie or trap), output that
 * is not a valid `wafer.v1.Response`, and stdout/stderr floods. Each case checks the exact
 * status and code while the healthy function is called alongside, on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestHost, type TestHost } from '../helpers/host.js';
import { DEFAULT_MAX_LOG_BYTES } from '../../host/src/limits.js';
import { build, chatty, deployHealthy, expectCallError, guest, returning, whileHealthy } from './kit.js';

/** Writes a result at the return area 16: discriminant, pointer, length. */
const result = (tag: number, ptr: number, len: number) =>
  `(i32.store8 (i32.const 16) (i32.const ${tag})) (i32.store (i32.const 20) (i32.const ${ptr})) (i32.store (i32.const 24) (i32.const ${len}))`;

/** An allocator module (memory, cabi_realloc, post-return) with a custom realloc and post-return body. */
const alloc = (realloc: string, post = '') => `
    (memory (export "memory") 1)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) ${realloc})
    (func (export "cabi_post_handle") (param i32) ${post})
    (func $ok (param $ptr i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (local.get $ptr))
      (i32.store (i32.const 24) (local.get $len))
      (i32.const 16))`;

/** Bytes as a WAT data string. */
const wat = (bytes: number[] | string) =>
  (typeof bytes === 'string' ? [...Buffer.from(bytes, 'latin1')] : bytes).map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

/** A guest answering `bytes` as its ok output. */
const answers = (bytes: number[] | string) => {
  const data = wat(bytes);
  const len = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'latin1') : bytes.length;
  return guest(`(call $ok (i32.const 64) (i32.const ${len}))`, { fields: `(data (i32.const 64) "${data}")` });
};

/** Protobuf varint bytes of `n`. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Malformed canonical-ABI results: what `handle` returns, and the answer the host must give. */
const ABI_CASES: { name: string; title: string; text: () => string; status: number; code: string }[] = [
  { name: 'ok-ptr-oob', title: 'returns ok with a list pointer past the end of memory', text: () => returning(result(0, 0x7fff0000, 4), '(i32.const 16)'), status: 500, code: 'trap' },
  { name: 'ok-len-oob', title: 'returns ok with a list length beyond its memory', text: () => returning(result(0, 64, 0x7fffffff), '(i32.const 16)'), status: 500, code: 'trap' },
  { name: 'ok-wraps', title: 'returns ok with a list whose end wraps around 4 GiB', text: () => returning(result(0, -256, 512), '(i32.const 16)'), status: 500, code: 'trap' },
  { name: 'bad-tag', title: 'returns a result discriminant of 7', text: () => returning(result(7, 64, 1), '(i32.const 16)'), status: 500, code: 'trap' },
  { name: 'retptr-oob', title: 'returns a result pointer past the end of memory', text: () => returning('', '(i32.const -16)'), status: 500, code: 'trap' },
  { name: 'retptr-misaligned', title: 'returns a misaligned result pointer', text: () => returning(result(0, 64, 1), '(i32.const 17)'), status: 500, code: 'trap' },
  { name: 'err-utf8', title: 'returns err with a string that is not UTF-8', text: () => returning(result(1, 64, 4), '(i32.const 16)', '(data (i32.const 64) "\\ff\\fe\\c3\\28")'), status: 500, code: 'trap' },
  { name: 'err-ptr-oob', title: 'returns err with a string pointer past the end of memory', text: () => returning(result(1, 0x7ffffff0, 64), '(i32.const 16)'), status: 500, code: 'trap' },
  {
    name: 'realloc-oob',
    title: 'has a cabi_realloc that returns a pointer outside its memory',
    text: () => guest('(call $ok (local.get $ptr) (local.get $len))', { alloc: alloc('(i32.const 0x7ffffff0)') }),
    status: 500,
    code: 'trap',
  },
  {
    name: 'realloc-traps',
    title: 'has a cabi_realloc that traps',
    text: () => guest('(call $ok (local.get $ptr) (local.get $len))', { alloc: alloc('(unreachable)') }),
    status: 500,
    code: 'trap',
  },
  {
    name: 'realloc-overlaps',
    title: 'has a cabi_realloc that hands out the return area, so the request overwrites the result',
    text: () => guest('(call $ok (local.get $ptr) (local.get $len))', { alloc: alloc('(i32.const 16)') }),
    status: 502,
    code: 'bad_response',
  },
  {
    name: 'post-return-traps',
    title: 'has a post-return that traps after a good result',
    text: () =>
      guest('(call $ok (i32.const 64) (i32.const 7))', {
        alloc: alloc('(i32.const 4096)', '(unreachable)'),
        fields: '(data (i32.const 64) "\\08\\c8\\01\\1a\\02ok")',
      }),
    status: 500,
    code: 'trap',
  },
];

/** Output that decodes badly as a `wafer.v1.Response`. */
const RESPONSE_CASES: { name: string; title: string; bytes: number[] | string }[] = [
  { name: 'truncated-varint', title: 'a truncated varint', bytes: [0xff, 0xff, 0xff] },
  { name: 'overlong-field', title: 'a body field longer than the output', bytes: [0x1a, 0x40, 0x61, 0x62] },
  { name: 'bad-wire-type', title: 'a field with the reserved wire type 7', bytes: [0x0f, 0x01] },
  { name: 'status-700', title: 'status 700', bytes: [0x08, ...varint(700)] },
  { name: 'status-huge', title: 'status 2^32-1', bytes: [0x08, ...varint(0xffffffff)] },
  { name: 'header-crlf', title: 'a header name with CR LF in it (response splitting)', bytes: [0x12, 0x0c, 0x0a, 0x07, ...Buffer.from('x\r\nevil'), 0x12, 0x01, 0x76] },
  { name: 'header-value-nl', title: 'a header value with a newline in it', bytes: [0x12, 0x0a, 0x0a, 0x01, 0x78, 0x12, 0x05, ...Buffer.from('a\nb: ')] },
];

describe.each(ENGINES)('hostile guests on %s: the canonical ABI and the envelope', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await deployHealthy(host);
  });
  afterAll(() => host?.destroy());

  describe('malformed canonical-ABI results', () => {
    for (const c of ABI_CASES) {
      it(`answers a guest that ${c.title} with ${c.status} ${c.code}`, async () => {
        await host.deploy(`abi-${c.name}`, await build(c.text()));
        await whileHealthy(host, () => expectCallError(host, `abi-${c.name}`, c.status, c.code));
      });
    }
  });

  describe('output that is not a valid wafer.v1.Response', () => {
    for (const c of RESPONSE_CASES) {
      it(`answers output with ${c.title} with 502 bad_response`, async () => {
        await host.deploy(`out-${c.name}`, await build(answers(c.bytes)));
        await whileHealthy(host, () => expectCallError(host, `out-${c.name}`, 502, 'bad_response'));
      });
    }

    it('issue 8 #5: answers a 20 MiB Response (over the 16 MiB output limit) with 502 bad_response', async () => {
      const size = 20 * 1024 * 1024;
      const head = [0x1a, ...varint(size)];
      const body = `(drop (memory.grow (i32.const 330)))
        (call $ok (i32.const ${65536 - head.length}) (i32.const ${size + head.length}))`;
      await host.deploy('out-huge', await build(guest(body, { fields: `(data (i32.const ${65536 - head.length}) "${wat(head)}")` })));
      await whileHealthy(host, () => expectCallError(host, 'out-huge', 502, 'bad_response'));
    });
  });

  describe('stdout and stderr floods', () => {
    /** Bytes the host logged for one invocation's `stream`. */
    const logged = (invocation: string, stream: string) =>
      host.logs.filter((l) => l.fields?.invocation === invocation && l.fields?.stream === stream).reduce((n, l) => n + l.msg.length + 1, 0);

    for (const stream of ['stdout', 'stderr'] as const) {
      it(`answers a guest that writes 8 MiB to ${stream}, keeping at most 64 KiB of it`, async () => {
        await host.deploy(`flood-${stream}`, await build(chatty(stream, 4096, 2048)));
        const res = await whileHealthy(host, () => host.call(`flood-${stream}`));
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('ok');
        const bytes = logged(res.headers.get('x-wafer-invocation-id')!, stream);
        expect(bytes).toBeGreaterThan(0);
        expect(bytes).toBeLessThanOrEqual(DEFAULT_MAX_LOG_BYTES);
      });
    }

    it('answers a guest that makes 20,000 tiny writes to stdout', async () => {
      // Each write crosses into the host (slow on jco under load): time is not what is tested here.
      await host.deploy('flood-tiny', await build(chatty('stdout', 8, 20_000)), '?timeout_ms=60000');
      const res = await whileHealthy(host, () => host.call('flood-tiny'));
      expect(res.status).toBe(200);
      expect(logged(res.headers.get('x-wafer-invocation-id')!, 'stdout')).toBeLessThanOrEqual(DEFAULT_MAX_LOG_BYTES);
    });
  });
});
