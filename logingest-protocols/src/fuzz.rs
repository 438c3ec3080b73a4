//! Fuzz checks of the protocol decoders (feature `fuzzing`): OTLP logs,
//! Loki pushes, and syslog streams ([`check_syslog`]).
//!
//! `POST /v1/logs` and `POST /loki/api/v1/push` hand untrusted bytes to
//! [`otlp::decode`] and [`loki::decode`], so the checks are here, beside
//! them, for the fuzz target (`fuzz/`, nightly) and the
//! stable replay of its seeds (the test below) to run the same code. The
//! first byte of the input picks the encoding and a set of small limits
//! (so limits are reached by small inputs); the rest is the body.
//! Properties:
//!
//! - no panic, and the same input decodes to the same result twice;
//! - `Ok`: one record per log record of the request, no more than
//!   `max_records`, each record's text within `max_record_bytes`, the meter
//!   told of at least the records' memory and their text (each metered on
//!   its own), and each record's text parses
//!   back, alone, as our own format, to the same record;
//! - `Err`: only [`ProtocolError::Invalid`] or [`ProtocolError::TooLarge`]
//!   (the meter here never refuses), with a reason, and a location that is
//!   a place in the request (`resourceLogs[…]…`, `streams[…]…`, or the
//!   fields prost was decoding, `ExportLogsServiceRequest.resource_logs >
//!   …`) or in its JSON text (`line L, column C` that exist in the body).

use logingest_core::{parse_records, Format, Limits, ParseOptions, Record, Timestamp};

use crate::otlp::{self, Encoding};
use crate::syslog::{self, FrameError, Framer, Origin};
use crate::{loki, ProtocolError};

/// The receive time of records without a time (2023-09-15T12:00:00Z):
/// fixed, so that two decodings of one input are equal.
const RECEIVE_TIME: Timestamp = Timestamp(1_694_779_200_000_000_000);

/// What the parser adds to a record without a time: the receive time as a
/// first member (`"timestamp":"2023-09-15T12:00:00Z",`).
const INSERTED_TIME_BYTES: usize = 64;

/// Limits chosen by bits 1–6 of the first input byte.
fn limits(choice: u8) -> Limits {
    let pick = |shift: u8, options: [usize; 4]| options[usize::from((choice >> shift) & 3)];
    Limits::default()
        .max_record_bytes(pick(1, [64, 300, 4096, 1 << 20]))
        .max_records(pick(3, [1, 3, 50, 100_000]))
        .max_depth(pick(5, [1, 2, 5, 32]))
        .max_term_bytes(pick(1, [4, 16, 64, 32_000]))
}

/// A decoder under test: whether the body is JSON, and how it decodes.
struct Decoder<'a> {
    json: bool,
    /// Decodes a body into records, telling the meter.
    decode: &'a Decode<'a>,
    /// The log records (entries) of a body that decoded.
    count: &'a dyn Fn(&[u8]) -> usize,
    /// How a place in the request starts (`resourceLogs[`, ...).
    places: &'a [&'a str],
}

type Meter<'a> = dyn FnMut(usize) -> Result<(), ProtocolError> + 'a;

