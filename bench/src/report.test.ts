import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocks, chartSvg } from './chart.js';
import type { ResultRow } from './context.js';
import type { Environment } from './environment.js';
import { markdown, runFolderName, textTable, writeRun, type BenchReport } from './report.js';
import { checkTargets } from './targets.js';

const rows: ResultRow[] = [
  { scenario: 'koa-baseline', language: 'js', engine: 'koa', variant: 'warm-http', p50: 250, p90: 300, p99: 400, max: 900, unit: 'µs', n: 1000 },
  { scenario: 'koa-baseline', language: 'js', engine: 'koa', variant: 'throughput', connections: 64, p50: 4, p99: 9, unit: 'ms', n: 130000, rps: 13000 },
  { scenario: 'instantiate', language: 'wat', engine: 'wasmtime', function: 'echo.wasm', p50: 18, p90: 20, p99: 40, max: 90, unit: 'µs', n: 1000, engine_us_p50: 9 },
  { scenario: 'instantiate', language: 'wat', engine: 'jco', function: 'echo.wasm', p50: 80000, p99: 120000, unit: 'µs', n: 5 },
  { scenario: 'warm-http', language: 'rust', engine: 'wasmtime', function: 'hello-rust', p50: 320, p99: 800, unit: 'µs', n: 1000, ratio_to_baseline: 1.28 },
  { scenario: 'throughput', language: 'rust', engine: 'wasmtime', function: 'hello-rust', connections: 64, p50: 5, p99: 12, unit: 'ms', n: 120000, rps: 12000, ratio_to_baseline: 0.92 },
  { scenario: 'restart', language: 'python', engine: 'wasmtime', function: 'hello-python', p50: 15, p99: 30, unit: 'ms', n: 10 },
  { scenario: 'restart', language: 'ts', engine: 'wasmtime', function: 'hello-ts', p50: 9, p99: 12, unit: 'ms', n: 10 },
  { scenario: 'deployed-rss', language: 'rust', engine: 'wasmtime', function: 'hello-rust', variant: 'same', functions: 100, p50: 150, p99: 150, unit: 'MiB', n: 1 },
  { scenario: 'fair', language: 'rust', engine: 'wasmtime', function: 'hello-rust', variant: 'call', p50: 120, p99: 240, max: 260, unit: 'ms', n: 60, target_ms: 250 },
  { scenario: 'fair', language: 'rust', engine: 'wasmtime', function: '/healthz', variant: 'healthz', p50: 1, p99: 20, max: 40, unit: 'ms', n: 60, target_ms: 100 },
  { scenario: 'warm-call', language: 'wat', engine: 'jco', function: 'a|b <c&d>', p50: 30, p99: 80, unit: 'µs', n: 10, note: 'pipes | and <tags>' },
];

const environment = {
  date: '2026-11-23T14:05:00.000Z',
  command: 'wafer bench --quick',
  cpu: 'AMD EPYC',
  cores: 2,
  memory_gib: 8,
  load_average_start: [0.5, 0.4, 0.3],
  os: 'linux',
  node: 'v20.19.0',
  uv_threadpool_size: '4',
  wafer: '0.1.0',
  commit: 'abc1234',
  engines: { wasmtime: 'wasmtime 48.0.8', jco: 'jco 1.35.0' },
  packages: { koa: '3.3.0' },
  languages: ['rust'],
  wasmtime_cli: null,
  options: {},
  skipped: [{ scenario: 'wasmtime-serve', reason: 'no wasmtime binary on PATH' }],
} satisfies Environment;

const report: BenchReport = { environment, results: rows };

describe('textTable', () => {
  it('prints a header, a rule and one aligned line per row', () => {
    const lines = textTable(rows).split('\n');
    expect(lines).toHaveLength(rows.length + 2);
    expect(lines[0]).toMatch(/^scenario\s+function\s+engine\s+variant\s+p50\s+p90\s+p99\s+max\s+unit\s+n\s+req\/s\s+× koa\s+× peer$/);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines.find((l) => l.startsWith('throughput'))).toMatch(/hello-rust\s+wasmtime\s+64c\s+5\s+12\s+ms\s+120000\s+12000\s+0\.92$/);
  });
});

