//! The tantivy document of a record.

use logingest_core::keyword_term;
use logingest_core::number;
use logingest_core::Record;
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf, Value};
use tantivy::TantivyDocument;

use super::Fields;
use crate::columns::KeywordColumns;

/// The tantivy document of one record; its keyword values go to the `col`
/// column of their path where `columns` gives the path one.
pub(crate) fn document(
    fields: &Fields,
    columns: &KeywordColumns,
    seq: u64,
    record: &Record,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.seq, seq);
    doc.add_i64(fields.ts, record.timestamp().as_nanos());
    doc.add_text(fields.message, record.message());
    // Every path and each parent (`a.b.c` → `a.b`, `a`) answers `field:*`;
    // sorted and deduplicated at the end, so a record with many keys costs
    // n log n, not n².
    let mut paths: Vec<&str> = Vec::new();
    let mut object: Vec<(&str, &str)> = Vec::new();
    for (path, value) in record.keywords() {
        doc.add_text(fields.kw, keyword_term::text(path, value));
        if columns.has_column(path) {
            object.push((path, value));
        }
        let mut p = path.as_str();
        loop {
            paths.push(p);
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
    }
    for (path, n) in record.all_numbers() {
        doc.add_text(fields.num, number::term(path, n));
    }
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        doc.add_text(fields.path, p);
    }
    if !object.is_empty() {
        doc.add_field_value(fields.col, Columns::Object(&object));
    }
    doc
}

/// The `col` value of a document, borrowed from its record: an object with
/// one key a value (a path's values repeat its key: tantivy records each as
/// a value of the key's column). Saves two strings a value that an
/// `OwnedValue` would copy before tantivy copies them again.
#[derive(Debug, Clone, Copy)]
enum Columns<'a> {
    Object(&'a [(&'a str, &'a str)]),
    Str(&'a str),
}

type Pairs<'a> = std::slice::Iter<'a, (&'a str, &'a str)>;

impl<'a> Value<'a> for Columns<'a> {
    type ArrayIter = std::iter::Empty<Self>;
    type ObjectIter = std::iter::Map<Pairs<'a>, fn(&'a (&'a str, &'a str)) -> (&'a str, Self)>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        match *self {
            Columns::Object(pairs) => {
                let pair: fn(&'a (&'a str, &'a str)) -> (&'a str, Self) =
                    |&(path, value)| (path, Columns::Str(value));
                ReferenceValue::Object(pairs.iter().map(pair))
            }
            Columns::Str(value) => ReferenceValue::Leaf(ReferenceValueLeaf::Str(value)),
        }
    }
}
