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

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use logingest_core::{fields, Limits, ParseOptions, Record, RecordWriter, Timestamp};
use syslog_loose::{IncompleteDate, Message, Protocol, StructuredElement, SyslogSeverity, Variant};

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
    read(frame, origin, &options.limits, &mut Peers::default())
}

/// Messages read into records together, each refused on its own.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The records of the messages that made one, in order.
    pub records: Vec<Record>,
    /// Why each of the others made none.
    pub refused: Vec<ProtocolError>,
}

/// Reads many messages into records, as [`decode`] does each (what a
/// server does with the messages of one read): `meter` is told of each
/// record as it is made; its refusal ends the whole batch.
pub fn decode_all<E>(
    messages: &[(&[u8], Origin)],
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Decoded, E> {
    let mut decoded = Decoded {
        records: Vec::with_capacity(messages.len()),
        refused: Vec::new(),
    };
    let mut peers = Peers::default();
    for (frame, origin) in messages {
        match read(frame, origin, &options.limits, &mut peers) {
            Ok(record) => {
                meter(record.memory())?;
                decoded.records.push(record);
            }
            Err(e) => decoded.refused.push(e),
        }
    }
    Ok(decoded)
}

/// Reads one message into its record, written as it is read
/// ([`RecordWriter`]: the record's text and parts in one pass).
fn read(
    frame: &[u8],
    origin: &Origin,
    limits: &Limits,
    peers: &mut Peers,
) -> Result<Record, ProtocolError> {
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
    let time = match message.timestamp {
        Some(time) => Timestamp::from_nanos(time.timestamp_nanos_opt().ok_or_else(|| {
            ProtocolError::invalid(
                Some(fields::TIMESTAMP.to_owned()),
                format!(
                    "{} is outside the times a record can have (1677 to 2262)",
                    time.to_rfc3339()
                ),
            )
        })?),
        None => received,
    };
    // The record's text is the message's size and then some: its JSON
    // punctuation, the header's field names (about 200 bytes more for an
    // RFC 5424 message with structured data). Too little would double it.
    let mut out = RecordWriter::with_capacity(limits, frame.len() + 320);
    out.timestamp(time);
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
    out.object(fields::METADATA);
    let peer = origin.peer.map(|peer| peers.text(peer));
    write_metadata(&mut out, &message, peer, &elements);
    out.finish(received)
        .map_err(|e| ProtocolError::invalid(Some(fields::MESSAGE.to_owned()), e.to_string()))
}

/// Structured-data parameter names that give a record's ids, in order.
const TRACE: [&str; 3] = ["trace_id", "traceId", "traceID"];
const SPAN: [&str; 3] = ["span_id", "spanId", "spanID"];

/// The structured data: elements of one SD-ID together, each parameter
/// name once with every value it was given (a parameter taken out for a
/// field is left with none).
type Elements<'a> = Groups<'a, Groups<'a, Values<'a>>>;

fn structured_data<'a>(message: &Message<&'a str>) -> Elements<'a> {
    let mut elements = Elements::default();
    for element in &message.structured_data {
        let params = elements.entry(element.id);
        for &(name, value) in &element.params {
            params.entry(name).push(unescaped(element.id, name, value));
        }
    }
    elements
}

/// A parameter's value without RFC 5424's escapes, read as `syslog_loose`
/// reads them; borrowed when there are none (most values).
fn unescaped<'a>(id: &'a str, name: &'a str, value: &'a str) -> Cow<'a, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let one = StructuredElement {
        id,
        params: vec![(name, value)],
    };
    Cow::Owned(
        one.params()
            .next()
            .map(|(_, value)| value)
            .unwrap_or_default(),
    )
}

/// The values of one parameter name, in order.
#[derive(Debug, Default)]
enum Values<'a> {
    /// None (left so by [`take_param`]).
    #[default]
    None,
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Values<'a> {
    fn push(&mut self, value: Cow<'a, str>) {
        *self = match std::mem::take(self) {
            Values::None => Values::One(value),
            Values::One(first) => Values::Many(vec![first, value]),
            Values::Many(mut all) => {
                all.push(value);
                Values::Many(all)
            }
        };
    }
}

