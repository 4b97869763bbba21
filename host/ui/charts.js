/**
 * @module ui/charts
 * Small inline SVG bar charts for the usage panel: one bar per time bucket, optionally stacked,
 * with the peak value and the first and last bucket's time as the only labels. A chart library
 * would be larger than the page.
 */
import { svg } from './render.js';

const WIDTH = 600;
const HEIGHT = 140;
const PAD = { top: 14, right: 8, bottom: 18, left: 52 };

/**
 * A bar chart. `points` are `{label, values: [n, …]}`, one per bucket; `series` names each value
 * (`{name, className}`), stacked bottom-up; `format` prints a value for the axis and tooltips.
 */
export function barChart({ title, points, series, format = String }) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const peak = Math.max(0, ...points.map((p) => p.values.reduce((a, b) => a + b, 0)));
  const scale = peak > 0 ? plotH / peak : 0;
  const step = points.length ? plotW / points.length : plotW;
  const barW = Math.max(1, step * 0.8);
  const bars = [];
  points.forEach((point, i) => {
    let y = PAD.top + plotH;
    point.values.forEach((value, s) => {
      if (!(value > 0)) return;
      const h = Math.max(1, value * scale);
      y -= h;
      bars.push(
        svg('rect', { x: (PAD.left + i * step + (step - barW) / 2).toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: h.toFixed(1), class: series[s].className },
          svg('title', {}, `${point.label} ${series[s].name}: ${format(value)}`)),
      );
    });
  });
  const axisY = PAD.top + plotH;
  const labels = [
    svg('text', { x: PAD.left - 4, y: PAD.top + 4, class: 'axis', 'text-anchor': 'end' }, format(peak)),
    svg('text', { x: PAD.left - 4, y: axisY, class: 'axis', 'text-anchor': 'end' }, '0'),
  ];
  if (points.length) {
    labels.push(svg('text', { x: PAD.left, y: HEIGHT - 4, class: 'axis' }, points[0].label));
    labels.push(svg('text', { x: WIDTH - PAD.right, y: HEIGHT - 4, class: 'axis', 'text-anchor': 'end' }, points[points.length - 1].label));
  }
  const legend = series.map((s, i) =>
    svg('text', { x: PAD.left + 8 + i * 110, y: PAD.top - 3, class: `legend ${s.className}` }, `■ ${s.name}`),
  );
  return svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': title, class: 'chart' },
    svg('title', {}, title),
    svg('line', { x1: PAD.left, y1: axisY, x2: WIDTH - PAD.right, y2: axisY, class: 'axis-line' }),
    bars, labels, legend,
  );
}
