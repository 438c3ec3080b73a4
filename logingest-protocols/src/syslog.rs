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
//! | `traceId`, `spanId` | a STRUCTURED-DATA parameter `trace_id` / `traceId` / `traceID` (`span_id` ...) of one value, in any element: moved there, not repeated under `metadata.sd` |
//! | `metadata.syslog` | `facility` (syslog's name), `hostname`, `procid`, `msgid`, `protocol` (`rfc5424`/`rfc3164`; `version` when not 1), `peer` (the sender's address) |
//! | `metadata.sd.<SD-ID>.<name>` | each other STRUCTURED-DATA parameter (unescaped; a name given twice: an array of its values) |
//!
//! Not repeated under `metadata` (each field a record has costs indexing):
//! the severity, which `level` names one to one; APP-NAME, which is the
//! `resourceId` whenever there is one; the transport (TCP or UDP), which
//! is how the message travelled, not what it says.
//!
//! RFC 3164 times have no year and no zone: they are read as UTC, in the
//! latest of the next, this and the previous year that puts them at most a
//! day after the receive time (a December message read in January is of
//! the year before; one of 1 January read on 31 December of the next). A
//! line without `<PRI>` is read as RFC 3164 as far as it goes, without a
//! level; a line with a PRI over 191, or no readable header, is kept whole
//! as the message, as RFC 3164 section 4.3.3 tells a relay to do; bytes
//! that are not UTF-8 become U+FFFD.
//!
//! The syslog grammar is read by `syslog_loose`, the parser Vector uses:
//! well tested on what real senders emit, which is looser than either RFC.

mod framing;

use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use logingest_core::{fields, ParseOptions, Record, Timestamp};
use syslog_loose::{IncompleteDate, Message, Protocol, SyslogSeverity, Variant};

use crate::record::{escaped, Batch, Failure};
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
}

/// Reads one message into a record, within `options`' limits (the record
/// size, keys, depth, term length). An error names why; the location is
/// the message's part (`timestamp`).
pub fn decode(
    frame: &[u8],
    origin: &Origin,
    options: &ParseOptions,
) -> Result<Record, ProtocolError> {
    let mut batch = Batch::new(&options.limits);
    write(&mut batch, frame, origin)?;
    let mut records = batch.parse(options, |_| Ok::<(), ProtocolError>(()))?;
    // `write` made exactly one record.
    records
        .pop()
        .ok_or_else(|| ProtocolError::invalid(None, "the message made no record".to_owned()))
}

/// Messages read into records together, each refused on its own.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The records of the messages that made one, in order.
    pub records: Vec<Record>,
    /// Why each of the others made none.
    pub refused: Vec<ProtocolError>,
}

/// Reads many messages into records, as [`decode`] does each, but parsed
/// as one batch (what a server does with the messages of one read):
/// `meter` is told of the records' text as it is written and of the
/// records as they are made; its refusal ends the whole batch.
pub fn decode_all<E>(
    messages: &[(&[u8], Origin)],
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Decoded, E> {
    let mut batch = Batch::new(&options.limits);
    let mut decoded = Decoded::default();
    let mut written = Vec::with_capacity(messages.len());
    for (frame, origin) in messages {
        match write(&mut batch, frame, origin) {
            Ok(()) => {
                batch.meter_growth(&mut meter)?;
                written.push((*frame, *origin));
            }
            Err(e) => {
                batch.drop_last();
                decoded.refused.push(e);
            }
        }
    }
    // The batch is ours, not a request: only the record limits apply.
    let mut batch_options = *options;
    batch_options.limits.max_records = usize::MAX;
    match batch.parse_apart(&batch_options, &mut meter) {
        Ok(records) => decoded.records = records,
        Err(Failure::Meter(e)) => return Err(e),
        // A record the rules refuse (rare: too deep, a term too long): each
        // message once more on its own, so that only it is refused.
        Err(Failure::Parse(_)) => {
            for (frame, origin) in written {
                match decode(frame, &origin, options) {
                    Ok(record) => {
                        meter(record.memory())?;
                        decoded.records.push(record);
                    }
                    Err(e) => decoded.refused.push(e),
                }
            }
        }
    }
    Ok(decoded)
}

/// Writes one message's record into `batch`; an error leaves it there,
/// for the caller to drop.
fn write(batch: &mut Batch, frame: &[u8], origin: &Origin) -> Result<(), ProtocolError> {
    let text = String::from_utf8_lossy(frame);
    let received = origin.received;
    let year = move |date| year_of(received, date);
    let mut message =
        syslog_loose::parse_message_with_year_tz(&text, year, Some(Utc), Variant::Either);
    if message.severity.is_some() && message.facility.is_none() {
        // A PRI over 191 (facility 24 to 31) is no syslog PRI: the line is
        // kept whole, as any line that is not syslog.
        message = not_syslog(&text);
    }
    let mut out = batch.record("message".to_owned());
    let time = match message.timestamp {
        Some(time) => Timestamp::from_nanos(time.timestamp_nanos_opt().ok_or_else(|| {
            ProtocolError::invalid(
                Some("timestamp".to_owned()),
                format!(
                    "{} is outside the times a record can have (1677 to 2262)",
                    time.to_rfc3339()
                ),
            )
        })?),
        None => received,
    };
    out.string(fields::TIMESTAMP, &time.to_rfc3339());
    if let Some(severity) = message.severity {
        out.string(fields::LEVEL, level(severity));
    }
    out.string(fields::MESSAGE, message.msg.trim_start_matches('\u{feff}'));
    if let Some(resource) = message.appname.or(message.hostname) {
        out.string(fields::RESOURCE_ID, resource);
    }
    let mut elements = structured_data(&message);
    for (field, names) in [(fields::TRACE_ID, &TRACE), (fields::SPAN_ID, &SPAN)] {
        if let Some(id) = take_param(&mut elements, names) {
            out.string(field, &id);
        }
    }
    out.raw(fields::METADATA, &metadata(&message, origin, &elements));
    out.finish();
    batch.check_size()
}

/// Structured-data parameter names that give a record's ids, in order.
const TRACE: [&str; 3] = ["trace_id", "traceId", "traceID"];
const SPAN: [&str; 3] = ["span_id", "spanId", "spanID"];

/// The structured data: elements of one SD-ID together, each parameter
/// name once with every value it was given.
type Elements<'a> = Vec<(&'a str, Vec<(&'a str, Vec<String>)>)>;

fn structured_data<'a>(message: &Message<&'a str>) -> Elements<'a> {
    let mut elements: Elements<'a> = Vec::new();
    for element in &message.structured_data {
        let index = match elements.iter().position(|(id, _)| *id == element.id) {
            Some(index) => index,
            None => {
                elements.push((element.id, Vec::new()));
                elements.len() - 1
            }
        };
        let params = &mut elements[index].1;
        for (name, value) in element.params() {
            match params.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => params.push((name, vec![value])),
            }
        }
    }
    elements
}

