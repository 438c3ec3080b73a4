//! `logingest query`: search a running server from the shell.
//!
//! It is a thin layer over `GET /api/search`, so the query language, time
//! bounds and paging are exactly the server's. Two outputs, for two readers:
//! a table for people (`cli::table`), and with `--json` the records exactly
//! as the server returns them, one per line, so the output is NDJSON that
//! pipes into `jq` or back into `logingest ingest`. With `--all` it follows
//! `next_cursor` to the last page, streaming each page as it arrives, so
//! memory stays bounded by one page whatever the number of matches.
//! A query with `stats` or `top` (`| stats count() by (level)`) prints the
//! rows of `/api/query` instead (`cli::rows`); one with `| fields a, b`
//! prints a column per field.

use std::io::{self, BufWriter};

use clap::{Args, ValueEnum};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use logingest::query::{parse_filter_at, parse_pipeline_at};
use logingest::Timestamp;

use super::rows::Grid;
use super::table::Table;
use super::{describe, flush, print_line, read_json, Client, ClientArgs};

/// `logingest query` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  logingest query 'level:error \"Failed to connect\"' --from now-1h
  logingest query 'resourceId:server-12*' --order asc --limit 100
  logingest query 'metadata.system:HDFS' --all --json > hdfs.ndjson
  logingest query 'level:error | stats count() by (resourceId)' --from now-1h")]
pub struct QueryArgs {
    /// The query, in the logingest query language (docs/query-language.md).
    /// Quote it for the shell. Empty or omitted: every record.
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,

    /// Only records at or after this time: RFC 3339
    /// (`2023-09-15T08:00:00Z`), a date (`2023-09-15`) or relative (`now-1h`).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Only records before this time (exclusive); same forms as --from.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// How many records to print [default: 20]; with --all, how many to
    /// fetch per request [default: 1000]. At most 10000.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: Option<u32>,

    /// Sort by time: `desc` prints the newest first, `asc` the oldest first.
    #[arg(long, value_enum, default_value_t = Order::Desc)]
    pub order: Order,

    /// Print every matching record, following the server's cursor page after
    /// page to the end.
    #[arg(long)]
    pub all: bool,

    /// Print each record as one line of JSON exactly as it was ingested
    /// (NDJSON, for jq or `logingest ingest -`), without header or footer.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Newest first.
    Desc,
    /// Oldest first.
    Asc,
}

/// One answer of `/api/search`; hits stay raw so `--json` prints them byte for byte.
#[derive(Deserialize)]
struct Page {
    hits: Vec<Box<RawValue>>,
    total: u64,
    next_cursor: Option<String>,
    took_ms: u64,
}

/// Runs `logingest query`.
pub fn run(args: QueryArgs) -> Result<(), String> {
    let client = Client::new(&args.client);
    let query = args.query.as_deref().unwrap_or("");
    // Only to choose the endpoint: the server parses the query again and
    // reports any error in it, pipes included.
    let has_pipes = parse_filter_at(query, Timestamp::now()).is_ok_and(|(_, pipe)| pipe.is_some());
    let pipeline = parse_pipeline_at(query, Timestamp::now()).ok();
    if pipeline.as_ref().map_or(has_pipes, |p| p.makes_rows()) {
        let (from, to) = (args.from.as_deref(), args.to.as_deref());
        return super::rows::run(&client, query, from, to, args.json);
    }
    let limit = args
        .limit
        .unwrap_or(if args.all { 1000 } else { 20 })
        .to_string();
    let order = match args.order {
        Order::Desc => "desc",
        Order::Asc => "asc",
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let fields = pipeline
        .as_ref()
        .and_then(|p| p.fields())
        .map(<[String]>::to_vec);
    let mut table: Option<Table> = None;
    let mut grid: Option<Grid> = None;
    let mut cursor: Option<String> = None;
    let (mut printed, mut took_ms) = (0u64, 0u64);
    let total = loop {
        let mut params = vec![("q", query), ("limit", limit.as_str()), ("order", order)];
        if let Some(from) = &args.from {
            params.push(("from", from));
        }
        if let Some(to) = &args.to {
            params.push(("to", to));
        }
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let response = client
            .get("/api/search", &params)
            .map_err(|e| describe(query, e))?;
        let page: Page = read_json(response)?;
        took_ms += page.took_ms;
        printed += page.hits.len() as u64;
        if args.json {
            for hit in &page.hits {
                print_line(&mut out, &one_line(hit.get()))?;
            }
        } else if let Some(fields) = &fields {
            // A column per field, in the order listed.
            let rows: Vec<Vec<Value>> = page
                .hits
                .iter()
                .map(|hit| {
                    let object: Value = serde_json::from_str(hit.get()).unwrap_or(Value::Null);
                    fields.iter().map(|f| object[f.as_str()].clone()).collect()
                })
                .collect();
            let grid = match &grid {
                Some(grid) => grid,
                None => {
                    let first = Grid::fitting(fields, &rows);
                    print_line(&mut out, &first.header())?;
                    grid.insert(first)
                }
            };
            for row in &rows {
                print_line(&mut out, &grid.line(row))?;
            }
        } else {
            let records: Vec<Value> = page
                .hits
                .iter()
                .map(|hit| serde_json::from_str(hit.get()).unwrap_or(Value::Null))
                .collect();
            // Widths come from the first page and hold for the rest, so
            // every row of the output lines up.
            let table = match &table {
                Some(table) => table,
                None => {
                    let first = Table::fitting(&records);
                    print_line(&mut out, &first.header())?;
                    table.insert(first)
                }
            };
            for record in &records {
                print_line(&mut out, &table.row(record))?;
            }
        }
        flush(&mut out)?;
        cursor = page.next_cursor;
        if !args.all || cursor.is_none() || page.hits.is_empty() {
            break page.total;
        }
    };
    if !args.json {
        print_line(
            &mut out,
            &format!("{printed} of {total} records ({took_ms} ms)"),
        )?;
    }
    flush(&mut out)
}

/// A record on one line. Records sent as NDJSON already are; one sent
/// pretty-printed in a JSON body may span lines, and since a raw newline in
/// JSON text can only be whitespace between tokens, replacing it by a space
/// changes nothing else.
pub fn one_line(json: &str) -> std::borrow::Cow<'_, str> {
    if json.contains(['\n', '\r']) {
        json.replace(['\n', '\r'], " ").into()
    } else {
        json.into()
    }
}
