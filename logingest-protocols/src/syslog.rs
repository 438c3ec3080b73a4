//! Syslog messages, RFC 5424 and RFC 3164 (the BSD format most daemons
//! still send), as `--syslog-tcp` and `--syslog-udp` receive them: one
//! message, cut out of a TCP stream by [`Framer`] or one UDP datagram,
//! read into one record.
//!
//! Mapping:
//!
//! | record | from |
//! |---|---|
//! | `timestamp` | the header's time (RFC 3164: no year and no zone; see below); none or `-`: the receive time |
//! | `level` | the severity: `emerg`, `alert`, `crit`, `error`, `warn`, `notice`, `info`, `debug` |
//! | `resourceId` | APP-NAME (RFC 3164: the tag before `[pid]:`), else HOSTNAME |
//! | `message` | MSG, without the byte order mark RFC 5424 allows |
//! | `metadata.syslog` | `facility`, `severity` (syslog's own names), `hostname`, `appname`, `procid`, `msgid`, `version` (RFC 5424), `protocol` (`rfc5424`/`rfc3164`), `transport` (`tcp`/`udp`), `peer` (the sender's address) |
//! | `metadata.sd.<SD-ID>.<name>` | each STRUCTURED-DATA parameter (unescaped; a name given twice: an array of its values) |
//!
//! RFC 3164 times have no year and no zone: they are read as UTC, in the
//! receive time's year unless that puts them more than a day after the
//! receive time, then in the year before (a December message read in
//! January). A message that is not syslog at all (no `<PRI>`) is kept
//! whole as the message, as RFC 3164 section 4.3.3 tells a relay to do;
//! bytes that are not UTF-8 become U+FFFD.
//!
//! The syslog grammar is read by `syslog_loose`, the parser Vector uses:
//! well tested on what real senders emit, which is looser than either RFC.

mod framing;

use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use logingest_core::{fields, ParseOptions, Record, Timestamp};
use serde_json::{Map, Value};
use syslog_loose::{IncompleteDate, Message, Protocol, SyslogSeverity, Variant};

use crate::record::Batch;
use crate::ProtocolError;

pub use framing::{FrameError, Framer};

/// Where a message came from, for `metadata.syslog`, and when.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// When it was read: the time of messages without one, and the year of
    /// RFC 3164 times.
    pub received: Timestamp,
    /// The sender's address.
    pub peer: Option<IpAddr>,
    /// `"tcp"` or `"udp"`.
    pub transport: &'static str,
}

/// Reads one message into a record, within `options`' limits (the record
/// size, keys, depth, term length). An error names why; the location is
/// the message's part (`structured data`, `timestamp`).
pub fn decode(
    frame: &[u8],
    origin: &Origin,
    options: &ParseOptions,
) -> Result<Record, ProtocolError> {
    let text = String::from_utf8_lossy(frame);
    let received = origin.received;
    let year = move |date| year_of(received, date);
    let message = syslog_loose::parse_message_with_year_tz(&text, year, Some(Utc), Variant::Either);
    let mut batch = Batch::new(&options.limits);
    write(&mut batch, &message, origin)?;
    batch.check_last(&mut |_| Ok::<(), ProtocolError>(()))?;
    let options = options.receive_time(received);
    let mut records = batch.parse(&options, |_| Ok::<(), ProtocolError>(()))?;
    // `write` made exactly one record.
    records
        .pop()
        .ok_or_else(|| ProtocolError::invalid(None, "the message made no record".to_owned()))
}

