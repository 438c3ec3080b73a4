// The results table: one row per record (time, level badge, resourceId,
// message with the searched words marked), a detail row under the one the
// user opened, and appending (next pages) or prepending (live tail).

import { h, formatTime } from './dom.js';
import { highlight } from './highlight.js';
import { renderDetail } from './detail.js';

/** Badge colour group of a level value. */
function levelClass(level) {
  const l = String(level ?? '').toLowerCase();
  if (/^(err|fatal|crit|alert|emerg|severe|panic)/.test(l)) return 'level-error';
  if (/^warn/.test(l)) return 'level-warn';
  if (/^(info|notice)/.test(l)) return 'level-info';
  if (/^(debug|trace|fine)/.test(l)) return 'level-debug';
  return 'level-other';
}

const text = (value) => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export class ResultsTable {
  /** `tbody` to fill; `actions` for the detail row (see detail.js). */
  constructor(tbody, actions) {
    this.tbody = tbody;
    this.actions = actions;
    this.terms = { tokens: new Set(), patterns: [], regexes: [] };
    this.open = null;
    tbody.addEventListener('click', (event) => {
      const row = event.target.closest('tr.row');
      if (row && !event.target.closest('a, button')) this.toggle(row);
    });
    tbody.addEventListener('keydown', (event) => {
      const row = event.target.closest('tr.row');
      if (row && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        this.toggle(row);
      }
    });
  }

  /** Empties the table; `terms` are the words to mark from now on. */
  reset(terms) {
    this.terms = terms;
    this.tbody.replaceChildren();
    this.open = null;
  }

  /** Adds rows at the end (a next page), or at the top (`top`). Returns the rows. */
  add(hits, { top = false, anchor = null } = {}) {
    const rows = hits.map((hit) => this.row(hit, anchor));
    if (top) this.tbody.prepend(...rows);
    else this.tbody.append(...rows);
    return rows;
  }

  /** Removes the oldest rows beyond `cap` (live tail keeps a bounded table). */
  trim(cap) {
    const rows = this.tbody.querySelectorAll('tr.row');
    for (let i = cap; i < rows.length; i++) {
      if (rows[i] === this.open) this.close();
      rows[i].remove();
    }
  }

  /** The number of record rows. */
  get count() {
    return this.tbody.querySelectorAll('tr.row').length;
  }

  row(hit, anchor) {
    const r = hit.record;
    const row = h('tr', { class: `row${anchor && r.timestamp === anchor ? ' anchor' : ''}`, tabindex: 0 },
      h('td', { class: 'time' }, formatTime(r.timestamp)),
      h('td', { class: 'level' }, r.level === undefined ? '' : h('span', { class: `badge ${levelClass(r.level)}` }, text(r.level))),
      h('td', { class: 'resource' }, text(r.resourceId)),
      h('td', { class: 'message' }, highlight(text(r.message), this.terms)));
    row.hit = hit;
    return row;
  }

  /** Opens the detail of `row`, or closes it if it is open. */
  toggle(row) {
    const wasOpen = this.open === row;
    this.close();
    if (wasOpen) return;
    this.open = row;
    row.classList.add('open');
    row.setAttribute('aria-expanded', 'true');
    row.after(renderDetail(row.hit, this.actions, () => this.close()));
  }

  /** Closes the open detail, if any. */
  close() {
    if (!this.open) return false;
    this.open.classList.remove('open');
    this.open.removeAttribute('aria-expanded');
    const detail = this.open.nextElementSibling;
    if (detail?.classList.contains('detail')) detail.remove();
    this.open.focus({ preventScroll: true });
    this.open = null;
    return true;
  }
}
