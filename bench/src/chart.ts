/**
 * @module bench/chart
 * The run's chart, written as SVG by hand (no browser): one block per scenario, a horizontal
 * bar per row with p99 drawn light behind p50 dark; throughput blocks show req/s. Each block
 * has its own scale, logarithmic when its values span more than two orders of magnitude.
 */
import type { ResultRow } from './context.js';

const WIDTH = 960;
const LABEL_W = 300;
const BAR_W = 520;
const ROW_H = 20;
const HEAD_H = 34;
const P50 = '#2b6cb0';
const P99 = '#a3c8f0';
const RPS = '#2f855a';

interface Bar {
  label: string;
  p50: number;
  p99?: number;
}

interface Block {
  title: string;
  unit: string;
  bars: Bar[];
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function labelOf(r: ResultRow): string {
  return [r.function ?? r.language, r.engine, r.scenario === 'koa-baseline' ? undefined : r.variant, r.connections === undefined ? undefined : `${r.connections}c`]
    .filter(Boolean)
    .join(' · ');
}

/** Groups rows into blocks: the Koa baseline joins the scenario it is a baseline for. */
export function blocks(results: readonly ResultRow[]): Block[] {
  const byKey = new Map<string, Block>();
  for (const r of results) {
    const scenario = r.scenario === 'koa-baseline' ? (r.variant ?? 'koa-baseline') : r.scenario;
    const rps = scenario === 'throughput';
    const key = rps ? 'throughput' : `${scenario} ${r.unit}`;
    let block = byKey.get(key);
    if (!block) {
      block = { title: rps ? 'throughput' : scenario, unit: rps ? 'req/s' : r.unit, bars: [] };
      byKey.set(key, block);
    }
    if (rps) block.bars.push({ label: labelOf(r), p50: r.rps ?? 0 });
    else block.bars.push({ label: labelOf(r), p50: r.p50, p99: r.p99 });
  }
  return [...byKey.values()];
}

function fmt(x: number): string {
  if (x >= 100) return String(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

export function chartSvg(results: readonly ResultRow[], title: string): string {
  const parts: string[] = [];
  let y = 40;
  for (const block of blocks(results)) {
    const values = block.bars.flatMap((b) => [b.p50, b.p99 ?? b.p50]).filter((v) => v > 0);
    const max = Math.max(...values, 1e-9);
    const min = Math.min(...values, max);
    const log = max / min > 100;
    const lo = log ? Math.log10(min) - 0.3 : 0;
    const scale = (v: number) => {
      if (v <= 0) return 0;
      if (!log) return (v / max) * BAR_W;
      return Math.max(2, ((Math.log10(v) - lo) / (Math.log10(max) - lo)) * BAR_W);
    };
    const rps = block.unit === 'req/s';
    parts.push(
      `<text x="10" y="${y + 20}" font-size="14" font-weight="bold">${xml(block.title)} (${xml(block.unit)}${log ? ', log scale' : ''})${rps ? '' : ' — dark p50, light p99'}</text>`,
    );
    y += HEAD_H;
    for (const bar of block.bars) {
      parts.push(`<text x="${LABEL_W - 8}" y="${y + 14}" font-size="12" text-anchor="end">${xml(bar.label)}</text>`);
      if (bar.p99 !== undefined) parts.push(`<rect x="${LABEL_W}" y="${y + 3}" width="${scale(bar.p99).toFixed(1)}" height="${ROW_H - 6}" fill="${P99}"/>`);
      parts.push(`<rect x="${LABEL_W}" y="${y + 3}" width="${scale(bar.p50).toFixed(1)}" height="${ROW_H - 6}" fill="${rps ? RPS : P50}"/>`);
      const text = bar.p99 === undefined ? fmt(bar.p50) : `${fmt(bar.p50)} / ${fmt(bar.p99)}`;
      parts.push(`<text x="${(LABEL_W + Math.max(scale(bar.p99 ?? bar.p50), scale(bar.p50)) + 6).toFixed(1)}" y="${y + 14}" font-size="11" fill="#333">${xml(text)}</text>`);
      y += ROW_H;
    }
    y += 8;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="24" font-size="16" font-weight="bold">wafer bench ${xml(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
