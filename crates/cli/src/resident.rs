//! The resident memory of the commands that run for weeks (`run`, `demo`,
//! `sim`).
//!
//! mimalloc asks the kernel for transparent huge pages on its arenas. A huge
//! page is resident whole, 2 MiB, from the first byte touched in it, and is
//! not given back until all of it is free. In a process with a small live
//! heap that changes all day (quotes, events, API answers), that kept most
//! of the anonymous memory in huge pages mostly empty: in the long run's
//! first ten simulated days, 39 of 79 MB were huge pages, and the process
//! stood at 101 MB resident with them, 77 MB without. The one-shot commands
//! (the scanner above all) keep them: they fault a large chain in at once and
//! gain from faulting 2 MiB at a time.
//!
//! Those commands also tune mimalloc to give emptied pages back at once
//! (see `vspread_alloc::tune_for_server`): with its batch-job defaults the
//! long run's resident memory grew by half again over ten simulated days
//! while the live heap grew by a tenth.

/// Sets the allocator up for a process that runs for weeks: no huge pages,
/// and emptied pages returned to the OS when they empty.
pub fn for_a_long_run() {
    no_huge_pages();
    vspread_alloc::tune_for_server();
}

/// Turns transparent huge pages off for the rest of this process's life
/// (Linux; nothing elsewhere). Best effort: where the kernel has no such
/// switch they stay on, which costs memory, not correctness.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
}
