// Talking to the server: JSON requests with the session's key, the raw
// records of a search answer, and live tail over fetch.
//
// Live tail uses fetch() and reads the event stream itself instead of
// EventSource, because EventSource cannot send an Authorization header and a
// key must never travel in a URL (it would end up in logs and history).

const KEY_STORAGE = 'logingest.key';

/** An error answer of the server: `status`, and its JSON body (`error`, `position`, ...). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

/** The key kept for this browser tab, or null. */
export const currentKey = () => sessionStorage.getItem(KEY_STORAGE);

/** Keeps `key` for the session (null forgets it). */
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers() {
  const key = currentKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== '') query.set(name, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function request(path, params, signal) {
  const response = await fetch(url(path, params), { headers: headers(), signal });
  const text = await response.text();
  if (!response.ok) {
    let body;
    try { body = JSON.parse(text); } catch { body = { error: text || response.statusText }; }
    throw new ApiError(response.status, body);
  }
  return text;
}

/** GET a JSON endpoint. */
export async function getJson(path, params, signal) {
  return JSON.parse(await request(path, params, signal));
}

/**
 * GET /api/search. Each hit comes as `{raw, record}`: `raw` is the record's
 * text exactly as the server returned it (as it was sent), `record` the parsed
 * object. JSON.parse alone would lose the original spelling.
 */
export async function search(params, signal) {
  const text = await request('api/search', params, signal);
  const answer = JSON.parse(text);
  const raws = splitHits(text);
  answer.hits = answer.hits.map((record, i) => ({ raw: raws[i] ?? JSON.stringify(record), record }));
  return answer;
}

/** The source text of each element of the answer's `hits` array. */
export function splitHits(text) {
  const start = text.indexOf('[', text.indexOf('"hits"'));
  const out = [];
  let depth = 0, inString = false, escaped = false, from = -1;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') { if (depth++ === 0) from = i; }
    else if (c === '}' || c === ']') {
      if (depth === 0) break; // the end of `hits`
      if (--depth === 0) out.push(text.slice(from, i + 1));
    }
  }
  return out;
}

/**
 * Follows /api/tail for `q`: calls `onReady()` once subscribed, then
 * `onRecord(raw)` per record. Resolves when `signal` aborts; rejects with an
 * ApiError (bad query, no key) or a network error.
 */
export async function tail(q, { onReady, onRecord, onLagged }, signal) {
  const response = await fetch(url('api/tail', { q }), { headers: headers(), signal });
  if (!response.ok) {
    let body;
    try { body = await response.json(); } catch { body = {}; }
    throw new ApiError(response.status, body);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event.type === 'ready') onReady?.();
        else if (event.type === 'lagged') onLagged?.(JSON.parse(event.data));
        else if (event.data) onRecord(event.data);
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  }
}

/** One Server-Sent Events block: its `event` type and `data` lines joined. */
function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  return { type, data: data.join('\n') };
}
