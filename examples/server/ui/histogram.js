// The histogram of matching records over the time range, drawn as SVG by
// hand (no chart library: a bar per bucket, two axis labels and a drag
// selection are all it takes). Dragging across it, or clicking a bar, zooms
// into that time range.

import { formatCount, formatTime, svg } from './dom.js';

const HEIGHT = 110;
const AXIS = 18;

/**
 * Draws `data` (the answer of /api/histogram) into `container`.
 * `onZoom(from, to)` receives the API times of the selected buckets; `end`
 * is the view's `to`, if any (the exclusive end of the last bucket).
 */
export function drawHistogram(container, data, { end, onZoom }) {
  container.replaceChildren();
  const buckets = data?.buckets ?? [];
  if (!buckets.length) {
    container.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'No records in this range.' }));
    return;
  }
  const width = Math.max(container.clientWidth, 200);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const barWidth = width / buckets.length;
  const root = svg('svg', {
    width, height: HEIGHT + AXIS, viewBox: `0 0 ${width} ${HEIGHT + AXIS}`,
    role: 'img', 'aria-label': `histogram of ${formatCount(data.total)} records`, class: 'histogram',
  });
  buckets.forEach((bucket, i) => {
    const h = bucket.count ? Math.max(1, (bucket.count / max) * (HEIGHT - 4)) : 0;
    const bar = svg('rect', {
      x: i * barWidth + (barWidth > 4 ? 0.5 : 0), y: HEIGHT - h,
      width: Math.max(barWidth - (barWidth > 4 ? 1 : 0), 0.5), height: h, class: 'bar',
    });
    const title = svg('title');
    title.textContent = `${formatTime(bucket.start)} · ${formatCount(bucket.count)}`;
    bar.append(title);
    root.append(bar);
  });
  const label = (x, anchor, text) => {
    const t = svg('text', { x, y: HEIGHT + AXIS - 5, 'text-anchor': anchor, class: 'axis' });
    t.textContent = text;
    root.append(t);
  };
  label(2, 'start', formatTime(buckets[0].start));
  label(width - 2, 'end', formatTime(bucketEnd(buckets, buckets.length - 1, data, end)));
  label(width / 2, 'middle', `highest bar: ${formatCount(max)}`);

  const selection = svg('rect', { y: 0, height: HEIGHT, width: 0, class: 'selection' });
  root.append(selection);
  let dragFrom = null;
  const index = (event) => {
    const x = event.clientX - root.getBoundingClientRect().left;
    return Math.min(buckets.length - 1, Math.max(0, Math.floor(x / barWidth)));
  };
  root.addEventListener('pointerdown', (event) => {
    dragFrom = index(event);
    root.setPointerCapture(event.pointerId);
    show(dragFrom, dragFrom);
  });
  root.addEventListener('pointermove', (event) => {
    if (dragFrom !== null) show(dragFrom, index(event));
  });
  root.addEventListener('pointerup', (event) => {
    if (dragFrom === null) return;
    const [a, b] = [dragFrom, index(event)].sort((x, y) => x - y);
    dragFrom = null;
    onZoom(millis(buckets[a].start, false), millis(bucketEnd(buckets, b, data, end), true));
  });
  function show(a, b) {
    const [lo, hi] = [a, b].sort((x, y) => x - y);
    selection.setAttribute('x', lo * barWidth);
    selection.setAttribute('width', (hi - lo + 1) * barWidth);
  }
  container.append(root);
}

/**
 * An API time to whole milliseconds, for the URL (bucket starts can carry
 * nanoseconds): down for a start, up for an exclusive end, so the range
 * never loses a record of the buckets chosen. Relative times stay.
 */
function millis(text, up) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return text;
  const beyond = (/\.(\d+)/.exec(text)?.[1] ?? '').slice(3);
  return new Date(ms + (up && /[1-9]/.test(beyond) ? 1 : 0)).toISOString();
}

/** The exclusive end of bucket `i`: the next bucket's start, else the range's end. */
function bucketEnd(buckets, i, data, end) {
  if (i + 1 < buckets.length) return buckets[i + 1].start;
  if (end && !end.startsWith('now')) return end;
  // One millisecond past the last bucket's end, so its last record stays in.
  return new Date(Date.parse(buckets[i].start) + Math.ceil(data.interval_ms) + 1).toISOString();
}
