// Test harness: a real `logingest` server on a free port with a fresh data
// directory, records loaded through its HTTP API, and Debian's Chromium
// driven by playwright-core (which brings no browser of its own).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../..');

/** The server binary: $LOGINGEST_BIN, else the debug build of the workspace. */
const BIN = process.env.LOGINGEST_BIN ?? join(repo, 'target/debug/logingest');
/** Chromium: $CHROMIUM, else Debian's. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The sample record of docs/query-language.md. */
export const PRODUCT_SAMPLE = '{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234","timestamp":"2023-09-15T08:00:00Z","traceId":"abc-xyz-123","spanId":"span-456","commit":"5e5342f","metadata":{"parentResourceId":"server-0987"}}';

/** The Loghub samples of testdata/ plus the sample record of docs/query-language.md, as NDJSON. */
export function sampleNdjson() {
  const files = ['hdfs_2k.ndjson', 'openstack_2k.ndjson'];
  const text = files.map((f) => readFileSync(join(repo, 'testdata/loghub', f), 'utf8').trimEnd()).join('\n');
  return `${text}\n${PRODUCT_SAMPLE}\n`;
}

export const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** A running server. `start()` waits until it listens. */
export class Server {
  static async start({ auth = null, args = [] } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'logingest-ui-'));
    const serverArgs = ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), ...args];
    if (auth) {
      const file = join(dir, 'auth.toml');
      writeFileSync(file, auth.map((k) => [
        '[[keys]]', `name = "${k.name}"`, `sha256 = "${sha256(k.key)}"`, `role = "${k.role}"`,
        k.resources ? `resources = ${JSON.stringify(k.resources)}` : '', '',
      ].join('\n')).join('\n'));
      serverArgs.push('--auth-file', file);
    }
    return Server.spawn(BIN, serverArgs, dir);
  }

  /**
   * Any program that prints "listening on http://..." once it serves:
   * the server, or an example that embeds its router. Owns `dir`.
   */
  static async spawn(bin, args, dir = mkdtempSync(join(tmpdir(), 'logingest-ui-'))) {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGINGEST_LOG: 'warn' } });
    const server = new Server(child, dir);
    child.stderr.on('data', (d) => { server.stderr += d; });
    server.url = await new Promise((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`${bin} did not start: ${server.stderr}`)), 30000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/[^\s;]+)/);
        if (m) { clearTimeout(timer); server.printed = out; ok(m[1]); }
      });
      child.on('exit', (code) => fail(new Error(`${bin} exited with ${code}: ${server.stderr}`)));
      child.on('error', fail);
    });
    return server;
  }

  constructor(child, dir) {
    this.child = child;
    this.dir = dir;
    this.stderr = '';
    /** What it printed on stdout up to its URL (syslog listeners come first). */
    this.printed = '';
  }

  /** The port of its syslog listener of `transport` ('tcp', 'udp'). */
  syslogPort(transport) {
    const m = this.printed.match(new RegExp(`syslog listening on ${transport} [^\\s]+:(\\d+)`));
    if (!m) throw new Error(`no syslog ${transport} listener in: ${this.printed}`);
    return Number(m[1]);
  }

  /** An HTTP request to the server; returns {status, json, text}. */
  async request(method, path, { body, key, headers = {} } = {}) {
    const response = await fetch(this.url + path, {
      method, body, headers: { ...headers, ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: response.status, json, text };
  }

  /** Sends NDJSON and waits until it is searchable; fails unless accepted. */
  async ingest(ndjson, key) {
    const r = await this.request('POST', '/logs?refresh=wait_for', {
      body: ndjson, key, headers: { 'Content-Type': 'application/x-ndjson' },
    });
    if (r.status !== 200) throw new Error(`ingest failed: ${r.status} ${r.text}`);
    return r.json.accepted;
  }

  /** GET /api/search with these parameters: {hits (raw JSON texts), total, next_cursor}. */
  async search(params, key) {
    const r = await this.request('GET', `/api/search?${new URLSearchParams(params)}`, { key });
    if (r.status !== 200) throw new Error(`search failed: ${r.status} ${r.text}`);
    return { ...r.json, raw: r.text };
  }

  async stop() {
    if (this.child.exitCode === null) {
      const exited = new Promise((ok) => this.child.on('exit', ok));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Headless Chromium with the flags this sandbox needs (no network beyond loopback). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where screenshots go: target/ui-screenshots, and docs/screenshots when updating. */
export const SCREENSHOTS = join(repo, 'target/ui-screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

/** Saves a screenshot of `page` as NAME.png; also into docs/screenshots with LOGINGEST_UPDATE_SCREENSHOTS=1. */
export async function screenshot(page, name) {
  const png = await page.screenshot({ fullPage: false });
  writeFileSync(join(SCREENSHOTS, `${name}.png`), png);
  if (process.env.LOGINGEST_UPDATE_SCREENSHOTS === '1') {
    const docs = join(repo, 'docs/screenshots');
    mkdirSync(docs, { recursive: true });
    writeFileSync(join(docs, `${name}.png`), png);
  }
}
