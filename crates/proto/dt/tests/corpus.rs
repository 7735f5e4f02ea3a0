//! The `dt_pdu` fuzz corpus (`fuzz/corpus/dt_pdu/`): replayed through the fuzz target's own
//! driver so CI exercises it without cargo-fuzz; and the seed frames it started from, real PDUs
//! of two switches forming a pair (with aggregation config, member and MAC-sync TLVs).
//! `LAGD_DT_SEED_CORPUS=DIR cargo test -p lagd-dt --test corpus` writes the seeds into DIR.

mod support {
    pub mod fuzz_drive;
}

use lagd_dt::{Dt, DtAggrConfig, DtConfig, DtPath, LocalMembers};
use lagd_types::{Duration, Instant, MacAddr, SystemId};

/// Frames two switches send each other while they pair up, learn a MAC and exchange state.
fn seed_frames() -> Vec<Vec<u8>> {
    let cfg = |mac: MacAddr, prio: u16| DtConfig {
        domain_id: 7,
        system_mac: mac,
        role_priority: prio,
        ..DtConfig::default()
    };
    let shared = SystemId::new(256, MacAddr([2, 0xd7, 0, 0, 0, 1]));
    let mut sw = [
        Dt::new(Instant::ZERO, cfg(MacAddr([2, 0, 0, 0, 0xa, 1]), 10)).expect("config"),
        Dt::new(Instant::ZERO, cfg(MacAddr([2, 0, 0, 0, 0xb, 1]), 20)).expect("config"),
    ];
    let mut now = Instant::ZERO;
    for (i, d) in sw.iter_mut().enumerate() {
        d.add_aggregation(now, DtAggrConfig::new(1, "trk1", shared))
            .expect("aggregation");
        d.handle_peer_link_status(now, true);
        d.handle_members(
            now,
            1,
            LocalMembers {
                live: vec![1, 2],
                partner: SystemId::new(0x8000, MacAddr([2, 0x5e, 0, 0, 0, 1])),
                partner_key: 9,
            },
        );
        d.handle_local_mac(now, 1, 0, MacAddr([2, 0x5e, 0, 0, 1, i as u8]), true);
    }
    let mut seeds = Vec::new();
    for _ in 0..12 {
        for i in 0..2 {
            while let Some(t) = sw[i].poll_transmit() {
                let other = &mut sw[1 - i];
                let _ = match t.path {
                    DtPath::PeerLink => other.handle_peer_frame(now, &t.frame),
                    DtPath::Keepalive => other.handle_keepalive_frame(now, &t.frame),
                };
                if !seeds.contains(&t.frame) {
                    seeds.push(t.frame);
                }
            }
        }
        now += Duration::from_millis(500);
        for d in &mut sw {
            d.handle_timeout(now);
        }
    }
    seeds
}

#[test]
fn seed_frames_parse_and_drive_a_switch() {
    let seeds = seed_frames();
    assert!(seeds.len() >= 4, "only {} distinct frames", seeds.len());
    for s in &seeds {
        lagd_dt::DtFrame::parse(s).expect("a real frame parses");
        support::fuzz_drive::drive(s);
    }
    if let Some(dir) = std::env::var_os("LAGD_DT_SEED_CORPUS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), s).expect("write seed");
        }
    }
}

#[test]
fn dt_pdu_corpus_never_panics() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../fuzz/corpus/dt_pdu");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus is checked in") {
        let data = std::fs::read(entry.expect("readable entry").path()).expect("readable file");
        support::fuzz_drive::drive(&data);
        n += 1;
    }
    assert!(n >= 4, "expected a corpus, found {n} files in {dir}");
}
