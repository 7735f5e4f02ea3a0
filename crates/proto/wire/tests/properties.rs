//! Property tests of the wire formats: emit then parse is the identity for every PDU type,
//! decoders never panic on arbitrary or mutated input, and reserved/version octets never
//! cause a PDU to be refused.

use lagd_types::{Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::{
    EthernetFrame, LACPDU_LEN, LacpInfo, LacpduPacket, LacpduRepr, MARKER_PDU_LEN, MarkerKind,
    MarkerPacket, MarkerRepr, PcapReader, PcapWriter, SlowFrame, SlowPdu, TsResolution,
};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn info() -> impl Strategy<Value = LacpInfo> {
    (
        any::<u16>(),
        mac(),
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        any::<u8>(),
    )
        .prop_map(|(sp, addr, key, pp, port, st)| LacpInfo {
            system: SystemId::new(sp, addr),
            key,
            port: PortId::new(pp, port),
            state: PortState(st),
        })
}

fn lacpdu_v1() -> impl Strategy<Value = LacpduRepr> {
    (info(), info(), any::<u16>()).prop_map(|(actor, partner, d)| LacpduRepr {
        version: 1,
        actor,
        partner,
        collector_max_delay: d,
        port_algorithm: None,
        conversation_digest: None,
    })
}

fn lacpdu_v2() -> impl Strategy<Value = LacpduRepr> {
    (
        lacpdu_v1(),
        proptest::option::of(any::<[u8; 4]>()),
        proptest::option::of((any::<u16>(), any::<[u8; 16]>())),
    )
        .prop_map(|(mut r, a, d)| {
            r.version = 2;
            r.port_algorithm = a;
            r.conversation_digest = d;
            r
        })
}

fn marker() -> impl Strategy<Value = MarkerRepr> {
    (
        any::<bool>(),
        any::<u8>(),
        any::<u16>(),
        mac(),
        any::<u32>(),
    )
        .prop_map(|(resp, version, port, sys, tid)| MarkerRepr {
            kind: if resp {
                MarkerKind::Response
            } else {
                MarkerKind::Information
            },
            version,
            requester_port: port,
            requester_system: sys,
            transaction_id: tid,
        })
}

fn slow_frame() -> impl Strategy<Value = SlowFrame> {
    let pdu = prop_oneof![
        lacpdu_v1().prop_map(SlowPdu::Lacp),
        lacpdu_v2().prop_map(SlowPdu::Lacp),
        marker().prop_map(SlowPdu::Marker),
    ];
    (mac(), mac(), pdu).prop_map(|(dst, src, pdu)| SlowFrame { dst, src, pdu })
}

fn emit_lacp(r: &LacpduRepr) -> Vec<u8> {
    let mut v = vec![0u8; r.buffer_len()];
    let n = r.emit(&mut v).unwrap();
    assert_eq!(n, v.len());
    v
}

/// Feeds `b` to every decoder; none may panic. Whatever parses must re-emit to itself.
fn decode_everything(b: &[u8]) {
    if let Ok(r) = LacpduRepr::parse(b) {
        assert_eq!(LacpduRepr::parse(&emit_lacp(&r)).unwrap(), r);
    }
    if let Ok(m) = MarkerRepr::parse(b) {
        let mut v = [0u8; MARKER_PDU_LEN];
        m.emit(&mut v).unwrap();
        assert_eq!(MarkerRepr::parse(&v).unwrap(), m);
    }
    if let Ok(f) = SlowFrame::parse(b) {
        assert_eq!(SlowFrame::parse(&f.to_vec()).unwrap(), f);
    }
    let _ = SlowFrame::is_slow_protocols(b);
    if let Ok(p) = LacpduPacket::new_checked(b) {
        let _ = (p.actor_info(), p.partner_info(), p.collector_max_delay());
        for t in p.tlvs().take(200) {
            let _ = t;
        }
    }
    if let Ok(p) = MarkerPacket::new_checked(b) {
        let _ = (p.requester_system(), p.requester_transaction_id(), p.pad());
    }
    if let Ok(e) = EthernetFrame::new_checked(b) {
        let _ = (e.dst(), e.src(), e.ethertype(), e.payload().len());
    }
}

/// Offsets of the reserved octets of a 110-octet LACPDU whose TLVs end at `tlv_end`
/// (the Terminator's last octet + 1).
fn lacp_reserved_offsets(tlv_end: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (19..22).chain(39..42).chain(46..58).collect();
    v.extend(tlv_end..LACPDU_LEN);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lacpdu_v1_roundtrip(r in lacpdu_v1()) {
        let b = emit_lacp(&r);
        prop_assert_eq!(b.len(), LACPDU_LEN);
        prop_assert_eq!(LacpduRepr::parse(&b).unwrap(), r);
    }

    #[test]
    fn lacpdu_v2_roundtrip(r in lacpdu_v2()) {
        let b = emit_lacp(&r);
        prop_assert_eq!(b.len(), LACPDU_LEN, "v2 TLVs fit in the Pad");
        prop_assert_eq!(LacpduRepr::parse(&b).unwrap(), r);
    }

    #[test]
    fn lacpdu_view_agrees_with_repr(r in lacpdu_v2()) {
        let b = emit_lacp(&r);
        let p = LacpduPacket::new_checked(&b[..]).unwrap();
        prop_assert_eq!(p.version(), r.version);
        prop_assert_eq!(p.actor_system_priority(), r.actor.system.priority);
        prop_assert_eq!(p.actor_system(), r.actor.system.addr);
        prop_assert_eq!(p.actor_key(), r.actor.key);
        prop_assert_eq!(p.actor_port_priority(), r.actor.port.priority);
        prop_assert_eq!(p.actor_port(), r.actor.port.number);
        prop_assert_eq!(p.actor_state(), r.actor.state);
        prop_assert_eq!(p.partner_system_priority(), r.partner.system.priority);
        prop_assert_eq!(p.partner_system(), r.partner.system.addr);
        prop_assert_eq!(p.partner_key(), r.partner.key);
        prop_assert_eq!(p.partner_port_priority(), r.partner.port.priority);
        prop_assert_eq!(p.partner_port(), r.partner.port.number);
        prop_assert_eq!(p.partner_state(), r.partner.state);
        prop_assert_eq!(p.collector_max_delay(), r.collector_max_delay);
        let n_tlvs = p.tlvs().count();
        let want = 1 + usize::from(r.port_algorithm.is_some())
            + usize::from(r.conversation_digest.is_some());
        prop_assert_eq!(n_tlvs, want);
    }

    #[test]
    fn marker_roundtrip(m in marker()) {
        let mut b = [0u8; MARKER_PDU_LEN];
        prop_assert_eq!(m.emit(&mut b).unwrap(), MARKER_PDU_LEN);
        prop_assert_eq!(MarkerRepr::parse(&b).unwrap(), m);
        let p = MarkerPacket::new_checked(&b[..]).unwrap();
        prop_assert_eq!(p.requester_port(), m.requester_port);
        prop_assert_eq!(p.requester_system(), m.requester_system);
        prop_assert_eq!(p.requester_transaction_id(), m.transaction_id);
        let r = m.response();
        r.emit(&mut b).unwrap();
        prop_assert_eq!(MarkerRepr::parse(&b).unwrap(), r);
    }

    #[test]
    fn slow_frame_roundtrip(f in slow_frame()) {
        let v = f.to_vec();
        prop_assert_eq!(v.len(), f.buffer_len());
        prop_assert!(SlowFrame::is_slow_protocols(&v));
        prop_assert_eq!(SlowFrame::parse(&v).unwrap(), f);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_everything(&b);
    }

    #[test]
    fn arbitrary_bytes_with_valid_prefix_never_panic(
        sub in 1u8..=2,
        rest in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        // Past the subtype check, so the TLV walk sees arbitrary data.
        let mut b = vec![sub, 1, 1, 20];
        b.extend_from_slice(&rest);
        decode_everything(&b);
        let mut f = vec![1, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x09];
        f.extend_from_slice(&b);
        decode_everything(&f);
    }

    #[test]
    fn mutations_of_valid_frames_never_panic(
        f in slow_frame(),
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let mut v = f.to_vec();
        for (i, b) in &muts {
            let at = i.index(v.len());
            v[at] = *b;
        }
        if let Some(c) = cut {
            v.truncate(c.index(v.len() + 1));
        }
        v.extend_from_slice(&extra);
        decode_everything(&v);
        // and the PDU alone, without the Ethernet header
        decode_everything(v.get(14..).unwrap_or_default());
    }

    #[test]
    fn lacpdu_reserved_and_version_never_reject(
        r in lacpdu_v2(),
        version in any::<u8>(),
        noise in proptest::collection::vec(any::<u8>(), 80),
    ) {
        let mut b = emit_lacp(&r);
        let tlv_end = 58
            + r.port_algorithm.map_or(0, |_| 6)
            + r.conversation_digest.map_or(0, |_| 20)
            + 2;
        b[1] = version;
        for (off, n) in lacp_reserved_offsets(tlv_end).into_iter().zip(noise) {
            b[off] = n;
        }
        let got = LacpduRepr::parse(&b);
        prop_assert!(got.is_ok(), "refused: {:?}", got);
        let want = LacpduRepr { version, ..r };
        prop_assert_eq!(got.unwrap(), want);
    }

    #[test]
    fn marker_reserved_and_version_never_reject(
        m in marker(),
        version in any::<u8>(),
        pad in any::<[u8; 2]>(),
        noise in proptest::collection::vec(any::<u8>(), 90),
    ) {
        let mut b = [0u8; MARKER_PDU_LEN];
        m.emit(&mut b).unwrap();
        b[1] = version;
        b[16..18].copy_from_slice(&pad);
        b[20..110].copy_from_slice(&noise);
        prop_assert_eq!(MarkerRepr::parse(&b).unwrap(), MarkerRepr { version, ..m });
    }

    #[test]
    fn pcap_roundtrip(
        nanos in any::<bool>(),
        recs in proptest::collection::vec(
            (0u64..4_000_000_000_000_000_000, proptest::collection::vec(any::<u8>(), 0..200)),
            0..8,
        ),
    ) {
        let res = if nanos { TsResolution::Nanos } else { TsResolution::Micros };
        let mut w = PcapWriter::with_resolution(Vec::new(), res).unwrap();
        for (t, f) in &recs {
            w.write_frame(Instant::from_nanos(*t), f).unwrap();
        }
        let bytes = w.into_inner();
        let back: Vec<_> = PcapReader::new(&bytes[..])
            .unwrap()
            .collect::<std::io::Result<_>>()
            .unwrap();
        let want: Vec<_> = recs
            .iter()
            .map(|(t, f)| {
                let t = if nanos { *t } else { t - t % 1_000 };
                (Instant::from_nanos(t), f.clone())
            })
            .collect();
        prop_assert_eq!(back, want);
    }

    #[test]
    fn pcap_reader_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut with_header = Vec::new();
        PcapWriter::new(&mut with_header).unwrap();
        with_header.extend_from_slice(&b);
        for input in [&b[..], &with_header[..]] {
            if let Ok(r) = PcapReader::new(input) {
                for rec in r.take(100) {
                    let _ = rec;
                }
            }
        }
    }
}
