//! Returning freed heap to the operating system.
//!
//! glibc's allocator keeps pages it got back from `free` in its per-thread
//! arenas, and only trims an arena from its top: a console polling a large
//! deployment, which frees the previous snapshot and a poll round's buffers
//! every interval, keeps tens of MB resident that it no longer uses.
//! [`release_free_pages`] hands those pages back (`malloc_trim`); the
//! merger calls it once per poll interval, before it builds a snapshot.
//! [`one_arena`] keeps every thread on one arena in the first place: the
//! console's few threads (UI, two runtime workers) allocate little each,
//! and one arena per thread left each with its own free pages.

/// Give the free pages of every malloc arena back to the OS. A no-op where
/// the allocator is not glibc's.
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Make glibc's allocator use one arena for every thread (`M_ARENA_MAX`
/// 1; `MALLOC_ARENA_MAX` in the environment still wins). Call first thing
/// in `main`, before any thread starts. A no-op elsewhere.
///
/// Also fixes the size from which an allocation gets its own mapping at
/// 128 KiB (`M_MMAP_THRESHOLD`; `MALLOC_MMAP_THRESHOLD_` still wins):
/// glibc otherwise raises it to the largest block freed so far, and the
/// few-MB answers of a large Prometheus then land in the heap, between
/// long-lived blocks, where their pages stay resident after they are freed.
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: mallopt only changes the allocator's tuning; no
            // thread has started yet.
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 1);
            }
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        }
    }
}
