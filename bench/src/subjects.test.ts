import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRequest } from '../../host/src/abi/envelope.js';
import { validateComponent } from '../../host/src/abi/validate.js';
import { BenchContext } from './context.js';
import { sizesFor, parseConnections, type BenchOptions } from './options.js';
import { FIXTURES_DIST, input100, salted, sha256, type Subject } from './subjects.js';

const fixture = (envelope: boolean): Subject => ({ language: 'wat', function: 'x', deployName: 'x', path: '/nonexistent', size: 0, envelope });

describe('input100', () => {
  it('is 100 raw bytes for a fixture', () => {
    expect(input100(fixture(false))).toHaveLength(100);
  });

  it('is a 100-byte Request envelope for a sample', () => {
    const bytes = input100(fixture(true));
    expect(bytes).toHaveLength(100);
    expect(decodeRequest(bytes)).toMatchObject({ method: 'POST', path: '/' });
  });
});

describe('salted', () => {
  const echo = join(FIXTURES_DIST, 'echo.wasm');

  it('changes the digest on every call and keeps the original bytes as a prefix', () => {
    const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    const a = salted(bytes);
    const b = salted(bytes);
    expect(sha256(a)).not.toBe(sha256(b));
    expect(Buffer.from(a.subarray(0, bytes.length))).toEqual(Buffer.from(bytes));
  });

  it.skipIf(!existsSync(echo))('leaves a valid component of the wafer world', async () => {
    await expect(validateComponent(salted(readFileSync(echo)))).resolves.toMatchObject({ imports: [] });
  });
});

describe('BenchContext.selected', () => {
  const options = (filter?: RegExp): BenchOptions => ({ quick: true, filter, outDir: null, cacheDir: '/tmp', progress: () => {} });

  it('matches --filter against scenario/language/engine', () => {
    const ctx = new BenchContext(options(/^restart\/.*\/wasmtime$/), sizesFor(options()));
    expect(ctx.selected('restart', 'rust', 'wasmtime')).toBe(true);
    expect(ctx.selected('restart', 'rust', 'jco')).toBe(false);
    expect(ctx.selected('warm-http', 'rust', 'wasmtime')).toBe(false);
  });

  it('selects everything without a filter, even a global regex twice', () => {
    expect(new BenchContext(options(), sizesFor(options())).selected('compile', 'ts', 'jco')).toBe(true);
    const ctx = new BenchContext(options(/rust/g), sizesFor(options()));
    expect(ctx.selected('compile', 'rust', 'jco')).toBe(true);
    expect(ctx.selected('compile', 'rust', 'jco')).toBe(true);
  });
});

describe('sizes', () => {
  it('measures only the fixtures and Rust in a quick run, every language otherwise', () => {
    const base = { outDir: null, cacheDir: '/tmp', progress: () => {} };
    expect(sizesFor({ ...base, quick: true }).languages).toEqual(['rust']);
    expect(sizesFor({ ...base, quick: false }).languages).toEqual(['ts', 'rust', 'go', 'python']);
    expect(sizesFor({ ...base, quick: true }).functions).toBe(100);
    expect(sizesFor({ ...base, quick: false, connections: [8] }).connections).toEqual([8]);
  });

  it('parses --connections and refuses nonsense', () => {
    expect(parseConnections('1, 16,64')).toEqual([1, 16, 64]);
    expect(() => parseConnections('1,x')).toThrow(RangeError);
    expect(() => parseConnections('0')).toThrow(RangeError);
  });
});
