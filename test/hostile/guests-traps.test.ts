/**
 * Hostile guests, part 1: runaway guests and every kind of trap. Each case deploys a guest built
 * inline, calls it while the healthy function is called alongside, and checks the exact status
 * and code, then that the host still serves. The same on both engines (jco reuses a warm
 * instance across calls and throws it away after a trap; wasmtime instantiates fresh per call).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestHost, type TestHost } from '../helpers/host.js';
import { answering, build, deployHealthy, expectCallError, expectHealthy, guest, whileHealthy } from './kit.js';

/** A table with a function of another type at 0 and nothing at 1, for call_indirect traps. */
const TABLE = `
    (type $unary (func (param i32) (result i32)))
    (type $nullary (func (result i32)))
    (table 4 funcref)
    (func $seven (result i32) (i32.const 7))
    (elem (i32.const 0) $seven)`;

/** Each trap: a name, the core `handle` body that traps, extra module fields. */
const TRAPS: { name: string; title: string; body: string; fields?: string }[] = [
  { name: 'unreachable', title: 'executes unreachable', body: '(unreachable)' },
  { name: 'div-zero', title: 'divides an integer by zero', body: '(drop (i32.div_s (i32.const 1) (i32.const 0)))' },
  { name: 'div-overflow', title: 'overflows i32.div_s (INT_MIN / -1)', body: '(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))' },
  { name: 'rem-zero', title: 'takes i64.rem_u by zero', body: '(drop (i64.rem_u (i64.const 5) (i64.const 0)))' },
  { name: 'trunc-nan', title: 'truncates NaN to an integer (i32.trunc_f32_s)', body: '(drop (i32.trunc_f32_s (f32.const nan)))' },
  { name: 'trunc-inf', title: 'truncates infinity to an integer (i32.trunc_f32_s)', body: '(drop (i32.trunc_f32_s (f32.const inf)))' },
  { name: 'trunc-big', title: 'truncates 1e10 to an i32 (i32.trunc_f64_u)', body: '(drop (i32.trunc_f64_u (f64.const 1e10)))' },
  { name: 'oob-load', title: 'loads past the end of its memory', body: '(drop (i32.load (i32.const 0x7ffffff0)))' },
  { name: 'oob-store', title: 'stores past the end of its memory', body: '(i32.store (i32.const 65534) (i32.const 1))' },
  { name: 'oob-fill', title: 'fills memory past its end (memory.fill)', body: '(memory.fill (i32.const 60000) (i32.const 0) (i32.const 10000))' },
  {
    name: 'indirect-type',
    title: 'calls through the table with the wrong type (call_indirect)',
    body: '(drop (call_indirect (type $unary) (i32.const 1) (i32.const 0)))',
    fields: TABLE,
  },
  {
    name: 'indirect-null',
    title: 'calls an uninitialised table element',
    body: '(drop (call_indirect (type $nullary) (i32.const 1)))',
    fields: TABLE,
  },
  {
    name: 'indirect-oob',
    title: 'calls past the end of its table',
    body: '(drop (call_indirect (type $nullary) (i32.const 1000)))',
    fields: TABLE,
  },
  {
    name: 'grow-past-max',
    title: 'grows memory past its own maximum, then uses the page it did not get',
    body: '(drop (memory.grow (i32.const 4))) (i32.store (i32.const 131072) (i32.const 1))',
    fields: '',
  },
  {
    name: 'recursion',
    title: 'recurses without end until the stack is exhausted',
    body: '(drop (call $down (i32.const 0)))',
    fields: '(func $down (param $n i32) (result i32) (i32.add (call $down (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))',
  },
  {
    name: 'fat-recursion',
    title: 'exhausts the stack with large frames',
    body: '(drop (call $fat (i32.const 0)))',
    fields: `(func $fat (param $n i32) (result i32)
      (local ${'i64 '.repeat(200)})
      (i32.add (call $fat (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))`,
  },
];

