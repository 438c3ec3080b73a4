//! The search index: one Elasticsearch/OpenSearch index per UTC day,
//! `<prefix>-YYYY.MM.DD`, all created from one index template.
//!
//! Mapping (one document per record, `_id` = its sequence number, so
//! indexing the same batch twice leaves one copy):
//!
//! | field | type | used for |
//! |---|---|---|
//! | `seq` | `long` | sort tie-break, `search_after`, joining a hit to its PG row |
//! | `ts` | `long` (ns) | exact ranges, sort, histograms |
//! | `ts_us` | `long` (µs, doc values only) | histograms in whole microseconds |
//! | `message` | `text`, whitespace analyzer | terms, phrases, token wildcards |
//! | `raw` | `wildcard`, `\u{1}message` | regexes on the raw message |
//! | `kw` | `keyword`, `path\0value` (the path escaped: `logingest_core::keyword_term`) | keyword terms, wildcards, regexes, `field:*`, facets |
//! | `num` | `keyword`, `path\0sortable` ([`logingest_core::number`]), not in doc values | numeric comparisons: a `range` of terms |
//!
//! `message` holds the tokens of [`logingest_core::tokenize`] joined by
//! spaces, analysed by a whitespace tokenizer with no filter: the index holds
//! exactly core's tokens, computed by core, instead of a Java analyzer that
//! approximates them (Java's `\p{L}\p{N}` and per-code-point lowercasing
//! differ from Rust's `char::is_alphanumeric` and `char::to_lowercase` for
//! combining marks and letters like `İ`). `ts` is a `long`, not `date_nanos`
//! (which cannot hold times before 1970). `kw` keeps the open set of keyword
//! paths in one field, as the embedded backend does, so records with new
//! paths never grow the mapping. `_source` keeps only `seq`, `ts` and `raw`
//! (the `wildcard` type verifies regex candidates against `_source`); the
//! record as sent is read from PostgreSQL.

use std::collections::HashMap;

use logingest_core::number;
use logingest_core::{keyword_term, tokenize, Error, Record, Result, Timestamp};
use serde_json::{json, Value};

use crate::config::PgConfig;
use crate::error::EsError;
use crate::es::Es;
use crate::store::{day_label, day_of, DAY};

/// Starts every `raw` value, so that no value is empty: the `wildcard`
/// type finds no document for an empty value (it has no n-grams), and
/// `message:/^$/` must find empty messages. Regexes on `raw` carry it too.
pub(crate) const RAW_PREFIX: char = '\u{1}';

/// The `raw` value of a message.
fn raw_text(message: &str) -> String {
    let mut text = String::with_capacity(message.len() + 1);
    text.push(RAW_PREFIX);
    text.push_str(message);
    text
}

/// The daily indices of one backend.
pub(crate) struct SearchIndex {
    pub(crate) es: Es,
    prefix: String,
    /// `<prefix>-*`, with the options that make it match nothing quietly.
    pub(crate) pattern: String,
}

impl SearchIndex {
    /// Connects and installs (or updates) the index template.
    pub(crate) fn open(config: &PgConfig) -> Result<Self> {
        let index = SearchIndex::connect(config)?;
        let path = format!("/_index_template/{}", config.index_prefix);
        index.es.json("PUT", &path, Some(&template(config)))?;
        // Daily indices made by an earlier version lack the fields added
        // since (`num`, `numv`); adding a field to a mapping is allowed, and
        // their documents are indexed anew only by a reindex (until then,
        // rows that read numbers of such documents come from records).
        let path = format!(
            "/{}/_mapping?ignore_unavailable=true&allow_no_indices=true",
            index.pattern
        );
        let fields = &template(config)["template"]["mappings"]["properties"];
        let added = json!({"properties": {
            "num": fields["num"],
            "numv": fields["numv"],
            "format": fields["format"],
        }});
        index.es.json("PUT", &path, Some(&added))?;
        Ok(index)
    }

