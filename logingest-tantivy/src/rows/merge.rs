//! The term streams of several segments merged in order, each distinct
//! term once with the segments that hold it.
//!
//! Why not tantivy's `TermMerger`: it keeps the streams themselves in a
//! binary heap, and a stream is a few hundred bytes moved at every step;
//! merging a million ids spent a third of its time moving them. This heap
//! holds stream indices and compares the streams' current keys.

use tantivy::termdict::TermStreamer;

/// Merges term streams; see the module documentation.
pub(crate) struct Merge<'a> {
    streams: Vec<TermStreamer<'a>>,
    /// A min-heap of stream indices, by each stream's current key.
    heap: Vec<usize>,
    /// The streams at the current key (to advance at the next step).
    current: Vec<usize>,
}

impl<'a> Merge<'a> {
    /// Merges `streams`, none advanced yet.
    pub(crate) fn new(streams: Vec<TermStreamer<'a>>) -> Self {
        let current = (0..streams.len()).collect();
        Merge {
            streams,
            heap: Vec::new(),
            current,
        }
    }

    /// Moves to the next distinct term; false after the last.
    pub(crate) fn advance(&mut self) -> bool {
        for i in std::mem::take(&mut self.current) {
            if self.streams[i].advance() {
                self.push(i);
            }
        }
        let Some(first) = self.pop() else {
            return false;
        };
        self.current.push(first);
        while let Some(&top) = self.heap.first() {
            if self.streams[top].key() != self.streams[first].key() {
                break;
            }
            let same = self.pop().unwrap_or(top);
            self.current.push(same);
        }
        true
    }

    /// The segments (indices into the streams given) holding the current
    /// term, with the stream to read its value from.
    pub(crate) fn current(&self) -> impl Iterator<Item = (usize, &TermStreamer<'a>)> {
        self.current.iter().map(|&i| (i, &self.streams[i]))
    }

    fn less(&self, a: usize, b: usize) -> bool {
        self.streams[a].key() < self.streams[b].key()
    }

    fn push(&mut self, stream: usize) {
        self.heap.push(stream);
        let mut at = self.heap.len() - 1;
        while at > 0 {
            let parent = (at - 1) / 2;
            if !self.less(self.heap[at], self.heap[parent]) {
                break;
            }
            self.heap.swap(at, parent);
            at = parent;
        }
    }

    fn pop(&mut self) -> Option<usize> {
        let last = self.heap.len().checked_sub(1)?;
        self.heap.swap(0, last);
        let top = self.heap.pop();
        let mut at = 0;
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut least = at;
            if left < self.heap.len() && self.less(self.heap[left], self.heap[least]) {
                least = left;
            }
            if right < self.heap.len() && self.less(self.heap[right], self.heap[least]) {
                least = right;
            }
            if least == at {
                return top;
            }
            self.heap.swap(at, least);
            at = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::indexer::NoMergePolicy;
    use tantivy::schema::{Schema, STRING};
    use tantivy::{doc, Index};

    use super::Merge;

    /// Every distinct term once, in order, with each segment holding it
    /// (one committed segment per list of terms).
    #[test]
    fn merges_in_order_with_the_segments_of_each_term() {
        let mut schema = Schema::builder();
        let field = schema.add_text_field("t", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        for terms in [
            &["a", "c", "e", "g"][..],
            &["b", "c", "g", "h", "h"],
            &["c", "d"],
        ] {
            for term in terms {
                writer.add_document(doc!(field => *term)).unwrap();
            }
            writer.commit().unwrap();
        }
        let searcher = index.reader().unwrap().searcher();
        let inverted: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.inverted_index(field).unwrap())
            .collect();
        // Segment order is tantivy's; name each by its first term.
        let names: Vec<String> = inverted
            .iter()
            .map(|i| {
                let mut first = Vec::new();
                i.terms().ord_to_term(0, &mut first).unwrap();
                String::from_utf8(first).unwrap()
            })
            .collect();
        let streams = inverted
            .iter()
            .map(|i| i.terms().stream().unwrap())
            .collect();
        let mut merge = Merge::new(streams);
        let mut got = Vec::new();
        while merge.advance() {
            let mut holders: Vec<(String, u32)> = merge
                .current()
                .map(|(i, s)| (names[i].clone(), s.value().doc_freq))
                .collect();
            holders.sort_unstable();
            let key = merge.current().next().unwrap().1.key().to_vec();
            got.push((String::from_utf8(key).unwrap(), holders));
        }
        let s = |name: &str, freq: u32| (name.to_owned(), freq);
        let want = vec![
            ("a".to_owned(), vec![s("a", 1)]),
            ("b".to_owned(), vec![s("b", 1)]),
            ("c".to_owned(), vec![s("a", 1), s("b", 1), s("c", 1)]),
            ("d".to_owned(), vec![s("c", 1)]),
            ("e".to_owned(), vec![s("a", 1)]),
            ("g".to_owned(), vec![s("a", 1), s("b", 1)]),
            ("h".to_owned(), vec![s("b", 2)]),
        ];
        assert_eq!(got, want);
    }
}
