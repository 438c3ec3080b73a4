// The Stats view: the rows of a query with a `stats` or `top` pipe
// (`level:error | stats count() by (resourceId)`), from `/api/query`, as a
// table of its named columns. Numbers are right-aligned and a missing value
// shows as a dash, as the CLI prints them.

import { h, formatCount, formatTime } from './dom.js';

/** Fills `table` with the columns and rows of a `/api/query` answer. */
export function drawStats(table, answer) {
  const numeric = answer.columns.map((_, i) => answer.rows.every((row) => row[i] === null || typeof row[i] === 'number'));
  const head = h('tr', {}, answer.columns.map((name, i) => h('th', { scope: 'col', class: numeric[i] ? 'number' : null }, name)));
  const body = answer.rows.map((row) => h('tr', { class: 'stats-row' },
    row.map((cell, i) => h('td', { class: numeric[i] ? 'number' : null }, text(cell, answer.columns[i])))));
  table.replaceChildren(h('thead', {}, head), h('tbody', {}, body));
}

/** A cell as shown: counts grouped by thousands, bucket starts as times. */
function text(cell, column) {
  if (cell === null) return '–';
  if (typeof cell === 'number') return Number.isInteger(cell) ? formatCount(cell) : String(cell);
  return column.startsWith('bucket(') ? formatTime(cell) : cell;
}