    /// The index of a record at `ts`.
    pub(crate) fn index_of(&self, ts: i64) -> String {
        let label = day_label(day_of(ts));
        format!(
            "{}-{}.{}.{}",
            self.prefix,
            &label[..4],
            &label[4..6],
            &label[6..]
        )
    }

    /// The day of one of this backend's index names.
    fn day_of_index(&self, name: &str) -> Option<i64> {
        let date = name.strip_prefix(&self.prefix)?.strip_prefix('-')?;
        let t = Timestamp::parse_date(&date.replace('.', "-")).ok()?;
        Some(day_of(t.0))
    }

    /// Appends the bulk action and document of one record to `out`.
    pub(crate) fn add_bulk_item(&self, out: &mut Vec<u8>, seq: u64, record: &Record) {
        let ts = record.timestamp().0;
        let action = json!({"index": {"_index": self.index_of(ts), "_id": seq.to_string()}});
        let kw: Vec<String> = record
            .keywords()
            .iter()
            .map(|(p, v)| keyword_term::text(p, v))
            .collect();
        let num: Vec<String> = record
            .all_numbers()
            .map(|(p, n)| number::term(p, n))
            .collect();
        let numv = number_values(&num);
        let doc = json!({
            "seq": seq,
            "ts": ts,
            "ts_us": ts.div_euclid(1000),
            "message": tokenize(record.message()).join(" "),
            "raw": raw_text(record.message()),
            "kw": kw,
            "num": num,
            "numv": numv,
            // Documents with `numv` (`crate::rows` reads numbers only
            // where every matching document has it).
            "format": "numv",
        });
        serde_json::to_writer(&mut *out, &action).expect("JSON to memory");
        out.push(b'\n');
        serde_json::to_writer(&mut *out, &doc).expect("JSON to memory");
        out.push(b'\n');
    }

