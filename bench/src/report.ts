/**
 * @module bench/report
 * Turns a run into its outputs: the JSON summary (`{environment, results}`), a text table for
 * the terminal, a Markdown report, and the files of `bench/results/<date>/` (summary.json,
 * report.md, chart.svg, and the raw samples under the git-ignored raw/).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultRow } from './context.js';
import type { Environment } from './environment.js';
import { chartSvg } from './chart.js';
import { checkTargets } from './targets.js';

export interface BenchReport {
  environment: Environment;
  results: ResultRow[];
}

const COLUMNS: [string, (r: ResultRow) => unknown][] = [
  ['scenario', (r) => r.scenario],
  ['function', (r) => r.function ?? r.language],
  ['engine', (r) => r.engine],
  ['variant', (r) => [r.variant, r.connections === undefined ? undefined : `${r.connections}c`].filter(Boolean).join(' ')],
  ['p50', (r) => r.p50],
  ['p90', (r) => r.p90],
  ['p99', (r) => r.p99],
  ['max', (r) => r.max],
  ['unit', (r) => r.unit],
  ['n', (r) => r.n],
  ['req/s', (r) => r.rps],
  ['× koa', (r) => r.ratio_to_baseline],
  ['× peer', (r) => r.ratio_to_peer],
];

function cells(r: ResultRow): string[] {
  return COLUMNS.map(([, get]) => {
    const v = get(r);
    return v === undefined || v === null ? '' : String(v);
  });
}

/** The results as an aligned text table. */
export function textTable(results: readonly ResultRow[]): string {
  const rows = [COLUMNS.map(([h]) => h), ...results.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set([4, 5, 6, 7, 9, 10, 11, 12]);
  const line = (r: string[]) => r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

/** The Markdown report: environment, targets, results, notes and what was skipped. */
export function markdown(report: BenchReport): string {
  const env = report.environment;
  const out: string[] = [];
  out.push(`# wafer bench — ${env.date}`, '');
  out.push(`\`${env.command}\``, '');
  out.push('| | |', '|---|---|');
  const facts: [string, unknown][] = [
    ['CPU', `${env.cpu} (${env.cores} cores), ${env.memory_gib} GiB`],
    ['load average (1/5/15 min)', `start ${env.load_average_start.join(' / ')}${env.load_average_end ? `, end ${env.load_average_end.join(' / ')}` : ''}`],
    ['OS', env.os],
    ['Node', `${env.node}, UV_THREADPOOL_SIZE ${env.uv_threadpool_size}`],
    ['wafer', `${env.wafer}${env.commit ? ` (${env.commit})` : ''}`],
    ['engines', Object.entries(env.engines).map(([k, v]) => `${k}: ${v}`).join(', ')],
    ['packages', Object.entries(env.packages).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['languages measured', ['wat (fixtures)', ...env.languages].join(', ')],
    ['wasmtime CLI (the peer)', env.wasmtime_cli ?? 'not installed (npm run bench:peers)'],
    ['duration', env.duration_s === undefined ? '' : `${env.duration_s} s`],
  ];
  for (const [k, v] of facts) out.push(`| ${k} | ${mdEscape(String(v))} |`);
  out.push('');

  const targets = checkTargets(report.results);
  if (targets.length > 0) {
    out.push('## Targets (DESIGN.md)', '', '| target | row | measured | goal | met |', '|---|---|---|---|---|');
    for (const t of targets) {
      out.push(`| ${t.target} | ${mdEscape(t.row)} | ${mdEscape(t.measured)} | ${t.goal} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
    }
    out.push('');
  }

  out.push('## Results', '', '![p50 and p99 per scenario](chart.svg)', '');
  out.push(`| ${COLUMNS.map(([h]) => h).join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`);
  for (const r of report.results) out.push(`| ${cells(r).map(mdEscape).join(' | ')} |`);
  out.push('');

  const notes = notesByRow(report.results);
  if (notes.size > 0) {
    out.push('## What each row measures', '');
    for (const [note, labels] of notes) out.push(`- **${labels.join(', ')}**: ${note}`);
    out.push('');
  }
  if (env.skipped.length > 0) {
    out.push('## Skipped', '');
    for (const s of env.skipped) out.push(`- ${[s.scenario, s.language, s.engine].filter(Boolean).join(' / ')}: ${s.reason}`);
    out.push('');
  }
  return out.join('\n');
}

/** Each distinct note with the rows it describes: `scenario (engine)`, plus the variant where notes differ by variant. */
function notesByRow(results: readonly ResultRow[]): Map<string, string[]> {
  const perKey = new Map<string, Set<string>>();
  for (const r of results) if (r.note) perKey.set(`${r.scenario} (${r.engine})`, (perKey.get(`${r.scenario} (${r.engine})`) ?? new Set()).add(r.note));
  const notes = new Map<string, string[]>();
  for (const r of results) {
    if (!r.note) continue;
    const key = `${r.scenario} (${r.engine})`;
    const label = perKey.get(key)!.size > 1 && r.variant ? `${r.scenario} (${r.engine}, ${r.variant})` : key;
    const labels = notes.get(r.note) ?? [];
    if (!labels.includes(label)) labels.push(label);
    notes.set(r.note, labels);
  }
  return notes;
}

/** `2026-11-23T14-05-00Z` from a date: sortable and safe in a path. */
export function runFolderName(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/** Writes a run's folder under `outDir`; returns its path. */
export async function writeRun(outDir: string, report: BenchReport, raw: Record<string, number[]>, date: Date): Promise<string> {
  const dir = join(outDir, runFolderName(date));
  await mkdir(join(dir, 'raw'), { recursive: true });
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, 'report.md'), markdown(report));
  await writeFile(join(dir, 'chart.svg'), chartSvg(report.results, report.environment.date));
  await writeFile(join(dir, 'raw', 'samples.json'), `${JSON.stringify({ unit_note: 'each key is scenario/language/engine/function[/variant][/connections]; values in the row unit', samples: raw })}\n`);
  return dir;
}