describe('checkTargets', () => {
  const byRow = (row: string) => checkTargets(rows).find((t) => t.row === row);

  it('judges the instantiate p50 against 20 µs', () => {
    expect(byRow('echo.wasm · wasmtime')).toMatchObject({ met: true, goal: 'p50 ≤ 20 µs' });
    expect(byRow('echo.wasm · wasmtime')!.measured).toContain('addon-measured instantiate+call p50 9 µs');
  });

  it('judges warm HTTP against 1.2 × Koa and a 1 ms p99', () => {
    expect(byRow('hello-rust · wasmtime')).toMatchObject({ target: expect.stringMatching(/^2\./), met: false });
  });

  it('judges throughput at 64 connections against 0.9 × Koa', () => {
    expect(checkTargets(rows).find((t) => t.target.startsWith('3.'))).toMatchObject({ met: true });
  });

  it('gives Python 20 ms after a restart and the others 5 ms', () => {
    expect(byRow('hello-python · wasmtime')).toMatchObject({ goal: '≤ 20 ms', met: true });
    expect(byRow('hello-ts · wasmtime')).toMatchObject({ goal: '≤ 5 ms', met: false });
  });

  it('judges fairness on the slowest call and /healthz against their own targets', () => {
    expect(byRow('hello-rust · wasmtime · call')).toMatchObject({ target: expect.stringMatching(/^6\./), goal: '≤ 250 ms', met: false });
    expect(byRow('/healthz · wasmtime · healthz')).toMatchObject({ goal: '≤ 100 ms', met: true });
  });

  it('cannot judge the 1,000-function RSS from fewer functions', () => {
    expect(checkTargets(rows).find((t) => t.target.startsWith('5.'))).toMatchObject({ met: null });
  });
});

describe('markdown', () => {
  const md = markdown(report);

  it('names the command, the machine and what was skipped', () => {
    expect(md).toContain('`wafer bench --quick`');
    expect(md).toContain('| CPU | AMD EPYC (2 cores), 8 GiB |');
    expect(md).toContain('- wasmtime-serve: no wasmtime binary on PATH');
  });

  it('has a targets table and a results row per result, with pipes escaped', () => {
    expect(md).toContain('## Targets (DESIGN.md)');
    expect(md).toContain('| **no** |');
    expect(md).toContain('a\\|b <c&d>');
    const resultLines = md.split('## Results')[1]!.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| scenario'));
    expect(resultLines).toHaveLength(rows.length);
  });
});

describe('chartSvg', () => {
  it('puts the Koa baseline in the block it is a baseline for', () => {
    const titles = blocks(rows).map((b) => `${b.title} (${b.unit})`);
    expect(titles).toContain('warm-http (µs)');
    expect(titles).toContain('throughput (req/s)');
    expect(titles).not.toContain('koa-baseline (µs)');
    expect(blocks(rows).find((b) => b.title === 'throughput')!.bars.map((b) => b.p50)).toEqual([13000, 12000]);
  });

  it('draws one bar per row (two with p99) and escapes labels', () => {
    const svg = chartSvg(rows, 'test');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = (svg.match(/<rect x=/g) ?? []).length;
    const withP99 = rows.filter((r) => r.scenario !== 'throughput' && !(r.scenario === 'koa-baseline' && r.variant === 'throughput')).length;
    expect(bars).toBe(withP99 * 2 + 2);
    expect(svg).toContain('a|b &lt;c&amp;d&gt;');
    expect(svg).not.toContain('<c&d>');
  });

  it('switches a block to a log scale when it spans more than 100×', () => {
    expect(chartSvg(rows, 'test')).toContain('instantiate (µs, log scale)');
  });
});

describe('writeRun', () => {
  it('writes summary.json shaped {environment, results}, report.md, chart.svg and raw/', async () => {
    const out = await mkdtemp(join(tmpdir(), 'wafer-bench-report-'));
    try {
      const date = new Date('2026-11-23T14:05:00.123Z');
      const dir = await writeRun(out, report, { 'warm-call/wat/jco': [1, 2, 3] }, date);
      expect(dir).toBe(join(out, '2026-11-23T14-05-00Z'));
      expect((await readdir(dir)).sort()).toEqual(['chart.svg', 'raw', 'report.md', 'summary.json']);
      const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as BenchReport;
      expect(Object.keys(summary)).toEqual(['environment', 'results']);
      expect(summary.results).toHaveLength(rows.length);
      const raw = JSON.parse(await readFile(join(dir, 'raw', 'samples.json'), 'utf8')) as { samples: Record<string, number[]> };
      expect(raw.samples['warm-call/wat/jco']).toEqual([1, 2, 3]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('names run folders by UTC time, sortable and without colons', () => {
    expect(runFolderName(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03-04-05Z');
  });
});
