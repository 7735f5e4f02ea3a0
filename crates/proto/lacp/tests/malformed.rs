//! Malformed input is counted and refused, never panics.

use crate::common::*;
use lagd_lacp::{EventKind, RxError};
use lagd_types::Instant;
use lagd_wire::{LacpInfo, WireError};
use proptest::prelude::*;

#[test]
fn unknown_subtype_truncated_and_unknown_port() {
    let mut l = single(sys(1), 1);
    let now = Instant::from_secs(1);
    let mut f = lacpdu_frame(LacpInfo::default(), LacpInfo::default());
    f[14] = 10; // OAM: not ours
    assert_eq!(
        l.handle_frame(now, 1, &f),
        Err(RxError::Wire(WireError::UnknownSubtype(10)))
    );
    let good = lacpdu_frame(LacpInfo::default(), LacpInfo::default());
    assert!(matches!(
        l.handle_frame(now, 1, &good[..60]),
        Err(RxError::Wire(WireError::Truncated { .. }))
    ));
    // A Marker PDU that is neither Information nor Response (a LACPDU is refused only when
    // truncated: defect 3 of issue 11, see `lenient_like_linux_and_teamd`).
    let mut bad_tlv = marker_frame(lagd_wire::MarkerKind::Information, 1, mac(9, 0), 1);
    bad_tlv[16] = 9;
    assert!(l.handle_frame(now, 1, &bad_tlv).is_err());
    assert_eq!(l.handle_frame(now, 7, &good), Err(RxError::UnknownPort(7)));
    let c = l.port(1).unwrap().counters;
    assert_eq!((c.unknown_rx, c.illegal_rx, c.lacpdus_rx), (1, 2, 0));
    let errors = std::iter::from_fn(|| l.poll_event())
        .filter(|e| matches!(e.kind, EventKind::RxError { .. }))
        .count();
    assert_eq!(errors, 3);
    // Version and reserved octets are not checked.
    let mut odd = good.clone();
    odd[15] = 0xee;
    odd[14 + 19] = 0xff;
    assert_eq!(l.handle_frame(now, 1, &odd), Ok(()));
    assert_eq!(l.port(1).unwrap().counters.lacpdus_rx, 1);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut l = single(sys(1), 1);
        let r = l.handle_frame(Instant::from_secs(1), 1, &bytes);
        let c = l.port(1).unwrap().counters;
        if r.is_err() {
            prop_assert_eq!(c.unknown_rx + c.illegal_rx, 1);
        } else {
            prop_assert_eq!(c.unknown_rx + c.illegal_rx, 0);
        }
    }

    #[test]
    fn mutated_pdus_never_panic(
        edits in proptest::collection::vec((14usize..124, any::<u8>()), 1..8),
        marker in any::<bool>(),
    ) {
        let mut l = single(sys(1), 2);
        let mut f = if marker {
            marker_frame(lagd_wire::MarkerKind::Information, 1, mac(9, 0), 1)
        } else {
            lacpdu_frame(LacpInfo::default(), LacpInfo::default())
        };
        for (i, b) in edits {
            if let Some(x) = f.get_mut(i) {
                *x = b;
            }
        }
        let mut t = Instant::from_secs(1);
        for _ in 0..3 {
            let _ = l.handle_frame(t, 1, &f);
            l.handle_timeout(t);
            t += lagd_types::Duration::from_secs(2);
        }
        let _ = l.status();
        while l.poll_event().is_some() {}
        while l.poll_transmit(t).is_some() {}
    }
}

/// Issue 11, defect 3: a LACPDU as Linux and teamd accept it (no TLV type check, lengths off by
/// one, an FCS or vendor data after the 110 octets) is recorded; a Marker Information PDU with
/// Information_Length 0x16 (old Linux) is answered.
#[test]
fn lenient_like_linux_and_teamd() {
    let mut l = single(sys(1), 1);
    let now = Instant::from_secs(1);
    let partner = LacpInfo {
        system: lagd_types::SystemId::new(0x8000, mac(9, 0)),
        key: 9,
        port: lagd_types::PortId::new(0x8000, 4),
        state: lagd_types::PortState(0x3d),
    };
    let mut f = lacpdu_frame(partner, LacpInfo::default());
    f[16] = 0x11; // Actor TLV type
    f[17] = 21; // Actor_Information_Length off by one
    f[37] = 19; // Partner_Information_Length off by one
    f[56] = 0; // Collector TLV type
    f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // FCS kept by the capture path
    assert_eq!(l.handle_frame(now, 1, &f), Ok(()));
    let p = l.port(1).unwrap();
    assert_eq!(p.partner.system, partner.system);
    assert_eq!((p.counters.lacpdus_rx, p.counters.illegal_rx), (1, 0));
    while l.poll_transmit(now).is_some() {}
    let mut m = marker_frame(lagd_wire::MarkerKind::Information, 4, mac(9, 0), 77);
    m[17] = 0x16;
    assert_eq!(l.handle_frame(now, 1, &m), Ok(()));
    let responses: Vec<_> = std::iter::from_fn(|| l.poll_transmit(now))
        .filter(|t| t.frame.get(14) == Some(&2) && t.frame.get(16) == Some(&2))
        .collect();
    assert_eq!(responses.len(), 1, "the Marker is answered");
    assert_eq!(l.port(1).unwrap().counters.marker_response_pdus_tx, 1);
}
