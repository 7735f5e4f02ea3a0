//! Replays the checked-in `flow_key` fuzz corpus (`fuzz/corpus/flow_key/`) through the flow-key
//! extractor and every hash policy, so CI exercises it without cargo-fuzz.

use lagd_distrib::{FlowKey, HashPolicy};

#[test]
fn flow_key_corpus_never_panics_and_hashes_deterministically() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../fuzz/corpus/flow_key");
    let policies: Vec<HashPolicy> = ["L2", "L3", "L4", "L2,L3", "L3,L4", "L2,L3,L4"]
        .iter()
        .map(|p| p.parse().expect("valid policy"))
        .collect();
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus is checked in") {
        let data = std::fs::read(entry.expect("readable entry").path()).expect("readable file");
        let key = FlowKey::from_frame(&data);
        for p in &policies {
            assert_eq!(p.hash(&key), p.hash(&FlowKey::from_frame(&data)));
        }
        n += 1;
    }
    assert!(n >= 10, "expected a corpus, found {n} files in {dir}");
}
