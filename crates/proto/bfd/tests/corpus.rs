//! Replays the checked-in fuzz corpus (`fuzz/corpus/bfd_frame/`) through the fuzz target's
//! oracles, so CI runs it without cargo-fuzz or nightly.

mod support;

use std::path::{Path, PathBuf};

#[test]
fn bfd_frame_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../fuzz/corpus/bfd_frame");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} unreadable: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let r = std::panic::catch_unwind(|| {
            support::roundtrip::bfd_frame(&data);
            support::roundtrip::engine(&data);
        });
        assert!(r.is_ok(), "corpus file {} failed its oracle", f.display());
    }
    assert!(
        files.len() >= 4,
        "bfd_frame corpus has only {} files",
        files.len()
    );
}

/// Writes seed inputs (real frames of a formation and a Poll Sequence) to the directory named
/// by `LAGD_BFD_SEED_CORPUS`; does nothing without it.
#[test]
fn write_seed_corpus() {
    let Some(dir) = std::env::var_os("LAGD_BFD_SEED_CORPUS") else {
        return;
    };
    use lagd_bfd::{BfdConfig, MicroBfd};
    use lagd_types::{Duration, Instant, MacAddr};
    let mut a = MicroBfd::new(BfdConfig::new(Duration::from_millis(10), 3), 1);
    let mut b = MicroBfd::new(BfdConfig::new(Duration::from_millis(10), 3), 2);
    a.add_port(Instant::ZERO, 1, MacAddr([2, 0, 0, 0, 0, 1]))
        .unwrap();
    b.add_port(Instant::ZERO, 1, MacAddr([2, 0, 0, 0, 0, 2]))
        .unwrap();
    let mut now = Instant::ZERO;
    let mut n = 0;
    for _ in 0..40 {
        a.handle_timeout(now);
        b.handle_timeout(now);
        while let Some(t) = a.poll_transmit(now) {
            let _ = b.handle_frame(now, 1, &t.frame);
            std::fs::write(Path::new(&dir).join(format!("seed-a-{n:03}")), &t.frame).unwrap();
            n += 1;
        }
        while let Some(t) = b.poll_transmit(now) {
            let _ = a.handle_frame(now, 1, &t.frame);
            std::fs::write(Path::new(&dir).join(format!("seed-b-{n:03}")), &t.frame).unwrap();
            n += 1;
        }
        now = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
    }
}
