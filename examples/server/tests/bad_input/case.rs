//! One bad request and the answer it must get: the table row type of
//! `bad_input.rs`, its builders and the check of an answer.

use serde_json::Value;

use super::common::{encode, Server};

/// One bad request and what it must be answered with.
pub struct Case {
    pub name: &'static str,
    pub method: &'static str,
    path: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, &'static str)>,
    status: u16,
    message: &'static str,
    /// The `record` key: a number, or `null` for none.
    record: Option<Value>,
    line: Option<u64>,
    field: Option<&'static str>,
    column: Option<u64>,
    position: Option<u64>,
    /// Send with a client that reads the answer while still sending.
    early_answer: bool,
}

/// `POST /logs` of `body`.
pub fn post(name: &'static str, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        method: "POST",
        path: "/logs".into(),
        body: body.into(),
        headers: Vec::new(),
        status: 400,
        message: "",
        record: None,
        line: None,
        field: None,
        column: None,
        position: None,
        early_answer: false,
    }
}

/// `GET path`.
pub fn get(name: &'static str, path: impl Into<String>) -> Case {
    Case {
        method: "GET",
        path: path.into(),
        ..post(name, "")
    }
}

/// `GET endpoint?q=query` (the query percent-encoded).
pub fn query(name: &'static str, endpoint: &str, q: &str) -> Case {
    get(name, format!("{endpoint}?q={}", encode(q)))
}

impl Case {
    pub fn to(mut self, path: &str) -> Self {
        self.path = path.into();
        self
    }
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    pub fn answer(mut self, status: u16, message: &'static str) -> Self {
        self.status = status;
        self.message = message;
        self
    }
    pub fn record(mut self, record: u64) -> Self {
        self.record = Some(record.into());
        self
    }
    /// The problem is outside every record (a body cut short between them).
    pub fn no_record(mut self) -> Self {
        self.record = Some(Value::Null);
        self
    }
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
    pub fn column(mut self, column: u64) -> Self {
        self.column = Some(column);
        self
    }
    pub fn position(mut self, position: u64) -> Self {
        self.position = Some(position);
        self
    }
    /// For bodies far over the limit: the server answers 413 as soon as
    /// the limit is passed and closes the connection without reading the
    /// rest, which a client that writes the whole body before reading (as
    /// ureq does) sees as a broken pipe. curl and shippers read early.
    pub fn early_answer(mut self) -> Self {
        self.early_answer = true;
        self
    }

    /// Runs the case; returns what is wrong with the answer, if anything.
    pub fn check(&self, server: &Server) -> Option<String> {
        let (status, text) = if self.early_answer {
            let answer = server.post_reading_early(&self.path, &self.body, &[]);
            (answer.status, answer.text)
        } else {
            let body = (self.method != "GET").then_some(&self.body[..]);
            let answer = server.send(self.method, &self.path, body, &self.headers, None);
            (answer.status, answer.text)
        };
        let Ok(json) = serde_json::from_str::<Value>(&text) else {
            return Some(format!("{status}: not JSON: {text}"));
        };
        let message = json["error"].as_str().unwrap_or_default();
        let mut wrong = Vec::new();
        if status != self.status {
            wrong.push(format!("status {status} (wanted {})", self.status));
        }
        if message.is_empty() || !message.contains(self.message) {
            wrong.push(format!("message lacks `{}`", self.message));
        }
        for (key, want) in [
            ("line", self.line),
            ("column", self.column),
            ("position", self.position),
        ] {
            if let Some(want) = want {
                if json[key].as_u64() != Some(want) {
                    wrong.push(format!("{key} {} (wanted {want})", json[key]));
                }
            }
        }
        if let Some(record) = &self.record {
            if &json["record"] != record {
                wrong.push(format!("record {} (wanted {record})", json["record"]));
            }
        }
        if let Some(field) = self.field {
            if json["field"] != field {
                wrong.push(format!("field {} (wanted `{field}`)", json["field"]));
            }
        }
        // Record errors carry the whole shape; query errors theirs.
        if self.line.is_some() {
            for key in ["record", "line", "field", "column", "reason"] {
                if json.get(key).is_none() {
                    wrong.push(format!("no `{key}` key"));
                }
            }
            // Only an empty body has no column; the position is never
            // only in the text of the reason.
            let empty = self.message.contains("empty body");
            if !empty && json["column"].as_u64().unwrap_or(0) == 0 {
                wrong.push(format!(
                    "column {} (wanted a 1-based column)",
                    json["column"]
                ));
            }
            let reason = json["reason"].as_str().unwrap_or_default();
            if reason.contains("column") || reason.contains(" line ") {
                wrong.push("the position is in the reason".into());
            }
        }
        if self.position.is_some() && !json["reason"].is_string() {
            wrong.push("no `reason`".into());
        }
        (!wrong.is_empty()).then(|| format!("{}: {text}", wrong.join("; ")))
    }
}
