// The page's controller: reads the view from the URL, runs it (search,
// histogram, level facets, live tail; or the Stats table of a query with a
// `stats` or `top` pipe) and turns every user action into a new view.
// See view.js for what a view is and filters.js for how filters and the
// query text stay in step.

import { ApiError, getJson, search, setKey, currentKey } from './api.js';
import { h, formatCount, formatTime } from './dom.js';
import { FIELDS, clauseFor, emptyFilters, filtersOf, queryOf } from './filters.js';
import { drawHistogram } from './histogram.js';
import { termsOf } from './highlight.js';
import { ResultsTable } from './results.js';
import { drawStats } from './stats.js';
import { drawStatsChart } from './chart.js';
import { LiveTail } from './tail.js';
import { TIME_PRESETS, activePreset, fromInputTime, readView, sameView, toInputTime, viewSearch } from './view.js';

const PAGE = 100;
const CONTEXT = 25;
const TAIL_CAP = 1000;
/** How long a search may take before the page says it is searching. */
const LOADING_AFTER_MS = 300;

const $ = (id) => document.getElementById(id);
const el = {
  form: $('query-form'), query: $('query'), error: $('query-error'),
  filters: $('filters'), levels: $('levels'), messageMode: $('message-mode'), message: $('message'),
  fieldFilters: $('field-filters'), otherBox: $('other-box'), other: $('other'),
  presets: $('presets'), timeFrom: $('time-from'), timeTo: $('time-to'), timeApply: $('time-apply'),
  total: $('total'), banner: $('banner'), order: $('order'), histogram: $('histogram'),
  rows: $('rows'), more: $('more'), end: $('end'), records: $('records'), stats: $('stats'),
  statsChart: $('stats-chart'),
  tailToggle: $('tail-toggle'), tailPause: $('tail-pause'), tailState: $('tail-state'),
  keyButton: $('key-button'), keyDialog: $('key-dialog'), keyForm: $('key-form'), keyInput: $('key-input'),
  keyReason: $('key-reason'), keyForget: $('key-forget'), filtersToggle: $('filters-toggle'),
};

let view = readView(location.search);
let filters = emptyFilters();
/** The top-level clauses of the view's query, as /api/parse gave them. */
let clauses = [];
let cursor = null;
let controller = null;
let histogramData = null;
let runs = 0;
/** The pipes of the view's query (` | stats ...`), kept when filters change it. */
let pipes = '';

const table = new ResultsTable(el.rows, {
  filter: (field, value) => filterBy(field, value, false),
  exclude: (field, value) => filterBy(field, value, true),
  trace: (traceId) => go({ q: clauseFor('traceId', traceId), from: '', to: '', order: 'asc', context: '', tail: false }),
  context: (resourceId, timestamp) => go({ q: clauseFor('resourceId', resourceId), from: '', to: '', order: 'asc', context: timestamp, tail: false }),
});

const live = new LiveTail({
  onRecords: (raws) => {
    const hits = raws.map((raw) => ({ raw, record: JSON.parse(raw) })).reverse();
    table.add(hits, { top: true });
    table.trim(TAIL_CAP);
    document.body.dataset.tailRows = String(Number(document.body.dataset.tailRows ?? 0) + hits.length);
  },
  onState: (text) => { el.tailState.textContent = text; },
  onError: (error) => { showFailure(error); el.tailState.textContent = 'stopped'; },
});

/**
 * "Filter" (only `field` = `value`) or "Exclude" (leave those out) from a
 * record's detail, through the filters rather than beside them: a level
 * ticked in the list is unticked by Exclude (not excluded beside itself),
 * a field input takes the value, and a clause already saying the same of
 * the field and value is replaced rather than repeated.
 */
