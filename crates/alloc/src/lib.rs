//! The process's allocator, and how it is tuned for a process that runs
//! for weeks.
//!
//! mimalloc is the allocator of the `vspread` binary (the scanner's
//! parallel parsing is its reason, see the binary's `main.rs`). Its
//! defaults suit a batch job: a thread keeps up to two emptied pages of
//! each size class for reuse, and a freed page goes back to the OS only
//! once it is a second old *and* its thread next allocates or frees. A
//! server's threads are often idle right after a burst (the blocking
//! pool's threads after a journal read, say), so what they freed stays
//! resident until their next burst; over a month of such bursts on more
//! threads and more size classes, the resident memory of `vspread run`
//! grew while its live heap barely did. [`tune_for_server`] makes a page
//! that empties go back at once.
//!
//! It is the allocator of the C code in the process as well: mimalloc is
//! built to define `malloc` and `free` itself (its `override` feature), so
//! the journal's SQLite allocates from it too. On glibc's allocator, the
//! SQLite page caches of the journal's five threads spread over as many
//! glibc arenas, which kept what the caches had freed (2.2 MB more after
//! ten simulated days of the demo, and never given back).
//!
//! This is the workspace's only crate with `unsafe` code: mimalloc's
//! option setter is a C function. The option numbers are mimalloc's own
//! enum (`mi_option_e` in its `mimalloc.h`, version 3); the tests check
//! them against the linked library's defaults, so a mimalloc that numbers
//! them differently fails the build's tests rather than tuning the wrong
//! option.

pub use mimalloc::MiMalloc;

use libmimalloc_sys::mi_option_t;

/// `mi_option_purge_delay`: milliseconds a freed OS page waits before it
/// is returned (default 1,000); 0 returns it when it empties.
const PURGE_DELAY: mi_option_t = 15;

/// `mi_option_page_full_retain`: emptied pages a thread keeps per size
/// class (default 2).
const PAGE_FULL_RETAIN: mi_option_t = 36;

/// An option of mimalloc's that [`tune_for_server`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorOption {
    /// See [`PURGE_DELAY`].
    PurgeDelay,
    /// See [`PAGE_FULL_RETAIN`].
    PageFullRetain,
}

impl AllocatorOption {
    fn number(self) -> mi_option_t {
        match self {
            AllocatorOption::PurgeDelay => PURGE_DELAY,
            AllocatorOption::PageFullRetain => PAGE_FULL_RETAIN,
        }
    }
}

/// The value mimalloc uses now for `option`.
pub fn option(option: AllocatorOption) -> i64 {
    // SAFETY: `mi_option_get` reads one entry of mimalloc's option table;
    // every number `AllocatorOption` names is inside it (the tests check
    // the numbers against the defaults).
    #[allow(unsafe_code)]
    let value = unsafe { libmimalloc_sys::mi_option_get(option.number()) };
    // A C `long`: 64 bits here, 32 on Windows.
    #[allow(clippy::useless_conversion)]
    i64::from(value)
}

/// Tunes mimalloc for a long-running process (`vspread run`, `demo`,
/// `sim`): pages that empty go back to the OS at once, and no thread keeps
/// emptied pages for later. Batch commands (the scanner) keep the
/// defaults, which are faster for them. Call early; pages freed before
/// are returned on the old terms.
pub fn tune_for_server() {
    for (option, value) in [
        (AllocatorOption::PurgeDelay, 0),
        (AllocatorOption::PageFullRetain, 0),
    ] {
        // SAFETY: `mi_option_set` writes one entry of mimalloc's option
        // table, which mimalloc reads with relaxed atomics from any thread;
        // the number is inside the table (see `option`).
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(option.number(), value)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The C library's allocation functions, as C code calls them.
    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn malloc(size: usize) -> *mut std::ffi::c_void;
        fn free(ptr: *mut std::ffi::c_void);
    }

    /// C code's `malloc` (SQLite's) is mimalloc's: a block it returns is
    /// in mimalloc's heap, and mimalloc can tell its size.
    #[test]
    #[allow(unsafe_code)]
    fn c_malloc_is_mimalloc() {
        // SAFETY: a plain allocation, checked and freed by the same
        // allocator; nothing is written through the pointer.
        unsafe {
            let block = malloc(4200);
            assert!(!block.is_null());
            assert!(
                libmimalloc_sys::mi_is_in_heap_region(block),
                "malloc did not come from mimalloc"
            );
            assert!(libmimalloc_sys::mi_usable_size(block) >= 4200);
            free(block);
        }
    }

    /// The numbers name the options they say: the linked mimalloc's
    /// defaults for them are read at those numbers, then the tuning
    /// changes exactly those. (One test: the options are process-wide.)
    #[test]
    fn the_option_numbers_are_mimallocs_and_tuning_sets_them() {
        // MIMALLOC_* variables would change the defaults read here.
        assert!(
            std::env::vars().all(|(k, _)| !k.starts_with("MIMALLOC_")),
            "run without MIMALLOC_ variables"
        );
        assert_eq!(option(AllocatorOption::PurgeDelay), 1000);
        assert_eq!(option(AllocatorOption::PageFullRetain), 2);
        tune_for_server();
        assert_eq!(option(AllocatorOption::PurgeDelay), 0);
        assert_eq!(option(AllocatorOption::PageFullRetain), 0);
    }
}
