//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/` at the workspace root) through
//! the same oracles the fuzz targets run, so CI exercises the corpus without cargo-fuzz or a
//! nightly toolchain. A decoder that panics, or a parsed PDU that does not survive emit ->
//! parse, fails the test and names the file.

mod support;

use std::path::{Path, PathBuf};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of the target's corpus; returns how many were replayed.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("corpus directory {} unreadable: {e}", dir.display()),
    };
    files.sort();
    let mut n = 0;
    for f in files.iter().filter(|f| f.is_file()) {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "corpus file {} failed its oracle", f.display());
        n += 1;
    }
    n
}

#[test]
fn lacpdu_corpus() {
    let n = replay("lacpdu", support::roundtrip::lacpdu);
    assert!(n >= 4, "lacpdu corpus has only {n} files");
}

#[test]
fn marker_corpus() {
    let n = replay("marker", support::roundtrip::marker);
    assert!(n >= 2, "marker corpus has only {n} files");
}

#[test]
fn slow_frame_corpus() {
    let n = replay("slow_frame", support::roundtrip::slow_frame);
    assert!(n >= 6, "slow_frame corpus has only {n} files");
}

/// Every file of every corpus goes through every decoder: inputs found for one target are
/// often interesting for the others (a frame is a PDU behind 14 octets).
#[test]
fn every_corpus_through_every_decoder() {
    for t in ["lacpdu", "marker", "slow_frame"] {
        replay(t, |d| {
            support::roundtrip::lacpdu(d);
            support::roundtrip::marker(d);
            support::roundtrip::slow_frame(d);
            support::roundtrip::lacpdu(d.get(14..).unwrap_or_default());
            support::roundtrip::marker(d.get(14..).unwrap_or_default());
        });
    }
}