function filterBy(field, value, exclude) {
  const next = structuredClone(filters);
  const same = (query) => query.type === 'keyword' && query.field === field && query.value === value;
  // Clauses about this field and value, either way: the new one replaces them.
  const about = new Set(clauses
    .filter((c) => same(c.query) || (c.query.type === 'not' && same(c.query.child)))
    .map((c) => c.text));
  next.other = next.other.filter((text) => !about.has(text));
  let clause = `${exclude ? '-' : ''}${clauseFor(field, value)}`;
  if (field === 'level') {
    const ticked = next.levels.includes(value);
    if (!exclude) next.levels = [value];
    else next.levels = next.levels.filter((l) => l !== value);
    // Unticking one of several leaves it out already.
    if (!exclude || (ticked && next.levels.length > 0)) clause = '';
  } else if (FIELDS.includes(field) && !exclude && !/[*?]/.test(value)) {
    next.fields[field] = value;
    clause = '';
  }
  if (clause) next.other.push(clause);
  go({ ...view, q: `${queryOf(next)}${pipes}`.trim(), context: '' });
}

/** Shows `next` and records it in the history (unless it is the current view). */
function go(next) {
  if (!sameView(next, view)) history.pushState(null, '', viewSearch(next));
  run(next);
}

/** Runs `next`: the results, histogram and level facets it asks for. */
async function run(next) {
  view = next;
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const started = performance.now();
  // For tests and curious users: which run is on screen, and its state.
  const thisRun = String(++runs);
  document.body.dataset.run = thisRun;
  document.body.dataset.state = 'loading';
  // A slow answer says so (a fast one would only flicker); the results on
  // screen are dimmed meanwhile (style.css), never shown as current.
  setTimeout(() => {
    if (document.body.dataset.run === thisRun && document.body.dataset.state === 'loading') {
      el.total.replaceChildren(h('span', { class: 'muted', id: 'searching' }, 'Searching…'));
    }
  }, LOADING_AFTER_MS);
  showControls();
  hideError();
  cursor = null;
  el.more.hidden = true;
  el.end.hidden = true;
  try {
    // A `|` may start pipes: then what the query makes (records or rows)
    // is known only once it is parsed, so the parse comes first.
    if (view.q.includes('|') && !view.context) {
      const parsed = await getJson('api/parse', { q: view.q }, signal);
      if (parsed.rows) {
        await showRows(parsed, started, signal);
        return;
      }
    }
    const [parsed, first] = await Promise.all([
      getJson('api/parse', { q: view.q }, signal),
      view.context ? contextPage(signal) : search(params({ limit: PAGE }), signal),
    ]);
    showRecordsView(true);
    pipes = '';
    filters = filtersOf(parsed);
    clauses = parsed.clauses;
    showFilters();
    table.reset(termsOf(parsed));
    showPage(first);
    document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
    document.body.dataset.state = 'ready';
    if (!view.context) {
      loadHistogram(signal);
      loadLevels(signal);
    } else {
      el.histogram.replaceChildren();
    }
    if (view.tail) live.start(view.q);
    else live.stop();
    showTail();
  } catch (error) {
    if (error.name === 'AbortError') return;
    document.body.dataset.state = 'error';
    showFailure(error);
  }
}

/** The Stats view: the rows of a query with a `stats` or `top` pipe. */
async function showRows(parsed, started, signal) {
  const answer = await getJson('api/query', { q: view.q, from: view.from, to: view.to }, signal);
  filters = filtersOf(parsed);
  clauses = parsed.clauses;
  pipes = ` ${view.q.slice(byteToIndex(view.q, parsed.pipes_at))}`;
  showFilters();
  showRecordsView(false);
  drawStats(el.stats, answer);
  drawStatsChart(el.statsChart, answer);
  el.total.replaceChildren(h('strong', { id: 'total-count' }, formatCount(answer.rows.length)),
    ` row${answer.rows.length === 1 ? '' : 's'} · ${answer.took_ms} ms`);
  el.total.dataset.total = String(answer.rows.length);
  live.stop();
  showTail();
  document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
  document.body.dataset.state = 'ready';
}

