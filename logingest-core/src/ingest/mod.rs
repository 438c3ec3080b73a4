//! The ingest queue and batch-flush policy (being written).
