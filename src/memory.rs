//! The console's allocator: jemalloc, tuned to give freed memory back.
//!
//! A console polling a large deployment turns most of its heap over every
//! interval: the previous snapshot, a round's Prometheus answers and poll
//! buffers are freed while the merger's state, the deployment and the shown
//! snapshot live on. glibc's malloc kept the freed memory resident between
//! those long-lived blocks (even with `malloc_trim` once per interval and one
//! arena: about 10 MB at 1,000 instances). The binary (`src/main.rs`) makes
//! jemalloc its global allocator with [`JEMALLOC_CONF`]: one arena, and
//! pages handed back to the OS as soon as they are free. Measured at 1,000
//! instances: resident heap 30–36 MB with glibc, 23–26 MB with this (README
//! "Benchmarks").
//!
//! The library (tests, benches) keeps the system allocator.

/// jemalloc's options, compiled in: one arena (the console has few
/// threads), no decay (free pages go back at once), no background thread.
/// `_RJEM_MALLOC_CONF` in the environment still overrides them.
pub const JEMALLOC_CONF: &std::ffi::CStr =
    c"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0,background_thread:false";

/// A C string pointer that can live in a `static` (jemalloc reads its
/// options from a `const char *` symbol).
#[repr(transparent)]
pub struct ConfPtr(pub *const std::ffi::c_char);

// SAFETY: it points to an immutable 'static C string.
unsafe impl Sync for ConfPtr {}
