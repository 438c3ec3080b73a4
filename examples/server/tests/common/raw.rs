//! A raw HTTP/1.1 client for requests no HTTP library will send (a bad
//! `Content-Length`, a 1 MB header, a garbled request line) and for several
//! requests on one kept-alive connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawAnswer {
    /// Status code (0 when there was no status line).
    pub status: u16,
    /// Header fields, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl RawAnswer {
    /// The first value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the answer if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

fn connect(url: &str) -> TcpStream {
    let address = url.strip_prefix("http://").expect("http URL");
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
}

/// Sends `request` (all of it, from a second thread, so that an answer
/// given before the end is read while sending) and reads the answer until
/// the server closes the connection.
pub fn exchange(url: &str, request: Vec<u8>) -> RawAnswer {
    let stream = connect(url);
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        // The server may stop reading once it has answered.
        let _ = writer.write_all(&request);
    });
    let mut bytes = Vec::new();
    // The connection may be reset after the answer; what was read is kept.
    let _ = (&stream).read_to_end(&mut bytes);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    parse(&bytes)
}

/// A whole answer as read off a socket that the server closed: its head,
/// and everything after it as the body.
pub fn parse(bytes: &[u8]) -> RawAnswer {
    let mut reader = BufReader::new(bytes);
    let mut answer = read_head(&mut reader);
    let mut body = String::new();
    let _ = reader.read_to_string(&mut body);
    answer.body = body;
    answer
}

/// A kept-alive connection: requests one after another, each answer read
/// by its `Content-Length`.
pub struct Connection {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Opens a connection to `url`.
    pub fn open(url: &str) -> Self {
        let stream = connect(url);
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        Connection { stream, reader }
    }

    /// Sends `request` and reads one answer.
    pub fn send(&mut self, request: &[u8]) -> RawAnswer {
        self.stream.write_all(request).expect("send");
        let mut answer = read_head(&mut self.reader);
        let length: usize = answer
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length: {answer:?}"));
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        answer.body = String::from_utf8_lossy(&body).into_owned();
        answer
    }
}

/// Reads a status line and header fields.
fn read_head(reader: &mut impl BufRead) -> RawAnswer {
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let field = line.trim_end();
        if field.is_empty() {
            break;
        }
        if let Some((name, value)) = field.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    RawAnswer {
        status,
        headers,
        body: String::new(),
    }
}
