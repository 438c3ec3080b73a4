use proptest::prelude::*;

use super::*;

fn round_trip(texts: &[&str]) -> Block {
    let mut block = Block::new();
    for (i, text) in texts.iter().enumerate() {
        block.push(100 + 3 * i as u64, 1_000 - 7 * i as i64, text);
    }
    let decoded = decode(&encode(&block, 3, None), None).expect("decodes");
    assert_eq!(decoded, block);
    decoded
}

#[test]
fn texts_come_back_byte_for_byte() {
    let texts = [
        r#"{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234","timestamp":"2023-09-15T08:00:00Z","metadata":{"parentResourceId":"server-0987"}}"#,
        r#"{ "message" : "spaced \" quote \\ backslash \u00e9 é" ,"n":-1.5e3,"t":true,"f":false,"z":null }"#,
        "{\n  \"message\": \"pretty\",\n\t\"a\": {\"b\": {\"c\": [1, [2, {\"d\": \"x\"}], []]}}\n}",
        r#"{"message":"","tags":["a","b",["c"]],"empty":{},"arr":[],"a.b":1,"a":{"b":2}}"#,
        r#"{"message":"日本語 🎉","キー":"値","\u0041":"escaped key"}"#,
        r#"{}"#,
    ];
    let block = round_trip(&texts);
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(block.text(i), *text);
        assert_eq!(block.find(100 + 3 * i as u64), Some(*text));
    }
    assert_eq!(block.find(101), None);
}

#[test]
fn empty_block_round_trips() {
    round_trip(&[]);
}

#[test]
fn text_that_does_not_scan_is_kept_whole() {
    // Not valid JSON: never stored by the backend, but encoding must not fail.
    round_trip(&[
        "not json",
        "{\"a\":",
        "{\"a\":1}}",
        "]",
        "{\"a\":\"unterminated}",
    ]);
    // A raw NUL (never in valid JSON) must not be taken for a marker.
    round_trip(&["{\"a\u{0}b\":1}", "{\"a\":\"x\u{0}\"}", "{\"m\":1}"]);
}

#[test]
fn values_go_to_columns_by_path() {
    let mut columns = Columns::default();
    let mut shape = Vec::new();
    split(
        br#"{"a":1,"m":{"b":"x","c":[2,{"d":3}]},"e":[[4]]}"#,
        &mut columns,
        &mut shape,
        b"",
    )
    .unwrap();
    assert_eq!(columns.names, ["a", "m.b", "m.c[]", "m.c[].d", "e[][]"]);
}

#[test]
fn damage_is_an_error_not_wrong_text() {
    let mut block = Block::new();
    for i in 0..50 {
        block.push(
            i,
            i as i64,
            &format!(r#"{{"message":"record {i}","level":"info"}}"#),
        );
    }
    let data = encode(&block, 3, None);
    for cut in [0, 3, 4, 10, data.len() / 2, data.len() - 1] {
        assert!(decode(&data[..cut], None).is_err(), "truncated at {cut}");
    }
    let mut longer = data.clone();
    longer.push(0);
    assert!(decode(&longer, None).is_err());
    let mut magic = data;
    magic[0] = b'X';
    assert!(decode(&magic, None)
        .unwrap_err()
        .to_string()
        .contains("magic"));
}

/// Records of a few templates, like logs: what dictionaries are for.
fn logs(first: u64, n: usize) -> Block {
    let mut block = Block::new();
    for i in first..first + n as u64 {
        let text = format!(
            r#"{{"level":"{}","message":"request {:x} to /api/v{}/orders took {}ms","resourceId":"svc-{}","metadata":{{"region":"eu-{}","retries":{}}}}}"#,
            ["info", "warn", "error"][(i % 3) as usize],
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            i % 4,
            i * 7 % 1000,
            i % 40,
            i % 3,
            i % 5
        );
        block.push(i, i as i64 * 1_000, &text);
    }
    block
}

#[test]
fn dictionaries_shrink_small_blocks_and_must_match() {
    let training = logs(0, 4096);
    let dictionaries = Dictionaries::train(7, &training);
    assert!(!dictionaries.is_empty());
    assert!(dictionaries.raw("level").is_some());
    assert!(
        dictionaries.raw("message").is_none(),
        "lz4 takes no dictionary"
    );
    let block = logs(10_000, 256);
    let plain = encode(&block, 3, None);
    let trained = encode(&block, 3, Some(&dictionaries));
    assert!(trained.len() < plain.len());
    // The message column is lz4, without a dictionary: the other columns
    // and the shapes shrink.
    let mut silent = Block::new();
    for (seq, ts, text) in block.records() {
        let mut record: serde_json::Value = serde_json::from_str(text).unwrap();
        record["message"] = "".into();
        silent.push(seq, ts, &record.to_string());
    }
    let (without, with) = (
        encode(&silent, 3, None).len(),
        encode(&silent, 3, Some(&dictionaries)).len(),
    );
    assert!(
        with * 10 < without * 9,
        "with dictionaries {with} bytes, without {without}"
    );
    assert_eq!(decode(&trained, Some(&dictionaries)).unwrap(), block);
    assert!(decode(&trained, None)
        .unwrap_err()
        .to_string()
        .contains("dictionary set 7"));
    // Stored and read back, the set decodes the same blocks.
    let again = Dictionaries::from_bytes(7, &dictionaries.to_bytes()).unwrap();
    assert_eq!(decode(&trained, Some(&again)).unwrap(), block);
    let other = Dictionaries::train(8, &logs(50_000, 2048));
    assert!(decode(&trained, Some(&other)).is_err());
    assert!(Dictionaries::from_bytes(7, &[5, 1]).is_err());
}

#[test]
fn varints_and_zigzag_round_trip() {
    for v in [0u64, 1, 127, 128, 300, u64::MAX / 3, u64::MAX] {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        assert_eq!(Reader::over(&out).varint().unwrap(), v);
    }
    for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
        assert_eq!(unzigzag(zigzag(v)), v);
    }
}

