// A server with keys: the page asks for one, keeps it for the session, and a
// key scoped to some resources sees only their records.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, sampleNdjson, screenshot } from './harness.js';
import { apiSearch, assertSameAsApi, screenRows, screenTotal, settle, settleAside } from './page.js';

const KEYS = [
  { name: 'shipper', key: 'ingest-key-0123456789', role: 'ingest' },
  { name: 'everyone', key: 'read-key-0123456789', role: 'read' },
  { name: 'team-hdfs', key: 'scoped-key-0123456789', role: 'read', resources: ['dfs.FSNamesystem', 'server-12*'] },
];
const [shipper, reader, scoped] = KEYS;

let server;
let browser;

before(async () => {
  server = await Server.start({ auth: KEYS });
  await server.ingest(sampleNdjson(), shipper.key);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens the page, which must ask for a key, and enters `key`. */
async function signIn(url, key) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  const dialog = page.locator('#key-dialog');
  await dialog.waitFor();
  assert.equal(await page.locator('#rows tr.row').count(), 0, 'nothing shown without a key');
  await page.locator('#key-input').fill(key);
  await screenshot(page, 'key-prompt');
  await settle(page, () => page.locator('#key-form button[type=submit]').click());
  return page;
}

test('a scoped key sees only its resources', async () => {
  const q = 'level:info OR level:error';
  const page = await signIn(`${server.url}/?q=${encodeURIComponent(q)}`, scoped.key);
  await settleAside(page);
  const api = await assertSameAsApi(page, server, { q }, scoped.key);
  const everything = await apiSearch(server, { q }, reader.key);
  assert.ok(api.total > 0 && api.total < everything.total, `${api.total} of ${everything.total}`);
  for (const row of await screenRows(page)) {
    assert.match(row.resource, /^(dfs\.FSNamesystem|server-12.*)$/);
  }
  // Facets and the histogram count only its records too.
  const levels = await page.locator('#levels .count').allTextContents();
  const counted = levels.reduce((sum, c) => sum + Number(c.replace(/,/g, '')), 0);
  assert.equal(counted, api.total);
  // The key is kept for the session: a reload does not ask again.
  await settle(page, () => page.reload());
  assert.equal(await page.locator('#key-dialog').isVisible(), false);
  assert.equal(await screenTotal(page), api.total);
  await page.context().close();
});

test('a read key sees everything; a wrong key is asked for again', async () => {
  const page = await signIn(`${server.url}/?q=level:error`, 'not-a-key');
  await page.locator('#key-dialog').waitFor();
  await page.locator('#key-input').fill(reader.key);
  await settle(page, () => page.locator('#key-form button[type=submit]').click());
  await assertSameAsApi(page, server, { q: 'level:error' }, reader.key);
  await page.context().close();
});
