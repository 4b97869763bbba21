/**
 * @module ui/render
 * DOM building for the dashboard. Everything the API answers is hostile (guest output, headers,
 * bodies), so it only ever becomes a text node or an attribute value: there is no HTML parsing
 * here, and the page's Trusted Types policy makes any `innerHTML` assignment throw.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes (`class`, `data-*`, …) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, as `el`. */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return build(node, {}, children);
}

/** A table with a header row and one row per item; `cells(item)` gives each row's cells. */
export function table(headers, items, cells, empty = 'none') {
  const head = el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h))));
  const rows = items.length
    ? items.map((item) => {
        const row = cells(item);
        return row instanceof Node ? row : el('tr', {}, row.map((c) => (c instanceof Node && c.nodeName === 'TD' ? c : el('td', {}, c))));
      })
    : [el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, empty))];
  return el('table', {}, head, el('tbody', {}, rows));
}

/** Bytes as B, KiB or MiB. */
export function bytes(n) {
  if (typeof n !== 'number') return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Microseconds as µs, ms or s. */
export function micros(us) {
  if (typeof us !== 'number' || !Number.isFinite(us)) return '';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** An ISO time as local `HH:MM:SS` (with the date when it is not today). */
export function time(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const clock = d.toLocaleTimeString([], { hour12: false });
  return d.toDateString() === new Date().toDateString() ? clock : `${d.toLocaleDateString()} ${clock}`;
}

/** A string cut to `max` characters, saying how much was left out. */
export function clip(text, max) {
  const s = String(text ?? '');
  return s.length <= max ? s : `${s.slice(0, max)}\n… (${s.length - max} more characters)`;
}