/// Any JSON value, for records of arbitrary shape.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z.\"\\\\é]{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_object_round_trips(
        records in prop::collection::vec(
            (prop::collection::btree_map("[a-zA-Z_.é]{1,8}", json_value(), 0..6), any::<bool>()),
            0..20,
        )
    ) {
        let texts: Vec<String> = records
            .into_iter()
            .map(|(map, pretty)| {
                let value = serde_json::Value::Object(map.into_iter().collect());
                if pretty {
                    serde_json::to_string_pretty(&value).unwrap()
                } else {
                    serde_json::to_string(&value).unwrap()
                }
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        round_trip(&refs);
    }
}

#[test]
fn time_text_is_what_the_parser_writes() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut samples: Vec<i64> = vec![0, 1, -1, 999_999_999, 1_000_000, i64::MIN, i64::MAX];
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        samples.push(x as i64);
        samples.push((x as i64 / 1_000_000) * 1_000_000);
        samples.push((x as i64 / 1_000_000_000) * 1_000_000_000);
    }
    for nanos in samples {
        let expected = format!("\"{}\"", logingest_core::Timestamp(nanos).to_rfc3339());
        assert_eq!(time_text(nanos), expected, "{nanos}");
    }
}

#[test]
fn derived_timestamps_and_time_units_round_trip() {
    let texts = [
        // Elided: exactly the derived text.
        r#"{"message":"a","timestamp":"1970-01-01T00:00:00.001Z"}"#,
        // Kept: another spelling of the same instant.
        r#"{"message":"b","timestamp":"1970-01-01T00:00:00.001000Z"}"#,
        // Kept: not top-level.
        r#"{"message":"c","x":{"timestamp":"1970-01-01T00:00:00.003Z"}}"#,
        r#"{"timestamp":"1970-01-01T00:00:00.004Z","message":"d","y":["1970-01-01T00:00:00.004Z"]}"#,
    ];
    let mut block = Block::new();
    for (i, text) in texts.iter().enumerate() {
        block.push(i as u64 + 1, (i as i64 + 1) * 1_000_000, text);
    }
    assert_eq!(decode(&encode(&block, 3, None), None).unwrap(), block);
    // Times of any unit, negative ones too.
    for unit in [1, 7, 1_000, 1_000_000_000] {
        let mut block = Block::new();
        for i in 0..50i64 {
            let t = (i * 37 - 900) * unit;
            block.push(
                i as u64,
                t,
                &format!(r#"{{"message":"m","timestamp":{}}}"#, time_text(t)),
            );
        }
        assert_eq!(decode(&encode(&block, 3, None), None).unwrap(), block);
    }
}

/// The messages of `texts` decoded as a block: each equal to the message
/// serde reads from its record. Returns whether the header said the
/// message column holds them in order.
fn check_messages(texts: &[String]) -> Option<bool> {
    let mut block = Block::new();
    for (i, text) in texts.iter().enumerate() {
        block.push(10 + 2 * i as u64, i as i64, text);
    }
    let encoded = encode(&block, 3, None);
    let messages = decode_messages(&encoded, None).expect("decodes");
    for (i, text) in texts.iter().enumerate() {
        let record: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            messages
                .get(10 + 2 * i as u64)
                .map(|m| m.unwrap().into_owned()),
            record["message"].as_str().map(str::to_owned),
            "{text}"
        );
    }
    assert!(messages.get(11).is_none());
    assert_eq!(messages.holds(11), !texts.is_empty() && texts.len() > 1);
    header(&mut Reader::over(&encoded), None)
        .unwrap()
        .messages_aligned
}

