// Histogram zoom, live tail, query errors, the URL as the view, back and
// forward, the detail actions, keyboard use, narrow and dark layouts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, sampleNdjson, screenshot } from './harness.js';
import { apiSearch, assertSameAsApi, openApp, screenRows, screenTotal, settle, settleAside } from './page.js';

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

test('dragging across the histogram zooms into that time range', async () => {
  const q = 'resourceId:dfs*';
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent(q)}`);
  await settleAside(page);
  const totalBefore = await screenTotal(page);
  await screenshot(page, 'search');
  const box = await page.locator('#histogram svg').boundingBox();
  const y = box.y + box.height / 2;
  await settle(page, async () => {
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.up();
  });
  await settleAside(page);
  const url = new URL(page.url());
  const from = url.searchParams.get('from');
  const to = url.searchParams.get('to');
  assert.ok(from && to, `zoom sets from and to: ${page.url()}`);
  assert.ok(Date.parse(from) < Date.parse(to));
  const totalAfter = await screenTotal(page);
  assert.ok(totalAfter < totalBefore, `zoomed total ${totalAfter} < ${totalBefore}`);
  await assertSameAsApi(page, server, { q, from, to });
  // Every row lies in the range, and the histogram now spans only it.
  for (const row of await screenRows(page)) {
    const t = Date.parse(JSON.parse(row.raw).timestamp);
    assert.ok(t >= Date.parse(from) && t < Date.parse(to));
  }
  const axis = await page.locator('#histogram text.axis').allTextContents();
  assert.ok(Date.parse(`${axis[0].replace(' ', 'T')}Z`) >= Date.parse(from) - 1);
  await screenshot(page, 'histogram-zoom');
  await page.context().close();
});

test('live tail shows a record ingested after it was turned on within 2 s', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('resourceId:tail-test')}`);
  await settle(page, () => page.locator('#tail-toggle').click());
  assert.match(page.url(), /tail=1/);
  await page.waitForFunction(() => document.getElementById('tail-state').textContent === 'live');
  const marker = `tail-marker-${Date.now()}`;
  const started = Date.now();
  // Not refresh=wait_for: the record must appear by itself.
  const r = await server.request('POST', '/logs', { body: JSON.stringify({ level: 'warn', message: `live ${marker}`, resourceId: 'tail-test' }) });
  assert.equal(r.status, 200);
  await page.locator('#rows tr.row', { hasText: marker }).waitFor({ timeout: 2000 });
  const elapsed = Date.now() - started;
  console.log(`live tail: record on screen ${elapsed} ms after the ingest request was sent`);
  assert.ok(elapsed < 2000);
  // A record the tail's query does not match never shows.
  await server.request('POST', '/logs', { body: JSON.stringify({ message: `other ${marker}`, resourceId: 'elsewhere' }) });
  // Paused, new records wait; resumed, they come in.
  await page.locator('#tail-pause').click();
  await server.request('POST', '/logs', { body: JSON.stringify({ message: `paused ${marker}`, resourceId: 'tail-test' }) });
  await page.waitForFunction(() => document.getElementById('tail-state').textContent === 'paused: 1 new', null, { timeout: 3000 });
  assert.equal(await page.locator('#rows tr.row', { hasText: `paused ${marker}` }).count(), 0);
  await screenshot(page, 'live-tail');
  await page.locator('#tail-pause').click();
  await page.locator('#rows tr.row', { hasText: `paused ${marker}` }).waitFor({ timeout: 1000 });
  assert.equal(await page.locator('#rows tr.row', { hasText: `other ${marker}` }).count(), 0);
  const rows = await screenRows(page);
  assert.match(rows[0].message, /paused/, 'newest on top');
  await page.context().close();
});

