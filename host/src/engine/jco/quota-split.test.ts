import { parse, print } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { capMemories, growables, TABLE_ELEMENT_BYTES } from './memory-cap.js';
import { splitQuota, TABLE_GROWTH_ELEMENTS } from './quota-split.js';
import { instanceCounts } from './store.js';

const PAGE = 65536;
const MiB = 1024 * 1024;

async function growablesOf(modules: Record<string, string>) {
  const out = new Map<string, ReturnType<typeof growables>>();
  for (const [name, text] of Object.entries(modules)) out.set(name, growables(await parse(text)));
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('splitQuota', () => {
  it('gives the whole quota to a component with one memory', async () => {
    const split = splitQuota(await growablesOf({ 'a.wasm': '(module (memory 1))', 'b.wasm': '(module (import "a" "m" (memory 1)))' }), 16 * MiB);
    expect(split.caps.get('a.wasm')).toEqual({ memories: [16 * MiB], tables: [] });
    expect(split.caps.get('b.wasm')).toEqual({ memories: [], tables: [] });
    expect(split.initialBytes).toBe(PAGE);
  });

  it('shares the quota among twenty memories so that together they never pass it', async () => {
    const modules: Record<string, string> = { main: '(module (memory 1))' };
    for (let i = 0; i < 20; i++) modules[`m${i}`] = '(module (memory 0))';
    const split = splitQuota(await growablesOf(modules), 2 * MiB);
    const caps = [...split.caps.values()].flatMap((c) => c.memories);
    expect(caps).toHaveLength(21);
    expect(sum(caps)).toBeLessThanOrEqual(2 * MiB);
    expect(Math.min(...caps)).toBeGreaterThanOrEqual(PAGE);
    expect(sum(Object.values(split.budget))).toBe(sum(caps));
  });

  it('passes the unused share of a small declared maximum on to the others', async () => {
    const split = splitQuota(await growablesOf({ a: '(module (memory 1 2) (memory 1))' }), 16 * MiB);
    expect(split.caps.get('a')!.memories).toEqual([2 * PAGE, 16 * MiB - 2 * PAGE]);
  });

  it('lets a table without a maximum grow a bounded amount, charged at 8 bytes an element', async () => {
    const split = splitQuota(await growablesOf({ a: '(module (memory 1) (table 10 funcref) (table 5 5 funcref))' }), 256 * MiB);
    const caps = split.caps.get('a')!;
    expect(caps.tables).toEqual([(10 + TABLE_GROWTH_ELEMENTS) * TABLE_ELEMENT_BYTES, 5 * TABLE_ELEMENT_BYTES]);
    expect(sum(caps.memories) + sum(caps.tables)).toBeLessThanOrEqual(256 * MiB);
    expect(split.initialBytes).toBe(PAGE + 15 * TABLE_ELEMENT_BYTES);
  });

  it('counts a module instantiated twenty times twenty times', async () => {
    const split = splitQuota(await growablesOf({ main: '(module (memory 1))', mem: '(module (memory 0))' }), 2 * MiB, { mem: 20 });
    const memCap = split.caps.get('mem')!.memories[0]!;
    const mainCap = split.caps.get('main')!.memories[0]!;
    expect(memCap).toBeGreaterThanOrEqual(PAGE);
    expect(mainCap + 20 * memCap).toBeLessThanOrEqual(2 * MiB);
    expect(split.budget.mem).toBe(memCap); // per instance: the worker adds it once per instantiation
  });

  it('reports minimums that together exceed the quota', async () => {
    const split = splitQuota(await growablesOf({ a: '(module (memory 10))', b: '(module (memory 10))' }), 16 * PAGE);
    expect(split.initialBytes).toBe(20 * PAGE);
  });
});

describe('capMemories with per-memory and per-table caps', () => {
  it('writes each defined memory and table its own maximum', async () => {
    const module = await parse('(module (memory 1) (memory 0) (table 2 funcref) (table 3 100 funcref))');
    const capped = capMemories(module, 16 * PAGE, { memories: [4 * PAGE, 2 * PAGE], tables: [64 * TABLE_ELEMENT_BYTES, 10 * TABLE_ELEMENT_BYTES] });
    const text = await print(capped.bytes);
    expect(text).toMatch(/\(memory \(;0;\) 1 4\)/);
    expect(text).toMatch(/\(memory \(;1;\) 0 2\)/);
    expect(text).toMatch(/\(table \(;0;\) 2 64 funcref\)/);
    expect(text).toMatch(/\(table \(;1;\) 3 10 funcref\)/);
    // Everything else survives: a single-memory module (V8 here lacks multi-memory) still validates.
    const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    const one = await parse('(module (memory 1) (table 2 funcref) (table 3 100 funcref) (elem (i32.const 0) func 0) (func))');
    expect(wasm.validate(capMemories(one, 16 * PAGE, { memories: [4 * PAGE], tables: [64 * 8, 10 * 8] }).bytes)).toBe(true);
  });
});

describe('instanceCounts', () => {
  it('reads how often the transpiled JS instantiates each core module', () => {
    const js = `const module0 = getCoreModule('fn.core.wasm');
      const module1 = getCoreModule('fn.core2.wasm');
      ({ exports: exports0 } = instantiateCore(module1));
      ({ exports: exports1 } = instantiateCore(module1, {}));
      ({ exports: exports2 } = instantiateCore(module0, { a: exports0 }));`;
    expect(instanceCounts(js)).toEqual({ 'fn.core.wasm': 1, 'fn.core2.wasm': 2 });
  });
});
