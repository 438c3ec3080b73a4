//! In-memory backend (stub, being written).
/// In-memory backend.
#[derive(Debug, Default)]
pub struct MemoryBackend;
