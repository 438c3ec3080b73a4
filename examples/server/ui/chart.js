// The time chart of the Stats view: when the rows are grouped by a time
// bucket (`| stats count() by (level, bucket(timestamp, 1m))`), the first
// number column is drawn over time, one series per value of the other
// keys (a bar per bucket for one series, a line each for several, the
// busiest eight with a legend). Drawn as SVG by hand, as the histogram is:
// bars, polylines, two time labels and the highest value are all it takes.

import { formatCount, formatTime, svg } from './dom.js';

const HEIGHT = 110;
const AXIS = 18;
/** The most buckets of a time axis drawn to scale. */
const MAX_SLOTS = 1000;
/** The most series drawn; the rest are counted in the legend. */
export const MAX_SERIES = 8;
const COLORS = ['#4f8fea', '#e5534b', '#57ab5a', '#c69026', '#986ee2', '#39c5cf', '#e275ad', '#768390'];

/**
 * Draws the chart of `answer` (of /api/query) into `container`, or hides
 * the container when the rows have no time bucket or no number to draw.
 * Marks carry `data-series` and `data-time` (milliseconds) for tests.
 */
export function drawStatsChart(container, answer) {
  container.replaceChildren();
  const chart = chartOf(answer);
  container.hidden = !chart;
  if (!chart) return;
  const { times, series, column, dropped } = chart;
  const width = Math.max(container.clientWidth, 200);
  const max = Math.max(1e-9, ...series.flatMap((s) => [...s.values.values()]));
  const step = width / times.length;
  const x = (i) => i * step + step / 2;
  const y = (v) => HEIGHT - (v / max) * (HEIGHT - 4);
  const root = svg('svg', {
    width, height: HEIGHT + AXIS, viewBox: `0 0 ${width} ${HEIGHT + AXIS}`,
    role: 'img', 'aria-label': `${column} over time`, class: 'histogram stats-chart',
  });
  const point = (tag, attrs, s, time) => {
    const el = svg(tag, attrs);
    const title = svg('title');
    title.textContent = `${iso(time)}${s.name ? ` · ${s.name}` : ''} · ${column}: ${shown(s.values.get(time))}`;
    el.append(title);
    el.dataset.series = s.name;
    el.dataset.time = time;
    root.append(el);
  };
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    if (series.length === 1) {
      times.forEach((time, i) => {
        const v = s.values.get(time);
        if (v === undefined) return;
        const h = Math.max(v > 0 ? 1 : 0, HEIGHT - y(Math.max(v, 0)));
        point('rect', {
          x: i * step + (step > 4 ? 0.5 : 0), y: HEIGHT - h,
          width: Math.max(step - (step > 4 ? 1 : 0), 0.5), height: h, class: 'bar',
        }, s, time);
      });
      return;
    }
    const points = times.map((time, i) => [i, s.values.get(time)]).filter(([, v]) => v !== undefined);
    root.append(svg('polyline', {
      points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(' '),
      fill: 'none', stroke: color, 'stroke-width': 1.5, class: 'series',
    }));
    points.forEach(([i, v]) => point('circle', { cx: x(i), cy: y(v), r: 2.5, fill: color, class: 'point' }, s, times[i]));
  });
  const label = (at, anchor, text) => {
    const t = svg('text', { x: at, y: HEIGHT + AXIS - 5, 'text-anchor': anchor, class: 'axis' });
    t.textContent = text;
    root.append(t);
  };
  label(2, 'start', iso(times[0]));
  label(width - 2, 'end', iso(times[times.length - 1]));
  label(width / 2, 'middle', `${column}, highest: ${shown(max)}`);
  container.append(root);
  if (series.length > 1 || dropped) {
    const legend = document.createElement('ul');
    legend.className = 'legend';
    series.forEach((s, k) => {
      const item = document.createElement('li');
      item.style.setProperty('--swatch', COLORS[k % COLORS.length]);
      item.textContent = s.name;
      legend.append(item);
    });
    if (dropped) {
      const more = document.createElement('li');
      more.className = 'muted';
      more.textContent = `${dropped} more series not drawn`;
      legend.append(more);
    }
    container.append(legend);
  }
}

/**
 * What to draw: the bucket times in order, and the series of the first
 * number column (named by the other keys' values, busiest first).
 * `null` without a bucket column or a number column.
 */
export function chartOf(answer) {
  const { columns, rows } = answer;
  const bucket = columns.findIndex((c) => c.startsWith('bucket('));
  const isNumber = (i) => rows.some((r) => typeof r[i] === 'number') && rows.every((r) => r[i] === null || typeof r[i] === 'number');
  const value = columns.findIndex((_, i) => i !== bucket && isNumber(i));
  if (bucket < 0 || value < 0 || !rows.length) return null;
  // The other keys: the columns before the functions that are not numbers.
  const keys = columns.map((_, i) => i).filter((i) => i !== bucket && i < value && !isNumber(i));
  const byName = new Map();
  for (const row of rows) {
    const name = keys.map((i) => row[i] ?? '–').join(' · ');
    if (!byName.has(name)) byName.set(name, { name, values: new Map(), total: 0 });
    const s = byName.get(name);
    if (row[value] !== null) {
      s.values.set(Date.parse(row[bucket]), row[value]);
      s.total += Math.abs(row[value]);
    }
  }
  const all = [...byName.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  const series = all.slice(0, MAX_SERIES);
  return { times: timeline(rows.map((r) => Date.parse(r[bucket]))), series, column: columns[value], dropped: all.length - series.length };
}

/**
 * The bucket starts of the x axis (milliseconds), in order: every bucket
 * from the first to the last when there are at most [MAX_SLOTS] (so that
 * time is to scale and empty buckets show as gaps), else those with rows.
 */
function timeline(starts) {
  const times = [...new Set(starts)].sort((a, b) => a - b);
  const step = Math.min(...times.slice(1).map((t, i) => t - times[i]));
  const slots = (times[times.length - 1] - times[0]) / step + 1;
  if (times.length < 2 || !(slots <= MAX_SLOTS)) return times;
  return Array.from({ length: slots }, (_, i) => times[0] + i * step);
}

/** A bucket start (milliseconds) as the tables show times. */
function iso(ms) {
  return formatTime(new Date(ms).toISOString());
}

function shown(v) {
  if (v === undefined || v === null) return '–';
  return Number.isInteger(v) ? formatCount(v) : String(Number(v.toPrecision(6)));
}
