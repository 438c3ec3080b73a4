//! The block codec: many records' exact JSON text in one compressed value.
//!
//! One row per record cannot be compressed well: each row is compressed
//! alone, or not at all. A block holds up to a few thousand consecutive
//! records and splits them **by column** before compressing, because values
//! of one field compress far better next to each other (timestamps next to
//! timestamps, service names next to service names) than interleaved with
//! the rest of the record:
//!
//! - each record's text becomes a *shape*: the text with every scalar value
//!   (string with its quotes, number, `true`, `false`, `null`) cut out and
//!   replaced by a marker byte `0x00` and the number of its column. Records
//!   of the same structure have the same shape, which compresses to almost
//!   nothing; spacing, key order and escapes stay in the shape, so the text
//!   comes back byte for byte;
//! - each value goes, as its exact JSON text, to the column of its path
//!   (`metadata.region`; array elements to `path[]`);
//! - the records' sequence numbers and times are kept as varint deltas,
//!   times in the coarsest power-of-ten unit they share; a top-level
//!   `timestamp` spelled exactly as the parser spells that time is not kept
//!   but written again from it.
//!
//! Every section is compressed on its own ([`codec`]): with zstd, the shapes
//! and each column with the trained dictionary of that column when the
//! block names a dictionary set ([`Dictionaries`]), so that small blocks (a
//! page of hits decodes every block it touches whole) compress as well as
//! large ones; the `message` column with lz4, because message regexes
//! verify their candidates on it ([`messages`]). `0x00` can mark values
//! because valid JSON has no raw NUL byte outside strings and none inside
//! (control characters must be escaped), and every stored record was
//! validated by the parser. Should a text still not scan, the whole text is
//! kept as one value of a column of its own, so encoding never fails.
//!
//! Layout of an encoded block (`v` a LEB128 varint, `u8` one byte):
//!
//! ```text
//! "LGB2"  v:dictionary_set  v:flags  v:records  v:columns  (v:name_len name)*columns
//!         (flags: 1 = the `message` column holds each record's message, in order)
//! section*(3 + columns)   each: u8:codec v:raw_len v:len bytes
//!                         (codec 0 zstd, 1 lz4; format 1, "LGB1": no codec, all zstd)
//! sections: seqs (first, then deltas), times (v:exponent, then zigzag
//!           deltas in units of 10^exponent ns),
//!           shapes (v:len per record, then the bytes),
//!           each column (v:values, v:len per value, then the bytes)
//! ```
//!
//! Integrity is checked by the store (a checksum over the encoded bytes);
//! decoding also refuses anything inconsistent, so a damaged block is an
//! error, never wrong text.

use codec::{read_section, skip_section, Codec, Compression};
pub(crate) use dictionaries::Dictionaries;
pub(crate) use messages::{decode_messages, Messages};
use scan::{split, Columns};
use time::time_text;

mod codec;
mod dictionaries;
mod messages;
mod scan;
mod time;

/// First bytes of every encoded block (format version 2).
const MAGIC: &[u8; 4] = b"LGB2";

/// Header flag (format 2): every record put exactly one value in the
/// `message` column, so its values are the records' messages in order.
const MESSAGES_ALIGNED: u64 = 1;

/// First bytes of blocks of format 1, whose sections are all zstd.
const MAGIC_1: &[u8; 4] = b"LGB1";

/// The column of records' messages.
const MESSAGE: &str = "message";

/// Marks a cut-out value in a shape.
const MARKER: u8 = 0x00;

/// The top-level field whose text the codec can derive from the time.
const TIMESTAMP: &str = "timestamp";

/// Column of records whose text did not scan (kept whole).
const WHOLE: &str = "\0whole";

/// A decoded block: the records' sequence numbers, timestamps and texts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Block {
    pub seqs: Vec<u64>,
    pub timestamps: Vec<i64>,
    /// Every record's text, concatenated.
    text: String,
    /// End of each record's text in `text`.
    ends: Vec<usize>,
}

impl Block {
    /// Starts an empty block.
    pub fn new() -> Self {
        Block::default()
    }

