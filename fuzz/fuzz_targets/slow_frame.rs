//! Fuzz target: arbitrary bytes into the slow_frame decoder; whatever parses must survive
//! emit -> parse unchanged. The oracle is shared with `crates/proto/wire/tests/corpus.rs`.
#![no_main]

#[path = "../../crates/proto/wire/tests/support/roundtrip.rs"]
mod roundtrip;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    roundtrip::slow_frame(data);
});
