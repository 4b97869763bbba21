/**
 * @module ui/app
 * The wafer dashboard's panels. It holds no secret of its own: the operator pastes the management
 * token (api.js keeps it for the tab), and every figure shown comes from the JSON API; the live
 * log is followed by tail.js. API data is rendered as text only (render.js).
 */
import { ApiError, api, currentToken, describe, fnPath, onUnauthorized, setToken } from './api.js';
import { barChart } from './charts.js';
import { bytes, clip, el, fill, micros, table, time } from './render.js';
import { followLog } from './tail.js';

/** Log entries kept on the page; older ones are dropped from the list. */
const MAX_LOG_ROWS = 200;
/** Characters of one stream (stdout, stderr) or of a response body shown. */
const MAX_SHOWN_CHARS = 16 * 1024;
const USAGE_POLL_MS = 5000;
const MINUTE_MS = 60_000;
const REFUSED = 'The host refused the token; sign in again.';

const $ = (id) => document.getElementById(id);
const state = {
  selected: null,
  /** Aborts the live log stream of the selected function. */
  tail: null,
  usageTimer: null,
};

// ---- sign in / out ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  setToken($('token').value.trim());
  try {
    await api('GET', '/v1/functions', { quiet401: true });
  } catch (err) {
    setToken(null);
    fill($('signin-error'), err instanceof ApiError && err.status === 401 ? 'That token is not this host’s.' : describe(err));
    return;
  }
  $('token').value = '';
  fill($('signin-error'));
  showMain();
}

function signOut(reason = '') {
  setToken(null);
  selectFunction(null);
  $('main').hidden = true;
  $('signout').hidden = true;
  $('signin-panel').hidden = false;
  fill($('signin-error'), reason);
}

function showMain() {
  $('signin-panel').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = false;
  refreshFunctions();
  loadBench();
}

// ---- functions and deploy ---------------------------------------------------------------

async function refreshFunctions() {
  let list;
  try {
    list = (await api('GET', '/v1/functions')).functions;
  } catch (err) {
    fill($('functions-table'), el('p', { class: 'error' }, describe(err)));
    return;
  }
  list.sort((a, b) => a.name.localeCompare(b.name));
  fill($('functions-table'), table(['name', 'version', 'size', 'world', 'deployed'], list, (fn) =>
    el('tr', { class: fn.name === state.selected ? 'selected' : undefined, 'data-name': fn.name },
      el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => selectFunction(fn.name) }, fn.name)),
      el('td', {}, `v${fn.version}`),
      el('td', {}, bytes(fn.size)),
      el('td', {}, fn.world),
      el('td', {}, time(fn.created_at)),
    ), 'No functions yet: deploy one below.'));
}

async function deploy(event) {
  event.preventDefault();
  const name = $('deploy-name').value.trim();
  const file = $('deploy-file').files[0];
  if (!file) return;
  fill($('deploy-status'), `Uploading ${file.name} (${bytes(file.size)})…`);
  try {
    const fn = await api('PUT', fnPath(name), { body: file, headers: { 'content-type': 'application/wasm' } });
    fill($('deploy-status'), `Deployed ${fn.name} v${fn.version} (${fn.digest.slice(0, 19)}…).`);
    $('deploy-file').value = '';
    await refreshFunctions();
    if (state.selected === fn.name) refreshDetail();
    else selectFunction(fn.name);
  } catch (err) {
    fill($('deploy-status'), el('span', { class: 'error' }, `Refused: ${describe(err)}`));
  }
}

// ---- one function: versions, aliases, rollback ------------------------------------------

function selectFunction(name) {
  state.tail?.abort();
  state.tail = null;
  clearInterval(state.usageTimer);
  state.selected = name;
  for (const row of document.querySelectorAll('#functions-table tr[data-name]')) row.classList.toggle('selected', row.dataset.name === name);
  $('detail').hidden = name === null;
  if (name === null) return;
  fill($('detail-name'), name);
  fill($('invoke-status'));
  $('invoke-result').hidden = true;
  fill($('versions-status'));
  refreshDetail();
  startTail(name);
  state.usageTimer = setInterval(() => loadUsage(name), USAGE_POLL_MS);
}

function refreshDetail() {
  loadVersions(state.selected);
  loadUsage(state.selected);
}

