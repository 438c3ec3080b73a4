//! The block cache: decoded blocks shared by searches, bounded in bytes.
//!
//! Reading a page of hits decodes the blocks that hold them; a page of the
//! newest hits usually lands in one or two blocks, and the next page or the
//! next query often in the same ones. Decoded blocks are kept in an LRU map
//! whose budget counts the memory each block holds, so the cache never
//! grows past its configured size, whatever the blocks' sizes.

use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::block::Block;

/// Decoded blocks by block id, least recently used evicted first.
pub(crate) struct BlockCache {
    budget: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    blocks: LruCache<i64, Arc<Block>>,
    bytes: usize,
}

impl BlockCache {
    /// A cache holding at most `budget` bytes of decoded blocks (0: none).
    pub fn new(budget: usize) -> Self {
        BlockCache {
            budget,
            inner: Mutex::new(Inner {
                blocks: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The block with this id, if cached.
    pub fn get(&self, id: i64) -> Option<Arc<Block>> {
        self.inner.lock().blocks.get(&id).cloned()
    }

    /// Caches a block, evicting others to stay within the budget. A block
    /// larger than the whole budget is not kept.
    pub fn insert(&self, id: i64, block: Arc<Block>) {
        let size = block.memory();
        if size > self.budget {
            return;
        }
        let mut inner = self.inner.lock();
        if let Some(old) = inner.blocks.put(id, block) {
            inner.bytes -= old.memory();
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            match inner.blocks.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.memory(),
                None => break,
            }
        }
    }

    /// Forgets a block (rewritten or deleted).
    pub fn remove(&self, id: i64) {
        let mut inner = self.inner.lock();
        if let Some(old) = inner.blocks.pop(&id) {
            inner.bytes -= old.memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(records: usize) -> Arc<Block> {
        let mut block = Block::new();
        for i in 0..records {
            block.push(i as u64, 0, &"x".repeat(100));
        }
        Arc::new(block)
    }

    #[test]
    fn stays_within_its_budget_and_evicts_least_recently_used() {
        let one = block(10).memory();
        let cache = BlockCache::new(one * 3);
        for id in 0..3 {
            cache.insert(id, block(10));
        }
        assert!(cache.get(0).is_some()); // 0 is now the most recent
        cache.insert(3, block(10));
        assert!(cache.get(1).is_none(), "least recently used goes first");
        assert!(cache.get(0).is_some() && cache.get(2).is_some() && cache.get(3).is_some());
        assert!(cache.inner.lock().bytes <= one * 3);
        cache.remove(0);
        assert!(cache.get(0).is_none());
        let huge = block(1000);
        cache.insert(9, huge);
        assert!(cache.get(9).is_none(), "larger than the budget: not kept");
        assert!(BlockCache::new(0).get(1).is_none());
    }
}