/// Takes out the first parameter (in any element) of the first of `names`
/// given one value: it becomes a field, not repeated under `metadata`.
fn take_param(elements: &mut Elements<'_>, names: &[&str]) -> Option<String> {
    for name in names {
        for (_, params) in elements.iter_mut() {
            if let Some(i) = params
                .iter()
                .position(|(n, values)| n == name && values.len() == 1)
            {
                return params.remove(i).1.pop();
            }
        }
    }
    None
}

/// A line that is not syslog: all of it the message (trimmed, as the
/// parser trims), nothing else known.
fn not_syslog(text: &str) -> Message<&str> {
    Message {
        protocol: Protocol::RFC3164,
        facility: None,
        severity: None,
        timestamp: None,
        hostname: None,
        appname: None,
        procid: None,
        msgid: None,
        structured_data: Vec::new(),
        msg: text.trim(),
    }
}

/// `metadata` as JSON text: `syslog` (the header's fields not mapped
/// elsewhere, and where the message came from) and `sd`.
fn metadata(message: &Message<&str>, origin: &Origin, elements: &Elements<'_>) -> String {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"syslog\":{");
    let mut first = true;
    let mut put = |key: &str, value: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        escaped(&mut out, key);
        out.push(b':');
        escaped(&mut out, value);
    };
    if let Some(facility) = message.facility {
        put("facility", facility.as_str());
    }
    if let Some(hostname) = message.hostname {
        put("hostname", hostname);
    }
    // Not repeated here (each field a record has costs its indexing): the
    // severity, which `level` names one to one, and APP-NAME, which is the
    // resourceId whenever there is one.
    let procid = message.procid.as_ref().map(ToString::to_string);
    if let Some(procid) = &procid {
        put("procid", procid);
    }
    if let Some(msgid) = message.msgid {
        put("msgid", msgid);
    }
    match message.protocol {
        Protocol::RFC5424(1) => put("protocol", "rfc5424"),
        Protocol::RFC5424(version) => {
            put("protocol", "rfc5424");
            put("version", &version.to_string());
        }
        Protocol::RFC3164 => put("protocol", "rfc3164"),
    }
    if let Some(peer) = origin.peer {
        put("peer", &peer.to_string());
    }
    out.push(b'}');
    if !elements.is_empty() {
        out.extend_from_slice(b",\"sd\":");
        write_structured_data(&mut out, elements);
    }
    out.push(b'}');
    // Only JSON text of UTF-8 strings was written.
    String::from_utf8(out).unwrap_or_default()
}

/// `{"<SD-ID>": {"<name>": "<value>", ...}, ...}`; a name given twice
/// keeps every value, as an array.
fn write_structured_data(out: &mut Vec<u8>, elements: &Elements<'_>) {
    out.push(b'{');
    for (e, (id, params)) in elements.iter().enumerate() {
        if e > 0 {
            out.push(b',');
        }
        escaped(out, id);
        out.extend_from_slice(b":{");
        for (p, (name, values)) in params.iter().enumerate() {
            if p > 0 {
                out.push(b',');
            }
            escaped(out, name);
            out.push(b':');
            match values.as_slice() {
                [one] => escaped(out, one),
                many => {
                    out.push(b'[');
                    for (v, value) in many.iter().enumerate() {
                        if v > 0 {
                            out.push(b',');
                        }
                        escaped(out, value);
                    }
                    out.push(b']');
                }
            }
        }
        out.push(b'}');
    }
    out.push(b'}');
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
/// latest of the next, the receive time's and the previous year that puts
/// it at most a day after the receive time (a sender's clock may run a
/// little ahead, also across New Year).
fn year_of(received: Timestamp, (month, day, hour, minute, second): IncompleteDate) -> i32 {
    let now = DateTime::from_timestamp_nanos(received.as_nanos());
    let year = now.year();
    let at = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_opt(hour, minute, second))
            .map(|then| then.and_utc())
    };
    [year + 1, year]
        .into_iter()
        .find(|&y| at(y).is_some_and(|then| then - now <= TimeDelta::days(1)))
        .unwrap_or(year - 1)
}

#[cfg(test)]
mod tests;
