//! Fuzz target: arbitrary bytes as a DT (DRCP dialect) frame (see
//! `crates/proto/dt/tests/support/fuzz_drive.rs`, shared with the corpus replay test).
#![no_main]

#[path = "../../crates/proto/dt/tests/support/fuzz_drive.rs"]
mod fuzz_drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_drive::drive(data);
});
