//! `logingest query` of a query with a `stats` or `top` pipe: the rows of
//! `/api/query`, as an aligned table for people or, with `--json`, one JSON
//! object per row (column name to cell) for scripts.
//!
//! [`Grid`] also prints records searched with `| fields a, b`, a column
//! per field.
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
    let grid = Grid::fitting(&answer.columns, &answer.rows);
    print_line(&mut out, &grid.header())?;
    for row in &answer.rows {
        print_line(&mut out, &grid.line(row))?;
    }
    print_line(
        &mut out,
        &format!("{} rows ({} ms)", answer.rows.len(), answer.took_ms),
    )?;
    flush(&mut out)
}

/// Aligned columns of JSON cells: numbers right, the rest left.
pub struct Grid {
    names: Vec<String>,
    widths: Vec<usize>,
    numeric: Vec<bool>,
}

impl Grid {
    /// Columns as wide as the widest of `rows` (or the name) and aligned
    /// as their cells are; later rows that are wider stick out.
    pub fn fitting(columns: &[String], rows: &[Vec<Value>]) -> Grid {
        let names: Vec<String> = columns.iter().map(|c| clean(c)).collect();
        let widths = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let widest = rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| cell(c).chars().count()));
                widest.chain([name.chars().count()]).max().unwrap_or(0)
            })
            .collect();
        let numeric = (0..columns.len())
            .map(|i| {
                rows.iter()
                    .all(|r| r.get(i).is_none_or(|c| c.is_number() || c.is_null()))
            })
            .collect();
        Grid {
            names,
            widths,
            numeric,
        }
    }

    /// The line of column names.
    pub fn header(&self) -> String {
        self.padded(&self.names)
    }

    /// The line of one row.
    pub fn line(&self, row: &[Value]) -> String {
        let texts: Vec<String> = row.iter().map(cell).collect();
        self.padded(&texts)
    }

    fn padded(&self, texts: &[String]) -> String {
        let padded: Vec<String> = texts
            .iter()
            .zip(&self.widths)
            .zip(&self.numeric)
            .map(|((text, &width), &right)| match right {
                true => format!("{text:>width$}"),
                false => format!("{text:<width$}"),
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    }
}

/// A cell as text: strings as they are, null as `-`, numbers as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => clean(s),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}
