//! `--syslog-tcp` and `--syslog-udp` on the real server binary, fed by the
//! real senders of Debian: `logger` (util-linux) in both formats over both
//! transports, and `rsyslogd` forwarding with omfwd (installed by the test
//! command); plus raw frames a sender may get wrong, each refused and
//! counted without putting the stream out of step.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::Value;

/// A server listening for syslog on both transports.
fn server() -> Server {
    Server::start_with(&[
        "--syslog-tcp",
        "127.0.0.1:0",
        "--syslog-udp",
        "127.0.0.1:0",
        "--max-record-bytes",
        "2000",
    ])
}

/// Waits (up to 60 s) until `q` matches `n` records; returns them, newest
/// first.
fn wait_for(server: &Server, q: &str, n: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = server.search(q, "&limit=1000");
        if found["total"].as_u64() == Some(n) {
            return found["hits"].as_array().cloned().unwrap_or_default();
        }
        if Instant::now() > deadline {
            let metrics = server.get("/metrics", None).text;
            let syslog: Vec<&str> = metrics.lines().filter(|l| l.contains("syslog")).collect();
            panic!(
                "`{q}`: {} records, expected {n}; {syslog:#?}",
                found["total"]
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of `logingest_syslog_refused_messages_total` for `transport`
/// and `reason` (0 when never counted).
fn refused(server: &Server, transport: &str, reason: &str) -> u64 {
    let metrics = server.get("/metrics", None).text;
    metrics
        .lines()
        .filter(|line| line.starts_with("logingest_syslog_refused_messages_total{"))
        .filter(|line| line.contains(&format!("transport=\"{transport}\"")))
        .filter(|line| line.contains(&format!("reason=\"{reason}\"")))
        .find_map(|line| line.rsplit_once(' ')?.1.parse().ok())
        .unwrap_or(0)
}

/// This machine's name, as `logger` sends it.
fn hostname() -> String {
    let out = Command::new("hostname").output().expect("hostname runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs `logger` (util-linux), which must succeed.
fn logger(args: &[&str]) {
    let status = Command::new("logger").args(args).status().expect(
        "`logger` (util-linux) runs; scripts/test.sh installs it (apt-get install -y bsdutils)",
    );
    assert!(status.success(), "logger {args:?}: {status}");
}

#[test]
fn logger_sends_both_formats_over_both_transports() {
    let server = server();
    let (tcp, udp) = (server.syslog("tcp"), server.syslog("udp"));
    let sends: [(&str, SocketAddr, &[&str]); 5] = [
        ("tcp-5424", tcp, &["--tcp", "--rfc5424"]),
        ("tcp-3164", tcp, &["--tcp", "--rfc3164"]),
        ("tcp-octets", tcp, &["--tcp", "--octet-count", "--rfc5424"]),
        ("udp-5424", udp, &["--udp", "--rfc5424"]),
        ("udp-3164", udp, &["--udp", "--rfc3164"]),
    ];
    for (name, address, flags) in sends {
        let port = address.port().to_string();
        let mut args = vec![
            "-n",
            "127.0.0.1",
            "-P",
            &port,
            "-t",
            name,
            "-p",
            "local3.err",
        ];
        args.extend_from_slice(flags);
        let message = format!("disk {name} failed");
        args.push(&message);
        logger(&args);
    }
    let hits = wait_for(&server, "message:disk", 5);
    for hit in &hits {
        let name = hit["resourceId"].as_str().expect("resourceId is the tag");
        assert_eq!(hit["message"], format!("disk {name} failed"), "{hit}");
        assert_eq!(hit["level"], "error", "{hit}");
        let syslog = &hit["metadata"]["syslog"];
        assert_eq!(syslog["facility"], "local3", "{hit}");
        assert_eq!(syslog["hostname"], hostname(), "{hit}");
        assert_eq!(syslog["peer"], "127.0.0.1", "{hit}");
        let protocol = if name.ends_with("3164") {
            "rfc3164"
        } else {
            "rfc5424"
        };
        assert_eq!(syslog["protocol"], protocol, "{hit}");
        // The sender's time, not ours: within a minute of now (RFC 3164
        // has whole seconds and no year).
        let time = logingest::Timestamp::parse_rfc3339(hit["timestamp"].as_str().unwrap()).unwrap();
        let age = logingest::Timestamp::now().as_nanos() - time.as_nanos();
        assert!((-2e9 as i64..60e9 as i64).contains(&age), "{hit}");
    }
    // The records are found by their fields like any other.
    assert_eq!(server.count("resourceId:tcp-* level:error"), 3);
    assert_eq!(server.count("metadata.syslog.protocol:rfc3164"), 2);
    // And the structured data `logger --rfc5424` sends.
    assert_eq!(server.count("metadata.sd.timeQuality.tzKnown:1"), 3);
}

#[test]
fn rsyslog_forwards_with_omfwd() {
    // TCP to one server, UDP to another: a record does not say which
    // transport it came by.
    let tcp = server();
    let udp = server();
    let dir = tempfile::tempdir().unwrap();
    let rsyslog = Rsyslog::start(dir.path(), tcp.syslog("tcp"), udp.syslog("udp"));
    let n = 200;
    let port = rsyslog.input.port().to_string();
    for i in 0..n {
        let message = format!("forwarded line {i}");
        logger(&[
            "--tcp",
            "-n",
            "127.0.0.1",
            "-P",
            &port,
            "-t",
            "relay",
            "-p",
            "daemon.warning",
            &message,
        ]);
    }
    // Two copies of each line over TCP (octet-counted RFC 5424,
    // newline-framed RFC 3164), one over UDP (RFC 3164).
    let hits = wait_for(&tcp, "message:forwarded", 2 * n);
    for (q, copies) in [
        ("metadata.syslog.protocol:rfc5424", n),
        ("metadata.syslog.protocol:rfc3164", n),
        ("resourceId:relay level:warn", 2 * n),
        ("message:\"forwarded line 199\"", 2),
    ] {
        assert_eq!(tcp.count(q), copies, "{q}");
    }
    let udp_hits = wait_for(&udp, "message:forwarded", n);
    assert_eq!(
        udp.count("metadata.syslog.protocol:rfc3164 resourceId:relay level:warn"),
        n
    );
    assert!(hits
        .iter()
        .chain(&udp_hits)
        .all(|h| h["metadata"]["syslog"]["facility"] == "daemon"));
    drop(rsyslog);
}

/// An `rsyslogd` of our own: reads syslog on a TCP port (`input`) and
/// forwards it three ways to the server under test.
struct Rsyslog {
    child: Child,
    input: SocketAddr,
}

impl Rsyslog {
    fn start(dir: &Path, tcp: SocketAddr, udp: SocketAddr) -> Rsyslog {
        let input = free_port();
        let config = format!(
            r#"global(workDirectory="{dir}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{input_port}")
action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" template="RSYSLOG_ForwardFormat")
action(type="omfwd" target="127.0.0.1" port="{udp_port}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
"#,
            dir = dir.display(),
            input_port = input.port(),
            tcp_port = tcp.port(),
            udp_port = udp.port(),
        );
        let path = dir.join("rsyslog.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .spawn()
            .expect("`rsyslogd` runs; scripts/test.sh installs it (apt-get install -y rsyslog)");
        let rsyslog = Rsyslog { child, input };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(input).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on {input}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        rsyslog
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port free right now.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// What a bad frame should come to.
enum Outcome {
    /// Refused, counted under this reason.
    Refused(&'static str),
    /// Stored; the record must satisfy the check.
    Stored(fn(&Value) -> bool),
}

#[test]
fn bad_frames_are_refused_or_kept_as_documented() {
    use Outcome::{Refused, Stored};
    let server = server();
    let limit = 2000;
    let long = "x".repeat(limit + 1);
    let control = "\u{1}".repeat(limit / 3);
    // Each is sent on a connection of its own, followed by a good frame
    // (except where the end of the stream is the point), and the good
    // frame must arrive: the stream stays in step.
    let cases: Vec<(&str, Vec<u8>, Outcome)> = vec![
        (
            "octet count over the limit",
            format!("{} {long}", long.len()).into_bytes(),
            Refused("too_large"),
        ),
        (
            "line over the limit",
            format!("<13>{long}\n").into_bytes(),
            Refused("too_large"),
        ),
        (
            "line over the limit, no newline at all",
            long.clone().into_bytes(),
            Refused("too_large"),
        ),
        (
            "record over the limit once escaped",
            format!("<13>1 - h a - - - {control}\n").into_bytes(),
            Refused("invalid"),
        ),
        (
            "time after 2262",
            b"<13>1 9999-12-31T23:59:59Z h a - - - far future\n".to_vec(),
            Refused("invalid"),
        ),
        (
            "no PRI: the whole line is the message",
            b"plain text, no header\n".to_vec(),
            Stored(|r| r["message"] == "plain text, no header" && r.get("level").is_none()),
        ),
        (
            "PRI out of range: kept whole",
            b"<200>1 - h a - - - m1\n".to_vec(),
            Stored(|r| r["message"] == "<200>1 - h a - - - m1" && r.get("level").is_none()),
        ),
        (
            "not UTF-8: U+FFFD",
            b"<13>1 - h a - - - caf\xe9\n".to_vec(),
            Stored(|r| r["message"] == "caf\u{fffd}"),
        ),
        (
            "NUL inside the message",
            b"<13>1 - h a - - - a\0b\n".to_vec(),
            Stored(|r| r["message"] == "a\u{0}b"),
        ),
        (
            "impossible date: kept whole",
            b"<13>1 2023-02-30T00:00:00Z h a - - - m2\n".to_vec(),
            Stored(|r| r["message"].as_str().is_some_and(|m| m.contains("m2"))),
        ),
        (
            "unterminated structured data: kept whole",
            b"<13>1 - h a - - [x@1 a=\"b m3\n".to_vec(),
            Stored(|r| r["message"].as_str().is_some_and(|m| m.contains("m3"))),
        ),
        (
            "CRLF line end",
            b"<13>1 - h a - - - m4\r\n".to_vec(),
            Stored(|r| r["message"] == "m4"),
        ),
        (
            "zero is no octet count",
            b"0 <13>1 - h a - - - m5\n".to_vec(),
            Stored(|r| r["message"].as_str().is_some_and(|m| m.ends_with("m5"))),
        ),
        (
            "ten digits are no octet count",
            b"1234567890 m6\n".to_vec(),
            Stored(|r| r["message"] == "1234567890 m6"),
        ),
        (
            "empty lines are no messages",
            b"\n\r\n\n".to_vec(),
            Stored(|_| false),
        ),
    ];
    let tcp = server.syslog("tcp");
    for (i, (name, frame, _)) in cases.iter().enumerate() {
        let mut stream = TcpStream::connect(tcp).unwrap();
        stream.write_all(frame).unwrap();
        // A frame without its newline ends where the next line starts.
        if !frame.ends_with(b"\n") {
            stream.write_all(b"\n").unwrap();
        }
        let marker = format!("<14>1 - h marker - - - after case {i} ({name})\n");
        stream.write_all(marker.as_bytes()).unwrap();
    }
    // A frame cut short by the end of its stream.
    let mut stream = TcpStream::connect(tcp).unwrap();
    stream.write_all(b"100 <13>1 - h a - - - cut").unwrap();
    drop(stream);
    // A datagram over the limit.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(format!("<13>{long}").as_bytes(), server.syslog("udp"))
        .unwrap();

    let markers = wait_for(&server, "resourceId:marker", cases.len() as u64);
    assert_eq!(markers.len(), cases.len());
    let expected = |reason| {
        cases
            .iter()
            .filter(|(_, _, o)| matches!(o, Refused(r) if *r == reason))
            .count() as u64
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = [
            refused(&server, "tcp", "too_large"),
            refused(&server, "tcp", "invalid"),
            refused(&server, "tcp", "truncated"),
            refused(&server, "udp", "too_large"),
        ];
        if counts == [expected("too_large"), expected("invalid"), 1, 1] || Instant::now() > deadline
        {
            assert_eq!(counts, [expected("too_large"), expected("invalid"), 1, 1]);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Everything else is stored as documented, and nothing refused is.
    let stored = wait_for(&server, "* -resourceId:marker", 9);
    for (name, _, outcome) in &cases {
        if let Stored(check) = outcome {
            if name.starts_with("empty") {
                continue;
            }
            assert!(stored.iter().any(check), "{name}: not among {stored:#?}");
        }
    }
    assert_eq!(server.count("far future OR cut"), 0);
}

#[test]
fn a_syslog_listener_off_loopback_needs_allow_unauthenticated() {
    let output = Command::new(common::binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--syslog-udp",
            "0.0.0.0:0",
            "--data",
        ])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("syslog") && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
}

#[test]
fn a_full_budget_holds_tcp_senders_back_and_loses_nothing() {
    // A memory budget for ingest of 4 MiB, waited for 1 ms at most: the
    // batches of eight busy connections (their buffers take a quarter of
    // it, a batch at most another) must find no room, and be tried again
    // while their connections are not read.
    let server = Server::start_with(&[
        "--syslog-tcp",
        "127.0.0.1:0",
        "--max-body-bytes",
        "1048576",
        "--ingest-memory-bytes",
        "4194304",
        "--block-timeout-ms",
        "1",
    ]);
    let tcp = server.syslog("tcp");
    let (connections, per_connection) = (8, 5_000);
    let senders: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(tcp).unwrap();
                let mut body = Vec::new();
                for i in 0..per_connection {
                    let message = format!("<14>1 - h sender-{c} - - - message {i} of sender {c}");
                    body.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
                }
                stream.write_all(&body).unwrap();
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    let total = (connections * per_connection) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.records() < total {
        assert!(
            Instant::now() < deadline,
            "{} of {total} stored",
            server.records()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.records(), total, "nothing twice");
    assert!(
        server.metric("logingest_syslog_retried_batches_total") > 0.0,
        "the budget was never full: the test proved nothing"
    );
    for reason in ["error", "overloaded", "invalid"] {
        assert_eq!(refused(&server, "tcp", reason), 0, "{reason}");
    }
    let _ = wait_for(&server, "resourceId:sender-7 message:4999", 1);
}
