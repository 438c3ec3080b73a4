// Records that came by the shippers' protocols (OTLP/HTTP JSON, the Loki
// push API, syslog over TCP) show in the UI like any other: the time, level
// and resource columns filled from the mapped fields, found by them, and
// each row the API's record.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Server, launchBrowser } from './harness.js';
import { assertSameAsApi, openApp, screenRows } from './page.js';

let server;
let browser;

/** What each protocol sent, and the row it must make. */
const EXPECTED = [
  { resource: 'checkout', level: 'ERROR', message: 'payment failed', time: '2023-09-15 08:00:01' },
  { resource: 'varlogs', level: 'warn', message: 'disk 91% full', time: '2023-09-15 08:00:02' },
  { resource: 'billing', level: 'error', message: 'charge declined', time: '2023-09-15 08:00:03' },
];

async function post(path, body) {
  const r = await server.request('POST', `${path}?refresh=wait_for`, {
    body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
  });
  assert.ok(r.status === 200 || r.status === 204, `${path}: ${r.status} ${r.text}`);
}

before(async () => {
  server = await Server.start({ args: ['--syslog-tcp', '127.0.0.1:0'] });
  await post('/v1/logs', {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
      scopeLogs: [{
        logRecords: [{
          timeUnixNano: '1694764801000000000',
          severityNumber: 17,
          severityText: 'ERROR',
          body: { stringValue: 'payment failed' },
          traceId: '0102030405060708090a0b0c0d0e0f10',
        }],
      }],
    }],
  });
  await post('/loki/api/v1/push', {
    streams: [{ stream: { job: 'varlogs', level: 'warn' }, values: [['1694764802000000000', 'disk 91% full']] }],
  });
  await new Promise((ok, fail) => {
    const socket = connect(server.syslogPort('tcp'), '127.0.0.1', () => {
      socket.end('<11>1 2023-09-15T08:00:03Z host-7 billing 42 - - charge declined\n', ok);
    });
    socket.on('error', fail);
  });
  // Syslog has no answer: wait until the record is searchable.
  for (let i = 0; (await server.search({ q: 'resourceId:billing' })).total !== 1; i++) {
    assert.ok(i < 300, 'the syslog record never became searchable');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('OTLP, Loki and syslog records fill the time, level and resource columns', async () => {
  const page = await openApp(browser, `${server.url}/?q=*`);
  await assertSameAsApi(page, server, { q: '*' });
  const rows = await screenRows(page);
  const shown = rows.map(({ time, level, resource, message }) => ({ time, level, resource, message }));
  // Newest first.
  const expected = [...EXPECTED].reverse();
  assert.equal(shown.length, expected.length);
  shown.forEach((row, i) => {
    assert.ok(row.time.startsWith(expected[i].time), `row ${i + 1}: time ${row.time}`);
    assert.deepEqual({ ...row, time: undefined }, { ...expected[i], time: undefined });
  });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('each is found by its mapped fields through the query box', async () => {
  for (const q of ['resourceId:checkout level:ERROR', 'resourceId:varlogs level:warn', 'resourceId:billing level:error']) {
    const page = await openApp(browser, `${server.url}/?q=${encodeURIComponent(q)}`);
    const api = await assertSameAsApi(page, server, { q });
    assert.equal(api.total, 1, q);
    await page.context().close();
  }
});