type Decode<'a> =
    dyn Fn(&[u8], &ParseOptions, &mut Meter<'_>) -> Result<Vec<Record>, ProtocolError> + 'a;

/// Checks [`otlp::decode`] on one fuzz input (see the module doc). Panics
/// when a property does not hold.
pub fn check_otlp(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let encoding = if choice & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let decoder = Decoder {
        json: encoding == Encoding::Json,
        decode: &|body, options, meter| otlp::decode(body, encoding, options, meter),
        count: &|body| {
            otlp::decode_request(body, encoding).map_or(0, |request| otlp::count(&request))
        },
        places: &["resourceLogs[", "ExportLogsServiceRequest."],
    };
    check(choice, body, &decoder);
}

/// Checks [`loki::decode`] on one fuzz input (see the module doc): bit 0
/// of the first byte picks JSON, bit 7 (for protobuf) whether the rest is
/// sent as it is, else snappy-compressed first (so the fuzzer's bytes
/// reach the protobuf decoder, not only snappy's). Panics when a property
/// does not hold.
pub fn check_loki(data: &[u8]) {
    let Some((&choice, input)) = data.split_first() else {
        return;
    };
    let encoding = if choice & 1 == 0 {
        loki::Encoding::Protobuf
    } else {
        loki::Encoding::Json
    };
    let compressed;
    let body = if encoding == loki::Encoding::Protobuf && choice & 0x80 == 0 {
        compressed = snap::raw::Encoder::new()
            .compress_vec(input)
            .expect("snappy compresses any input");
        &compressed[..]
    } else {
        input
    };
    let decoder = Decoder {
        json: encoding == loki::Encoding::Json,
        decode: &|body, options, meter| loki::decode(body, encoding, options, meter),
        count: &|body| {
            let raw = loki::uncompress(body, encoding, usize::MAX, |_| Ok::<(), ProtocolError>(()));
            raw.ok()
                .and_then(|raw| loki::decode_request(&raw, encoding).ok())
                .map_or(0, |push| push.count())
        },
        places: &["streams[", "PushRequest."],
    };
    check(choice, body, &decoder);
}

/// Checks syslog over TCP on one fuzz input: the first byte picks the
/// limits and the size of the pieces the rest (a TCP stream) arrives in.
/// Properties: no panic; the frames do not depend on how the stream was cut
/// (fed whole or in pieces); each within the limit; each message decodes
/// the same twice, to a record within the limit that parses back to
/// itself, or to [`ProtocolError::Invalid`] with a reason.
pub fn check_syslog(data: &[u8]) {
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    let limits = limits(choice);
    let frames = |piece: usize| {
        let mut framer = Framer::new(limits.max_record_bytes);
        let mut frames: Vec<Result<Vec<u8>, FrameError>> = Vec::new();
        for chunk in stream.chunks(piece) {
            framer.push(chunk, |f| frames.push(f.map(<[u8]>::to_vec)));
        }
        framer.finish(|f| frames.push(f.map(<[u8]>::to_vec)));
        frames
    };
    let whole = frames(stream.len().max(1));
    let piece = [1, 2, 7, 64][usize::from(choice >> 6)];
    assert_eq!(whole, frames(piece), "the frames depend on the pieces");
    let options = ParseOptions::default()
        .limits(limits)
        .receive_time(RECEIVE_TIME);
    let origin = Origin {
        received: RECEIVE_TIME,
        peer: None,
    };
    let mut each = Vec::new();
    for frame in whole.iter().flatten() {
        assert!(
            frame.len() <= limits.max_record_bytes,
            "a frame over the limit"
        );
        let result = syslog::decode(frame, &origin, &options);
        let again = syslog::decode(frame, &origin, &options);
        assert_eq!(format!("{result:?}"), format!("{again:?}"));
        each.push(again);
        match result {
            Ok(record) => {
                assert!(record.source().len() <= limits.max_record_bytes + INSERTED_TIME_BYTES);
                let alone = options
                    .format(Format::Ndjson)
                    .limits(limits.max_record_bytes(limits.max_record_bytes + INSERTED_TIME_BYTES));
                let back = parse_records(record.source().as_bytes(), &alone)
                    .unwrap_or_else(|e| panic!("{} does not parse back: {e}", record.source()));
                assert_eq!(back, [record]);
            }
            Err(e @ ProtocolError::Invalid { .. }) => assert!(!e.reason().is_empty()),
            Err(e) => panic!("an error of another kind: {e:?}"),
        }
    }
    // Together, as a server decodes a read's messages: the same records
    // and the same refusals as each alone.
    let messages: Vec<(&[u8], Origin)> = whole.iter().flatten().map(|f| (&f[..], origin)).collect();
    let together = syslog::decode_all(&messages, &options, |_| Ok::<(), ProtocolError>(()))
        .expect("the meter never refuses");
    let (records, refused): (Vec<_>, Vec<_>) = each.into_iter().partition(Result::is_ok);
    let records: Vec<Record> = records.into_iter().flatten().collect();
    assert_eq!(together.records, records);
    assert_eq!(together.refused.len(), refused.len());
}

fn check(choice: u8, body: &[u8], decoder: &Decoder<'_>) {
    let options = ParseOptions::default()
        .limits(limits(choice))
        .receive_time(RECEIVE_TIME);
    let mut metered = 0;
    let result = (decoder.decode)(body, &options, &mut |bytes| {
        metered += bytes;
        Ok(())
    });
    let again = (decoder.decode)(body, &options, &mut |_| Ok(()));
    assert_eq!(
        format!("{result:?}"),
        format!("{again:?}"),
        "decoding is not deterministic"
    );
    match result {
        Ok(records) => {
            assert_eq!(
                records.len(),
                (decoder.count)(body),
                "a record per log record"
            );
            assert!(records.len() <= options.limits.max_records);
            // The text and the decoded request are metered apart from the
            // records: the meter must have heard of at least the records.
            let memory: usize = records.iter().map(Record::memory).sum();
            let text: usize = records.iter().map(|r| r.source().len()).sum();
            assert!(
                metered >= memory + text,
                "the meter heard of {metered} bytes for {memory} bytes of records made of {text} bytes of text"
            );
            // Alone, as the store gives it back: with a receive time the
            // parser inserted, which the record size limit did not count.
            let limits = options.limits;
            let alone = options
                .format(Format::Ndjson)
                .limits(limits.max_record_bytes(limits.max_record_bytes + INSERTED_TIME_BYTES));
            for record in &records {
                assert!(
                    record.source().len() <= options.limits.max_record_bytes + INSERTED_TIME_BYTES,
                    "{} bytes, the limit is {}",
                    record.source().len(),
                    options.limits.max_record_bytes
                );
                let back = parse_records(record.source().as_bytes(), &alone)
                    .unwrap_or_else(|e| panic!("{} does not parse back: {e}", record.source()));
                assert_eq!(back.len(), 1);
                assert_eq!(&back[0], record, "{}", record.source());
            }
        }
        Err(e @ (ProtocolError::Invalid { .. } | ProtocolError::TooLarge { .. })) => {
            assert!(!e.reason().is_empty(), "an error without a reason: {e:?}");
            if let Some(location) = e.location() {
                check_location(body, location, decoder);
            }
        }
        Err(e) => panic!("an error of another kind: {e:?}"),
    }
}

/// A location is a place in the request, or a line and column of its text
/// that exist.
fn check_location(body: &[u8], location: &str, decoder: &Decoder<'_>) {
    // A place in the request: of the mapping, or of prost's decoding.
    if decoder
        .places
        .iter()
        .any(|place| location.starts_with(place))
    {
        return;
    }
    assert!(
        decoder.json,
        "a line and column in a protobuf body: {location}"
    );
    let (line, column) = location
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(", column "))
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        .unwrap_or_else(|| panic!("a location of no known form: {location}"));
    let text = body.split(|b| *b == b'\n').nth(line - 1);
    let text = text.unwrap_or_else(|| panic!("{location}: the body has no such line"));
    // serde_json points at the byte it stopped at, which may be the end.
    assert!(
        (1..=text.len() + 1).contains(&column),
        "{location}: the line has {} bytes",
        text.len()
    );
}

#[cfg(test)]
mod tests {
    use logingest_core::testkit::fuzz::replay;

    use super::{check_loki, check_otlp, check_syslog};

    fn corpus(target: &str) -> String {
        format!("{}/../fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn otlp_seeds() {
        replay(corpus("otlp"), check_otlp);
    }

    #[test]
    fn loki_seeds() {
        replay(corpus("loki"), check_loki);
    }

    #[test]
    fn syslog_seeds() {
        replay(corpus("syslog"), check_syslog);
    }
}
