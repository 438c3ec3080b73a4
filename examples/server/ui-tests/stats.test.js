// The Stats view: a query with a `stats` or `top` pipe shows the rows of
// `/api/query` as a table instead of records, the filters keep its pipes,
// and a mistake in the pipes is shown where it is.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, sampleNdjson, screenshot } from './harness.js';
import { openApp, screenTotal, settle } from './page.js';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.ingest(sampleNdjson());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The Stats table on screen: its header and its rows, as texts. */
function screenStats(page) {
  return page.$eval('#stats', (table) => ({
    columns: [...table.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  }));
}

/** `/api/query` for `q`, as the page should show it. */
async function apiRows(q) {
  const r = await server.request('GET', `/api/query?${new URLSearchParams({ q })}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('a stats query shows its rows instead of records', async () => {
  const q = '| stats count() as n, count_uniq(level) by (metadata.system) | sort by (n desc)';
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent(q)}`);
  const want = await apiRows(q);
  assert.ok(want.rows.length >= 2, JSON.stringify(want));
  const shown = await screenStats(page);
  assert.deepEqual(shown.columns, want.columns);
  assert.deepEqual(shown.rows, want.rows.map((row) => row.map((cell) => (
    cell === null ? '–' : typeof cell === 'number' ? cell.toLocaleString('en-US') : cell))));
  assert.equal(await screenTotal(page), want.rows.length);
  assert.equal(await page.locator('#records').isVisible(), false, 'the records table is hidden');
  assert.equal(await page.locator('#histogram').isVisible(), false, 'the histogram is hidden');
  await screenshot(page, 'stats');

  // `top` makes rows too; back to a record search, the records return.
  const topLevels = 'resourceId:dfs* | top 3 by (level)';
  await settle(page, async () => {
    await page.locator('#query').fill(topLevels);
    await page.locator('#query').press('Enter');
  });
  const top = await screenStats(page);
  assert.deepEqual(top.columns, ['level', 'count']);
  assert.deepEqual(top.rows, (await apiRows(topLevels)).rows.map(([level, n]) => [level ?? '–', n.toLocaleString('en-US')]));
  await settle(page, async () => {
    await page.locator('#query').fill('resourceId:dfs*');
    await page.locator('#query').press('Enter');
  });
  assert.equal(await page.locator('#records').isVisible(), true);
  assert.equal(await page.locator('#stats').isVisible(), false);
  assert.ok((await page.locator('#rows tr.row').count()) > 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a field filter keeps the pipes, and a mistake in them is shown where it is', async () => {
  const q = '| stats count() by (level)';
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent(q)}`);
  await page.locator('#field-resourceId').fill('server-1234');
  await settle(page, () => page.locator('#field-resourceId').press('Enter'));
  const query = new URL(page.url()).searchParams.get('q');
  assert.match(query, /resourceId.*server-1234.*\| stats count\(\) by \(level\)$/, query);
  assert.deepEqual((await screenStats(page)).rows, [['error', '1']]);

  const bad = 'level:error | stats median(x)';
  await settle(page, async () => {
    await page.locator('#query').fill(bad);
    await page.locator('#query').press('Enter');
  });
  assert.equal(await page.locator('#query-error').getAttribute('data-position'), String(bad.indexOf('median')));
  assert.match(await page.locator('#query-error').textContent(), /unknown function `median`/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
