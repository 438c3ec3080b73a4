// Bugs of the explorer issue, each with the test that failed before its
// fix: phrase highlighting (a phrase is marked where its words follow each
// other, not word by word) and line breaks of multi-line messages in the
// detail.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser } from './harness.js';
import { openApp, settleAside } from './page.js';

const RECORDS = [
  { level: 'error', message: 'Failed to connect to DB, will try to connect again', resourceId: 'db-1', timestamp: '2023-09-15T08:00:00Z' },
  { level: 'error', message: 'failed: to CONNECT to cache', resourceId: 'cache-1', timestamp: '2023-09-15T08:00:01Z' },
  { level: 'info', message: 'connect to DB failed', resourceId: 'db-1', timestamp: '2023-09-15T08:00:02Z' },
  { level: 'error', message: 'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:10)\n\tat d.E.f(E.java:20)', resourceId: 'java-1', timestamp: '2023-09-15T08:00:03Z' },
  { level: 'warn', message: 'slow answer', resourceId: 'web-1', timestamp: '2023-09-15T08:00:07Z', metadata: { http: { status: 500 } } },
];

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.ingest(RECORDS.map((r) => JSON.stringify(r)).join('\n'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The marked parts of each row's message, newest first. */
function marks(page) {
  return page.$$eval('#rows tr.row', (rows) => rows.map((row) => [...row.querySelectorAll('.message mark')].map((m) => m.textContent)));
}

test('a phrase is marked where its words follow each other, not word by word', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('"failed to connect"')}`);
  // Newest first: "failed: to CONNECT to cache", then "Failed to connect to DB, ...".
  assert.deepEqual(await marks(page), [['failed: to CONNECT'], ['Failed to connect']]);

  // A word beside the phrase is marked wherever it occurs.
  await page.locator('#query').fill('"failed to connect" cache');
  await page.locator('#query').press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.querySelectorAll('#rows tr.row').length === 1);
  assert.deepEqual(await marks(page), [['failed: to CONNECT', 'cache']]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the detail keeps the line breaks of a multi-line message', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('resourceId:java-1')}`);
  await page.locator('#rows tr.row').first().click();
  const row = page.locator('tr.detail .fields tr', { has: page.locator('th', { hasText: /^message$/ }) });
  const shown = await row.locator('td.value').innerText();
  assert.equal(shown, RECORDS[3].message);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('after a syntax error no stale filters remain, and none can rebuild the old query', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('level:error')}`);
  await settleAside(page);
  assert.equal(await page.locator('#levels input[value="error"]').isChecked(), true);
  const typed = 'level:error AND';
  await page.locator('#query').fill(typed);
  await page.locator('#query').press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  assert.equal(await page.locator('#levels input').count(), 0, 'no stale level checkboxes');
  assert.equal(await page.locator('#rows tr.row').count(), 0, 'no stale rows');
  assert.equal((await page.locator('#total').textContent()).trim(), '');
  const controls = page.locator('#filters fieldset:not(.time-range) :is(input, select)');
  assert.ok((await controls.count()) >= 5);
  for (const control of await controls.all()) {
    assert.equal(await control.isDisabled(), true, await control.evaluate((c) => c.outerHTML));
  }
  assert.equal(await page.locator('#time-apply').isDisabled(), false, 'the time range stays usable');
  assert.equal(await page.locator('#query').inputValue(), typed, 'the typed query stays');

  // A valid query brings the filters back.
  await page.locator('#query').fill('level:info');
  await page.locator('#query').press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await settleAside(page);
  assert.equal(await page.locator('#field-resourceId').isDisabled(), false);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a failed search leaves no old results, and a slow one says it is searching', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('level:error')}`);
  assert.equal(await page.locator('#rows tr.row').count(), 3);

  // Slow: the old rows are dimmed and the total says so, then the new rows come.
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route('**/api/search?**', async (route) => {
    await held;
    await route.continue();
  });
  await page.locator('#query').fill('level:info');
  await page.locator('#query').press('Enter');
  await page.locator('#searching').waitFor({ timeout: 3000 });
  await page.waitForFunction(() => getComputedStyle(document.querySelector('#records')).opacity < 0.9);
  release();
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  assert.equal(await page.locator('#rows tr.row').count(), 1);
  assert.equal(Number(await page.locator('#records').evaluate((t) => getComputedStyle(t).opacity)), 1);
  await page.unroute('**/api/search?**');

  // Failed: the error is shown and the previous rows are gone.
  await page.route('**/api/search?**', (route) => route.abort());
  await page.locator('#query').fill('level:error');
  await page.locator('#query').press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  assert.equal(await page.locator('#query-error').isVisible(), true);
  assert.equal(await page.locator('#rows tr.row').count(), 0, 'no rows of the previous query');
  assert.equal((await page.locator('#total').textContent()).trim(), '');
  await page.unroute('**/api/search?**');
  await page.context().close();
});

/** Opens the detail of the first row and clicks `action` on `field`'s line; waits for the new view. */
async function act(page, field, action) {
  await page.locator('#rows tr.row').first().click();
  const line = page.locator('tr.detail .fields tr', { has: page.locator('th', { hasText: new RegExp(`^${field.replace(/\./g, '\\.')}$`) }) });
  const before = document_run(page);
  await line.getByRole('button', { name: action }).click();
  await page.waitForFunction((run) => document.body.dataset.run !== run && document.body.dataset.state === 'ready', await before);
}

const document_run = (page) => page.evaluate(() => document.body.dataset.run);
const query = async (page) => new URL(page.url()).searchParams.get('q');

test('Filter and Exclude go through the filters: no level excluded beside itself, no clause repeated', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('level:error OR level:info')}`);
  // The newest record of the two levels is an error one.
  await act(page, 'level', 'Exclude');
  assert.equal(await query(page), 'level:"info"');
  // The level list of this run (it loads after the rows).
  await settleAside(page);
  assert.equal(await page.locator('#levels input[value="error"]').isChecked(), false);

  // Excluding the only ticked level leaves it out.
  await page.goto(`${server.url}/?q=${encodeURIComponent('level:error')}`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await act(page, 'level', 'Exclude');
  assert.equal(await query(page), '-level:"error"');

  // A clause already saying the same of a field is replaced, not repeated.
  await page.goto(`${server.url}/?q=${encodeURIComponent('metadata.http.status:500')}`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await act(page, 'metadata.http.status', 'Filter');
  assert.equal(await query(page), 'metadata.http.status:"500"');
  await act(page, 'resourceId', 'Filter');
  await act(page, 'resourceId', 'Filter');
  assert.equal(await query(page), 'resourceId:"web-1" metadata.http.status:"500"');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('filters keep a typed pattern as typed, and a zoom puts whole milliseconds in the URL', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('resourceId:db-*')}`);
  await settleAside(page);
  const run = await document_run(page);
  await page.locator('#levels input[value="info"]').check();
  await page.waitForFunction((r) => document.body.dataset.run !== r && document.body.dataset.state === 'ready', run);
  assert.equal(await query(page), 'level:"info" resourceId:db-*');

  // Seven seconds in 60 buckets: bucket starts fall between milliseconds.
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.querySelector('#histogram svg'));
  const box = await page.locator('#histogram svg').boundingBox();
  const y = box.y + box.height / 2;
  const zoomRun = await document_run(page);
  await page.mouse.move(box.x + box.width * 0.05, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.55, y, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((r) => document.body.dataset.run !== r && document.body.dataset.state === 'ready', zoomRun);
  const url = new URL(page.url());
  for (const name of ['from', 'to']) {
    assert.match(url.searchParams.get(name), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/, name);
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