    /// Appends a record.
    pub fn push(&mut self, seq: u64, timestamp: i64, text: &str) {
        self.seqs.push(seq);
        self.timestamps.push(timestamp);
        self.text.push_str(text);
        self.ends.push(self.text.len());
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether the block holds no record.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// The text of record `i`.
    pub fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// Every record as `(seq, timestamp, text)`, in order.
    pub fn records(&self) -> impl Iterator<Item = (u64, i64, &str)> + '_ {
        (0..self.len()).map(|i| (self.seqs[i], self.timestamps[i], self.text(i)))
    }

    /// The text of the record with sequence number `seq`, if it is here.
    pub fn find(&self, seq: u64) -> Option<&str> {
        self.seqs.binary_search(&seq).ok().map(|i| self.text(i))
    }

    /// Bytes of record text, the unit of the cache's budget.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// Memory the decoded block holds, bytes (for the cache budget).
    pub fn memory(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 8 + self.seqs.capacity() * 16
    }
}

/// Why a block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DecodeError(String);

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError(what.into())
}

/// The uncompressed sections of a block, as `encode` lays them out.
pub(crate) struct Sections {
    /// Column paths, in column order.
    pub names: Vec<String>,
    pub seqs: Vec<u8>,
    pub times: Vec<u8>,
    pub shapes: Vec<u8>,
    /// Per column: the value count, the lengths, the values.
    pub columns: Vec<Vec<u8>>,
    /// Whether every record put exactly one value in the `message` column
    /// (its values are then the records' messages, in record order).
    pub messages_aligned: bool,
}

/// Name under which the shapes section finds its dictionary.
pub(crate) const SHAPES: &str = "\0shapes";

/// Splits `block` into its uncompressed sections.
pub(crate) fn sections(block: &Block) -> Sections {
    let mut columns = Columns::default();
    let mut shapes = Vec::with_capacity(block.text_bytes() / 2);
    let mut shape_lens = Vec::with_capacity(block.len() * 2);
    let mut shape = Vec::with_capacity(512);
    let mut messages_aligned = true;
    for i in 0..block.len() {
        shape.clear();
        let messages_before = columns.count(MESSAGE);
        let text = block.text(i);
        let derived = time_text(block.timestamps[i]);
        // A raw NUL would read as a marker; valid JSON has none.
        let scannable = !text.as_bytes().contains(&MARKER);
        if !scannable
            || split(
                text.as_bytes(),
                &mut columns,
                &mut shape,
                derived.as_bytes(),
            )
            .is_err()
        {
            // Not reached for validated records; keep the text whole.
            columns.rollback();
            shape.clear();
            columns.put(WHOLE, text.as_bytes(), &mut shape);
        }
        messages_aligned &= columns.count(MESSAGE) == messages_before + 1;
        columns.commit();
        put_varint(&mut shape_lens, shape.len() as u64);
        shapes.extend_from_slice(&shape);
    }
    shape_lens.extend_from_slice(&shapes);
    let mut seqs = Vec::with_capacity(block.len() * 2);
    let mut previous = 0u64;
    for &seq in &block.seqs {
        put_varint(&mut seqs, seq.wrapping_sub(previous));
        previous = seq;
    }
    // Deltas in the coarsest unit every time is a whole multiple of
    // (10^6 ns for millisecond times): one byte a record, not four.
    let exponent = (0..=9u32)
        .rev()
        .find(|&k| {
            let unit = 10i64.pow(k);
            block.timestamps.iter().all(|t| t % unit == 0)
        })
        .unwrap_or(0);
    let unit = 10i64.pow(exponent);
    let mut times = Vec::with_capacity(block.len() * 2 + 1);
    put_varint(&mut times, u64::from(exponent));
    let mut previous = 0i64;
    for &ts in &block.timestamps {
        put_varint(&mut times, zigzag((ts / unit).wrapping_sub(previous)));
        previous = ts / unit;
    }
    let values = columns
        .values
        .iter()
        .map(|column| {
            let mut raw = Vec::with_capacity(column.bytes.len() + column.lens.len() + 4);
            put_varint(&mut raw, column.count);
            raw.extend_from_slice(&column.lens);
            raw.extend_from_slice(&column.bytes);
            raw
        })
        .collect();
    Sections {
        names: columns.names,
        seqs,
        times,
        shapes: shape_lens,
        messages_aligned,
        columns: values,
    }
}

