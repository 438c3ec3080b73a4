// Bugs of the explorer issue, each with the test that failed before its
// fix: phrase highlighting (a phrase is marked where its words follow each
// other, not word by word) and line breaks of multi-line messages in the
// detail.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser } from './harness.js';
import { openApp } from './page.js';

const RECORDS = [
  { level: 'error', message: 'Failed to connect to DB, will try to connect again', resourceId: 'db-1', timestamp: '2023-09-15T08:00:00Z' },
  { level: 'error', message: 'failed: to CONNECT to cache', resourceId: 'cache-1', timestamp: '2023-09-15T08:00:01Z' },
  { level: 'info', message: 'connect to DB failed', resourceId: 'db-1', timestamp: '2023-09-15T08:00:02Z' },
  { level: 'error', message: 'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:10)\n\tat d.E.f(E.java:20)', resourceId: 'java-1', timestamp: '2023-09-15T08:00:03Z' },
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
