// The sample queries of docs/query-language.md, each once through the filters and once through
// the query box: the rows and total on screen must be the API's answer.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, sampleNdjson, screenshot } from './harness.js';
import { apiSearch, assertSameAsApi, openApp, settle, settleAside, screenRows } from './page.js';

let server;
let browser;

before(async () => {
  server = await Server.start();
  assert.equal(await server.ingest(sampleNdjson()), 4001);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Types `q` into the query box and presses Enter. */
async function typeQuery(page, q) {
  await page.locator('#query').fill(q);
  await settle(page, () => page.locator('#query').press('Enter'));
}

/** Fills a filter input and presses Enter. */
async function fillFilter(page, selector, value) {
  await page.locator(selector).fill(value);
  await settle(page, () => page.locator(selector).press('Enter'));
}

async function checkLevel(page, level) {
  await settleAside(page);
  await settle(page, () => page.locator(`#levels input[value="${level}"]`).check());
}

describe('sample queries through the query box', () => {
  const cases = [
    ['level "error"', 'level:error'],
    ['message contains "Failed to connect"', '"Failed to connect"'],
    ['resourceId "server-1234"', 'resourceId:server-1234'],
    ['between 2023-09-10T00:00:00Z and 2023-09-15T23:59:59Z', 'timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]'],
    ['a combination with AND, OR, NOT', '(level:error OR level:warn) AND NOT resourceId:nova* -"Failed to connect"'],
    ['a combination reaching both samples', 'level:error OR (resourceId:"dfs.DataNode$PacketResponder" AND terminating)'],
    ['a regular expression', '/Failed to .*DB/ OR message:/blk_-\\d+ terminating$/'],
    ['a keyword regular expression', 'traceId:/^blk_-?9\\d{5}/'],
  ];
  for (const [name, q] of cases) {
    test(name, async () => {
      const page = await openApp(browser, `${server.url}/`);
      await typeQuery(page, q);
      const api = await assertSameAsApi(page, server, { q });
      assert.ok(api.total > 0, `the sample data has matches for ${q}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  }
});

describe('sample queries through the filters', () => {
  test('level "error" (level list fed by facets)', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await checkLevel(page, 'error');
    assert.equal(await page.locator('#query').inputValue(), 'level:"error"');
    await assertSameAsApi(page, server, { q: 'level:error' });
    await screenshot(page, 'search-level-error');
    await page.context().close();
  });

  test('message contains "Failed to connect" (phrase)', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await page.locator('#message-mode').selectOption('phrase');
    await fillFilter(page, '#message', 'Failed to connect');
    assert.equal(await page.locator('#query').inputValue(), 'message:"Failed to connect"');
    const api = await assertSameAsApi(page, server, { q: '"Failed to connect"' });
    assert.equal(api.total, 1);
    await page.context().close();
  });

  test('message words', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await fillFilter(page, '#message', 'PacketResponder terminat*');
    await assertSameAsApi(page, server, { q: 'PacketResponder AND message:terminat*' });
    await page.context().close();
  });

  test('resourceId "server-1234"', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await fillFilter(page, '#field-resourceId', 'server-1234');
    await assertSameAsApi(page, server, { q: 'resourceId:server-1234' });
    await page.context().close();
  });

  test('the other keyword fields', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await fillFilter(page, '#field-traceId', 'abc-xyz-123');
    await fillFilter(page, '#field-spanId', 'span-456');
    await fillFilter(page, '#field-commit', '5e5342f');
    await fillFilter(page, '#field-metadata\\.parentResourceId', 'server-0987');
    const api = await assertSameAsApi(page, server, {
      q: 'traceId:abc-xyz-123 spanId:span-456 commit:5e5342f metadata.parentResourceId:server-0987',
    });
    assert.equal(api.total, 1);
    await page.context().close();
  });

  test('between 2023-09-10T00:00:00Z and 2023-09-15T23:59:59Z (custom range)', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await page.locator('#time-from').fill('2023-09-10T00:00');
    await page.locator('#time-to').fill('2023-09-15T23:59:59');
    await settle(page, () => page.locator('#time-apply').click());
    assert.match(page.url(), /from=2023-09-10T00%3A00%3A00Z&to=2023-09-15T23%3A59%3A59Z/);
    const api = await assertSameAsApi(page, server, { from: '2023-09-10T00:00:00Z', to: '2023-09-15T23:59:59Z' });
    assert.equal(api.total, 1);
    await page.context().close();
  });

  test('a combination: two levels (OR), a phrase, an excluded resource (NOT)', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await checkLevel(page, 'error');
    await checkLevel(page, 'warn');
    const both = '(level:error OR level:warn)';
    await assertSameAsApi(page, server, { q: both });
    // Exclude the resource of the first row from its detail.
    const [first] = await screenRows(page);
    const resource = JSON.parse(first.raw).resourceId;
    await page.locator('#rows tr.row').first().click();
    await settle(page, () => page.locator('tr.detail tr').filter({ has: page.locator('th', { hasText: /^resourceId$/ }) }).getByRole('button', { name: 'Exclude' }).click());
    const q = `${both} AND NOT resourceId:"${resource.replace(/[\\"]/g, '\\$&')}"`;
    const api = await assertSameAsApi(page, server, { q });
    assert.ok(api.total > 0);
    assert.ok((await screenRows(page)).every((r) => r.resource !== resource));
    await page.context().close();
  });

  test('a regular expression (message filter in regex mode)', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await page.locator('#message-mode').selectOption('regex');
    await fillFilter(page, '#message', 'blk_-\\d+ terminating$');
    assert.equal(await page.locator('#query').inputValue(), 'message:/blk_-\\d+ terminating$/');
    const api = await assertSameAsApi(page, server, { q: 'message:/blk_-\\d+ terminating$/' });
    assert.ok(api.total > 100, 'more than one page');
    await page.context().close();
  });
});

