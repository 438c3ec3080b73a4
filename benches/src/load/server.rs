//! The server under load: a `logingest serve` child process this tool
//! started (so it can read the process's peak memory and CPU time and
//! restart it), or a URL of a server started elsewhere.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `logingest serve` process on a free loopback port.
pub struct ServerProcess {
    binary: PathBuf,
    data: PathBuf,
    args: Vec<String>,
    child: Child,
    url: String,
    /// What it printed before its URL.
    printed: Vec<String>,
}

impl ServerProcess {
    /// Starts `binary serve --listen 127.0.0.1:0 --data data args...` and
    /// waits for its `listening on` line.
    pub fn start(binary: &Path, data: &Path, args: &[String]) -> Result<Self, String> {
        let (child, url, printed) = spawn_serve_printing(binary, data, args, START_TIMEOUT)?;
        Ok(ServerProcess {
            binary: binary.to_owned(),
            data: data.to_owned(),
            args: args.to_vec(),
            child,
            url,
            printed,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address of its `--syslog-tcp` listener, if it has one.
    pub fn syslog_tcp(&self) -> Option<std::net::SocketAddr> {
        self.printed
            .iter()
            .find_map(|line| line.strip_prefix("syslog listening on tcp ")?.parse().ok())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM (it flushes its queue and closes the
    /// backend) and waits for it; SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Result<(), String> {
        if self.child.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(());
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(format!(
            "the server did not stop within {grace:?} of SIGTERM; killed"
        ))
    }

    /// Starts the server again on the same data directory (after [`stop`]).
    ///
    /// [`stop`]: ServerProcess::stop
    pub fn restart(&mut self) -> Result<(), String> {
        let (child, url, printed) =
            spawn_serve_printing(&self.binary, &self.data, &self.args, START_TIMEOUT)?;
        self.child = child;
        self.url = url;
        self.printed = printed;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How long a server may take to open its directory (a large one
/// re-indexes or migrates first).
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// Spawns `binary serve --listen 127.0.0.1:0 --data data args...` (log
/// level `warn`, stderr inherited) and waits up to `timeout` for its
/// `listening on URL` line; returns the child and the URL. The server
/// tests' harness starts its servers with this too.
pub fn spawn_serve(
    binary: &Path,
    data: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<(Child, String), String> {
    spawn_serve_printing(binary, data, args, timeout).map(|(child, url, _)| (child, url))
}

/// [`spawn_serve`], also returning the lines the server printed before its
/// URL (the addresses of its syslog listeners, when it has some).
pub fn spawn_serve_printing(
    binary: &Path,
    data: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<(Child, String, Vec<String>), String> {
    let mut child = Command::new(binary)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env("LOGINGEST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut before = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix("listening on ") {
                Some(url) => {
                    let _ = tx.send((url.to_owned(), std::mem::take(&mut before)));
                }
                None => before.push(line),
            }
        }
    });
    match rx.recv_timeout(timeout) {
        Ok((url, before)) => Ok((child, url, before)),
        Err(_) => {
            let _ = child.kill();
            Err(format!(
                "{} did not say `listening on` within {timeout:?}",
                binary.display()
            ))
        }
    }
}

/// Anonymous and file-backed resident memory (`RssAnon`, `RssFile`) of a
/// process now, bytes: the heap versus mapped files (tantivy maps its
/// segments, so reading them counts as resident file pages).
pub fn rss_parts(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

/// Peak resident memory (`VmHWM`) of a process, bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) a process has used so far, seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields are counted after its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`,
/// 100 on every Linux this runs on when `getconf` is missing).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes of the files under `dir`, grouped by component: the file's
/// extension (tantivy's `.idx`, `.pos`, `.term`, `.store`, `.fast`, ...) or
/// its name when it has none, sorted by size, largest first.
pub fn disk_components(dir: &Path) -> Vec<(String, u64)> {
    let mut sizes: Vec<(String, u64)> = Vec::new();
    let mut add = |name: String, bytes: u64| match sizes.iter_mut().find(|(n, _)| *n == name) {
        Some((_, b)) => *b += bytes,
        None => sizes.push((name, bytes)),
    };
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => add(component(&path), m.len()),
                Err(_) => {}
            }
        }
    }
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sizes
}

fn component(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rsplit_once('.') {
        // `records.sqlite-wal` → `sqlite-wal`; `abc.store` → `store`.
        Some((_, ext)) if !ext.is_empty() => ext.to_owned(),
        _ => name,
    }
}

/// Waits until the total size of `dir` stops changing (background merges
/// and checkpoints finished): three equal readings a second apart, at most
/// `limit`. Returns the settled size.
pub fn settle(dir: &Path, limit: Duration) -> u64 {
    let total = |dir: &Path| disk_components(dir).iter().map(|(_, b)| b).sum::<u64>();
    let deadline = Instant::now() + limit;
    let mut last = total(dir);
    let mut same = 0;
    while same < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        let now = total(dir);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
    last
}
