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

/** The chart's marks: each bar or point's series, time and title. */
function screenChart(page) {
  return page.$eval('#stats-chart', (box) => ({
    visible: !box.hidden,
    bars: [...box.querySelectorAll('rect.bar')].map((r) => ({ time: r.dataset.time, height: Number(r.getAttribute('height')), title: r.querySelector('title').textContent })),
    points: [...box.querySelectorAll('circle.point')].map((c) => ({ series: c.dataset.series, time: c.dataset.time })),
    lines: box.querySelectorAll('polyline.series').length,
    legend: [...box.querySelectorAll('.legend li')].map((li) => li.textContent),
  }));
}

test('rows by time bucket are drawn: a bar per bucket, or a line per series with a legend', async () => {
  const q = '| stats count() by (bucket(timestamp, 1d))';
  const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent(q)}`);
  const want = await apiRows(q);
  assert.ok(want.rows.length >= 3, JSON.stringify(want));
  const one = await screenChart(page);
  assert.equal(one.visible, true);
  const byTime = [...want.rows].sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]));
  assert.deepEqual(one.bars.map((b) => Number(b.time)), byTime.map((r) => Date.parse(r[0])));
  one.bars.forEach((bar, i) => assert.ok(bar.title.endsWith(`count(): ${byTime[i][1].toLocaleString('en-US')}`), bar.title));
  const busiest = byTime.reduce((a, b) => (b[1] > a[1] ? b : a));
  const tallest = one.bars.reduce((a, b) => (b.height > a.height ? b : a));
  assert.equal(Number(tallest.time), Date.parse(busiest[0]));
  assert.deepEqual(one.legend, [], 'one series needs no legend');
  await screenshot(page, 'stats-chart');

  // Grouped by level too: a line per level, busiest first in the legend.
  const byLevel = '| stats count() as n by (level, bucket(timestamp, 1d))';
  await settle(page, async () => {
    await page.locator('#query').fill(byLevel);
    await page.locator('#query').press('Enter');
  });
  const rows = (await apiRows(byLevel)).rows;
  const totals = new Map();
  for (const [level, , n] of rows) totals.set(level ?? '–', (totals.get(level ?? '–') ?? 0) + n);
  const names = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
  assert.ok(names.length >= 2, JSON.stringify(names));
  const drawn = names.slice(0, 8);
  const several = await screenChart(page);
  assert.equal(several.lines, drawn.length);
  assert.deepEqual(several.legend, names.length > 8 ? [...drawn, `${names.length - 8} more series not drawn`] : drawn);
  assert.equal(several.points.length, rows.filter(([level]) => drawn.includes(level ?? '–')).length);
  assert.deepEqual(several.bars, []);

  // Buckets of a short span are to scale: an empty one is a gap.
  const hours = 'resourceId:dfs* | stats count() by (bucket(timestamp, 10m))';
  await settle(page, async () => {
    await page.locator('#query').fill(hours);
    await page.locator('#query').press('Enter');
  });
  const hourRows = (await apiRows(hours)).rows.map(([t]) => Date.parse(t)).sort((a, b) => a - b);
  const span = (hourRows[hourRows.length - 1] - hourRows[0]) / 600000 + 1;
  assert.ok(span > hourRows.length && span <= 1000, `${hourRows.length} buckets over ${span}`);
  const x = await page.$$eval('#stats-chart rect.bar', (rects) => rects.map((r) => Number(r.getAttribute('x'))));
  const slot = (await page.$eval('#stats-chart svg', (svg) => Number(svg.getAttribute('width')))) / span;
  hourRows.forEach((t, i) => assert.ok(Math.abs(x[i] - x[0] - ((t - hourRows[0]) / 600000) * slot) < 0.01, `bar ${i}`));

  // Rows without a time bucket have no chart.
  await settle(page, async () => {
    await page.locator('#query').fill('| stats count() by (level)');
    await page.locator('#query').press('Enter');
  });
  assert.equal((await screenChart(page)).visible, false);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