/** Shows the records (table, histogram, levels) or the Stats table. */
function showRecordsView(records) {
  el.records.hidden = !records;
  el.histogram.hidden = !records;
  el.stats.hidden = records;
  if (records) {
    el.stats.replaceChildren();
    el.statsChart.replaceChildren();
    el.statsChart.hidden = true;
  }
  else {
    table.reset(termsOf(null));
    el.histogram.replaceChildren();
    el.levels.dataset.run = document.body.dataset.run;
    el.histogram.dataset.run = document.body.dataset.run;
  }
}

/** Search parameters of the view. */
function params(extra = {}) {
  return { q: view.q, from: view.from, to: view.to, order: view.order, ...extra };
}

/** The records around `view.context`: some before it, it, and some after. */
async function contextPage(signal) {
  const [before, after] = await Promise.all([
    search({ q: view.q, to: view.context, order: 'desc', limit: CONTEXT }, signal),
    search({ q: view.q, from: view.context, order: 'asc', limit: CONTEXT + 1 }, signal),
  ]);
  return { hits: [...before.hits.reverse(), ...after.hits], total: null, context: true, took_ms: before.took_ms + after.took_ms };
}

function showPage(page) {
  table.add(page.hits, { anchor: page.context ? view.context : null });
  cursor = page.next_cursor ?? null;
  el.more.hidden = !cursor;
  el.end.hidden = Boolean(cursor) || page.context === true;
  if (page.context) {
    el.total.textContent = `${formatCount(page.hits.length)} records around ${formatTime(view.context)}`;
  } else {
    el.total.replaceChildren(h('strong', { id: 'total-count' }, formatCount(page.total)),
      ` record${page.total === 1 ? '' : 's'} · ${page.took_ms} ms`);
    el.total.dataset.total = String(page.total);
  }
}

async function loadMore() {
  if (!cursor || el.more.disabled) return;
  el.more.disabled = true;
  const signal = controller.signal;
  try {
    const page = await search(params({ limit: PAGE, cursor }), signal);
    table.add(page.hits);
    cursor = page.next_cursor ?? null;
    el.more.hidden = !cursor;
    el.end.hidden = Boolean(cursor);
  } catch (error) {
    if (error.name !== 'AbortError') showFailure(error);
  } finally {
    el.more.disabled = false;
  }
}

async function loadHistogram(signal) {
  const buckets = Math.max(10, Math.min(120, Math.floor(el.histogram.clientWidth / 10)));
  const to = view.to || (view.from.startsWith('now') ? 'now' : '');
  try {
    histogramData = await getJson('api/histogram', { q: view.q, from: view.from, to, buckets }, signal);
    showHistogram();
    el.histogram.dataset.run = document.body.dataset.run;
  } catch (error) {
    if (error.name !== 'AbortError') el.histogram.replaceChildren(h('p', { class: 'muted' }, `Histogram: ${error.message}`));
  }
}

/** Draws the last histogram; a drag or click on it zooms in. */
function showHistogram() {
  drawHistogram(el.histogram, histogramData, { end: view.to, onZoom: (from, to) => go({ ...view, from, to, context: '' }) });
}

/** Level checkboxes: the values found without the level filter, with counts. */
async function loadLevels(signal) {
  const q = queryOf({ ...filters, levels: [] });
  let values = [];
  try {
    values = (await getJson('api/facets', { q, from: view.from, to: view.to, field: 'level', size: 50 }, signal)).values;
  } catch (error) {
    if (error.name === 'AbortError') return;
  }
  const counts = new Map(values.map((v) => [v.value, v.count]));
  for (const level of filters.levels) if (!counts.has(level)) counts.set(level, 0);
  el.levels.replaceChildren(...[...counts].map(([value, count]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'level', value, checked: filters.levels.includes(value) }),
    h('span', {}, value), h('span', { class: 'count' }, formatCount(count)))));
  if (!counts.size) el.levels.replaceChildren(h('span', { class: 'muted' }, 'no level values'));
  el.levels.dataset.run = document.body.dataset.run;
}

