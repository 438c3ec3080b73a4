//! What the allocator keeps of freed memory.
//!
//! Why: the memory budgets (`crate::budget`) bound what requests hold, but
//! the process's resident memory is what the allocator keeps, and glibc's
//! malloc keeps freed blocks of up to 32 MiB in its heaps once it has seen
//! blocks of that size freed (its mmap threshold adapts upwards). Request
//! bodies (megabytes each) then stayed resident after use, in the heap of
//! whichever thread read them. With a fixed threshold of 1 MiB, such
//! buffers are mapped for themselves and returned to the system when
//! freed; the many small allocations of records are not affected. Measured
//! under a flood of 4 MiB bodies with a 256 MiB ingest budget, peak RSS
//! fell from 658 to 546 MiB (docs/hardening.md, class 6).

/// Allocations of at least this many bytes are mapped on their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Sets the allocator's parameters; call before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets a parameter of glibc's malloc, which
        // it reads under its own lock; no memory is touched.
        let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if done != 1 {
            tracing::warn!("could not set the allocator's mmap threshold");
        }
    }
}
