//! Fuzz target: arbitrary bytes as an Ethernet frame into the flow-key extractor and every
//! hash policy; nothing may panic, and the hash of a frame must not depend on bytes past the
//! headers the policy reads (hashing the same frame twice gives the same value).
#![no_main]

use lagd_distrib::{FlowKey, HashPolicy};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let key = FlowKey::from_frame(data);
    for policy in ["L2", "L3", "L4", "L2,L3", "L3,L4", "L2,L3,L4"] {
        let p: HashPolicy = policy.parse().expect("valid policy");
        assert_eq!(p.hash(&key), p.hash(&FlowKey::from_frame(data)));
    }
});
