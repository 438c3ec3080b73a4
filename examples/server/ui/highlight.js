// Marks the words of a message that the query searched for.
//
// Message tokens are maximal runs of alphanumeric characters, lowercased
// (the same rule as the server's tokenizer: Rust's char::is_alphanumeric is
// Unicode Alphabetic or Numeric). Terms come from the parsed query, leaving
// out everything under a NOT. A phrase is marked where its tokens follow
// each other, as the server matches it, never word by word.

const TOKEN = /[\p{Alphabetic}\p{N}]+/gu;

/** What to mark for a parsed query: message tokens, phrases (token lists), token patterns, regexes. */
export function termsOf(parsed) {
  const terms = { tokens: new Set(), phrases: [], patterns: [], regexes: [] };
  const visit = (q) => {
    if (q.type === 'and' || q.type === 'or') q.children.forEach(visit);
    else if (q.field !== 'message') return;
    else if (q.type === 'phrase' && q.tokens.length === 1) terms.tokens.add(q.tokens[0]);
    else if (q.type === 'phrase' && q.tokens.length > 1) terms.phrases.push(q.tokens);
    else if (q.type === 'wildcard') terms.patterns.push(tokenPattern(q.parts));
    else if (q.type === 'regex') {
      const regex = jsRegex(q.pattern);
      if (regex) terms.regexes.push(regex);
    }
  };
  for (const clause of parsed?.clauses ?? []) visit(clause.query);
  return terms;
}

function tokenPattern(parts) {
  const body = parts
    .map((p) => (typeof p === 'string' ? p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : p.any === 'char' ? '.' : '.*'))
    .join('');
  return new RegExp(`^${body}$`, 'u');
}

/** The Rust regex as a JavaScript one when the syntax carries over; else null. */
function jsRegex(pattern) {
  let flags = 'gu';
  let source = pattern;
  if (source.startsWith('(?i)')) {
    flags += 'i';
    source = source.slice(4);
  }
  try {
    return new RegExp(source, flags);
  } catch {
    return null;
  }
}

/** `message` as text nodes with `<mark>` around the matched parts. */
export function highlight(message, terms) {
  const text = String(message ?? '');
  const ranges = [];
  const phrases = terms.phrases ?? [];
  if (terms.tokens.size || terms.patterns.length || phrases.length) {
    const tokens = [...text.matchAll(TOKEN)].map((m) => ({ token: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length }));
    for (const { token, start, end } of tokens) {
      if (terms.tokens.has(token) || terms.patterns.some((p) => p.test(token))) ranges.push([start, end]);
    }
    for (const phrase of phrases) {
      for (let i = 0; i + phrase.length <= tokens.length; i++) {
        if (phrase.every((t, k) => tokens[i + k].token === t)) {
          ranges.push([tokens[i].start, tokens[i + phrase.length - 1].end]);
        }
      }
    }
  }
  for (const regex of terms.regexes) {
    for (const m of text.matchAll(regex)) {
      if (m[0].length) ranges.push([m.index, m.index + m[0].length]);
      if (ranges.length > 1000) break;
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    fragment.append(text.slice(at, from));
    const mark = document.createElement('mark');
    mark.textContent = text.slice(from, end);
    fragment.append(mark);
    at = end;
  }
  fragment.append(text.slice(at));
  return fragment;
}
