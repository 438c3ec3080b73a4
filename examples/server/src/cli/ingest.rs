//! `logingest ingest FILE...`: send NDJSON files to a running server.
//!
//! Files are streamed, never loaded whole: lines are cut into batches (by
//! line count and by bytes, whichever fills first) and each batch is one
//! `POST /logs` of `application/x-ndjson`. The server takes a request whole
//! or not at all, so on a bad record the batch holding it is refused; the
//! server names the record by its line *within the batch*, and this command
//! translates that to the line of the file, which is what the user can fix.
//! Everything before that batch is stored; nothing from it on is, and the
//! command stops and says so. A busy server (429, 503) is retried, waiting as
//! its `Retry-After` says, a bounded number of times (a 503 for a
//! durability timeout may mean the batch was stored after all, so a retry
//! can store it twice: the at-least-once caveat of any HTTP shipper, which
//! the final message spells out if it gives up). Progress is an
//! indicatif bar on stderr, by bytes; indicatif hides it by itself when
//! stderr is not a terminal (`ProgressDrawTarget::stderr` checks), so logs
//! and test output stay clean. The summary goes to stdout.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;

use super::{read_json, CallError, Client, ClientArgs, ServerError};

/// `logingest ingest` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  logingest ingest app.ndjson more.ndjson
  zcat old.ndjson.gz | logingest ingest -
  logingest query --all --json | logingest ingest --server http://other:3000 -")]
pub struct IngestArgs {
    /// NDJSON files to send, one record per line, in order; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Most lines per request.
    #[arg(long, value_name = "N", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_lines: u64,

    /// Most bytes per request (a single longer line is sent alone). Keep it
    /// under the server's --max-body-bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_bytes: u64,

    /// How many times to retry a batch the server refuses as busy (429 or
    /// 503), waiting as its Retry-After says, before giving up.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_retries: u32,

    /// Wait until each batch is visible to search before sending the next
    /// (`?refresh=wait_for`): slower, but a query right after sees every record.
    #[arg(long)]
    pub wait: bool,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// Lines of one file, read but not yet sent.
struct Batch {
    body: Vec<u8>,
    /// Line number in the file of the batch's first line (1-based).
    first_line: u64,
    lines: u64,
    /// Lines that are not blank (records, valid or not).
    records: u64,
}

#[derive(Deserialize)]
struct Accepted {
    accepted: u64,
}

/// An input: a file or stdin.
struct Input {
    name: String,
    reader: Box<dyn BufRead>,
}

/// Runs `logingest ingest`.
pub fn run(args: IngestArgs) -> Result<(), String> {
    // Open everything first: a typo in the last file name should fail
    // before anything is sent.
    let mut inputs = Vec::with_capacity(args.files.len());
    let mut total_bytes = Some(0u64);
    for path in &args.files {
        let (input, size) = open(path)?;
        total_bytes = total_bytes.zip(size).map(|(a, b)| a + b);
        inputs.push(input);
    }
    let bar = progress_bar(total_bytes);
    let mut sender = Sender {
        client: Client::new(&args.client),
        args: &args,
        bar: &bar,
        accepted: 0,
        bytes: 0,
    };
    let started = Instant::now();
    let result = sender.send_all(inputs);
    bar.finish_and_clear();
    result?;
    let (accepted, bytes) = (sender.accepted, sender.bytes);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "ingested {accepted} records from {files} file{s} ({bytes}) in {seconds:.2} s: {rate:.0} records/s",
        files = args.files.len(),
        s = if args.files.len() == 1 { "" } else { "s" },
        bytes = HumanBytes(bytes),
        rate = accepted as f64 / seconds.max(1e-6),
    );
    Ok(())
}

fn open(path: &Path) -> Result<(Input, Option<u64>), String> {
    if path.as_os_str() == "-" {
        let input = Input {
            name: "<stdin>".into(),
            reader: Box::new(io::stdin().lock()),
        };
        return Ok((input, None));
    }
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    // Only a regular file has a size to show progress against (not a pipe).
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let input = Input {
        name,
        reader: Box::new(BufReader::with_capacity(1 << 20, file)),
    };
    Ok((input, size))
}

fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
    let template = if total_bytes.is_some() {
        "{spinner} {msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}"
    } else {
        "{spinner} {msg} {bytes} {binary_bytes_per_sec}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

struct Sender<'a> {
    client: Client,
    args: &'a IngestArgs,
    bar: &'a ProgressBar,
    /// Records the server accepted so far.
    accepted: u64,
    /// Bytes of input sent (or skipped as blank) so far.
    bytes: u64,
}

