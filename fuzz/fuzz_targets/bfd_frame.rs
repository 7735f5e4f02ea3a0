//! Fuzz target: arbitrary bytes as a micro-BFD frame and as a BFD Control packet (whatever
//! parses must survive emit -> parse unchanged), then as frames received by a running
//! two-member micro-BFD endpoint. The oracles are shared with
//! `crates/proto/bfd/tests/corpus.rs`.
#![no_main]

#[path = "../../crates/proto/bfd/tests/support/roundtrip.rs"]
mod roundtrip;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    roundtrip::bfd_frame(data);
    roundtrip::bfd_packet(data);
    roundtrip::engine(data);
});
