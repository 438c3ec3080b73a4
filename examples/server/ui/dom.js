// Small DOM and formatting helpers shared by the other modules.

/** Creates an element: h('td', {class: 'x', onclick: f}, child, 'text', ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** `2023-09-15 08:00:00.000` in UTC, or the raw text when it is not a time. */
export function formatTime(text) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return String(text ?? '');
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** A short human time span: `1.2 s`, `15 min`, `3 h`, `2 d`. */
export function formatSpan(ms) {
  const units = [['d', 86400000], ['h', 3600000], ['min', 60000], ['s', 1000], ['ms', 1]];
  for (const [unit, size] of units) {
    if (Math.abs(ms) >= size) {
      const value = ms / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return '0 ms';
}

/** 1234567 → `1,234,567`. */
export const formatCount = (n) => Number(n).toLocaleString('en-US');

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (the histogram's and the Stats chart's). */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}
