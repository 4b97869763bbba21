import { describe, expect, it } from 'vitest';
import { percentile, round, summarize } from './stats.js';

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe('percentile', () => {
  it('is the nearest rank: the smallest sample with at least p% at or below it', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 90)).toBe(90);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
  });

  it('always answers a sample that was observed', () => {
    const sorted = [3.5, 7.25, 100];
    for (const p of [0.1, 1, 33, 50, 66.7, 90, 99, 99.9, 100]) expect(sorted).toContain(percentile(sorted, p));
  });

  it('gives the only sample for every p', () => {
    expect(percentile([42], 0.01)).toBe(42);
    expect(percentile([42], 99)).toBe(42);
  });

  it('refuses no samples and a p outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy and reports n, min, mean, p50, p90, p99 and max', () => {
    const samples = [...oneToHundred].reverse();
    const s = summarize(samples);
    expect(s).toEqual({ n: 100, min: 1, mean: 50.5, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(samples[0]).toBe(100);
  });

  it('lets one outlier move p99 and max but not p50', () => {
    const s = summarize([...Array(99).fill(10), 5000]);
    expect(s.p50).toBe(10);
    expect(s.p99).toBe(10);
    expect(s.max).toBe(5000);
  });

  it('refuses no samples', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('round', () => {
  it('keeps three significant digits below 100 and whole numbers above', () => {
    expect(round(12.3456)).toBe(12.3);
    expect(round(0.012345)).toBe(0.0123);
    expect(round(123.6)).toBe(124);
    expect(round(0)).toBe(0);
  });
});