describe.each(ENGINES)('hostile guests on %s: runaway guests and traps', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await deployHealthy(host);
  });
  afterAll(() => host?.destroy());

  describe('runaway guests', () => {
    it('stops an infinite loop with 504 timeout at its own time quota', async () => {
      await host.deploy('spin', await build(guest('(loop $l (br $l)) (unreachable)')), '?timeout_ms=300');
      await whileHealthy(host, () => expectCallError(host, 'spin', 504, 'timeout'));
    });

    it('stops a loop in the start function (at instantiation) with 504 timeout', async () => {
      const bytes = await build(answering('', { fields: '(func $forever (loop $l (br $l))) (start $forever)' }));
      await host.deploy('spin-start', bytes, '?timeout_ms=300');
      // A cold call's instantiation counts toward its own quota, not only jco's 30 s instantiation
      // budget (on jco the wait is at least its 2 s start grace, what a Python guest's start costs on V8).
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        await whileHealthy(host, () => expectCallError(host, 'spin-start', 504, 'timeout'));
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    });

    it('answers a trap in the start function with 500 trap', async () => {
      await host.deploy('trap-start', await build(answering('', { fields: '(func $boom (unreachable)) (start $boom)' })));
      await whileHealthy(host, () => expectCallError(host, 'trap-start', 500, 'trap'));
    });

    it('stops a loop that keeps calling a function with 504 timeout', async () => {
      const fields = '(func $tick (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))';
      await host.deploy('spin-calls', await build(guest('(local.set $len (i32.const 0)) (loop $l (local.set $len (call $tick (local.get $len))) (br $l)) (unreachable)', { fields })), '?timeout_ms=300');
      await whileHealthy(host, () => expectCallError(host, 'spin-calls', 504, 'timeout'));
    });

    it('stops a guest that grows memory without bound with 500 memory_limit', async () => {
      const body = '(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (unreachable)';
      await host.deploy('hog', await build(guest(body)), '?memory_mb=8');
      await whileHealthy(host, () => expectCallError(host, 'hog', 500, 'memory_limit'));
    });
  });

  describe('bursts and leaks', () => {
    it('answers a burst of 100 concurrent trapping calls with 500 trap or 503 overloaded, nothing else', async () => {
      await host.deploy('burst-trap', await build(guest('(unreachable)')));
      const answers = await whileHealthy(host, () =>
        Promise.all(Array.from({ length: 100 }, async () => {
          const res = await host.call('burst-trap');
          return `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
        })),
      );
      expect([...new Set(answers)].filter((a) => a !== '500 trap' && a !== '503 overloaded')).toEqual([]);
      // 8 run and 64 wait (DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_QUEUE): at least those trap.
      expect(answers.filter((a) => a === '500 trap').length).toBeGreaterThanOrEqual(72);
    });

    it('answers a burst of 100 concurrent looping calls with 504 timeout or 503 overloaded, nothing else', async () => {
      await host.deploy('burst-spin', await build(guest('(loop $l (br $l)) (unreachable)')), '?timeout_ms=100');
      const answers = await whileHealthy(host, () =>
        Promise.all(Array.from({ length: 100 }, async () => {
          const res = await host.call('burst-spin');
          return `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
        })),
      );
      expect([...new Set(answers)].filter((a) => a !== '504 timeout' && a !== '503 overloaded')).toEqual([]);
      expect(answers.filter((a) => a === '504 timeout').length).toBeGreaterThanOrEqual(72);
    });

    it('stops a guest that leaks 1 MiB per call at its quota with memory_limit, then serves it afresh', async () => {
      // Grows by 16 pages per call and never gives them back, trapping when a grow fails (as
      // allocators do): a reused instance (jco) reaches the 8 MiB quota; a fresh one (wasmtime) never does.
      const leak = answering('(if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (unreachable)))');
      await host.deploy('leak', await build(leak), '?memory_mb=8');
      const answers: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await host.call('leak');
        answers.push(res.status === 200 ? `200 ${await res.text()}` : `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`);
      }
      expect([...new Set(answers)].filter((a) => a !== '200 ok' && a !== '500 memory_limit')).toEqual([]);
      if (engine === 'jco') {
        const stopped = answers.indexOf('500 memory_limit');
        expect(stopped).toBeGreaterThan(0);
        // The instance that hit the quota is dropped: the next call starts afresh.
        expect(answers[stopped + 1]).toBe('200 ok');
      } else {
        expect(answers).toEqual(Array(12).fill('200 ok'));
      }
      await expectHealthy(host);
    });
  });

  describe('traps', () => {
    for (const trap of TRAPS) {
      it(`answers a guest that ${trap.title} with 500 trap`, async () => {
        const text = answering(trap.body, { fields: trap.fields ?? '' });
        const bytes = await build(trap.name === 'grow-past-max' ? text.replace('(memory (export "memory") 1)', '(memory (export "memory") 1 2)') : text);
        await host.deploy(`t-${trap.name}`, bytes);
        await whileHealthy(host, () => expectCallError(host, `t-${trap.name}`, 500, 'trap'));
        // The instance that trapped is gone; the next call traps the same way, never worse.
        await expectCallError(host, `t-${trap.name}`, 500, 'trap');
      });
    }
  });

  it('still answers health and the healthy function after every case', async () => {
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
    const calls = await Promise.all(Array.from({ length: 8 }, () => host.call('ok').then((r) => r.status)));
    expect(calls).toEqual(Array(8).fill(200));
  });
});