#[test]
fn messages_come_from_their_column_or_else_from_the_records() {
    let plain = [
        r#"{"message":"Failed to connect to DB","level":"error"}"#,
        r#"{ "level":"warn", "message" : "spaced \" quote \\ backslash \u00e9 é\n" }"#,
        r#"{"message":"","metadata":{"message":"not the record's"}}"#,
        r#"{"message":"日本語 🎉","tags":["message"]}"#,
    ];
    let plain = plain.map(str::to_owned).to_vec();
    assert_eq!(check_messages(&plain), Some(true));
    // A key spelled with an escape is the message too, and its column.
    let mut escaped = plain.clone();
    escaped.push(r#"{"mess\u0061ge":"escaped key"}"#.to_owned());
    assert_eq!(check_messages(&escaped), Some(true));
    // A record with two values in the column (an empty key's object keeps
    // its parent's path: the parser refuses such records, the codec must
    // not trust that): the block is read whole.
    let mut doubled = plain;
    doubled.push(r#"{"":{"message":"inner"},"message":"outer"}"#.to_owned());
    assert_eq!(check_messages(&doubled), Some(false));
}

#[test]
fn messages_with_dictionaries_must_match_the_set() {
    let dictionaries = Dictionaries::train(7, &logs(0, 4096));
    let block = logs(10_000, 256);
    let trained = encode(&block, 3, Some(&dictionaries));
    let messages = decode_messages(&trained, Some(&dictionaries)).unwrap();
    for (seq, _, text) in block.records() {
        let record: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            messages.get(seq).map(|m| m.unwrap().into_owned()),
            record["message"].as_str().map(str::to_owned)
        );
    }
    assert!(decode_messages(&trained, None)
        .unwrap_err()
        .to_string()
        .contains("dictionary set 7"));
    // Damage elsewhere may go unseen here: the store checks each block's
    // checksum before decoding any of it.
    let mut damaged = trained.clone();
    damaged[0] ^= 0xff;
    assert!(decode_messages(&damaged, Some(&dictionaries)).is_err());
}

proptest! {
    #[test]
    fn messages_of_any_records(
        records in prop::collection::vec(
            (
                prop::collection::btree_map("[a-zA-Z_.é]{1,8}", json_value(), 0..4),
                "\\PC{0,12}|[\"\\\\\n\u{1}]{0,4}",
                0..4u8,
            ),
            1..12,
        )
    ) {
        let texts: Vec<String> = records
            .into_iter()
            .map(|(mut map, message, how)| {
                map.insert("message".to_owned(), message.into());
                let value = serde_json::Value::Object(map.into_iter().collect());
                match how {
                    0 => serde_json::to_string_pretty(&value).unwrap(),
                    1 => serde_json::to_string(&value)
                        .unwrap()
                        .replacen("\"message\"", "\"mess\\u0061ge\"", 1),
                    _ => serde_json::to_string(&value).unwrap(),
                }
            })
            .collect();
        prop_assert_eq!(check_messages(&texts), Some(true));
    }
}

/// The same block in format 1 (every section zstd, no codec bytes), as
/// directories written before format 2 hold it.
fn format_1(encoded: &[u8]) -> Vec<u8> {
    let mut r = Reader::over(encoded);
    let columns = header(&mut r, None).unwrap().names.len();
    // The same header without format 2's flags (after the dictionary set).
    let mut fields = Reader::over(&encoded[4..]);
    fields.varint().unwrap();
    let flags_at = 4 + fields.at;
    fields.varint().unwrap();
    let mut out = MAGIC_1.to_vec();
    out.extend_from_slice(&encoded[4..flags_at]);
    out.extend_from_slice(&encoded[4 + fields.at..r.at]);
    let mut compression = Compression::new(3);
    for _ in 0..3 + columns {
        let raw = read_section(&mut r, true, None).unwrap();
        let mut section = Vec::new();
        compression.section(&mut section, &raw, Codec::Zstd, None);
        out.extend_from_slice(&section[1..]);
    }
    out
}

#[test]
fn blocks_of_format_1_still_decode() {
    let block = logs(500, 64);
    let encoded = encode(&block, 3, None);
    assert_eq!(&encoded[..4], MAGIC);
    let old = format_1(&encoded);
    assert_eq!(&old[..4], MAGIC_1);
    assert_ne!(old, encoded);
    assert_eq!(decode(&old, None).unwrap(), block);
    let messages = decode_messages(&old, None).unwrap();
    for (seq, _, text) in block.records() {
        let record: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            messages.get(seq).map(|m| m.unwrap().into_owned()),
            record["message"].as_str().map(str::to_owned)
        );
    }
}