fn write(batch: &mut Batch, message: &Message<&str>, origin: &Origin) -> Result<(), ProtocolError> {
    let mut out = batch.record("message".to_owned());
    if let Some(time) = message.timestamp {
        let nanos = time.timestamp_nanos_opt().ok_or_else(|| {
            ProtocolError::invalid(
                Some("timestamp".to_owned()),
                format!(
                    "{} is outside the times a record can have (1677 to 2262)",
                    time.to_rfc3339()
                ),
            )
        })?;
        out.string(
            fields::TIMESTAMP,
            &Timestamp::from_nanos(nanos).to_rfc3339(),
        );
    }
    if let Some(severity) = message.severity {
        out.string(fields::LEVEL, level(severity));
    }
    out.string(fields::MESSAGE, message.msg.trim_start_matches('\u{feff}'));
    if let Some(resource) = message.appname.or(message.hostname) {
        out.string(fields::RESOURCE_ID, resource);
    }
    let mut metadata = Map::new();
    metadata.insert("syslog".to_owned(), Value::Object(header(message, origin)));
    if !message.structured_data.is_empty() {
        metadata.insert("sd".to_owned(), structured_data(message));
    }
    out.raw("metadata", &Value::Object(metadata).to_string());
    out.finish();
    Ok(())
}

/// `metadata.syslog`: the header's fields and where the message came from.
fn header(message: &Message<&str>, origin: &Origin) -> Map<String, Value> {
    let mut syslog = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            syslog.insert(key.to_owned(), Value::String(value));
        }
    };
    put("facility", message.facility.map(|f| f.as_str().to_owned()));
    put("severity", message.severity.map(|s| s.as_str().to_owned()));
    put("hostname", message.hostname.map(str::to_owned));
    put("appname", message.appname.map(str::to_owned));
    put("procid", message.procid.as_ref().map(ToString::to_string));
    put("msgid", message.msgid.map(str::to_owned));
    let protocol = match message.protocol {
        Protocol::RFC5424(version) => {
            put("version", Some(version.to_string()));
            "rfc5424"
        }
        Protocol::RFC3164 => "rfc3164",
    };
    put("protocol", Some(protocol.to_owned()));
    put("transport", Some(origin.transport.to_owned()));
    put("peer", origin.peer.map(|ip| ip.to_string()));
    syslog
}

/// `metadata.sd`: `{"<SD-ID>": {"<name>": "<value>", ...}, ...}`; a name
/// given twice in an element keeps every value, as an array.
fn structured_data(message: &Message<&str>) -> Value {
    let mut sd = Map::new();
    for element in &message.structured_data {
        let Value::Object(params) = sd
            .entry(element.id.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        else {
            continue;
        };
        for (name, value) in element.params() {
            match params.get_mut(*name) {
                None => {
                    params.insert((*name).to_owned(), Value::String(value));
                }
                Some(Value::Array(values)) => values.push(Value::String(value)),
                Some(first) => {
                    let first = first.take();
                    params.insert(
                        (*name).to_owned(),
                        Value::Array(vec![first, Value::String(value)]),
                    );
                }
            }
        }
    }
    Value::Object(sd)
}

/// The record's `level` of a severity: syslog's names, except the four
/// every other source spells `error`, `warn`, `info`, `debug`.
fn level(severity: SyslogSeverity) -> &'static str {
    match severity {
        SyslogSeverity::SEV_EMERG => "emerg",
        SyslogSeverity::SEV_ALERT => "alert",
        SyslogSeverity::SEV_CRIT => "crit",
        SyslogSeverity::SEV_ERR => "error",
        SyslogSeverity::SEV_WARNING => "warn",
        SyslogSeverity::SEV_NOTICE => "notice",
        SyslogSeverity::SEV_INFO => "info",
        SyslogSeverity::SEV_DEBUG => "debug",
    }
}

/// The year of an RFC 3164 time (month, day, hour, minute, second): the
/// receive time's, unless that is more than a day after the receive time.
fn year_of(received: Timestamp, (month, day, hour, minute, second): IncompleteDate) -> i32 {
    let now = DateTime::from_timestamp_nanos(received.as_nanos());
    let year = now.year();
    let then = NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|date| date.and_hms_opt(hour, minute, second))
        .map(|then| then.and_utc());
    match then {
        Some(then) if then - now > TimeDelta::days(1) => year - 1,
        _ => year,
    }
}

#[cfg(test)]
mod tests;
