//! Conformance against Wireshark: every PDU type our encoder produces is written to a pcap with
//! [`PcapWriter`], decoded by `tshark`, and each decoded field must equal what we put in;
//! `tshark -z expert` must report no warning or error.
//!
//! Without tshark installed the test prints "skipped: tshark not installed" and passes, except
//! when the `CI` environment variable is set (CI installs tshark), where it fails.
//!
//! Wireshark (checked with 4.0) decodes LACPDU version 2 without expert warnings: the Port
//! Algorithm (0x04) and Port Conversation ID Digest (0x05) TLVs are shown as TLVs of unknown
//! type, skipped by their length, followed by the Terminator and a 24-octet Pad. So version 2
//! is covered here for the fields Wireshark decodes (header, Actor, Partner, Collector).

use lagd_types::{Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::{LacpInfo, LacpduRepr, MarkerKind, MarkerRepr, PcapWriter, SlowFrame, SlowPdu};
use std::path::PathBuf;
use std::process::Command;

/// tshark field names for one decoded value, in the current naming and the pre-3.x naming.
struct Field {
    new: &'static str,
    old: &'static str,
}

const fn f(new: &'static str, old: &'static str) -> Field {
    Field { new, old }
}

const FIELDS: &[Field] = &[
    f("frame.protocols", "frame.protocols"),
    f("frame.time_epoch", "frame.time_epoch"),
    f("eth.src", "eth.src"),
    f("eth.dst", "eth.dst"),
    f("lacp.version", "lacp.version"),
    f("lacp.actor.sys_priority", "lacp.actorSysPriority"),
    f("lacp.actor.sysid", "lacp.actorSystem"),
    f("lacp.actor.key", "lacp.actorKey"),
    f("lacp.actor.port_priority", "lacp.actorPortPriority"),
    f("lacp.actor.port", "lacp.actorPort"),
    f("lacp.actor.state", "lacp.actorState"),
    f("lacp.partner.sys_priority", "lacp.partnerSysPriority"),
    f("lacp.partner.sysid", "lacp.partnerSystem"),
    f("lacp.partner.key", "lacp.partnerKey"),
    f("lacp.partner.port_priority", "lacp.partnerPortPriority"),
    f("lacp.partner.port", "lacp.partnerPort"),
    f("lacp.partner.state", "lacp.partnerState"),
    f("lacp.collector.max_delay", "lacp.collectorMaxDelay"),
    f("marker.version", "marker.version"),
    f("marker.tlvType", "marker.tlvType"),
    f("marker.requesterPort", "marker.requesterPort"),
    f("marker.requesterSystem", "marker.requesterSystem"),
    f("marker.requesterTransId", "marker.requesterTransId"),
];

fn mac(last: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, last])
}

fn lacp(version: u8, actor_state: u8, partner_state: u8, n: u16) -> LacpduRepr {
    LacpduRepr {
        version,
        actor: LacpInfo {
            system: SystemId::new(0x8000 + n, mac(1)),
            key: 0x0100 + n,
            port: PortId::new(0x80, n + 1),
            state: PortState(actor_state),
        },
        partner: LacpInfo {
            system: SystemId::new(65535 - n, MacAddr([0x0c, 0xff, 0x10, 0x20, 0x30, n as u8])),
            key: 7 * n,
            port: PortId::new(255 - n, 1000 + n),
            state: PortState(partner_state),
        },
        collector_max_delay: 10 * n,
        port_algorithm: None,
        conversation_digest: None,
    }
}

/// Every PDU the encoder produces: LACPDU v1 with each of the eight flags alone (actor) and
/// every other one set (partner), all-zero, all-one and typical states; LACPDU v2; Marker
/// Information and Response.
fn frames() -> Vec<SlowFrame> {
    let mut pdus = Vec::new();
    let mut n = 0u16;
    let mut states: Vec<(u8, u8)> = (0..8).map(|i| (1u8 << i, !(1u8 << i))).collect();
    states.extend([
        (0x00, 0xff),
        (0xff, 0x00),
        (0x3d, 0x3f),
        (0x45, 0x00),
        (0x07, 0x47),
    ]);
    for (a, p) in states {
        pdus.push(SlowPdu::Lacp(lacp(1, a, p, n)));
        n += 1;
    }
    let mut v2 = lacp(2, 0x3d, 0x3d, n);
    v2.port_algorithm = Some([0x00, 0x80, 0xc2, 0x01]);
    v2.conversation_digest = Some((3, [0xa5; 16]));
    pdus.push(SlowPdu::Lacp(v2));
    let m = MarkerRepr {
        kind: MarkerKind::Information,
        version: 1,
        requester_port: 5,
        requester_system: mac(1),
        transaction_id: 0xdead_beef,
    };
    pdus.push(SlowPdu::Marker(m));
    pdus.push(SlowPdu::Marker(m.response()));
    pdus.into_iter()
        .enumerate()
        .map(|(i, pdu)| SlowFrame {
            dst: MacAddr::SLOW_PROTOCOLS,
            src: mac(0x10 + i as u8),
            pdu,
        })
        .collect()
}

