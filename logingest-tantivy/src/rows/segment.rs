//! The groups of one segment's matches, read from its index (the parent
//! module says from where and why).
//!
//! A group is known by its key as ordinals (`None` for a record without
//! the field) until the segment is done: a keyword as its column or term
//! ordinal, a bucket as its start. Only then do ordinals become texts, one
//! pass over each dictionary for all of them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use foldhash::fast::FixedState;
use tantivy::columnar::StrColumn;
use tantivy::postings::Postings;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, InvertedIndexReader, SegmentReader, Term, TERMINATED};

use logingest_core::number::Number;
use logingest_core::rows::{too_large, Cell, Groups, Partial};
use logingest_core::{keyword_term, Result, Timestamp};

use super::values::{column_texts, str_column, term_texts, KeyReader, Texts};
use super::{terms, Matched, Plan, Reads, Source, TermField};
use crate::error;
use crate::index::Fields;

/// A group's key, one ordinal per key (`None`: the record has no value).
type Key = Box<[Option<u64>]>;

/// The most values a key's column may have for [`SegmentRows::dense`].
const DENSE_MAX: u64 = 1 << 16;

/// No group: a document that did not match.
const NO_GROUP: u32 = u32::MAX;

/// The groups of one segment.
pub(crate) struct SegmentRows<'a> {
    plan: &'a Plan,
    keys: Vec<KeyReader>,
    kw: Arc<InvertedIndexReader>,
    /// The column of each function that reads one (`count_uniq` of a path
    /// with a column).
    columns: Vec<Option<StrColumn>>,
    index: HashMap<Key, u32, FixedState>,
    /// For one key from a column of at most [`DENSE_MAX`] values: the
    /// group of each ordinal (slot 0: no value), found without hashing.
    dense: Option<Vec<u32>>,
    groups: Vec<Key>,
    /// One per group and function, group-major.
    accs: Vec<Acc>,
    bytes: usize,
    budget: usize,
}

/// What one function holds for one group of a segment.
enum Acc {
    Count(u64),
    /// Column or term ordinals of distinct values.
    Ordinals(HashSet<u64, FixedState>),
    Numbers(Vec<Number>),
    /// Counted across segments.
    Nothing,
}

/// A value read from a term: a number, or the term's ordinal.
#[derive(Clone, Copy)]
enum Value {
    Number(Number),
    Ordinal(u64),
}

impl Acc {
    /// Takes a value a document holds `times` times; returns the bytes
    /// kept.
    fn take(&mut self, value: Value, times: usize) -> usize {
        match (self, value) {
            (Acc::Numbers(all), Value::Number(n)) => {
                all.extend(std::iter::repeat_n(n, times));
                times * size_of::<Number>()
            }
            (Acc::Ordinals(set), Value::Ordinal(ord)) => 16 * usize::from(set.insert(ord)),
            _ => 0,
        }
    }
}

/// The groups of each matching document, for functions read term by term.
struct DocGroups {
    /// The document's group, [`NO_GROUP`], or [`SEVERAL`].
    first: Vec<u32>,
    /// The groups of documents in several.
    more: HashMap<DocId, Vec<u32>, FixedState>,
}

/// A document in several groups (a multi-valued key): see `more`.
const SEVERAL: u32 = u32::MAX - 1;

impl DocGroups {
    fn of(&self, doc: DocId) -> &[u32] {
        let first = &self.first[doc as usize];
        match *first {
            NO_GROUP => &[],
            SEVERAL => self.more.get(&doc).map_or(&[], Vec::as_slice),
            _ => std::slice::from_ref(first),
        }
    }

    /// Puts `doc` in `group` too; returns the bytes that took.
    fn add(&mut self, doc: DocId, group: u32) -> usize {
        let first = &mut self.first[doc as usize];
        match *first {
            NO_GROUP => {
                *first = group;
                0
            }
            SEVERAL => {
                self.more.entry(doc).or_default().push(group);
                size_of::<u32>()
            }
            one => {
                *first = SEVERAL;
                self.more.insert(doc, vec![one, group]);
                64
            }
        }
    }
}

