// Structured filters ⇄ query text.
//
// The query text is what runs; the filters are a view of it. The server
// splits the text into the clauses of its top-level AND (GET /api/parse, the
// real parser, so the two can never disagree). Clauses of a known shape
// become filters; every other clause is kept as written and shown as a chip.
// Changing a filter rebuilds the text: filter clauses first, then the kept
// clauses, joined by spaces (AND).

/** The keyword fields with a text filter of their own (level has its own list). */
export const FIELDS = ['resourceId', 'traceId', 'spanId', 'commit', 'metadata.parentResourceId'];

/** Filters matching everything. */
export function emptyFilters() {
  return {
    levels: [],
    message: { mode: 'words', text: '' },
    fields: Object.fromEntries(FIELDS.map((f) => [f, ''])),
    other: [],
  };
}

/** The filters shown for a parsed query (the answer of /api/parse). */
export function filtersOf(parsed) {
  const filters = emptyFilters();
  const taken = new Set();
  for (const clause of parsed.clauses) {
    if (!take(filters, clause, taken)) filters.other.push(clause.text);
  }
  return filters;
}

/** Puts `clause` into a filter if it has a filter's shape and that filter is free. */
function take(filters, clause, taken) {
  const q = clause.query;
  const levels = levelValues(q);
  if (levels) {
    if (taken.has('level')) return false;
    taken.add('level');
    filters.levels = levels;
    return true;
  }
  if (FIELDS.includes(q.field) && !taken.has(q.field)) {
    const value = q.type === 'keyword' ? exactValue(q.value) : q.type === 'wildcard' ? patternValue(q.parts) : null;
    if (value === null) return false;
    taken.add(q.field);
    filters.fields[q.field] = value;
    return true;
  }
  if (q.field !== 'message') return false;
  const message = filters.message;
  const written = clause.text.replace(/^message:/, '');
  const bare = !/^["/]/.test(written) && !/[\s()]/.test(written);
  if (bare && (q.type === 'phrase' || q.type === 'wildcard')) {
    // Words: bare terms, each its own clause (a wildcard matches one token).
    if (taken.has('message') && message.mode !== 'words') return false;
    taken.add('message');
    const word = q.type === 'phrase' ? unescapeTerm(written) : written;
    message.mode = 'words';
    message.text = message.text ? `${message.text} ${word}` : word;
    return true;
  }
  if (taken.has('message')) return false;
  if (q.type === 'phrase' && written.startsWith('"')) {
    Object.assign(message, { mode: 'phrase', text: unquote(written) });
  } else if (q.type === 'regex') {
    Object.assign(message, { mode: 'regex', text: q.pattern });
  } else {
    return false;
  }
  taken.add('message');
  return true;
}

/** The values of `level:a` or `(level:a OR level:b ...)`, else null. */
function levelValues(q) {
  if (q.type === 'keyword' && q.field === 'level') return [q.value];
  if (q.type !== 'or') return null;
  const values = q.children.map((c) => (c.type === 'keyword' && c.field === 'level' ? c.value : null));
  return values.every((v) => v !== null) ? values : null;
}

/** An exact value, unless a field input would read it as a wildcard. */
const exactValue = (value) => (/[*?]/.test(value) ? null : value);

/** A wildcard pattern as typed in a field input (`server-12*`), if it can be. */
function patternValue(parts) {
  let text = '';
  for (const part of parts) {
    if (typeof part !== 'string') text += part.any === 'char' ? '?' : '*';
    else if (/[*?]/.test(part)) return null;
    else text += part;
  }
  return text;
}

/** The query text of some filters. */
export function queryOf(filters) {
  const clauses = [];
  if (filters.levels.length === 1) clauses.push(`level:${quote(filters.levels[0])}`);
  if (filters.levels.length > 1) {
    clauses.push(`(${filters.levels.map((l) => `level:${quote(l)}`).join(' OR ')})`);
  }
  const { mode, text } = filters.message;
  if (text.trim()) {
    if (mode === 'phrase') clauses.push(`message:${quote(text.trim())}`);
    else if (mode === 'regex') clauses.push(`message:/${text.replace(/(^|[^\\])\//g, '$1\\/')}/`);
    else clauses.push(...text.trim().split(/\s+/).map((w) => escapeTerm(w, true)));
  }
  for (const field of FIELDS) {
    const value = filters.fields[field].trim();
    if (!value) continue;
    clauses.push(`${field}:${/[*?]/.test(value) ? escapeTerm(value, true) : quote(value)}`);
  }
  clauses.push(...filters.other);
  return clauses.join(' ');
}

/** The clause selecting records whose `field` is `value` (for "add as filter"). */
export const clauseFor = (field, value) => `${field}:${quote(value)}`;

/** `"value"` with `"` and `\` escaped, as the query language reads it. */
export const quote = (value) => `"${String(value).replace(/[\\"]/g, '\\$&')}"`;

/** A value inside quotes, unescaped. */
function unquote(text) {
  return text.slice(1, -1).replace(/\\([\\"])/g, '$1');
}

/**
 * An unquoted term: every character the language treats specially gets a
 * backslash (`*` and `?` too unless `wildcards`), and a term that reads as
 * an operator is escaped.
 */
export function escapeTerm(text, wildcards) {
  // `-` negates only at the start of a term: inside one (`cart-*`) it is
  // a plain character and stays as typed.
  const special = wildcards ? /[\\\s()":/[\]{}<>=]/g : /[\\\s()":/[\]{}<>=*?]/g;
  const escaped = text.replace(special, '\\$&').replace(/^-/, '\\-');
  return /^(AND|OR|NOT)$/.test(escaped) ? `\\${escaped}` : escaped;
}

/** An unquoted term as text: backslashes removed. */
const unescapeTerm = (text) => text.replace(/\\(.)/g, '$1');