    /// Sends a `_bulk` body and checks every item was stored.
    pub(crate) fn bulk(&self, body: Vec<u8>) -> Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        let answer = self.es.bulk(body)?;
        if answer["errors"].as_bool() != Some(true) {
            return Ok(());
        }
        // Report the first failed item; the batch stays in the outbox and is
        // sent again (idempotent: same `_id`s).
        let items = answer["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for item in items {
            let result = &item["index"];
            let status = result["status"].as_u64().unwrap_or(0) as u16;
            if status >= 300 {
                return Err(EsError::Status {
                    status,
                    method: "POST",
                    path: format!(
                        "/_bulk (document {})",
                        result["_id"].as_str().unwrap_or("?")
                    ),
                    body: result["error"].to_string(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Makes everything indexed so far searchable.
    pub(crate) fn refresh(&self) -> Result<()> {
        let path = format!(
            "/{}/_refresh?ignore_unavailable=true&allow_no_indices=true",
            self.pattern
        );
        self.es
            .send("POST", &path, None)
            .map_err(Error::from)
            .and_then(|(status, body)| {
                if status < 300 {
                    Ok(())
                } else {
                    Err(EsError::Status {
                        status,
                        method: "POST",
                        path,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    }
                    .into())
                }
            })
    }

    /// Runs a search body over every daily index; `None` when the cluster
    /// refuses the query for one of its limits (an automaton too complex to
    /// determinize, a pattern longer than `index.max_regex_length`, more
    /// clauses than `indices.query.bool.max_clause_count`): a property of
    /// the query, which the caller answers another way (`crate::verify`).
    pub(crate) fn search(&self, body: &Value) -> Result<Option<Value>> {
        self.search_with(body, "")
    }

    /// [`SearchIndex::search`] whose answer keeps only the hits' sort values
    /// (and what [`complete`] reads): a page of thousands of hits is then a
    /// third of the time to produce and read (measured, 5,000 hits).
    pub(crate) fn search_sort_values(&self, body: &Value) -> Result<Option<Value>> {
        self.search_with(body, "&filter_path=hits.hits.sort,_shards,timed_out")
    }

    fn search_with(&self, body: &Value, options: &str) -> Result<Option<Value>> {
        let path = format!(
            "/{}/_search?ignore_unavailable=true&allow_no_indices=true{options}",
            self.pattern
        );
        let mut attempt = 0;
        loop {
            match self.es.json("POST", &path, Some(body)) {
                // A daily index created a moment ago (by this node's or
                // another node's first delivery of that day) answers
                // "all shards failed" with no failure until its primary
                // shard has started, which takes milliseconds to seconds.
                Err(EsError::Status {
                    status: 503, body, ..
                }) if attempt < SHARD_START_RETRIES && is_shard_starting(&body) => {
                    attempt += 1;
                    std::thread::sleep(SHARD_START_WAIT);
                }
                Ok(answer) => return complete(answer),
                // Elasticsearch and OpenSearch answer 503 to too many
                // buckets, 400 to the other limits.
                Err(EsError::Status {
                    status: 400 | 503,
                    body,
                    ..
                }) if is_query_limit(&body) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// This backend's index names.
    fn indices(&self) -> Result<Vec<String>> {
        let path = format!(
            "/_cat/indices/{}?format=json&h=index&expand_wildcards=all",
            self.pattern
        );
        let answer = self.es.json("GET", &path, None)?;
        Ok(answer
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| i["index"].as_str().map(str::to_owned))
            .collect())
    }

    /// Deletes every document with `ts < cutoff`: whole daily indices below
    /// it, and `_delete_by_query` in the index of the cutoff's day.
    pub(crate) fn delete_older_than(&self, cutoff: Timestamp) -> Result<()> {
        for name in self.indices()? {
            let Some(day) = self.day_of_index(&name) else {
                continue;
            };
            let start = day.saturating_mul(DAY);
            let end = (day + 1).checked_mul(DAY).unwrap_or(i64::MAX);
            if end <= cutoff.0 {
                match self.es.json("DELETE", &format!("/{name}"), None) {
                    Ok(_) => {}
                    Err(EsError::Status { status: 404, .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            } else if start < cutoff.0 {
                let body = json!({"query": {"range": {"ts": {"lt": cutoff.0}}}});
                let path = format!(
                    "/{name}/_delete_by_query?refresh=true&conflicts=proceed&wait_for_completion=true"
                );
                self.es.json("POST", &path, Some(&body))?;
            }
        }
        self.refresh()
    }

    /// Deletes every daily index and the index template (see
    /// [`crate::PgBackend::destroy`]). Indices are deleted by name: clusters
    /// may refuse wildcard deletions (`action.destructive_requires_name`).
    pub(crate) fn destroy(&self) -> Result<()> {
        let names = self.indices()?;
        for chunk in names.chunks(50) {
            match self
                .es
                .json("DELETE", &format!("/{}", chunk.join(",")), None)
            {
                Ok(_) | Err(EsError::Status { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match self
            .es
            .json("DELETE", &format!("/_index_template/{}", self.prefix), None)
        {
            Ok(_) | Err(EsError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Connects without installing the template.
    pub(crate) fn connect(config: &PgConfig) -> Result<Self> {
        Ok(SearchIndex {
            es: Es::open(&config.es_url, config.http_timeout)?,
            prefix: config.index_prefix.clone(),
            pattern: format!("{}-*", config.index_prefix),
        })
    }

    /// Bytes of the primary shards of every daily index.
    pub(crate) fn bytes(&self) -> Result<u64> {
        let path = format!(
            "/{}/_stats/store?ignore_unavailable=true&allow_no_indices=true",
            self.pattern
        );
        let answer = self.es.json("GET", &path, None)?;
        Ok(answer["_all"]["primaries"]["store"]["size_in_bytes"]
            .as_u64()
            .unwrap_or(0))
    }
}

/// How often a search is retried while a new index's shards start, and
/// the pause between tries (about 5 s in all).
const SHARD_START_RETRIES: u32 = 50;
const SHARD_START_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// A 503 whose shards all "failed" without naming a failure: the answer of
/// an index whose primary shards are still starting.
fn is_shard_starting(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v["error"]["type"] == "search_phase_execution_exception"
            && v["error"]["failed_shards"]
                .as_array()
                .is_some_and(Vec::is_empty)
    })
}

/// A search answer that covers every shard. The cluster answers 200 with
/// the shards that failed left out (partial results); counting on such an
/// answer would be a silently short total, so a failed shard is an error,
/// or the refusal for a query limit it reports (each shard compiles the
/// query).
fn complete(answer: Value) -> Result<Option<Value>> {
    let failed = answer["_shards"]["failed"].as_u64().unwrap_or(0);
    if failed > 0 {
        let failures = answer["_shards"]["failures"].to_string();
        if is_query_limit(&failures) {
            return Ok(None);
        }
        return Err(Error::backend_msg(
            true,
            format!("{failed} shard(s) of the search cluster failed to answer a search"),
        ));
    }
    if answer["timed_out"].as_bool() == Some(true) {
        return Err(Error::backend_msg(true, "the search cluster timed out"));
    }
    Ok(Some(answer))
}

/// The `numv` terms of a record's `num` terms: each one, and for the k-th
/// copy of a number at the same path (`[5, 5]`) the term followed by `\0`
/// and `k`, so that aggregations, which see a term once per document,
/// count a number as often as the record holds it (`crate::rows`).
fn number_values(num: &[String]) -> Vec<String> {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    num.iter()
        .map(|term| {
            let copies = seen.entry(term).or_default();
            *copies += 1;
            match *copies {
                1 => term.clone(),
                k => format!("{term}\0{k}"),
            }
        })
        .collect()
}

/// Whether an error answer is about a limit of the cluster on a query: an
/// automaton too complex or a pattern too long, or too many clauses.
fn is_query_limit(body: &str) -> bool {
    [
        "too_complex_to_determinize",
        "Determinizing",
        "max_regex_length",
        "regex_length",
        "too_many_clauses",
        "too_many_nested_clauses",
        "maxClauseCount",
        // `search.max_buckets`: rows of many groups come from records.
        "too_many_buckets",
    ]
    .iter()
    .any(|needle| body.contains(needle))
}

/// The index template of `<prefix>-*`.
fn template(config: &PgConfig) -> Value {
    json!({
        "index_patterns": [format!("{}-*", config.index_prefix)],
        // Above the built-in templates of Elasticsearch (`logs-*-*` is 100).
        "priority": 200,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": 1,
                    "number_of_replicas": config.number_of_replicas,
                    "refresh_interval": format!("{}ms", config.index_refresh_interval.as_millis()),
                    // A page may hold 10,000 hits plus the one that says
                    // whether more follow.
                    "max_result_window": 20_000,
                    // Keyword regexes carry their path; Lucene patterns of
                    // long literals are long.
                    "max_regex_length": 65_536,
                },
                "analysis": {
                    "tokenizer": {
                        "logingest_tokens": {"type": "whitespace", "max_token_length": 32_766}
                    },
                    "analyzer": {
                        "logingest_tokens": {"type": "custom", "tokenizer": "logingest_tokens"}
                    }
                }
            },
            "mappings": {
                "dynamic": "strict",
                "_source": {"includes": ["seq", "ts", "raw"]},
                "properties": {
                    "seq": {"type": "long"},
                    "ts": {"type": "long"},
                    // Aggregations only (doc values): exact as a double.
                    "ts_us": {"type": "long", "index": false},
                    "message": {
                        "type": "text",
                        "analyzer": "logingest_tokens",
                        "norms": false,
                        "index_options": "positions"
                    },
                    "raw": {"type": "wildcard"},
                    "kw": {"type": "keyword"},
                    "num": {"type": "keyword", "doc_values": false},
                    // Aggregated, never searched (`crate::rows`).
                    "numv": {"type": "keyword", "index": false},
                    "format": {"type": "keyword"}
                }
            }
        }
    })
}
