//! `logingest query` of a query with a `stats` or `top` pipe: the rows of
//! `/api/query`, as an aligned table for people or, with `--json`, one JSON
//! object per row (column name to cell) for scripts.
//!
//! Rows come in one answer (a `stats` has as many rows as groups, bounded
//! by the server's memory budget), so the widths are taken over all of
//! them and every row lines up.

use std::io::{self, BufWriter};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::table::clean;
use super::{describe, flush, print_line, read_json, Client};

/// The answer of `/api/query`.
#[derive(Deserialize)]
struct Answer {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    took_ms: u64,
}

/// Prints the rows of `query` within `from`..`to`.
pub fn run(
    client: &Client,
    query: &str,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let mut params = vec![("q", query)];
    params.extend(from.map(|from| ("from", from)));
    params.extend(to.map(|to| ("to", to)));
    let response = client
        .get("/api/query", &params)
        .map_err(|e| describe(query, e))?;
    let answer: Answer = read_json(response)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        for row in &answer.rows {
            let object: Map<String, Value> = answer
                .columns
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect();
            print_line(&mut out, &Value::Object(object).to_string())?;
        }
        return flush(&mut out);
    }
    let cells: Vec<Vec<String>> = answer
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = answer
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let widest = cells
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()));
            widest.chain([name.chars().count()]).max().unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..answer.columns.len())
        .map(|i| {
            answer
                .rows
                .iter()
                .all(|r| r.get(i).is_none_or(|c| c.is_number() || c.is_null()))
        })
        .collect();
    let line = |texts: &[String]| -> String {
        let padded: Vec<String> = texts
            .iter()
            .zip(&widths)
            .zip(&numeric)
            .map(|((text, &width), &right)| match right {
                true => format!("{text:>width$}"),
                false => format!("{text:<width$}"),
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let header: Vec<String> = answer.columns.iter().map(|c| clean(c)).collect();
    print_line(&mut out, &line(&header))?;
    for row in &cells {
        print_line(&mut out, &line(row))?;
    }
    print_line(
        &mut out,
        &format!("{} rows ({} ms)", answer.rows.len(), answer.took_ms),
    )?;
    flush(&mut out)
}

/// A cell as text: strings as they are, null as `-`, numbers as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => clean(s),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}
