//! Where a document's values come from, as ordinals, and the texts
//! behind ordinals: a key's values from a time column, a keyword column,
//! or a path's `kw` postings inverted for the matches (the path has no
//! column: unique ids), and the dictionary lookups that turn the ordinals
//! a segment's groups hold into texts once, at its end.

use std::collections::HashMap;

use foldhash::fast::FixedState;
use tantivy::columnar::{Column, StrColumn};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, InvertedIndexReader, SegmentReader, TERMINATED};

use logingest_core::rows::{bucket, too_large};
use logingest_core::{keyword_term, Result, Timestamp};

use super::{terms, Matched, Source};
use crate::columns::column_name;
use crate::error;
use crate::index::names;

/// Texts by ordinal.
pub(super) type Texts = HashMap<u64, String, FixedState>;

/// How a key's values of a document are read.
pub(super) enum KeyReader {
    Bucket {
        ts: Column<i64>,
        step: i64,
    },
    /// `None`: no document of the segment has the path.
    Column(Option<StrColumn>),
    Terms(DocValues),
}

/// Each matching document's term ordinals of one path: `values` of
/// document `d` are `values[offsets[d]..offsets[d + 1]]`, ascending.
pub(super) struct DocValues {
    offsets: Vec<u32>,
    values: Vec<u64>,
}

impl Source {
    pub(super) fn path(&self) -> &str {
        match self {
            Source::Column(path) | Source::Terms(path) => path,
            Source::Bucket(_) => "",
        }
    }
}

impl KeyReader {
    pub(super) fn new(
        reader: &SegmentReader,
        kw: &InvertedIndexReader,
        source: &Source,
        m: &Matched,
        budget: usize,
    ) -> Result<Self> {
        Ok(match source {
            Source::Bucket(step) => KeyReader::Bucket {
                ts: reader.fast_fields().i64(names::TS).map_err(error::index)?,
                step: *step,
            },
            Source::Column(path) => KeyReader::Column(str_column(reader, path)?),
            Source::Terms(path) => {
                KeyReader::Terms(DocValues::invert(kw, path, m, reader.max_doc(), budget)?)
            }
        })
    }

    /// About how many bytes the reader holds.
    pub(super) fn bytes(&self) -> usize {
        match self {
            KeyReader::Terms(values) => values.bytes(),
            _ => 0,
        }
    }

    /// The key's distinct values of `doc` into `out`; `[None]` for none.
    pub(super) fn values(&self, doc: DocId, out: &mut Vec<Option<u64>>) {
        out.clear();
        match self {
            KeyReader::Bucket { ts, step } => {
                let t = ts.first(doc).unwrap_or_default();
                out.push(Some(bucket(Timestamp(t), *step).0 as u64));
            }
            KeyReader::Column(Some(column)) => {
                out.extend(column.ords().values_for_doc(doc).map(Some));
                out.sort_unstable();
                out.dedup();
            }
            KeyReader::Column(None) => {}
            KeyReader::Terms(values) => {
                let d = doc as usize;
                let (start, end) = (values.offsets[d], values.offsets[d + 1]);
                out.extend(
                    values.values[start as usize..end as usize]
                        .iter()
                        .map(|&v| Some(v)),
                );
            }
        }
        if out.is_empty() {
            out.push(None);
        }
    }

    /// The texts of the ordinals `ords` of this key.
    pub(super) fn texts(
        &self,
        kw: &InvertedIndexReader,
        path: &str,
        ords: impl Iterator<Item = u64>,
    ) -> Result<Texts> {
        match self {
            KeyReader::Bucket { .. } | KeyReader::Column(None) => Ok(HashMap::default()),
            KeyReader::Column(Some(column)) => column_texts(Some(column.clone()), ords),
            KeyReader::Terms(_) => term_texts(kw, path, ords),
        }
    }
}