/// Encodes `block` at zstd `level`, using the trained dictionary of each
/// zstd column that `dictionaries` has (`codec` says which columns are not).
pub(crate) fn encode(block: &Block, level: i32, dictionaries: Option<&Dictionaries>) -> Vec<u8> {
    let sections = sections(block);
    let mut out = Vec::with_capacity(block.text_bytes() / 4);
    out.extend_from_slice(MAGIC);
    put_varint(&mut out, dictionaries.map_or(0, |d| d.id) as u64);
    let flags = if sections.messages_aligned {
        MESSAGES_ALIGNED
    } else {
        0
    };
    put_varint(&mut out, flags);
    put_varint(&mut out, block.len() as u64);
    put_varint(&mut out, sections.names.len() as u64);
    for name in &sections.names {
        put_varint(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
    }
    let mut compression = Compression::new(level);
    compression.section(&mut out, &sections.seqs, Codec::Zstd, None);
    compression.section(&mut out, &sections.times, Codec::Zstd, None);
    let dictionary = |name: &str| dictionaries.and_then(|d| d.raw(name));
    compression.section(&mut out, &sections.shapes, Codec::Zstd, dictionary(SHAPES));
    for (name, raw) in sections.names.iter().zip(&sections.columns) {
        let codec = Codec::of_column(name);
        let dictionary = dictionary(name).filter(|_| codec == Codec::Zstd);
        compression.section(&mut out, raw, codec, dictionary);
    }
    out
}

/// Decodes an encoded block.
///
/// `dictionaries` must be the set the block names in its header
/// ([`dictionary_id`]), if it names one.
pub(crate) fn decode(
    data: &[u8],
    dictionaries: Option<&Dictionaries>,
) -> Result<Block, DecodeError> {
    let mut r = Reader { data, at: 0 };
    let Header {
        n, names, codecs, ..
    } = header(&mut r, dictionaries)?;
    let column_count = names.len();
    let dictionary = |name: &str| dictionaries.and_then(|d| d.decoder(name));
    let section = |r: &mut Reader, dictionary| read_section(r, codecs, dictionary);
    let seqs = seqs(&section(&mut r, None)?, n)?;
    let time_section = section(&mut r, None)?;
    let mut timestamps = Vec::with_capacity(n);
    let mut t = Reader::over(&time_section);
    let exponent = u32::try_from(t.varint()?)
        .ok()
        .filter(|&k| k <= 9)
        .ok_or_else(|| bad("implausible time unit"))?;
    let unit = 10i64.pow(exponent);
    let mut previous = 0i64;
    for _ in 0..n {
        previous = previous.wrapping_add(unzigzag(t.varint()?));
        timestamps.push(previous.wrapping_mul(unit));
    }
    let shape_section = section(&mut r, dictionary(SHAPES))?;
    let mut shape_reader = Reader::over(&shape_section);
    let mut shape_lens = Vec::with_capacity(n);
    for _ in 0..n {
        shape_lens.push(shape_reader.count()?);
    }
    let column_sections: Vec<Vec<u8>> = names
        .iter()
        .map(|name| section(&mut r, dictionary(name)))
        .collect::<Result<_, _>>()?;
    if r.at != data.len() {
        return Err(bad("trailing bytes after the last section"));
    }
    let mut columns: Vec<ColumnReader> = column_sections
        .iter()
        .map(|raw| ColumnReader::new(raw))
        .collect::<Result<_, _>>()?;

    let mut text = Vec::with_capacity(shape_section.len() * 3);
    let mut ends = Vec::with_capacity(n);
    let timestamp_column = names.iter().position(|&name| name == TIMESTAMP);
    for (record, len) in shape_lens.into_iter().enumerate() {
        let mut shape = Reader::over(shape_reader.bytes(len)?);
        while shape.at < shape.data.len() {
            let rest = &shape.data[shape.at..];
            let plain = rest.iter().position(|&b| b == MARKER).unwrap_or(rest.len());
            text.extend_from_slice(&rest[..plain]);
            shape.at += plain;
            if shape.at < shape.data.len() {
                shape.at += 1;
                let id = shape.count()?;
                let column = columns
                    .get_mut(id)
                    .ok_or_else(|| bad(format!("shape names column {id} of {column_count}")))?;
                let value = column.next()?;
                if value.is_empty() && Some(id) == timestamp_column {
                    text.extend_from_slice(time_text(timestamps[record]).as_bytes());
                } else {
                    text.extend_from_slice(value);
                }
            }
        }
        ends.push(text.len());
    }
    if columns.iter().any(|c| c.remaining != 0) {
        return Err(bad("a column has values no shape uses"));
    }
    let text = String::from_utf8(text).map_err(|_| bad("record text is not UTF-8"))?;
    Ok(Block {
        seqs,
        timestamps,
        text,
        ends,
    })
}

/// What an encoded block's header says.
struct Header<'a> {
    /// Records in the block.
    n: usize,
    /// Its columns, in section order.
    names: Vec<&'a str>,
    /// Whether each section starts with its codec (format 2).
    codecs: bool,
    /// Whether the `message` column holds each record's message in order:
    /// said by the header (format 2), or `None` (format 1: not known).
    messages_aligned: Option<bool>,
}