test('a bad query shows its error at its position', async () => {
  const page = await openApp(browser, `${server.url}/`);
  const q = 'level:error AND';
  await page.locator('#query').fill(q);
  await settle(page, () => page.locator('#query').press('Enter'));
  const api = await server.request('GET', `/api/search?q=${encodeURIComponent(q)}`);
  assert.equal(api.status, 400);
  const error = page.locator('#query-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('data-position'), String(api.json.position));
  assert.match(await error.textContent(), /expected a clause after `AND`, found the end of the query/);
  assert.equal(await page.locator('#query').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#rows tr.row').count(), 0);
  await screenshot(page, 'query-error');
  // Fixing the query clears the error.
  await page.locator('#query').fill('level:error');
  await settle(page, () => page.locator('#query').press('Enter'));
  assert.equal(await error.isHidden(), true);
  await page.context().close();
});

test('the URL restores the same view in a fresh page; back and forward work', async () => {
  const page = await openApp(browser, `${server.url}/`);
  await page.locator('#query').fill('level:info PacketResponder');
  await settle(page, () => page.locator('#query').press('Enter'));
  await page.locator('#time-from').fill('2008-11-09T21:00');
  await page.locator('#time-to').fill('2008-11-10T12:00');
  await settle(page, () => page.locator('#time-apply').click());
  await settle(page, () => page.locator('#order').selectOption('asc'));
  const url = page.url();
  const rows = await screenRows(page);
  const total = await screenTotal(page);
  await assertSameAsApi(page, server, { q: 'level:info PacketResponder', from: '2008-11-09T21:00:00Z', to: '2008-11-10T12:00:00Z', order: 'asc' });

  const fresh = await openApp(browser, url);
  assert.deepEqual(await screenRows(fresh), rows);
  assert.equal(await screenTotal(fresh), total);
  assert.equal(await fresh.locator('#query').inputValue(), 'level:info PacketResponder');
  assert.equal(await fresh.locator('#order').inputValue(), 'asc');
  assert.equal(await fresh.locator('#time-from').inputValue(), '2008-11-09T21:00');
  assert.equal(await fresh.locator('#message').inputValue(), 'PacketResponder');
  await fresh.context().close();

  await settle(page, () => page.goBack());
  assert.equal(await page.locator('#order').inputValue(), 'desc');
  await settle(page, () => page.goBack());
  assert.equal(new URL(page.url()).searchParams.get('from'), null);
  await assertSameAsApi(page, server, { q: 'level:info PacketResponder' });
  await settle(page, () => page.goForward());
  await settle(page, () => page.goForward());
  assert.deepEqual(await screenRows(page), rows);
  await page.context().close();
});

test('detail: the record as sent, whole trace oldest first, context around a record', async () => {
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('"Failed to connect"')}`);
  await page.locator('#rows tr.row').first().click();
  const raw = await page.locator('tr.detail pre.raw').textContent();
  const [expected] = (await apiSearch(server, { q: '"Failed to connect"' })).hits;
  assert.equal(raw, expected, 'the detail shows the record exactly as sent');
  await screenshot(page, 'detail');
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('tr.detail').count(), 0, 'Esc closes the detail');

  // A trace of the HDFS sample has several records.
  const traced = await openApp(browser, `${server.url}/?q=${encodeURIComponent('traceId:blk_-8775602795571523802')}`);
  await traced.locator('#rows tr.row').first().click();
  await settle(traced, () => traced.getByRole('button', { name: 'Show whole trace' }).click());
  assert.equal(await traced.locator('#order').inputValue(), 'asc');
  const trace = await assertSameAsApi(traced, server, { q: 'traceId:"blk_-8775602795571523802"', order: 'asc' });
  assert.equal(trace.total, 2);

  // Context: records of the same resource just before and after.
  await traced.locator('#rows tr.row').nth(1).click();
  const anchor = JSON.parse(await traced.locator('tr.detail pre.raw').textContent());
  await settle(traced, () => traced.getByRole('button', { name: 'Show context' }).click());
  const rows = (await screenRows(traced)).map((r) => JSON.parse(r.raw));
  assert.ok(rows.every((r) => r.resourceId === anchor.resourceId));
  const times = rows.map((r) => Date.parse(r.timestamp));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');
  assert.ok(times.some((t) => t < Date.parse(anchor.timestamp)) && times.some((t) => t > Date.parse(anchor.timestamp)));
  assert.ok(await traced.locator('#rows tr.row.anchor').count() >= 1, 'the record itself is marked');
  await screenshot(traced, 'context');
  await traced.context().close();
  await page.context().close();
});

test('keyboard: / focuses the query, Enter runs it', async () => {
  const page = await openApp(browser, `${server.url}/`);
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'query');
  await page.keyboard.type('resourceId:server-1234');
  await settle(page, () => page.keyboard.press('Enter'));
  await assertSameAsApi(page, server, { q: 'resourceId:server-1234' });
  await page.context().close();
});

test('narrow window and dark mode', async () => {
  const narrow = await openApp(browser, `${server.url}/?q=level:warn`, { viewport: { width: 420, height: 800 } });
  assert.equal(await narrow.locator('#filters').isVisible(), false, 'filters fold away');
  await narrow.locator('#filters-toggle').click();
  assert.equal(await narrow.locator('#filters').isVisible(), true);
  await narrow.locator('#filters-toggle').click();
  const width = await narrow.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 420, `no horizontal scrolling at 420 px (${width})`);
  await assertSameAsApi(narrow, server, { q: 'level:warn' });
  await screenshot(narrow, 'narrow');
  await narrow.context().close();

  const dark = await openApp(browser, `${server.url}/?q=level:warn`, { colorScheme: 'dark' });
  const background = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(17, 20, 24)');
  await settleAside(dark);
  await screenshot(dark, 'dark');
  assert.deepEqual(dark.errors, []);
  await dark.context().close();
});
