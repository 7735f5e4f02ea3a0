//! Conformance against Wireshark: every BFD frame lagd sends in a run of two endpoints
//! (formation, Poll Sequence, Final, silent failure, AdminDown, heal) is written to a pcap,
//! decoded by `tshark` with IP and UDP checksum validation on, and each decoded field must
//! equal what we put in; `tshark -z expert` must report no warning or error.
//!
//! Without tshark the test prints "skipped: tshark not installed" and passes, except when the
//! `CI` environment variable is set (CI installs tshark), where it fails.

mod common;

use common::{Pair, Side, ms};
use lagd_bfd::{BfdConfig, MicroBfdFrame, SessionState};
use lagd_types::{Duration, Instant};
use lagd_wire::PcapWriter;
use std::process::Command;

const FIELDS: &[&str] = &[
    "frame.protocols",
    "eth.dst",
    "eth.src",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.checksum.status",
    "udp.srcport",
    "udp.dstport",
    "udp.checksum.status",
    "bfd.version",
    "bfd.diag",
    "bfd.sta",
    "bfd.flags.p",
    "bfd.flags.f",
    "bfd.flags.d",
    "bfd.detect_time_multiplier",
    "bfd.message_length",
    "bfd.my_discriminator",
    "bfd.your_discriminator",
    "bfd.desired_min_tx_interval",
    "bfd.required_min_rx_interval",
    "bfd.required_min_echo_interval",
];

fn expected(f: &MicroBfdFrame) -> Vec<String> {
    let b = &f.bfd;
    let flag = |v: bool| if v { "1" } else { "0" }.to_string();
    vec![
        "eth:ethertype:ip:udp:bfd".into(),
        f.dst.to_string(),
        f.src.to_string(),
        f.src_ip.to_string(),
        f.dst_ip.to_string(),
        f.ttl.to_string(),
        "1".into(), // Good
        f.src_port.to_string(),
        "6784".into(),
        "1".into(), // Good
        "1".into(),
        format!("0x{:02x}", b.diag.code()),
        format!("0x{:02x}", b.state.bits()),
        flag(b.poll),
        flag(b.final_bit),
        flag(b.demand),
        b.detect_mult.to_string(),
        "24".into(),
        format!("0x{:08x}", b.my_discriminator),
        format!("0x{:08x}", b.your_discriminator),
        b.desired_min_tx_interval.to_string(),
        b.required_min_rx_interval.to_string(),
        b.required_min_echo_rx_interval.to_string(),
    ]
}

fn tshark_available() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark not installed, and CI is set: CI must install tshark"
        );
        eprintln!("skipped: tshark not installed");
    }
    ok
}

/// Every frame both endpoints send through a life: formation, polls both ways, a one-way
/// failure, AdminDown, heal.
fn life() -> Vec<(Instant, MicroBfdFrame)> {
    let mut p = Pair::new(BfdConfig::new(ms(50), 3), &[1, 2]);
    p.form();
    let t = p.now;
    p.a.set_config(t, BfdConfig::new(ms(100), 5)).unwrap();
    p.flush();
    p.run_for(ms(500));
    p.cut.insert((Side::A, 1));
    p.run_for(ms(400));
    p.cut.clear();
    p.b.set_admin_down(p.now, true);
    p.flush();
    p.run_for(Duration::from_secs(2));
    p.b.set_admin_down(p.now, false);
    p.flush();
    p.run_until_cond(p.now + Duration::from_secs(10), Pair::all_up)
        .expect("heals");
    p.run_for(ms(300));
    let states: std::collections::BTreeSet<_> = p.sent.iter().map(|s| s.frame.bfd.state).collect();
    assert_eq!(states.len(), 4, "every state was sent: {states:?}");
    assert!(p.sent.iter().any(|s| s.frame.bfd.poll));
    assert!(p.sent.iter().any(|s| s.frame.bfd.final_bit));
    assert!(
        p.sent
            .iter()
            .any(|s| s.frame.bfd.state == SessionState::AdminDown)
    );
    p.sent.iter().map(|s| (s.at, s.frame)).collect()
}

#[test]
fn tshark_decodes_every_bfd_frame_we_send() {
    if !tshark_available() {
        return;
    }
    let frames = life();
    let path = std::env::temp_dir().join(format!("lagd-bfd-tshark-{}.pcap", std::process::id()));
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    for (at, f) in &frames {
        w.write_frame(
            Instant::from_secs(1_000) + (*at - Instant::ZERO),
            &f.to_vec(),
        )
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let checks = [
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(&path)
        .args(checks)
        .args(["-T", "fields"]);
    cmd.args(["-E", "separator=|", "-E", "occurrence=f"]);
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), frames.len(), "one line per frame");
    for (i, (line, (_, f))) in lines.iter().zip(&frames).enumerate() {
        let got: Vec<&str> = line.split('|').collect();
        for (k, (g, w)) in got.iter().zip(expected(f)).enumerate() {
            assert_eq!(*g, w, "frame {} field {}: {line}", i + 1, FIELDS[k]);
        }
        assert_eq!(got.len(), FIELDS.len(), "{line}");
    }
    let expert = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(&path)
        .args(checks)
        .args(["-q", "-z", "expert"])
        .output()
        .expect("tshark -z expert");
    let report = String::from_utf8_lossy(&expert.stdout);
    assert!(expert.status.success(), "{report}");
    for bad in ["Errors (", "Warns (", "Malformed"] {
        assert!(
            !report.contains(bad),
            "tshark expert info reports {bad}:\n{report}"
        );
    }
    eprintln!(
        "tshark decoded {} BFD frames with no expert warning",
        frames.len()
    );
    let _ = std::fs::remove_file(&path);
}

/// The check above can fail: a frame with a wrong UDP checksum is flagged by tshark.
#[test]
fn tshark_flags_a_bad_checksum() {
    if !tshark_available() {
        return;
    }
    let (_, f) = life()[0];
    let mut v = f.to_vec();
    v[50] ^= 0xff;
    let path =
        std::env::temp_dir().join(format!("lagd-bfd-tshark-bad-{}.pcap", std::process::id()));
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    w.write_frame(Instant::from_secs(1), &v).unwrap();
    w.flush().unwrap();
    drop(w);
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(&path)
        .args(["-o", "udp.check_checksum:TRUE", "-q", "-z", "expert"])
        .output()
        .expect("tshark");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("Errors ("),
        "expected a checksum error:\n{report}"
    );
    let _ = std::fs::remove_file(&path);
}