/** Query box, time range and order as the view says. */
function showControls() {
  if (document.activeElement !== el.query || el.query.value.trim() !== view.q.trim()) el.query.value = view.q;
  const preset = activePreset(view);
  for (const button of el.presets.children) button.setAttribute('aria-pressed', String(button.dataset.from === preset?.[1]));
  el.timeFrom.value = view.from && !view.from.startsWith('now') ? toInputTime(view.from) : '';
  el.timeTo.value = view.to && !view.to.startsWith('now') ? toInputTime(view.to) : '';
  el.order.value = view.order;
  el.order.disabled = Boolean(view.context);
  if (view.context) {
    el.banner.hidden = false;
    el.banner.replaceChildren(`Context of ${view.q}`, ' ', h('button', { type: 'button', class: 'quiet', onclick: () => history.back() }, 'Back'));
  } else el.banner.hidden = true;
  el.keyButton.hidden = !currentKey();
}

function showFilters() {
  setFiltersEnabled(true);
  // Without a message clause the chosen mode stays, ready for typing.
  if (filters.message.text) el.messageMode.value = filters.message.mode;
  el.message.value = filters.message.text;
  for (const field of FIELDS) document.getElementById(`field-${field}`).value = filters.fields[field];
  el.otherBox.hidden = filters.other.length === 0;
  el.other.replaceChildren(...filters.other.map((text, i) => h('span', { class: 'chip' },
    h('code', {}, text),
    h('button', { type: 'button', title: 'Remove this clause', 'aria-label': `Remove ${text}`, onclick: () => {
      filters.other.splice(i, 1);
      applyFilters();
    } }, '×'))));
}

function showTail() {
  el.tailToggle.setAttribute('aria-pressed', String(view.tail));
  el.tailPause.hidden = !view.tail;
  el.tailPause.textContent = live.paused ? 'Resume' : 'Pause';
  if (!view.tail) el.tailState.textContent = '';
}

/** The filters as the form shows them → a new query. */
function applyFilters() {
  // Levels keep the order they were chosen in, so the query text stays put.
  const checked = [...el.levels.querySelectorAll('input:checked')].map((i) => i.value);
  filters.levels = [...filters.levels.filter((l) => checked.includes(l)), ...checked.filter((l) => !filters.levels.includes(l))];
  filters.message = { mode: el.messageMode.value, text: el.message.value };
  for (const field of FIELDS) filters.fields[field] = document.getElementById(`field-${field}`).value;
  go({ ...view, q: `${queryOf(filters)}${pipes}`.trim(), context: '' });
}

function showFailure(error) {
  if (error instanceof ApiError && error.status === 401) {
    askKey('This server needs a key. Enter an API key with the read role; it is kept for this browser tab only.');
    return;
  }
  clearResults();
  const body = error instanceof ApiError ? error.body : {};
  if (typeof body.position === 'number') showQueryError(body.position, body.reason ?? body.error);
  else showError(error.message);
}

function showError(message) {
  el.error.hidden = false;
  el.error.replaceChildren(h('span', { class: 'reason' }, message));
}

/** The query with its error position marked, and the reason. */
function showQueryError(position, reason) {
  const index = byteToIndex(view.q, position);
  el.error.hidden = false;
  el.error.replaceChildren(
    h('code', { class: 'where' }, view.q.slice(0, index), h('mark', {}, view.q.slice(index) || ' ')),
    h('span', { class: 'reason' }, `at character ${index + 1}: ${reason}`));
  el.error.dataset.position = String(position);
  el.query.setAttribute('aria-invalid', 'true');
  if (document.activeElement === el.query) el.query.setSelectionRange(index, index);
}

/**
 * After a failure nothing of the previous view stays on screen as if it
 * were current: results, totals, histogram and level counts go, and the
 * filters that build a query from the sidebar's state are disabled until
 * a query runs (they would rebuild the old one over what was typed).
 */
