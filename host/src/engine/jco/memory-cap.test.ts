import { parse, print } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { capMemories } from './memory-cap.js';

const PAGE = 65536;

/** The memory lines of a module's text form, for readable assertions. */
async function memories(bytes: Uint8Array): Promise<string[]> {
  const text = await print(bytes);
  return [...text.matchAll(/\((?:import "[^"]*" "[^"]*" )?\(?memory \(;\d+;\) ([^)]*)\)/g)].map((m) => m[1]!.trim());
}

describe('capMemories', () => {
  it('adds a maximum to a defined memory that has none', async () => {
    const capped = capMemories(await parse('(module (memory (export "m") 1))'), 4 * PAGE);
    expect(await memories(capped.bytes)).toEqual(['1 4']);
    expect(capped).toMatchObject({ memories: 1, initialBytes: PAGE, minExceedsCap: false });
  });

  it('lowers a larger maximum and keeps a smaller one', async () => {
    const capped = capMemories(await parse('(module (memory 2 100) (memory 1 2))'), 4 * PAGE);
    expect(await memories(capped.bytes)).toEqual(['2 4', '1 2']);
  });

  it('caps imported memories and leaves other imports alone', async () => {
    const source = `(module (type (func))
      (import "env" "f" (func (type 0)))
      (import "env" "t" (table 1 funcref))
      (import "env" "g" (global (mut i32)))
      (import "env" "m" (memory 1)))`;
    const original = await print(await parse(source));
    const capped = await print(capMemories(await parse(source), 8 * PAGE).bytes);
    expect(capped).toBe(original.replace('(memory (;0;) 1)', '(memory (;0;) 1 8)'));
  });

  it('keeps the shared and memory64 flags', async () => {
    const capped = capMemories(await parse('(module (memory i64 1) (memory 1 10 shared))'), 4 * PAGE);
    expect(await memories(capped.bytes)).toEqual(['i64 1 4', '1 4 shared']);
  });

  it('rounds the quota down to whole pages', async () => {
    const capped = capMemories(await parse('(module (memory 1))'), 3 * PAGE + 100);
    expect(await memories(capped.bytes)).toEqual(['1 3']);
  });

  it('flags a memory whose minimum alone exceeds the quota', async () => {
    const capped = capMemories(await parse('(module (memory 64))'), 16 * PAGE);
    expect(capped.minExceedsCap).toBe(true);
    expect(capped.initialBytes).toBe(64 * PAGE);
    expect(WebAssembly.validate(capped.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  it('makes memory.grow fail past the quota on V8', async () => {
    const source = `(module (memory 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;
    const module = await WebAssembly.compile(capMemories(await parse(source), 4 * PAGE).bytes as Uint8Array<ArrayBuffer>);
    const grow = (await WebAssembly.instantiate(module)).exports.grow as (pages: number) => number;
    expect(grow(4)).toBe(-1);
    expect(grow(3)).toBe(1);
    expect(grow(1)).toBe(-1);
  });

  it('copies every other section byte for byte', async () => {
    const source = '(module (func (export "f") (result i32) (i32.const 7)) (data "abc") (@custom "note" "hi"))';
    const bytes = await parse(source);
    expect(capMemories(bytes, PAGE).bytes).toEqual(bytes);
  });

  it('refuses bytes that are not a core module', () => {
    expect(() => capMemories(new TextEncoder().encode('not wasm'), PAGE)).toThrow(/not a WebAssembly core module/);
  });
});