async function loadVersions(name) {
  let versions, aliases;
  try {
    [versions, aliases] = await Promise.all([api('GET', fnPath(name, '/versions')), api('GET', fnPath(name, '/aliases'))]);
  } catch (err) {
    fill($('versions-table'), el('p', { class: 'error' }, describe(err)));
    return;
  }
  if (name !== state.selected) return;
  const aliasesOf = (v) => aliases.aliases.filter((a) => Object.hasOwn(a.versions, String(v))).map((a) => a.alias).join(', ');
  const older = versions.versions.filter((v) => v.version < versions.current);
  $('rollback').disabled = older.length === 0;
  $('rollback').dataset.current = String(versions.current);
  fill($('versions-table'), table(['version', 'deployed', 'digest', 'size', 'limits', 'aliases', ''], versions.versions, (v) =>
    el('tr', { class: v.version === versions.current ? 'current' : undefined, 'data-version': v.version },
      el('td', {}, `v${v.version}`, v.version === versions.current ? el('span', { class: 'badge' }, 'current') : null),
      el('td', {}, time(v.created_at)),
      el('td', { class: 'mono', title: v.digest }, String(v.digest).slice(7, 19)),
      el('td', {}, bytes(v.size)),
      el('td', {}, `${v.limits.timeout_ms} ms, ${v.limits.memory_mb} MiB, ${v.limits.instance}`),
      el('td', {}, aliasesOf(v.version)),
      el('td', {}, v.version === versions.current ? '' : el('button', { type: 'button', class: 'small', onclick: () => rollback(name, v.version) }, 'Serve this')),
    )));
  fill($('aliases-table'), table(['alias', 'versions (weight)'], aliases.aliases, (a) => [
    a.alias,
    Object.entries(a.versions).map(([v, w]) => `v${v} (${w})`).join(', '),
  ], 'No aliases.'));
}

/** Moves the function's current version back (to `version`, or the previous kept one), after a confirm. */
async function rollback(name, version) {
  const from = $('rollback').dataset.current;
  const target = version === undefined ? 'the previous kept version' : `v${version}`;
  if (!window.confirm(`Serve ${target} of ${name} instead of v${from}? Plain calls run it from now on.`)) return;
  try {
    const fn = await api('POST', fnPath(name, `/rollback${version === undefined ? '' : `?version=${version}`}`));
    fill($('versions-status'), `Rolled back from v${fn.rolled_back_from} to v${fn.version}.`);
  } catch (err) {
    fill($('versions-status'), el('span', { class: 'error' }, describe(err)));
  }
  await Promise.all([loadVersions(name), refreshFunctions()]);
}

// ---- invoke -----------------------------------------------------------------------------

async function invoke(event) {
  event.preventDefault();
  const name = state.selected;
  const method = $('invoke-method').value;
  let rest = $('invoke-path').value.trim();
  if (rest && !rest.startsWith('/') && !rest.startsWith('?')) rest = `/${rest}`;
  const body = method === 'GET' || method === 'DELETE' ? undefined : $('invoke-body').value;
  fill($('invoke-status'), 'Calling…');
  $('invoke-result').hidden = false;
  fill($('invoke-headers'));
  fill($('invoke-output'));
  let res, text;
  const started = performance.now();
  try {
    // Invoking needs no token: it is not sent to the function.
    res = await fetch(`/fn/${encodeURIComponent(name)}${rest}`, { method, body, cache: 'no-store' });
    text = await res.text();
  } catch (err) {
    fill($('invoke-status'), el('span', { class: 'error' }, String(err?.message ?? err)));
    return;
  }
  const ms = (performance.now() - started).toFixed(1);
  fill($('invoke-status'), el('strong', { class: res.ok ? 'ok' : 'error' }, `${res.status} ${res.statusText}`), ` in ${ms} ms`);
  // wafer's own headers first, then the function's.
  const headers = [...res.headers].sort(([a], [b]) => Number(!a.startsWith('x-wafer-')) - Number(!b.startsWith('x-wafer-')) || a.localeCompare(b));
  fill($('invoke-headers'), table(['header', 'value'], headers, ([k, v]) => [k, v]));
  fill($('invoke-output'), clip(text, MAX_SHOWN_CHARS));
  loadUsage(name);
}

// ---- live log ---------------------------------------------------------------------------

function tailStatus(text, kind) {
  const badge = $('tail-status');
  fill(badge, text);
  badge.className = `badge ${kind}`;
}

/** Follows the function's log until `selectFunction` moves on. */
function startTail(name) {
  const controller = new AbortController();
  state.tail = controller;
  fill($('log-list'));
  followLog(name, { signal: controller.signal, onEntry: appendLog, onStatus: tailStatus, onUnauthorized: () => signOut(REFUSED) });
}

function appendLog(entry) {
  const list = $('log-list');
  const ok = entry.code === 'ok';
  const item = el('li', { class: ok ? 'log' : 'log failed', 'data-invocation': entry.invocation_id },
    el('div', { class: 'log-head' },
      el('span', {}, time(entry.time)),
      el('span', {}, `v${entry.version}`),
      el('span', { class: ok ? 'ok' : 'error' }, `${entry.status} ${entry.code}`),
      el('span', {}, micros(entry.duration_us)),
      el('span', {}, entry.start),
      el('span', { class: 'mono muted' }, entry.invocation_id),
    ),
    entry.stdout ? el('pre', { class: 'stdout' }, clip(entry.stdout, MAX_SHOWN_CHARS)) : null,
    entry.stderr ? el('pre', { class: 'stderr' }, clip(entry.stderr, MAX_SHOWN_CHARS)) : null,
  );
  list.prepend(item);
  while (list.children.length > MAX_LOG_ROWS) list.lastElementChild.remove();
}