impl Sender<'_> {
    /// Sends every input in order.
    fn send_all(&mut self, inputs: Vec<Input>) -> Result<(), String> {
        for mut input in inputs {
            self.bar.set_message(input.name.clone());
            let mut line_number = 0u64;
            let mut line = Vec::new();
            let mut batch = self.new_batch(1);
            loop {
                line.clear();
                let read = input
                    .reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("{}: {e}", input.name))?;
                let full = !batch.body.is_empty()
                    && (batch.lines >= self.args.batch_lines
                        || (batch.body.len() + line.len()) as u64 > self.args.batch_bytes);
                if read == 0 || full {
                    self.send(&input.name, &batch)?;
                    batch = self.new_batch(line_number + 1);
                }
                if read == 0 {
                    break;
                }
                line_number += 1;
                // Only a file's last line can lack its newline, and it ends
                // the file's last batch: sent as is.
                batch.body.extend_from_slice(&line);
                batch.lines += 1;
                if !line.trim_ascii().is_empty() {
                    batch.records += 1;
                }
            }
        }
        Ok(())
    }

    fn new_batch(&self, first_line: u64) -> Batch {
        let capacity = self.args.batch_bytes.min(16 << 20) as usize;
        Batch {
            body: Vec::with_capacity(capacity),
            first_line,
            lines: 0,
            records: 0,
        }
    }

    /// Sends one batch, retrying while the server is busy.
    fn send(&mut self, name: &str, batch: &Batch) -> Result<(), String> {
        let size = batch.body.len() as u64;
        if batch.records == 0 {
            self.done(size); // blank lines only: nothing to send
            return Ok(());
        }
        let params: &[(&str, &str)] = if self.args.wait {
            &[("refresh", "wait_for")]
        } else {
            &[]
        };
        let mut attempt = 0;
        loop {
            let error = match self
                .client
                .post("/logs", params, "application/x-ndjson", &batch.body)
            {
                Ok(response) => {
                    let answer: Accepted = read_json(response)?;
                    self.accepted += answer.accepted;
                    self.done(size);
                    return Ok(());
                }
                Err(CallError::Server(e)) => e,
                Err(e) => return Err(format!("{e}\n{}", self.stopped(name, batch, false))),
            };
            let busy = matches!(error.status, 429 | 503);
            if busy && attempt < self.args.max_retries {
                attempt += 1;
                let wait = error
                    .retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(60));
                self.bar.suspend(|| {
                    eprintln!(
                        "logingest: server busy ({}: {}); retry {attempt} of {} in {} s",
                        error.status,
                        error.message(),
                        self.args.max_retries,
                        wait.as_secs_f64()
                    )
                });
                std::thread::sleep(wait);
                continue;
            }
            return Err(self.refused(name, batch, &error, busy));
        }
    }

    /// The message for a batch the server refused for good.
    fn refused(&self, name: &str, batch: &Batch, error: &ServerError, busy: bool) -> String {
        let last = batch.first_line + batch.lines - 1;
        let what = match error.status {
            400 => match error.number("line") {
                Some(line) => {
                    // The server counts lines of the request; the request
                    // starts at `first_line` of the file.
                    let line = (batch.first_line + line.max(1) - 1).min(last);
                    let mut at = format!("{name}: line {line}");
                    if let Some(column) = error.number("column").filter(|&c| c > 0) {
                        at.push_str(&format!(", column {column}"));
                    }
                    if let Some(field) = error.text("field") {
                        at.push_str(&format!(", field `{field}`"));
                    }
                    let reason = error
                        .text("reason")
                        .map_or_else(|| error.message(), str::to_owned);
                    format!("{at}: {reason}")
                }
                None => format!("{name}, lines {}-{last}: {error}", batch.first_line),
            },
            413 => format!(
                "{name}, lines {}-{last}: the server refused the batch as too large ({error}); \
                 use a smaller --batch-bytes or --batch-lines",
                batch.first_line
            ),
            _ if busy => format!(
                "{name}, lines {}-{last}: the server is still busy after {} retries ({error})",
                batch.first_line, self.args.max_retries
            ),
            _ => format!("{name}, lines {}-{last}: {error}", batch.first_line),
        };
        // A 503 may come after the records were queued (a durability
        // timeout): they may yet be stored.
        format!("{what}\n{}", self.stopped(name, batch, error.status != 503))
    }

    fn done(&mut self, size: u64) {
        self.bytes += size;
        self.bar.inc(size);
    }

    /// What was and was not stored when stopping at `batch`; `certain`
    /// when the server is known to have refused the whole batch.
    fn stopped(&self, name: &str, batch: &Batch, certain: bool) -> String {
        let (first, accepted) = (batch.first_line, self.accepted);
        if certain {
            format!(
                "stopped: nothing from line {first} of {name} on was stored; \
                 the {accepted} records before it were"
            )
        } else {
            format!(
                "stopped at line {first} of {name}: the {accepted} records before it were \
                 stored; the batch from line {first} may or may not have been"
            )
        }
    }
}
