//! Options of the embedded backend, with their defaults.

use std::time::Duration;

/// How hard SQLite works to make a commit survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `PRAGMA synchronous = FULL`: every commit fsyncs the WAL before it
    /// returns, so an acknowledged batch survives a process crash **and** a
    /// power loss or kernel crash. The default, because `Ok` from a write
    /// means durable.
    #[default]
    Full,
    /// `PRAGMA synchronous = NORMAL`: commits reach the OS but the WAL is
    /// fsynced only at checkpoints. Survives a process crash (`kill -9`);
    /// a power loss may roll back the last commits. Faster on slow disks.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Options of [`crate::TantivyBackend::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TantivyConfig {
    /// How often a background thread makes new writes searchable (a
    /// tantivy commit + reader reload) when there are any. Default 1 s.
    /// `None` disables the thread: writes become visible only on
    /// [`logingest_core::Backend::refresh`].
    pub refresh_interval: Option<Duration>,
    /// SQLite durability level. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// Memory budget of the tantivy index writer, bytes. Default 128 MiB.
    pub writer_memory_bytes: usize,
    /// Memory for documents of acknowledged batches waiting for the
    /// indexing thread, bytes (estimated). Past it, writes wait for
    /// indexing. Default 16 MiB (about 15,000 generator records: enough to
    /// ride out a commit, `docs/performance.md`).
    pub index_queue_bytes: usize,
    /// Threads tantivy merges segments on. Default 1: on these 2-core
    /// machines concurrent merges of large segments competed with ingest
    /// for CPU and memory (`docs/performance.md`).
    pub merge_threads: usize,
    /// Indexing threads of the tantivy writer. Default 1 (these machines
    /// have 2 cores; the other serves SQLite and searches).
    pub indexing_threads: usize,
    /// Most records in one block of the record store. Default 512: a page
    /// of hits decodes every block it touches whole, and a selective
    /// query's newest 100 hits can lie in 100 blocks; at 1M records 4,096
    /// saved 8 bytes a record but made such pages 3–7× slower
    /// (`docs/performance.md`).
    pub block_records: usize,
    /// Memory for decoded blocks of the record store, shared by searches,
    /// bytes. Default 64 MiB.
    pub block_cache_bytes: usize,
    /// zstd level of the record store's blocks. Default 3.
    pub block_compression_level: i32,
    /// Records a dictionary set of the record store is trained on; the
    /// first set is trained once the store holds this many, later ones
    /// every million records. Default 16,384; 0 turns dictionaries off.
    pub dictionary_records: usize,
    /// How often a background thread tends the record store (merges small
    /// blocks, trains dictionary sets when due). Default 1 s. `None`
    /// disables the thread (tools can call it themselves).
    pub upkeep_interval: Option<Duration>,
    /// Most keyword paths given a column of their own in the index (for
    /// facets); paths first seen after that many have none, and their
    /// facets count postings instead. Default 1,000 (Elasticsearch's
    /// default field limit of a mapping).
    pub column_paths: usize,
    /// Values of a path in one window of its column's cardinality check: a
    /// path loses its column when a window's values are more than a quarter
    /// distinct (unique ids). Default 4,096.
    pub column_window: usize,
}

impl TantivyConfig {
    /// Default of `writer_memory_bytes`: 128 MiB.
    pub const DEFAULT_WRITER_MEMORY_BYTES: usize = 128 << 20;
    /// Default of `block_cache_bytes`: 64 MiB.
    pub const DEFAULT_BLOCK_CACHE_BYTES: usize = 64 << 20;
}

impl Default for TantivyConfig {
    fn default() -> Self {
        TantivyConfig {
            refresh_interval: Some(Duration::from_secs(1)),
            synchronous: Synchronous::Full,
            writer_memory_bytes: TantivyConfig::DEFAULT_WRITER_MEMORY_BYTES,
            index_queue_bytes: 16 << 20,
            merge_threads: 1,
            indexing_threads: 1,
            block_records: 512,
            block_cache_bytes: TantivyConfig::DEFAULT_BLOCK_CACHE_BYTES,
            block_compression_level: 3,
            dictionary_records: 16_384,
            upkeep_interval: Some(Duration::from_secs(1)),
            column_paths: 1_000,
            column_window: 4_096,
        }
    }
}

impl TantivyConfig {
    /// Sets the background refresh interval (`None`: refresh only on demand).
    pub fn refresh_interval(mut self, interval: Option<Duration>) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Sets the SQLite durability level.
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets the index writer's memory budget in bytes.
    pub fn writer_memory_bytes(mut self, bytes: usize) -> Self {
        self.writer_memory_bytes = bytes;
        self
    }

    /// Sets the most records in one block of the record store.
    pub fn block_records(mut self, records: usize) -> Self {
        self.block_records = records;
        self
    }

    /// Sets the memory for decoded blocks, bytes.
    pub fn block_cache_bytes(mut self, bytes: usize) -> Self {
        self.block_cache_bytes = bytes;
        self
    }

    /// Sets the zstd level of new blocks.
    pub fn block_compression_level(mut self, level: i32) -> Self {
        self.block_compression_level = level;
        self
    }

    /// Sets the byte budget of the queue in front of the indexing thread.
    pub fn index_queue_bytes(mut self, bytes: usize) -> Self {
        self.index_queue_bytes = bytes;
        self
    }

    /// Sets how many threads tantivy merges segments on.
    pub fn merge_threads(mut self, threads: usize) -> Self {
        self.merge_threads = threads;
        self
    }

    /// Sets how many records a dictionary set is trained on (0: none).
    pub fn dictionary_records(mut self, records: usize) -> Self {
        self.dictionary_records = records;
        self
    }

    /// Sets the upkeep interval (`None`: no upkeep thread).
    pub fn upkeep_interval(mut self, interval: Option<Duration>) -> Self {
        self.upkeep_interval = interval;
        self
    }

    /// Sets the most keyword paths with a column of their own.
    pub fn column_paths(mut self, paths: usize) -> Self {
        self.column_paths = paths;
        self
    }

    /// Sets the window of the keyword columns' cardinality check.
    pub fn column_window(mut self, values: usize) -> Self {
        self.column_window = values;
        self
    }

    /// Sets the number of indexing threads.
    pub fn indexing_threads(mut self, threads: usize) -> Self {
        self.indexing_threads = threads;
        self
    }
}
