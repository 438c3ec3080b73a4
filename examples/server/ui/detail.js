// The detail of one record: every field with actions (filter, exclude,
// whole trace, context) and the record exactly as it was sent.

import { h } from './dom.js';

/** Every `[path, value]` of a record, nested objects as dotted paths. */
export function flatten(value, path = '', out = []) {
  if (Array.isArray(value)) value.forEach((v) => flatten(v, path, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  } else if (value !== null) out.push([path, typeof value === 'string' ? value : JSON.stringify(value)]);
  return out;
}

/**
 * The detail row for `hit`. `actions` has `filter(field, value)`,
 * `exclude(field, value)`, `trace(traceId)` and `context(resourceId, timestamp)`.
 */
export function renderDetail(hit, actions, close) {
  const r = hit.record;
  const tools = h('div', { class: 'detail-tools' },
    typeof r.traceId === 'string' && h('button', { type: 'button', onclick: () => actions.trace(r.traceId) }, 'Show whole trace'),
    typeof r.resourceId === 'string' && h('button', { type: 'button', onclick: () => actions.context(r.resourceId, r.timestamp) }, 'Show context'),
    h('button', { type: 'button', class: 'close', onclick: close, title: 'Close (Esc)' }, 'Close'));
  const fields = h('table', { class: 'fields' },
    h('tbody', {}, flatten(r).map(([field, value]) => h('tr', {},
      h('th', { scope: 'row' }, field),
      h('td', { class: 'value' }, value),
      h('td', { class: 'field-actions' },
        field !== 'timestamp' && h('button', { type: 'button', title: `Only records with ${field} = this value`, onclick: () => actions.filter(field, value) }, 'Filter'),
        field !== 'timestamp' && h('button', { type: 'button', title: `Leave out records with ${field} = this value`, onclick: () => actions.exclude(field, value) }, 'Exclude'))))));
  return h('tr', { class: 'detail' },
    h('td', { colspan: 4 }, tools, fields,
      h('details', { open: true }, h('summary', {}, 'Record as sent'), h('pre', { class: 'raw' }, hit.raw))));
}
