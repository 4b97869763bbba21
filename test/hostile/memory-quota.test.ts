/**
 * Hostile: one memory quota covers everything a guest can grow. A component may define many
 * linear memories (one per core module, or one module instantiated many times) and many tables;
 * their sum, not each one, must stay under the function's quota, on both engines. The guests
 * below grow until something stops them and answer 200 ("over") if they ever hold more than
 * the quota, so a quota that covers each memory separately shows up as a 200.
 */
import { parse } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';
import { ALLOC, LIFT_HANDLE } from '../fixtures/kit.mjs';

const MiB = 1024 * 1024;
const PAGE = 65536;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** `Response{status: 200, body: <4 bytes written at 69>}` at address 64, 9 bytes long. */
const RESPONSE_PREFIX = '(data (i32.const 64) "\\08\\c8\\01\\1a\\04over")';

/**
 * `count` memories besides the main one, each in a core module that grows it one page per call
 * of its `grow`; `handle` grows them in turn, trapping when a grow fails (as an allocator does)
 * and answering "over" once the pages it holds pass `quotaPages`. `distinct`: one core module
 * per memory; otherwise one module instantiated `count` times.
 */
function manyMemories(count: number, quotaPages: number, distinct: boolean): string {
  const mem = (i: number) => `
  (core module $mem${i}
    (memory (export "memory") 0)
    (func (export "grow") (result i32)
      (local $old i32)
      (local.set $old (memory.grow (i32.const 1)))
      (if (i32.ne (local.get $old) (i32.const -1))
        (then (i32.store (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1))))
      (local.get $old)))`;
  const modules = (distinct ? range(count) : [0]).map(mem).join('');
  const instances = range(count).map((i) => `(core instance $g${i} (instantiate $mem${distinct ? i : 0}))`).join('\n  ');
  const steps = range(count)
    .map((i) => `
        (if (i32.eq (call $f${i}) (i32.const -1)) (then (unreachable)))
        (local.set $pages (i32.add (local.get $pages) (i32.const 1)))
        (if (i32.gt_u (local.get $pages) (i32.const ${quotaPages})) (then (return (call $ok (i32.const 64) (i32.const 9)))))`)
    .join('');
  return `(component ${modules}
  ${instances}
  (core instance $gs ${range(count).map((i) => `(export "f${i}" (func $g${i} "grow"))`).join(' ')})
  (core module $m
    ${range(count).map((i) => `(import "g" "f${i}" (func $f${i} (result i32)))`).join('\n    ')}
    ${ALLOC}
    ${RESPONSE_PREFIX}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (local $pages i32)
      (local.set $pages (i32.const 1))
      (loop $more ${steps}
        (br $more))
      (unreachable)))
  (core instance $i (instantiate $m (with "g" (instance $gs))))
  ${LIFT_HANDLE})`;
}

/**
 * Four funcref tables grown 1024 elements at a time, in turn, without end. When a grow fails the
 * guest answers 200 with the number of elements it got (u32 LE in the body).
 */
function growingTables(tables: number): string {
  const steps = range(tables)
    .map((t) => `
        (if (i32.eq (table.grow $t${t} (ref.null func) (i32.const 1024)) (i32.const -1))
          (then (i32.store (i32.const 69) (local.get $n)) (return (call $ok (i32.const 64) (i32.const 9)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1024)))`)
    .join('');
  return `(component
  (core module $m
    ${ALLOC}
    ${range(tables).map((t) => `(table $t${t} 0 funcref)`).join(' ')}
    ${RESPONSE_PREFIX}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (local $n i32)
      (loop $more ${steps}
        (br $more))
      (unreachable)))
  (core instance $i (instantiate $m))
  ${LIFT_HANDLE})`;
}

const QUOTA_MB = 2;
const QUOTA_PAGES = (QUOTA_MB * MiB) / PAGE;

describe.each(ENGINES)('one memory quota for all memories on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('healthy', await fixture('respond'));
    await host.deploy('memories', await parse(manyMemories(20, QUOTA_PAGES, true)), `?memory_mb=${QUOTA_MB}`);
    await host.deploy('instances', await parse(manyMemories(20, QUOTA_PAGES, false)), `?memory_mb=${QUOTA_MB}`);
  }, 120_000);
  afterAll(() => host?.destroy());

  const healthyAnswers = async () => {
    const res = await host.call('healthy');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  };

  it('issue 8 #11: twenty memories in twenty core modules answer memory_limit before their total passes the quota', async () => {
    const [res] = await Promise.all([host.call('memories'), healthyAnswers()]);
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('memory_limit');
    expect((await host.call('memories')).status).toBe(500);
    await healthyAnswers();
  });

  it('issue 8 #11: one core module instantiated twenty times answers memory_limit before the total passes the quota', async () => {
    const [res] = await Promise.all([host.call('instances'), healthyAnswers()]);
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('memory_limit');
    await healthyAnswers();
  });
});

describe.each(ENGINES)('tables share the memory quota on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    await host.deploy('healthy', await fixture('respond'));
    await host.deploy('tables', await parse(growingTables(4)), '?memory_mb=1&timeout_ms=3000');
  }, 120_000);
  afterAll(() => host?.destroy());

  it('issue 8 #11: tables grown without bound stop within the quota', async () => {
    const [res, healthy] = await Promise.all([host.call('tables'), host.call('healthy')]);
    expect(healthy.status).toBe(200);
    if (engine === 'wasmtime') {
      // Table elements are charged to the same quota as memory: past it the call ends.
      expect(res.status).toBe(500);
      expect((await errorOf(res)).code).toBe('memory_limit');
    } else {
      // V8 cannot charge a table to a quota; each table's maximum is lowered to its share of
      // the quota instead, so `table.grow` fails (-1) before the tables together pass it.
      expect(res.status).toBe(200);
      const elements = Buffer.from(await res.arrayBuffer()).readUInt32LE(0);
      expect(elements).toBeGreaterThan(0);
      expect(elements * 8).toBeLessThanOrEqual(1 * MiB);
    }
    expect((await host.call('healthy')).status).toBe(200);
  });
});
