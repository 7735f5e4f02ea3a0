//! Replays the checked-in `lacp_engine` fuzz corpus (`fuzz/corpus/lacp_engine/`) through the
//! same driver as the fuzz target, so CI exercises it without cargo-fuzz.

#[test]
fn lacp_engine_corpus_never_panics() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../fuzz/corpus/lacp_engine"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus is checked in") {
        let path = entry.expect("readable corpus entry").path();
        let data = std::fs::read(&path).expect("readable corpus file");
        crate::support::fuzz_drive::drive(&data);
        n += 1;
    }
    assert!(n >= 10, "expected a corpus, found {n} files in {dir}");
}
