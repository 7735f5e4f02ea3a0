//! Malformed input is counted and refused, never panics.

mod common;

use common::*;
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
    let mut bad_tlv = good.clone();
    bad_tlv[17] = 19;
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