function clearResults() {
  el.total.textContent = '';
  table.reset(termsOf(null));
  el.histogram.replaceChildren();
  el.stats.replaceChildren();
  el.statsChart.replaceChildren();
  el.statsChart.hidden = true;
  el.levels.replaceChildren(h('span', { class: 'muted' }, 'no results'));
  el.other.replaceChildren();
  el.otherBox.hidden = true;
  el.more.hidden = true;
  live.stop();
  setFiltersEnabled(false);
}

/** Enables the sidebar's query filters (the time range always is). */
function setFiltersEnabled(enabled) {
  for (const box of el.filters.querySelectorAll('fieldset:not(.time-range)')) {
    box.disabled = !enabled;
  }
  el.filters.dataset.disabled = String(!enabled);
}

function hideError() {
  el.error.hidden = true;
  el.query.removeAttribute('aria-invalid');
}

/** The UTF-16 index of a byte offset of `text` (errors count UTF-8 bytes). */
function byteToIndex(text, bytes) {
  const encoder = new TextEncoder();
  let used = 0;
  for (let i = 0; i < text.length;) {
    const char = String.fromCodePoint(text.codePointAt(i));
    used += encoder.encode(char).length;
    if (used > bytes) return i;
    i += char.length;
  }
  return text.length;
}

function askKey(reason) {
  el.keyReason.textContent = reason;
  el.keyInput.value = '';
  if (!el.keyDialog.open) el.keyDialog.showModal();
}

function build() {
  el.presets.append(...TIME_PRESETS.map(([label, from]) => h('button', {
    type: 'button', dataset: { from }, onclick: () => go({ ...view, from, to: '', context: '' }),
  }, label)));
  el.fieldFilters.append(...FIELDS.map((field) => h('fieldset', {},
    h('legend', {}, h('label', { for: `field-${field}` }, field)),
    h('input', { id: `field-${field}`, type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'exact value, or * and ? wildcards' }))));

  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    go({ ...view, q: el.query.value, context: '' });
  });
  el.filters.addEventListener('submit', (event) => { event.preventDefault(); applyFilters(); });
  el.filters.addEventListener('change', (event) => {
    if (event.target.closest('.time-range')) return;
    if (event.target === el.messageMode && !el.message.value.trim()) return;
    applyFilters();
  });
  el.timeApply.addEventListener('click', () => go({ ...view, from: fromInputTime(el.timeFrom.value), to: fromInputTime(el.timeTo.value), context: '' }));
  el.order.addEventListener('change', () => go({ ...view, order: el.order.value }));
  el.more.addEventListener('click', loadMore);
  window.addEventListener('scroll', () => {
    if (!el.more.hidden && window.innerHeight + window.scrollY >= document.body.scrollHeight - 400) loadMore();
  }, { passive: true });
  el.tailToggle.addEventListener('click', () => go({ ...view, tail: !view.tail }));
  el.tailPause.addEventListener('click', () => {
    if (live.paused) live.resume();
    else live.pause();
    showTail();
  });
  el.filtersToggle.addEventListener('click', () => {
    const open = document.body.classList.toggle('filters-open');
    el.filtersToggle.setAttribute('aria-expanded', String(open));
  });
  el.keyButton.addEventListener('click', () => askKey('The key in use for this tab. Enter another one, or forget it.'));
  el.keyForm.addEventListener('submit', () => {
    setKey(el.keyInput.value.trim());
    run(view);
  });
  el.keyForget.addEventListener('click', () => {
    setKey(null);
    el.keyDialog.close();
    run(view);
  });
  window.addEventListener('popstate', () => run(readView(location.search)));
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest('input, textarea, select, [contenteditable]');
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      el.query.focus();
      el.query.select();
    } else if (event.key === 'Escape' && !el.keyDialog.open) {
      if (!table.close() && typing === el.query) el.query.blur();
    }
  });
  let resized = null;
  window.addEventListener('resize', () => {
    clearTimeout(resized);
    resized = setTimeout(() => {
      if (histogramData && !view.context) showHistogram();
    }, 150);
  });
}

build();
run(view);
