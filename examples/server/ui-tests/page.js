// Helpers for driving the UI page and comparing what it shows with the API.

import assert from 'node:assert/strict';
import { splitHits } from '../ui/api.js';

/** A new page (fresh session storage) at `url`, settled. */
export async function openApp(browser, url, { viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await settle(page, () => page.goto(url));
  return page;
}

/**
 * Runs `action` and waits until the page has finished the run it started
 * (a new run of the app, or a new document after a navigation).
 */
export async function settle(page, action) {
  const before = await page.evaluate(() => {
    window.settleMark = true;
    return Number(document.body?.dataset.run ?? 0);
  }).catch(() => 0);
  await action();
  await page.waitForFunction((old) => {
    const b = document.body?.dataset ?? {};
    const fresh = !window.settleMark || Number(b.run ?? 0) > old;
    return fresh && (b.state === 'ready' || b.state === 'error');
  }, before);
}

/** Waits until the histogram and level facets of the current run are drawn. */
export async function settleAside(page) {
  await page.waitForFunction(() => {
    const run = document.body.dataset.run;
    return document.getElementById('histogram').dataset.run === run && document.getElementById('levels').dataset.run === run;
  });
}

/** The record rows on screen: what each cell shows, and the record behind it. */
export function screenRows(page) {
  return page.$$eval('#rows tr.row', (rows) => rows.map((r) => ({
    raw: r.hit.raw,
    time: r.querySelector('td.time').textContent,
    level: r.querySelector('td.level').textContent,
    resource: r.querySelector('td.resource').textContent,
    message: r.querySelector('td.message').textContent,
  })));
}

/** The total on screen, as a number. */
export async function screenTotal(page) {
  return Number(await page.locator('#total').getAttribute('data-total'));
}

/** GET /api/search; hits as exact texts. */
export async function apiSearch(server, params, key) {
  const r = await server.request('GET', `/api/search?${new URLSearchParams(params)}`, { key });
  assert.equal(r.status, 200, `API search failed: ${r.text}`);
  return { total: r.json.total, hits: splitHits(r.text), records: r.json.hits };
}

const display = (v) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Asserts the page shows what the API answers for `params`: the same total,
 * the same records in the same order (exact texts), and each row's cells
 * showing that record's level, resourceId and message.
 */
export async function assertSameAsApi(page, server, params, key) {
  const api = await apiSearch(server, { limit: 100, ...params }, key);
  const rows = await screenRows(page);
  assert.equal(await screenTotal(page), api.total, `total on screen for ${JSON.stringify(params)}`);
  assert.equal(rows.length, api.hits.length, `rows on screen for ${JSON.stringify(params)}`);
  rows.forEach((row, i) => {
    assert.equal(row.raw, api.hits[i], `row ${i + 1} is the API's hit ${i + 1}`);
    const record = api.records[i];
    assert.equal(row.level, display(record.level));
    assert.equal(row.resource, display(record.resourceId));
    assert.equal(row.message, display(record.message));
  });
  return api;
}
