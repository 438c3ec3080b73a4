//! Trained zstd dictionaries of the block codec: one per column path (of
//! the columns compressed with zstd).
//!
//! A block is small so that a page of hits decodes little, and zstd alone
//! compresses a small input poorly: it has seen none of the text before.
//! A dictionary trained on the same column of earlier records gives it that
//! history: measured on generator records, blocks of 512 records compress
//! to 53 bytes a record without dictionaries and to 49 with them, as well
//! as blocks of 4,096 without. A *set* (the dictionaries of every column
//! seen in the training records) is stored once in the record store; each
//! block names the set it was written with and is decoded with exactly it.

use std::collections::HashMap;

use zstd::dict::DecoderDictionary;

use super::{bad, put_varint, sections, Block, Codec, DecodeError, Reader, SHAPES};

/// Records per training sample: about the size of one column of a block.
const SAMPLE_RECORDS: usize = 64;

/// Largest dictionary of one column, bytes.
const DICTIONARY_BYTES: usize = 16 << 10;

/// A column needs this many sample bytes before it gets a dictionary.
const MIN_SAMPLE_BYTES: usize = 8 << 10;

/// The dictionaries of one set, by column path.
pub(crate) struct Dictionaries {
    /// The set's id (`> 0`), named by the blocks written with it.
    pub id: i64,
    columns: HashMap<String, Prepared>,
}

/// A dictionary as stored (compression loads it raw, see
/// `block::Compression`) and prepared for decompression.
struct Prepared {
    raw: Vec<u8>,
    decoder: DecoderDictionary<'static>,
}

impl Prepared {
    fn new(raw: Vec<u8>) -> Self {
        Prepared {
            decoder: DecoderDictionary::copy(&raw),
            raw,
        }
    }
}

impl std::fmt::Debug for Dictionaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionaries")
            .field("id", &self.id)
            .field("columns", &self.columns.len())
            .finish()
    }
}

impl Dictionaries {
    /// Trains a set on `records` (recent records of the store). Columns
    /// with too little text get none.
    pub fn train(id: i64, records: &Block) -> Self {
        let mut samples: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        let mut group = Block::new();
        for (i, (seq, ts, text)) in records.records().enumerate() {
            group.push(seq, ts, text);
            if group.len() == SAMPLE_RECORDS || i + 1 == records.len() {
                let sections = sections(&group);
                samples
                    .entry(SHAPES.to_owned())
                    .or_default()
                    .push(sections.shapes);
                for (name, raw) in sections.names.into_iter().zip(sections.columns) {
                    // lz4 columns use no dictionary.
                    if Codec::of_column(&name) == Codec::Zstd {
                        samples.entry(name).or_default().push(raw);
                    }
                }
                group = Block::new();
            }
        }
        let columns = samples
            .into_iter()
            .filter(|(_, s)| {
                s.len() >= 8 && s.iter().map(Vec::len).sum::<usize>() >= MIN_SAMPLE_BYTES
            })
            .filter_map(|(name, s)| {
                // Training fails on inputs with too little variety; such a
                // column compresses well without a dictionary anyway.
                let raw = zstd::dict::from_samples(&s, DICTIONARY_BYTES).ok()?;
                Some((name, Prepared::new(raw)))
            })
            .collect();
        Dictionaries { id, columns }
    }

    /// Whether the set has no dictionary at all.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The dictionary for compressing `column`, if the set has one.
    pub fn raw(&self, column: &str) -> Option<&[u8]> {
        self.columns.get(column).map(|p| p.raw.as_slice())
    }

    /// The dictionary for decompressing `column`, if the set has one.
    pub fn decoder(&self, column: &str) -> Option<&DecoderDictionary<'static>> {
        self.columns.get(column).map(|p| &p.decoder)
    }

    /// The set as stored: `v:count (v:name_len name v:len dictionary)*`,
    /// columns in name order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut names: Vec<&String> = self.columns.keys().collect();
        names.sort();
        let mut out = Vec::new();
        put_varint(&mut out, names.len() as u64);
        for name in names {
            let raw = &self.columns[name].raw;
            put_varint(&mut out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
            put_varint(&mut out, raw.len() as u64);
            out.extend_from_slice(raw);
        }
        out
    }

    /// Reads a set stored by [`Dictionaries::to_bytes`].
    pub fn from_bytes(id: i64, bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::over(bytes);
        let count = r.count()?;
        let mut columns = HashMap::with_capacity(count);
        for _ in 0..count {
            let len = r.count()?;
            let name = std::str::from_utf8(r.bytes(len)?)
                .map_err(|_| bad("dictionary name is not UTF-8"))?
                .to_owned();
            let len = r.count()?;
            let raw = r.bytes(len)?.to_vec();
            columns.insert(name, Prepared::new(raw));
        }
        if r.at != bytes.len() {
            return Err(bad("trailing bytes after the last dictionary"));
        }
        Ok(Dictionaries { id, columns })
    }
}