/// Takes out the first parameter (in any element) of the first of `names`
/// given one value: it becomes a field, not repeated under `metadata`.
fn take_param<'a>(elements: &mut Elements<'a>, names: &[&str]) -> Option<Cow<'a, str>> {
    for name in names {
        for (_, params) in &mut elements.items {
            if let Some(values @ &mut Values::One(_)) = params.get_mut(name) {
                if let Values::One(value) = std::mem::take(values) {
                    return Some(value);
                }
            }
        }
    }
    None
}

/// The text of the last sender's address: the messages of one read come
/// from one sender, and each would format it again.
#[derive(Debug, Default)]
struct Peers {
    last: Option<(IpAddr, String)>,
}

impl Peers {
    fn text(&mut self, peer: IpAddr) -> &str {
        if self.last.as_ref().is_none_or(|(ip, _)| *ip != peer) {
            self.last = Some((peer, peer.to_string()));
        }
        self.last.as_ref().map_or("", |(_, text)| text)
    }
}

/// Values grouped by name in the order names first came: found by a scan
/// while there are few, by a map beyond, so that a message of many
/// elements or parameters costs linear time.
#[derive(Debug)]
struct Groups<'a, T> {
    items: Vec<(&'a str, T)>,
    index: HashMap<&'a str, usize>,
}

impl<T> Default for Groups<'_, T> {
    fn default() -> Self {
        Groups {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

/// Groups found by a scan before the map is built.
const FEW_GROUPS: usize = 8;

impl<'a, T: Default> Groups<'a, T> {
    fn position(&self, name: &str) -> Option<usize> {
        if self.index.is_empty() {
            self.items.iter().position(|(n, _)| *n == name)
        } else {
            self.index.get(name).copied()
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        let i = self.position(name)?;
        Some(&mut self.items[i].1)
    }

    /// The group of `name`, made empty if there is none yet.
    fn entry(&mut self, name: &'a str) -> &mut T {
        let i = match self.position(name) {
            Some(i) => i,
            None => {
                self.items.push((name, T::default()));
                let i = self.items.len() - 1;
                if !self.index.is_empty() {
                    self.index.insert(name, i);
                } else if self.items.len() > FEW_GROUPS {
                    self.index = self
                        .items
                        .iter()
                        .enumerate()
                        .map(|(i, (n, _))| (*n, i))
                        .collect();
                }
                i
            }
        };
        &mut self.items[i].1
    }
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

/// The members of `metadata` (open in `out`): `syslog` (the header's
/// fields not mapped elsewhere, and where the message came from) and `sd`.
fn write_metadata(
    out: &mut RecordWriter<'_>,
    message: &Message<&str>,
    peer: Option<&str>,
    elements: &Elements<'_>,
) {
    out.object("syslog");
    if let Some(facility) = message.facility {
        out.string("facility", facility.as_str());
    }
    if let Some(hostname) = message.hostname {
        out.string("hostname", hostname);
    }
    // Not repeated here (each field a record has costs its indexing): the
    // severity, which `level` names one to one, and APP-NAME, which is the
    // resourceId whenever there is one.
    if let Some(procid) = &message.procid {
        out.string("procid", &procid.to_string());
    }
    if let Some(msgid) = message.msgid {
        out.string("msgid", msgid);
    }
    match message.protocol {
        Protocol::RFC5424(1) => out.string("protocol", "rfc5424"),
        Protocol::RFC5424(version) => {
            out.string("protocol", "rfc5424");
            out.string("version", &version.to_string());
        }
        Protocol::RFC3164 => out.string("protocol", "rfc3164"),
    }
    if let Some(peer) = peer {
        out.string("peer", peer);
    }
    out.end();
    if elements.items.is_empty() {
        return;
    }
    out.object("sd");
    for (id, params) in &elements.items {
        out.object(id);
        for (name, values) in &params.items {
            match values {
                Values::None => {}
                Values::One(one) => out.string(name, one),
                Values::Many(many) => out.strings(name, many),
            }
        }
        out.end();
    }
    out.end();
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