impl DocValues {
    /// The term ordinals of `path`'s values of each match of `m`.
    /// Refused once it would hold more than `budget` bytes.
    fn invert(
        kw: &InvertedIndexReader,
        path: &str,
        m: &Matched,
        max_doc: DocId,
        budget: usize,
    ) -> Result<DocValues> {
        // `offsets` and its copy while filling `values`.
        let fixed = (max_doc as usize + 1) * 2 * size_of::<u32>();
        let pair = size_of::<(DocId, u64)>() + size_of::<u64>();
        let lo = keyword_term::prefix(path);
        let hi = keyword_term::prefix_end(path);
        let mut pairs: Vec<(DocId, u64)> = Vec::new();
        let mut stream = terms(kw, &lo, &hi)?;
        while stream.advance() {
            let ord = stream.term_ord();
            let mut postings = kw
                .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                .map_err(error::index_io)?;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if m.set.contains(doc) {
                    pairs.push((doc, ord));
                }
                doc = postings.advance();
            }
            if fixed + pairs.len() * pair > budget {
                return Err(too_large(budget));
            }
        }
        // Counting sort by document; each document's ordinals stay in term
        // order.
        let mut offsets = vec![0u32; max_doc as usize + 1];
        for &(doc, _) in &pairs {
            offsets[doc as usize + 1] += 1;
        }
        for d in 1..offsets.len() {
            offsets[d] += offsets[d - 1];
        }
        let mut next = offsets.clone();
        let mut values = vec![0; pairs.len()];
        for (doc, ord) in pairs {
            let at = &mut next[doc as usize];
            values[*at as usize] = ord;
            *at += 1;
        }
        Ok(DocValues { offsets, values })
    }

    fn bytes(&self) -> usize {
        self.offsets.len() * size_of::<u32>() + self.values.len() * size_of::<u64>()
    }
}

/// The column of `path` in the segment, if a document of it has one.
pub(super) fn str_column(reader: &SegmentReader, path: &str) -> Result<Option<StrColumn>> {
    reader
        .fast_fields()
        .str(&column_name(names::COL, path))
        .map_err(error::index)
}

/// The texts of column ordinals.
pub(super) fn column_texts(
    column: Option<StrColumn>,
    ords: impl Iterator<Item = u64>,
) -> Result<Texts> {
    let mut out = HashMap::default();
    let Some(column) = column else {
        return Ok(out);
    };
    let ords = sorted(ords);
    let mut next = ords.iter();
    column
        .dictionary()
        .sorted_ords_to_term_cb(&ords, |text| {
            if let Some(&ord) = next.next() {
                out.insert(ord, String::from_utf8_lossy(text).into_owned());
            }
        })
        .map_err(error::index_io)?;
    Ok(out)
}

/// The values of `kw` term ordinals of `path`: each looked up alone when
/// they are few, else read in one pass over the path's terms (a lookup
/// decodes a dictionary block).
pub(super) fn term_texts(
    kw: &InvertedIndexReader,
    path: &str,
    ords: impl Iterator<Item = u64>,
) -> Result<Texts> {
    const LOOKUPS: usize = 256;
    let lo = keyword_term::prefix(path);
    let hi = keyword_term::prefix_end(path);
    let ords = sorted(ords);
    let mut out = HashMap::default();
    let mut text = |ord: u64, term: &[u8]| {
        let value = term.get(lo.len()..).unwrap_or_default();
        out.insert(ord, String::from_utf8_lossy(value).into_owned());
    };
    if ords.len() <= LOOKUPS {
        let mut term = Vec::new();
        for &ord in &ords {
            if kw
                .terms()
                .ord_to_term(ord, &mut term)
                .map_err(error::index_io)?
            {
                text(ord, &term);
            }
        }
    } else {
        let mut stream = terms(kw, &lo, &hi)?;
        let mut wanted = ords.iter().peekable();
        while let Some(&&ord) = wanted.peek() {
            if !stream.advance() {
                break;
            }
            if stream.term_ord() == ord {
                text(ord, stream.key());
                wanted.next();
            }
        }
    }
    Ok(out)
}

fn sorted(ords: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut ords: Vec<u64> = ords.collect();
    ords.sort_unstable();
    ords.dedup();
    ords
}