impl<'a> SegmentRows<'a> {
    /// Reads the groups of the matches `m` of `reader`.
    pub(crate) fn new(
        reader: &SegmentReader,
        fields: &Fields,
        plan: &'a Plan,
        m: &Matched,
        budget: usize,
    ) -> Result<Self> {
        let kw = reader.inverted_index(fields.kw).map_err(error::index)?;
        let keys = plan
            .keys
            .iter()
            .map(|source| KeyReader::new(reader, &kw, source, m, budget))
            .collect::<Result<Vec<_>>>()?;
        let columns = plan
            .functions
            .iter()
            .map(|f| match f {
                Reads::Values(Source::Column(path)) => str_column(reader, path),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let dense = match keys.as_slice() {
            [KeyReader::Column(Some(column))] => {
                let values = column.dictionary().num_terms() as u64;
                (values <= DENSE_MAX).then(|| vec![NO_GROUP; values as usize + 1])
            }
            _ => None,
        };
        let mut rows = SegmentRows {
            plan,
            keys,
            kw,
            columns,
            index: HashMap::default(),
            dense,
            groups: Vec::new(),
            accs: Vec::new(),
            bytes: 0,
            budget,
        };
        rows.bytes = rows.keys.iter().map(KeyReader::bytes).sum();
        let term_major = plan
            .functions
            .iter()
            .any(|f| matches!(f, Reads::Values(Source::Terms(_)) | Reads::Numbers(_)));
        let mut doc_groups = term_major.then(|| {
            rows.bytes += reader.max_doc() as usize * size_of::<u32>();
            DocGroups {
                first: vec![NO_GROUP; reader.max_doc() as usize],
                more: HashMap::default(),
            }
        });
        rows.check_budget()?;
        rows.group_documents(reader, fields, m, doc_groups.as_mut())?;
        if let Some(doc_groups) = &doc_groups {
            rows.read_terms(reader, fields, m, doc_groups)?;
        }
        Ok(rows)
    }

    /// Puts each match in its groups, and adds what the functions read
    /// document by document.
    fn group_documents(
        &mut self,
        reader: &SegmentReader,
        fields: &Fields,
        m: &Matched,
        mut doc_groups: Option<&mut DocGroups>,
    ) -> Result<()> {
        let plan = self.plan;
        let exists = plan
            .functions
            .iter()
            .map(|f| match f {
                Reads::Exists(path) => having(reader, fields.path, path, m).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        // Cheap clones (shared column data), so that groups can be added
        // while they are read.
        let columns = self.columns.clone();
        let mut values: Vec<Vec<Option<u64>>> = vec![Vec::new(); self.keys.len()];
        let mut key = vec![None; self.keys.len()];
        let mut at = vec![0usize; self.keys.len()];
        // Neighbouring documents often share a group (a time bucket, no
        // keys at all): the last one found skips the lookup.
        let (mut last_key, mut last_group) = (Vec::new(), None);
        for &doc in &m.docs {
            for (reader, values) in self.keys.iter().zip(&mut values) {
                reader.values(doc, values);
            }
            // Every combination of one value of each key; a record in more
            // groups than the budget holds is refused before they are made,
            // as the reference refuses it.
            let combinations = values.iter().fold(1usize, |n, v| n.saturating_mul(v.len()));
            if combinations.saturating_mul(64).saturating_add(self.bytes) > self.budget {
                return Err(too_large(self.budget));
            }
            at.iter_mut().for_each(|i| *i = 0);
            loop {
                for ((k, values), &i) in key.iter_mut().zip(&values).zip(&at) {
                    *k = values[i];
                }
                let group = match last_group {
                    Some(group) if last_key == key => group,
                    _ => {
                        let group = self.group(&key)?;
                        last_key.clone_from(&key);
                        last_group = Some(group);
                        group
                    }
                };
                if let Some(doc_groups) = doc_groups.as_deref_mut() {
                    self.bytes += doc_groups.add(doc, group);
                }
                let n = plan.functions.len();
                let accs = &mut self.accs[group as usize * n..][..n];
                for (f, acc) in accs.iter_mut().enumerate() {
                    match acc {
                        Acc::Count(count) => {
                            *count += u64::from(exists[f].as_ref().is_none_or(|s| s.contains(doc)))
                        }
                        Acc::Ordinals(_) => {
                            for ord in columns[f].iter().flat_map(|c| c.ords().values_for_doc(doc))
                            {
                                self.bytes += acc.take(Value::Ordinal(ord), 1);
                            }
                        }
                        Acc::Numbers(_) | Acc::Nothing => {}
                    }
                }
                if !next_combination(&mut at, &values) {
                    break;
                }
            }
            self.check_budget()?;
        }
        Ok(())
    }

    /// The index of the group of `key`, made if new.
    fn group(&mut self, key: &[Option<u64>]) -> Result<u32> {
        let slot = match (&self.dense, key) {
            (Some(dense), [ord]) => {
                let slot = ord.map_or(0, |o| o as usize + 1);
                if dense[slot] != NO_GROUP {
                    return Ok(dense[slot]);
                }
                Some(slot)
            }
            _ => None,
        };
        if slot.is_none() {
            if let Some(&group) = self.index.get(key) {
                return Ok(group);
            }
        }
        // Group numbers stay below the markers of `DocGroups`.
        if self.groups.len() >= SEVERAL as usize {
            return Err(too_large(self.budget));
        }
        let group = self.groups.len() as u32;
        let key: Key = key.into();
        match (&mut self.dense, slot) {
            (Some(dense), Some(slot)) => dense[slot] = group,
            _ => {
                self.index.insert(key.clone(), group);
            }
        }
        self.groups.push(key);
        self.accs
            .extend(self.plan.functions.iter().map(|f| match f {
                Reads::Count | Reads::Exists(_) => Acc::Count(0),
                Reads::Values(_) => Acc::Ordinals(HashSet::default()),
                Reads::Numbers(_) => Acc::Numbers(Vec::new()),
                Reads::Distinct => Acc::Nothing,
            }));
        self.bytes += 64 + 24 * self.keys.len() + 32 * self.plan.functions.len();
        Ok(group)
    }

    /// Adds what the functions read term by term: distinct values of a
    /// path without a column, numbers. Functions of the same path share
    /// one pass over its terms (`avg(f), max(f)`).
    fn read_terms(
        &mut self,
        reader: &SegmentReader,
        fields: &Fields,
        m: &Matched,
        doc_groups: &DocGroups,
    ) -> Result<()> {
        let num = reader.inverted_index(fields.num).map_err(error::index)?;
        // (field, path) → the functions reading it.
        let mut passes: Vec<((TermField, &str), Vec<usize>)> = Vec::new();
        for (f, reads) in self.plan.functions.iter().enumerate() {
            let pass = match reads {
                Reads::Values(Source::Terms(path)) => (TermField::Kw, path.as_str()),
                Reads::Numbers(path) => (TermField::Num, path.as_str()),
                _ => continue,
            };
            match passes.iter_mut().find(|(p, _)| *p == pass) {
                Some((_, functions)) => functions.push(f),
                None => passes.push((pass, vec![f])),
            }
        }
        for ((field, path), functions) in passes {
            let numbers = field == TermField::Num;
            let inverted = if numbers { &num } else { &self.kw };
            let lo = keyword_term::prefix(path);
            let hi = keyword_term::prefix_end(path);
            let option = if numbers {
                IndexRecordOption::WithFreqs
            } else {
                IndexRecordOption::Basic
            };
            let mut stream = terms(inverted, &lo, &hi)?;
            while stream.advance() {
                let value = if numbers {
                    let hex = std::str::from_utf8(&stream.key()[lo.len()..]).unwrap_or("");
                    match Number::from_sortable(hex) {
                        Some(number) => Value::Number(number),
                        None => continue,
                    }
                } else {
                    Value::Ordinal(stream.term_ord())
                };
                let mut postings = inverted
                    .read_postings_from_terminfo(stream.value(), option)
                    .map_err(error::index_io)?;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if m.set.contains(doc) {
                        let times = postings.term_freq() as usize;
                        for &group in doc_groups.of(doc) {
                            for &f in &functions {
                                self.bytes += self.accs
                                    [group as usize * self.plan.functions.len() + f]
                                    .take(value, times);
                            }
                        }
                    }
                    doc = postings.advance();
                }
                self.check_budget()?;
            }
        }
        Ok(())
    }

    fn check_budget(&self) -> Result<()> {
        if self.bytes > self.budget {
            return Err(too_large(self.budget));
        }
        Ok(())
    }

    /// Adds the segment's groups to `groups`, their ordinals made texts.
    pub(crate) fn merge_into(self, groups: &mut Groups<'_>) -> Result<()> {
        let plan = self.plan;
        let n = plan.functions.len();
        // The text of every ordinal a key or a function holds.
        let key_texts = self
            .keys
            .iter()
            .enumerate()
            .map(|(k, reader)| {
                let ords = self.groups.iter().filter_map(|key| key[k]);
                reader.texts(&self.kw, plan.keys[k].path(), ords)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut function_texts = Vec::with_capacity(n);
        for (f, reads) in plan.functions.iter().enumerate() {
            let Reads::Values(source) = reads else {
                function_texts.push(HashMap::default());
                continue;
            };
            let ords = self
                .accs
                .iter()
                .skip(f)
                .step_by(n)
                .flat_map(|acc| match acc {
                    Acc::Ordinals(set) => set.iter().copied().collect::<Vec<_>>(),
                    _ => Vec::new(),
                });
            let texts = match source {
                Source::Column(_) => column_texts(self.columns[f].clone(), ords)?,
                Source::Terms(path) => term_texts(&self.kw, path, ords)?,
                // A function's values are a field's, never a bucket.
                Source::Bucket(_) => Texts::default(),
            };
            function_texts.push(texts);
        }
        let mut accs = self.accs.into_iter();
        for key in self.groups {
            let cells = key
                .iter()
                .zip(&plan.keys)
                .zip(&key_texts)
                .map(|((ord, source), texts)| match (ord, source) {
                    (None, _) => Cell::Null,
                    (Some(start), Source::Bucket(_)) => Cell::Time(Timestamp(*start as i64)),
                    (Some(ord), _) => Cell::Text(texts.get(ord).cloned().unwrap_or_default()),
                })
                .collect();
            let partials = accs
                .by_ref()
                .take(n)
                .zip(&function_texts)
                .map(|(acc, texts)| match acc {
                    Acc::Count(count) => Partial::Count(count),
                    Acc::Ordinals(set) => Partial::Values(
                        set.into_iter()
                            .filter_map(|ord| texts.get(&ord).cloned())
                            .collect(),
                    ),
                    Acc::Numbers(numbers) => Partial::Numbers(numbers),
                    Acc::Nothing => Partial::Values(Vec::new()),
                })
                .collect();
            groups.merge(cells, partials)?;
        }
        Ok(())
    }
}

/// Advances `at` to the next combination of one value of each list;
/// false after the last.
fn next_combination(at: &mut [usize], values: &[Vec<Option<u64>>]) -> bool {
    for (i, values) in at.iter_mut().zip(values).rev() {
        *i += 1;
        if *i < values.len() {
            return true;
        }
        *i = 0;
    }
    false
}

/// The matches of `m` that have `path` or a path below it.
fn having(
    reader: &SegmentReader,
    field: Field,
    path: &str,
    m: &Matched,
) -> Result<tantivy::BitSet> {
    let mut set = tantivy::BitSet::with_max_value(reader.max_doc());
    let inverted = reader.inverted_index(field).map_err(error::index)?;
    let term = Term::from_field_text(field, path);
    if let Some(mut postings) = inverted
        .read_postings(&term, IndexRecordOption::Basic)
        .map_err(error::index_io)?
    {
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if m.set.contains(doc) {
                set.insert(doc);
            }
            doc = postings.advance();
        }
    }
    Ok(set)
}