/// The tshark field values we expect for `f` captured at `at`, in [`FIELDS`] order ("" where a
/// field does not apply).
fn expected(f: &SlowFrame, at: Instant) -> Vec<String> {
    let mut v = vec![String::new(); FIELDS.len()];
    v[1] = format!(
        "{}.{:09}",
        at.as_nanos() / 1_000_000_000,
        at.as_nanos() % 1_000_000_000
    );
    v[2] = f.src.to_string();
    v[3] = f.dst.to_string();
    match &f.pdu {
        SlowPdu::Lacp(l) => {
            v[0] = "eth:ethertype:slow:lacp".into();
            v[4] = format!("0x{:02x}", l.version);
            for (base, i) in [(5, &l.actor), (11, &l.partner)] {
                v[base] = i.system.priority.to_string();
                v[base + 1] = i.system.addr.to_string();
                v[base + 2] = i.key.to_string();
                v[base + 3] = i.port.priority.to_string();
                v[base + 4] = i.port.number.to_string();
                v[base + 5] = format!("0x{:02x}", i.state.bits());
            }
            v[17] = l.collector_max_delay.to_string();
        }
        SlowPdu::Marker(m) => {
            v[0] = "eth:ethertype:slow:marker".into();
            v[18] = format!("0x{:02x}", m.version);
            v[19] = match m.kind {
                MarkerKind::Information => "0x01".into(),
                MarkerKind::Response => "0x02".into(),
            };
            v[20] = m.requester_port.to_string();
            v[21] = m.requester_system.to_string();
            v[22] = m.transaction_id.to_string();
        }
    }
    v
}

fn tshark_available() -> bool {
    match Command::new("tshark").arg("--version").output() {
        Ok(o) => o.status.success(),
        Err(_) => false,
    }
}

fn run_fields(pcap: &PathBuf, old: bool) -> Option<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap).args(["-T", "fields"]);
    cmd.args(["-E", "separator=|", "-E", "occurrence=f"]);
    for fl in FIELDS {
        cmd.arg("-e").arg(if old { fl.old } else { fl.new });
    }
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tshark_decodes_every_pdu_we_emit() {
    if !tshark_available() {
        if std::env::var_os("CI").is_some() {
            panic!("tshark not installed, and CI is set: CI must install tshark");
        }
        eprintln!("skipped: tshark not installed");
        return;
    }
    let frames = frames();
    let path = std::env::temp_dir().join(format!("lagd-wire-tshark-{}.pcap", std::process::id()));
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut times = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let at = Instant::from_millis(1_000 + 250 * i as u64);
        w.write_frame(at, &f.to_vec()).unwrap();
        times.push(at);
    }
    w.flush().unwrap();
    drop(w);

    let text = run_fields(&path, false)
        .or_else(|| run_fields(&path, true))
        .expect("tshark -T fields failed with both field naming schemes");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), frames.len(), "one line per frame:\n{text}");
    for (i, ((line, f), at)) in lines.iter().zip(&frames).zip(&times).enumerate() {
        let got: Vec<String> = line.split('|').map(str::to_string).collect();
        let want = expected(f, *at);
        for (k, fl) in FIELDS.iter().enumerate() {
            let g = got.get(k).map(String::as_str).unwrap_or("");
            assert_eq!(
                g,
                want[k],
                "frame {} field {}: tshark line {line}",
                i + 1,
                fl.new
            );
        }
    }

    let expert = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(&path)
        .args(["-q", "-z", "expert"])
        .output()
        .expect("tshark -z expert");
    let report = String::from_utf8_lossy(&expert.stdout);
    assert!(expert.status.success(), "tshark -z expert failed: {report}");
    for bad in ["Errors (", "Warns (", "Malformed"] {
        assert!(
            !report.contains(bad),
            "tshark expert info reports {bad}:\n{report}"
        );
    }
    let _ = std::fs::remove_file(&path);
}

/// The expert check above can fail: a LACPDU cut short is reported by tshark as malformed.
#[test]
fn tshark_expert_flags_a_truncated_lacpdu() {
    if !tshark_available() {
        if std::env::var_os("CI").is_some() {
            panic!("tshark not installed, and CI is set: CI must install tshark");
        }
        eprintln!("skipped: tshark not installed");
        return;
    }
    let f = &frames()[0];
    let v = f.to_vec();
    let path =
        std::env::temp_dir().join(format!("lagd-wire-tshark-bad-{}.pcap", std::process::id()));
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    w.write_frame(Instant::ZERO, &v[..40]).unwrap();
    w.flush().unwrap();
    drop(w);
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(&path)
        .args(["-q", "-z", "expert"])
        .output()
        .expect("tshark -z expert");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("Errors (") || report.contains("Malformed"),
        "expected an expert error for a truncated LACPDU, got:\n{report}"
    );
    let _ = std::fs::remove_file(&path);
}
