//! The messages of a block without the rest of its records: what a message
//! regex is verified on.
//!
//! Why: the index keeps no copy of the messages (at 1M generator records
//! the copy was 38 of the directory's 211 bytes a record). A regex's
//! candidates are verified on the record store instead, and a block's
//! `message` column is one section of its many (lz4, for this reason: see
//! `codec`): decompressing it alone, with no record text assembled, is most
//! of the cost saved.
//!
//! The column holds each record's `message` as its JSON string text, in
//! record order, when every record of the block put exactly one value in it
//! (a key spelled with escapes names the column of the key it means). The
//! encoder says so in the block's header; a block that does not say it (a
//! record kept whole, or a block of format 1, whose header cannot) is
//! decoded whole and its messages read from the records' text.

use std::borrow::Cow;

use super::{
    bad, decode, header, read_section, seqs, skip_section, ColumnReader, DecodeError, Dictionaries,
    Header, Reader, MESSAGE,
};

/// The sequence numbers and messages of one block's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Messages {
    seqs: Vec<u64>,
    /// Every message as JSON string text (quotes and escapes), from
    /// `start` on: a message is checked and unescaped only if a regex
    /// reads it.
    json: Vec<u8>,
    start: usize,
    /// End of each message in `json`, from `start`.
    ends: Vec<usize>,
}

impl Messages {
    /// The first record's sequence number.
    pub fn first_seq(&self) -> Option<u64> {
        self.seqs.first().copied()
    }

    /// The last record's sequence number.
    pub fn last_seq(&self) -> Option<u64> {
        self.seqs.last().copied()
    }

    /// Whether `seq` lies in the block's range (it may be a hole).
    pub fn holds(&self, seq: u64) -> bool {
        self.first_seq().is_some_and(|first| first <= seq)
            && self.last_seq().is_some_and(|last| seq <= last)
    }

    /// The message of the record `seq`, if the block has that record.
    pub fn get(&self, seq: u64) -> Option<Result<Cow<'_, str>, DecodeError>> {
        let i = self.seqs.binary_search(&seq).ok()?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let json = &self.json[self.start + start..self.start + self.ends[i]];
        Some(
            std::str::from_utf8(json)
                .map_err(|_| bad("a message is not UTF-8"))
                .and_then(unquoted),
        )
    }
}

/// A JSON string's value: borrowed when it has no escape.
fn unquoted(json: &str) -> Result<Cow<'_, str>, DecodeError> {
    let inner = json
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|s| !s.bytes().any(|b| b == b'"' || b == b'\\'));
    match inner {
        Some(plain) => Ok(Cow::Borrowed(plain)),
        None => serde_json::from_str::<String>(json)
            .map(Cow::Owned)
            .map_err(|e| bad(format!("a message is not a JSON string: {e}"))),
    }
}

/// Decodes the messages of an encoded block (see [`decode`] for
/// `dictionaries`).
pub(crate) fn decode_messages(
    data: &[u8],
    dictionaries: Option<&Dictionaries>,
) -> Result<Messages, DecodeError> {
    let mut r = Reader { data, at: 0 };
    let Header {
        n,
        names,
        codecs,
        messages_aligned,
    } = header(&mut r, dictionaries)?;
    let message = names.iter().position(|&name| name == MESSAGE);
    let (Some(message), Some(true)) = (message, messages_aligned) else {
        return from_records(data, dictionaries);
    };
    let seqs = seqs(&read_section(&mut r, codecs, None)?, n)?;
    // The times and the shapes, then the columns before the messages.
    for _ in 0..2 + message {
        skip_section(&mut r, codecs)?;
    }
    let dictionary = dictionaries.and_then(|d| d.decoder(MESSAGE));
    let raw = read_section(&mut r, codecs, dictionary)?;
    let (start, ends) = {
        let mut column = ColumnReader::new(&raw)?;
        if column.remaining != n as u64 {
            return Err(bad("the message column's values do not match its records"));
        }
        let start = raw.len() - column.bytes.data.len();
        let mut ends = Vec::with_capacity(n);
        for _ in 0..n {
            column.next()?;
            ends.push(column.bytes.at);
        }
        (start, ends)
    };
    Ok(Messages {
        seqs,
        json: raw,
        start,
        ends,
    })
}

/// The messages of a block decoded whole, read from its records' text.
fn from_records(data: &[u8], dictionaries: Option<&Dictionaries>) -> Result<Messages, DecodeError> {
    /// A record's message; its other members are skipped unread.
    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(borrow)]
        message: Cow<'a, str>,
    }
    let block = decode(data, dictionaries)?;
    let mut json = Vec::new();
    let mut ends = Vec::with_capacity(block.len());
    for (_, _, source) in block.records() {
        let record: Record =
            serde_json::from_str(source).map_err(|e| bad(format!("a record's message: {e}")))?;
        serde_json::to_writer(&mut json, &record.message).expect("writes to a Vec");
        ends.push(json.len());
    }
    Ok(Messages {
        seqs: block.seqs,
        json,
        start: 0,
        ends,
    })
}