// ---- usage ------------------------------------------------------------------------------

async function loadUsage(name) {
  let usage;
  try {
    usage = await api('GET', fnPath(name, '/usage?granularity=minute'));
  } catch (err) {
    fill($('usage-totals'), el('p', { class: 'error' }, describe(err)));
    return;
  }
  if (name !== state.selected) return;
  const t = usage.totals;
  const errors = Object.values(t.errors).reduce((a, b) => a + b, 0);
  const avg = (total) => (t.invocations ? micros(total / t.invocations) : '–');
  fill($('usage-totals'), el('dl', { class: 'totals' },
    stat('invocations', t.invocations, 'usage-invocations'),
    stat('errors', errors, 'usage-errors'),
    stat('cold starts', t.cold_starts),
    stat('avg duration', avg(t.duration_us)),
    stat('avg wall', avg(t.wall_us)),
    stat('GB-s', t.gb_seconds.toPrecision(3)),
    stat('peak memory', bytes(t.peak_memory_bytes)),
    stat('lifetime calls', usage.lifetime.invocations),
  ));
  const byStart = new Map(usage.buckets.map((b) => [Date.parse(b.start), b]));
  const points = [];
  for (let s = Date.parse(usage.from); s < Date.parse(usage.to); s += MINUTE_MS) {
    const b = byStart.get(s);
    const failed = b ? Object.values(b.errors).reduce((x, y) => x + y, 0) : 0;
    const label = new Date(s).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
    points.push({ label, calls: b ? [b.invocations - failed, failed] : [0, 0], latency: [b && b.invocations ? b.duration_us / b.invocations : 0] });
  }
  fill($('chart-calls'), barChart({
    title: 'invocations per minute',
    points: points.map((p) => ({ label: p.label, values: p.calls })),
    series: [{ name: 'ok', className: 'ok' }, { name: 'errors', className: 'error' }],
  }));
  fill($('chart-latency'), barChart({
    title: 'average duration per minute',
    points: points.map((p) => ({ label: p.label, values: p.latency })),
    series: [{ name: 'avg duration', className: 'latency' }],
    format: micros,
  }));
}

function stat(label, value, id) {
  return el('div', {}, el('dt', {}, label), el('dd', { id }, String(value)));
}

// ---- bench ------------------------------------------------------------------------------

/** How a bench result's variant reads in the table. */
function variantOf(r) {
  const parts = [r.variant, r.connections !== undefined ? `${r.connections} conn` : undefined].filter((x) => x !== undefined && x !== null);
  return parts.join(', ');
}

async function loadBench() {
  let latest;
  try {
    latest = await api('GET', '/v1/bench/latest');
  } catch (err) {
    fill($('bench-info'), err instanceof ApiError && err.status === 404 ? 'No bench results yet: run `wafer bench`.' : describe(err));
    fill($('bench-table'));
    return;
  }
  const env = latest.summary?.environment ?? {};
  const results = Array.isArray(latest.summary?.results) ? latest.summary.results : [];
  fill($('bench-info'), `Run ${latest.run}: ${env.command ?? 'wafer bench'}, commit ${env.commit ?? '?'}, ${env.cpu ?? '?'} × ${env.cores ?? '?'}, node ${env.node ?? '?'}; ${results.length} results.`);
  const num = (v) => (typeof v === 'number' ? String(v) : '');
  fill($('bench-table'), table(['scenario', 'engine', 'function', 'variant', 'p50', 'p99', 'unit', 'rps', '× koa'], results.slice(0, 500), (r) => [
    String(r.scenario ?? ''), String(r.engine ?? ''), String(r.function ?? ''), variantOf(r),
    num(r.p50), num(r.p99), String(r.unit ?? ''), num(r.rps), num(r.ratio_to_baseline),
  ]));
}

// ---- start ------------------------------------------------------------------------------

async function loadHostInfo() {
  try {
    const health = await (await fetch('/healthz', { cache: 'no-store' })).json();
    fill($('host-info'), `${health.status} · ${health.engine} (${health.versions?.engine ?? '?'}) · wafer ${health.versions?.wafer ?? '?'} · ABI ${health.versions?.abi ?? '?'}`);
  } catch {
    fill($('host-info'), 'host unreachable');
  }
}

$('signin').addEventListener('submit', signIn);
$('signout').addEventListener('click', () => signOut());
$('deploy').addEventListener('submit', deploy);
$('refresh').addEventListener('click', () => {
  refreshFunctions();
  loadBench();
});
$('rollback').addEventListener('click', () => rollback(state.selected));
$('invoke').addEventListener('submit', invoke);
$('usage-refresh').addEventListener('click', () => loadUsage(state.selected));
loadHostInfo();
onUnauthorized(() => signOut(REFUSED));
if (currentToken()) showMain();