/// Reads an encoded block's header, after checking it was written with
/// `dictionaries`.
fn header<'a>(
    r: &mut Reader<'a>,
    dictionaries: Option<&Dictionaries>,
) -> Result<Header<'a>, DecodeError> {
    let codecs = match r.bytes(4)? {
        magic if magic == MAGIC => true,
        magic if magic == MAGIC_1 => false,
        _ => return Err(bad("not a block (bad magic bytes)")),
    };
    let dictionary_id = r.varint()?;
    let given = dictionaries.map_or(0, |d| d.id as u64);
    if dictionary_id != given {
        return Err(bad(format!(
            "written with dictionary set {dictionary_id}, decoded with {given}"
        )));
    }
    let messages_aligned = if codecs {
        Some(r.varint()? & MESSAGES_ALIGNED != 0)
    } else {
        None
    };
    let n = r.count()?;
    let column_count = r.count()?;
    let mut names = Vec::with_capacity(column_count);
    for _ in 0..column_count {
        let len = r.count()?;
        names
            .push(std::str::from_utf8(r.bytes(len)?).map_err(|_| bad("column name is not UTF-8"))?);
    }
    Ok(Header {
        n,
        names,
        codecs,
        messages_aligned,
    })
}

/// The `n` sequence numbers of a block's first section.
fn seqs(section: &[u8], n: usize) -> Result<Vec<u64>, DecodeError> {
    let mut seqs = Vec::with_capacity(n);
    let mut s = Reader::over(section);
    let mut previous = 0u64;
    for _ in 0..n {
        previous = previous.wrapping_add(s.varint()?);
        seqs.push(previous);
    }
    if seqs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad("sequence numbers out of order"));
    }
    Ok(seqs)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over encoded bytes; every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn over(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at).ok_or_else(|| bad("truncated"))?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint longer than 64 bits"))
    }

    /// A varint used as a count or length: it must fit what is left.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= self.data.len().max(1 << 24))
            .ok_or_else(|| bad(format!("implausible count {v}")))
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(len).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| bad("truncated"))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
}

/// The values of one column, read in order.
struct ColumnReader<'a> {
    lens: Reader<'a>,
    bytes: Reader<'a>,
    remaining: u64,
}

impl<'a> ColumnReader<'a> {
    fn new(raw: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::over(raw);
        let count = r.varint()?;
        let lens_start = r.at;
        let mut total = 0usize;
        for _ in 0..count {
            total = total
                .checked_add(r.count()?)
                .ok_or_else(|| bad("column too long"))?;
        }
        let lens = &raw[lens_start..r.at];
        if raw.len() - r.at != total {
            return Err(bad("column bytes do not match their lengths"));
        }
        Ok(ColumnReader {
            lens: Reader::over(lens),
            bytes: Reader::over(&raw[r.at..]),
            remaining: count,
        })
    }

    fn next(&mut self) -> Result<&'a [u8], DecodeError> {
        if self.remaining == 0 {
            return Err(bad("a shape uses more values than its column has"));
        }
        self.remaining -= 1;
        let len = self.lens.count()?;
        self.bytes.bytes(len)
    }
}

#[cfg(test)]
mod tests;
