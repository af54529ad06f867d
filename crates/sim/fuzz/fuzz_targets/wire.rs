//! Arbitrary client bytes through the simulated gateway's handshake,
//! framing, protobuf decoding and request handlers
//! (`vspread_sim::fuzzing::Harness`, which the property tests in
//! `crates/sim/tests/wire_fuzz.rs` drive too). A panic is a finding.
//!
//! `cargo fuzz run wire` from `crates/sim` (see the crate README).

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use vspread_sim::fuzzing::Harness;

thread_local! {
    // One gateway for the whole run: building a market per input would
    // make the fuzzer a market generator benchmark.
    static HARNESS: RefCell<Harness> = RefCell::new(Harness::new());
}

fuzz_target!(|bytes: &[u8]| {
    HARNESS.with(|h| {
        h.borrow_mut().feed(bytes);
    });
});
