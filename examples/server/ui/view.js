// The view: everything on screen that a URL must restore.
//
// The URL is the single source of truth. Every change of the view pushes a
// history entry, so back/forward, reload, bookmarks and shared links all go
// through readView() and show the same thing.

/** Time presets: label and `from` value (`to` stays open). */
export const TIME_PRESETS = [
  ['15 min', 'now-15m'],
  ['1 h', 'now-1h'],
  ['24 h', 'now-24h'],
  ['7 d', 'now-7d'],
  ['All', ''],
];

const DEFAULTS = { q: '', from: '', to: '', order: 'desc', context: '', tail: false };

/**
 * The view of a URL's search part:
 * - `q`: query text; `from`, `to`: time bounds as the API takes them;
 * - `order`: `desc` (newest first) or `asc`;
 * - `context`: a record's timestamp to show the records around (with `q`
 *   selecting its resource), or empty for a normal search;
 * - `tail`: live tail on.
 */
export function readView(search) {
  const p = new URLSearchParams(search);
  return {
    q: p.get('q') ?? DEFAULTS.q,
    from: p.get('from') ?? DEFAULTS.from,
    to: p.get('to') ?? DEFAULTS.to,
    order: p.get('order') === 'asc' ? 'asc' : 'desc',
    context: p.get('context') ?? DEFAULTS.context,
    tail: p.get('tail') === '1',
  };
}

/** The URL search part of a view (defaults left out). */
export function viewSearch(view) {
  const p = new URLSearchParams();
  for (const name of ['q', 'from', 'to', 'order', 'context']) {
    if (view[name] && view[name] !== DEFAULTS[name]) p.set(name, view[name]);
  }
  if (view.tail) p.set('tail', '1');
  const text = p.toString();
  // Absolute: under a mount path the page's <base> is not its own URL.
  return location.pathname + (text ? `?${text}` : '');
}

/** Whether two views show the same thing. */
export const sameView = (a, b) => viewSearch(a) === viewSearch(b);

/** The preset matching the view's time range, or null for a custom range. */
export function activePreset(view) {
  if (view.to) return null;
  return TIME_PRESETS.find(([, from]) => from === view.from) ?? null;
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC) of an API time, for a datetime-local input. */
export function toInputTime(text) {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 19);
}

/** The API time (RFC 3339, UTC) of a datetime-local input's value. */
export function fromInputTime(value) {
  if (!value) return '';
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}
