// The UI mounted under a path of another service's router
// (examples/axum_service.rs nests `Service::router()` at /logs): the page,
// its scripts and its API calls stay under /logs, and a search finds the
// service's own log events, recorded through the engine's tracing layer.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Server, launchBrowser, repo } from './harness.js';
import { openApp, screenRows, screenTotal, settle } from './page.js';

const EXAMPLE = process.env.LOGINGEST_AXUM_EXAMPLE ?? join(repo, 'target/debug/examples/axum_service');
const ORDERS = 5;

let service;
let browser;

before(async () => {
  service = await Server.spawn(EXAMPLE, ['--listen', '127.0.0.1:0']);
  for (let id = 0; id < ORDERS; id++) {
    assert.equal((await service.request('GET', `/orders/${id}`)).status, 200);
  }
  // The layer hands events on within its linger; wait until all are found.
  const deadline = Date.now() + 30000;
  let total = 0;
  while (total < ORDERS && Date.now() < deadline) {
    await service.request('POST', '/logs/api/flush');
    const r = await service.request('GET', `/logs/api/search?${new URLSearchParams({ q: '"order shipped"' })}`);
    total = r.json?.total ?? 0;
  }
  assert.equal(total, ORDERS, 'the service found its own events');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.stop();
});

test('the UI under /logs searches the service\'s own logs, and every request stays under /logs', async () => {
  const page = await openApp(browser, `${service.url}/logs`);
  const outside = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (!path.startsWith('/logs')) outside.push(path);
  });
  await page.locator('#query').fill('resourceId:shop AND metadata.span:order AND "order shipped"');
  await settle(page, () => page.locator('#query').press('Enter'));
  assert.equal(await screenTotal(page), ORDERS);
  const rows = await screenRows(page);
  assert.equal(rows.length, ORDERS);
  for (const row of rows) {
    assert.equal(row.resource, 'shop');
    assert.equal(row.message, 'order shipped');
  }
  assert.match(new URL(page.url()).pathname, /^\/logs$/, 'the query lives in the mounted URL');
  assert.equal(await page.locator('a.brand').getAttribute('href'), '/logs');
  // A reload of that URL shows the same search.
  await settle(page, () => page.reload());
  assert.equal(await screenTotal(page), ORDERS);
  assert.deepEqual(outside, [], 'no request left /logs');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
