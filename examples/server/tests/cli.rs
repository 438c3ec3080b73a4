//! The command-line client (`logingest query`, `tail`, `ingest`), run as the
//! real binary against a real server, as a user runs it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{binary, loghub, Server, SAMPLE};

/// `logingest ARGS --server URL`, with no client settings from the environment.
fn logingest(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .args(["--server", url])
        .env_remove("LOGINGEST_SERVER")
        .env_remove("LOGINGEST_KEY")
        .env_remove("CLICOLOR_FORCE");
    command
}

/// Runs `logingest ARGS` to completion, with `stdin` as its input.
fn run(url: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = logingest(url, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logingest");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait for logingest")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn loghub_path(name: &str) -> String {
    format!(
        "{}/../../testdata/loghub/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn ingest_then_query_all_json_returns_every_line_exactly() {
    let server = Server::start();
    let (hdfs, openstack) = (
        loghub_path("hdfs_2k.ndjson"),
        loghub_path("openstack_2k.ndjson"),
    );
    let out = run(&server.url, &["ingest", "--wait", &hdfs, &openstack], b"");
    let summary = text(&out.stdout);
    assert!(out.status.success(), "{summary}\n{}", text(&out.stderr));
    assert!(
        summary.contains("4000 records from 2 files"),
        "summary: {summary}"
    );
    assert!(
        text(&out.stderr).is_empty(),
        "no progress bar off a terminal: {}",
        text(&out.stderr)
    );

    // Pages of 300 so `--all` follows the cursor several times.
    let args = [
        "query",
        "--json",
        "metadata.system:HDFS",
        "--all",
        "--limit",
        "300",
    ];
    let out = run(&server.url, &args, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut printed: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let original = text(&loghub("hdfs_2k.ndjson"));
    let mut expected: Vec<String> = original.lines().map(str::to_owned).collect();
    assert_eq!(printed.len(), 2000);
    printed.sort();
    expected.sort();
    assert!(
        printed == expected,
        "every record must come back byte for byte"
    );
}

#[test]
fn query_prints_a_table_with_a_footer() {
    let server = Server::start();
    let records = format!(
        "{SAMPLE}\n{}\n",
        r#"{"level":"info","message":"second","resourceId":"svc-a","timestamp":"2023-09-15T09:00:00Z"}"#
    );
    // Through stdin, as `... | logingest ingest -`.
    let out = run(&server.url, &["ingest", "--wait", "-"], records.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 records from 1 file"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&server.url, &["query", "--limit", "1"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "header, one row, footer: {table}");
    let columns: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(columns, ["TIME", "LEVEL", "RESOURCE", "MESSAGE"], "{table}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row,
        ["2023-09-15T09:00:00.000Z", "info", "svc-a", "second"],
        "newest first: {table}"
    );
    assert!(lines[2].starts_with("1 of 2 records ("), "{table}");
    assert!(lines[2].ends_with(" ms)"), "{table}");

    let out = run(
        &server.url,
        &["query", "level:error", "--order", "asc"],
        b"",
    );
    let table = text(&out.stdout);
    assert!(
        table.contains("2023-09-15T08:00:00.000Z  error  server-1234  Failed to connect to DB"),
        "{table}"
    );
    assert!(table.contains("\n1 of 1 records ("), "{table}");
}

#[test]
fn a_stats_query_prints_its_rows() {
    let server = Server::start();
    let records = [
        r#"{"level":"error","message":"a","resourceId":"api","timestamp":"2023-09-15T08:00:00Z","metadata":{"ms":12}}"#,
        r#"{"level":"error","message":"b","resourceId":"api","timestamp":"2023-09-15T08:00:01Z","metadata":{"ms":30.5}}"#,
        r#"{"level":"error","message":"c","resourceId":"database","timestamp":"2023-09-15T08:00:02Z"}"#,
        r#"{"level":"info","message":"d","resourceId":"api","timestamp":"2023-09-15T08:00:03Z"}"#,
    ];
    assert_eq!(server.ingest(records.join("\n").as_bytes()), 4);
    let q = "level:error | stats count() as n, max(metadata.ms) by (resourceId)";
    let out = run(&server.url, &["query", q], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "header, two rows, footer: {table}");
    assert_eq!(lines[0], "resourceId  n  max(metadata.ms)", "{table}");
    // Numbers right-aligned, a missing number as `-`.
    assert_eq!(lines[1], "api         2              30.5", "{table}");
    assert_eq!(lines[2], "database    1                 -", "{table}");
    assert!(lines[3].starts_with("2 rows ("), "{table}");

    let out = run(&server.url, &["query", q, "--json"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            serde_json::json!({"resourceId": "api", "n": 2, "max(metadata.ms)": 30.5}),
            serde_json::json!({"resourceId": "database", "n": 1, "max(metadata.ms)": null}),
        ]
    );

    // `| fields` prints records as a column per field, in the order listed.
    let fields = "level:error | fields resourceId, metadata.ms, message";
    let out = run(&server.url, &["query", fields, "--order", "asc"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "header, three records, footer: {table}");
    assert_eq!(lines[0], "resourceId  metadata.ms  message", "{table}");
    assert_eq!(lines[1], "api                  12  a", "{table}");
    assert_eq!(lines[3], "database              -  c", "{table}");
    assert!(lines[4].starts_with("3 of 3 records ("), "{table}");
    let out = run(
        &server.url,
        &["query", fields, "--json", "--order", "asc"],
        b"",
    );
    let first = text(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        first,
        r#"{"resourceId":"api","metadata.ms":12,"message":"a"}"#
    );

    // An error in the pipes is the server's, with its caret.
    let out = run(&server.url, &["query", "| stats median(x)"], b"");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown function `median`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_query_syntax_error_shows_a_caret_and_fails() {
    let server = Server::start();
    let query = "level:error AND";
    let out = run(&server.url, &["query", query], b"");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("expected a clause after `AND`"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let echo = lines.iter().position(|l| l.trim() == query).expect(&stderr);
    let start = lines[echo].find(query).unwrap();
    // The server names byte 15, the end of the query.
    assert_eq!(
        lines[echo + 1],
        format!("{}^", " ".repeat(start + 15)),
        "{stderr}"
    );

    // The same for tail.
    let out = run(&server.url, &["tail", "(level:error"], b"");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("\n  ^"), "{}", text(&out.stderr));
}

#[test]
fn ingest_reports_the_line_of_a_bad_record_in_the_file() {
    let server = Server::start();
    let hdfs = text(&loghub("hdfs_2k.ndjson"));
    let good: Vec<&str> = hdfs.lines().take(9).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    let mut lines = good[..6].to_vec();
    lines.push(r#"{"level":"info","message":"x","timestamp":"2023-02-30T00:00:00Z"}"#);
    lines.extend(&good[6..]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    // Batches of 3: the bad line is line 1 of the third request.
    let out = run(
        &server.url,
        &[
            "ingest",
            "--batch-lines",
            "3",
            "--wait",
            path.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.ndjson: line 7, column 65, field `timestamp`:"),
        "{stderr}"
    );
    assert!(stderr.contains("not an RFC 3339 timestamp"), "{stderr}");
    assert!(stderr.contains("the 6 records before it were"), "{stderr}");
    assert_eq!(
        server.count(""),
        6,
        "the batches before the bad one are stored"
    );
}

#[test]
fn tail_json_prints_records_ingested_after_it_started() {
    let server = Server::start();
    let mut tail = logingest(&server.url, &["tail", "--json", "level:error"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tail");
    let (tx, rx) = mpsc::channel();
    let stdout = tail.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The tail may not be subscribed yet: send probes until one shows up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = Vec::new();
    let line = loop {
        let probe = format!(
            r#"{{"level":"error","message":"probe {}","timestamp":"2023-09-15T08:00:00Z"}}"#,
            sent.len()
        );
        let skipped = r#"{"level":"info","message":"not matching"}"#;
        let body = format!("{skipped}\n{probe}\n");
        assert_eq!(server.post("/logs", body.as_bytes(), &[], None).status, 200);
        sent.push(probe);
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(1500)) {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "tail printed nothing within 10 s"
        );
    };
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(sent.contains(&line), "printed exactly as sent: {line}");
}

#[test]
fn ingest_retries_when_the_server_is_busy() {
    // A stand-in server: 429 with `Retry-After: 0` twice, then 200.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for answer in 0..3 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            bodies.push(body);
            let (status, extra, json) = if answer < 2 {
                (
                    "429 Too Many Requests",
                    "Retry-After: 0\r\n",
                    r#"{"error":"ingest queue is full; retry later"}"#,
                )
            } else {
                ("200 OK", "", r#"{"accepted":2}"#)
            };
            let response = format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
        bodies
    });
    let records = "{\"message\":\"a\"}\n{\"message\":\"b\"}\n";
    let out = run(&url, &["ingest", "-"], records.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ingested 2 records"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("retry 2 of 10"),
        "{}",
        text(&out.stderr)
    );
    let bodies = server.join().unwrap();
    assert!(
        bodies.iter().all(|b| b == records.as_bytes()),
        "the same batch each time"
    );
}

#[test]
fn the_key_comes_from_the_flag_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.toml");
    let hash = text(
        &Command::new(binary())
            .args(["hash-key", "reader-key"])
            .output()
            .unwrap()
            .stdout,
    );
    std::fs::write(
        &auth,
        format!(
            "[[keys]]\nname = \"reader\"\nsha256 = \"{}\"\nrole = \"read\"\n",
            hash.trim()
        ),
    )
    .unwrap();
    let server = Server::start_with(&["--auth-file", auth.to_str().unwrap()]);

    let out = run(&server.url, &["query"], b"");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--key"), "{}", text(&out.stderr));

    let out = run(&server.url, &["query", "--key", "reader-key"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = logingest(&server.url, &["query", "--json"])
        .env("LOGINGEST_KEY", "reader-key")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A read key may not ingest: the server's message, and a failure.
    let out = run(
        &server.url,
        &["ingest", "--key", "reader-key", "-"],
        SAMPLE.as_bytes(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("may not"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(&format!("http://127.0.0.1:{port}"), &["query"], b"");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot talk to the server"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn query_shows_records_of_every_protocol_like_any_other() {
    let server = Server::start_with(&["--syslog-tcp", "127.0.0.1:0"]);
    let json = [("Content-Type", "application/json")];
    let otlp = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
        "scopeLogs":[{"logRecords":[{"timeUnixNano":"1694764801000000000","severityText":"ERROR","body":{"stringValue":"payment failed"}}]}]}]}"#;
    let answer = server.post("/v1/logs?refresh=wait_for", otlp.as_bytes(), &json, None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let loki = r#"{"streams":[{"stream":{"job":"varlogs","level":"warn"},"values":[["1694764802000000000","disk 91% full"]]}]}"#;
    let answer = server.post(
        "/loki/api/v1/push?refresh=wait_for",
        loki.as_bytes(),
        &json,
        None,
    );
    assert_eq!(answer.status, 204, "{}", answer.text);
    let mut syslog = std::net::TcpStream::connect(server.syslog("tcp")).unwrap();
    syslog
        .write_all(b"<11>1 2023-09-15T08:00:03Z host-7 billing 42 - - charge declined\n")
        .unwrap();
    drop(syslog);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.count("*") < 3 {
        assert!(Instant::now() < deadline, "the syslog record never came");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = run(&server.url, &["query", "--order", "asc"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .take(3)
        .map(|line| line.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["2023-09-15T08:00:01.000Z", "ERROR", "checkout"],
            ["2023-09-15T08:00:02.000Z", "warn", "varlogs"],
            ["2023-09-15T08:00:03.000Z", "error", "billing"],
        ],
        "{table}"
    );
}