describe('filters and the query box stay in step', () => {
  test('a typed query fills the filters it can, and keeps the rest as clauses', async () => {
    const page = await openApp(browser, `${server.url}/`);
    await typeQuery(page, '(level:warn OR level:error) "Failed to connect" resourceId:server-12* -commit:x traceId:/abc/');
    await settleAside(page);
    assert.equal(await page.locator('#levels input[value="warn"]').isChecked(), true);
    assert.equal(await page.locator('#levels input[value="error"]').isChecked(), true);
    assert.equal(await page.locator('#message-mode').inputValue(), 'phrase');
    assert.equal(await page.locator('#message').inputValue(), 'Failed to connect');
    assert.equal(await page.locator('#field-resourceId').inputValue(), 'server-12*');
    assert.deepEqual(await page.locator('#other code').allTextContents(), ['-commit:x', 'traceId:/abc/']);
    // Removing a clause chip rewrites the query; the meaning is the API's.
    await settle(page, () => page.getByRole('button', { name: 'Remove traceId:/abc/' }).click());
    const q = await page.locator('#query').inputValue();
    assert.equal(q, '(level:"warn" OR level:"error") message:"Failed to connect" resourceId:server-12* -commit:x');
    await assertSameAsApi(page, server, { q });
    await page.context().close();
  });

  test('"load more" pages through every match without duplicates', async () => {
    const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent('level:info')}`);
    let rows = await screenRows(page);
    assert.equal(rows.length, 100);
    for (let i = 0; i < 4; i++) {
      const count = rows.length;
      await page.locator('#more').click();
      await page.waitForFunction((n) => document.querySelectorAll('#rows tr.row').length > n, count);
      rows = await screenRows(page);
    }
    // Scrolling to the button may load further pages by itself; every
    // record shown must still be the API's, in order, once.
    assert.ok(rows.length >= 500);
    const api = await apiSearch(server, { q: 'level:info', limit: rows.length });
    assert.deepEqual(rows.map((r) => r.raw), api.hits);
    assert.equal(new Set(rows.map((r) => r.raw)).size, rows.length);
    await page.context().close();
  });
});
