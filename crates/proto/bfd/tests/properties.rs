//! Property tests: emit then parse is the identity (packet and frame); decoders never panic
//! on arbitrary or mutated input; a session fed arbitrary packets keeps the RFC's invariants.

mod support;

use lagd_bfd::{BfdConfig, BfdRepr, Diag, MicroBfdFrame, SLOW_TX_INTERVAL, Session, SessionState};
use lagd_types::{Duration, Instant, MacAddr};
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn state() -> impl Strategy<Value = SessionState> {
    (0u8..4).prop_map(SessionState::from_bits)
}

fn repr() -> impl Strategy<Value = BfdRepr> {
    (
        (0u8..32, state(), any::<[bool; 4]>(), 1u8..=255),
        (
            1u32..,
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        ),
    )
        .prop_map(|((d, s, f, m), (my, your, tx, rx, echo))| BfdRepr {
            diag: Diag::from_code(d),
            state: s,
            poll: f[0],
            final_bit: f[1],
            control_plane_independent: f[2],
            demand: f[3],
            detect_mult: m,
            my_discriminator: my,
            your_discriminator: your,
            desired_min_tx_interval: tx,
            required_min_rx_interval: rx,
            required_min_echo_rx_interval: echo,
        })
}

fn frame() -> impl Strategy<Value = MicroBfdFrame> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        any::<u16>(),
        repr(),
    )
        .prop_map(|(d, s, si, di, ttl, sp, bfd)| MicroBfdFrame {
            dst: MacAddr(d),
            src: MacAddr(s),
            src_ip: Ipv4Addr::from(si),
            dst_ip: Ipv4Addr::from(di),
            ttl,
            src_port: sp,
            bfd,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_roundtrip(r in repr()) {
        let mut b = [0u8; 24];
        r.emit(&mut b).unwrap();
        prop_assert_eq!(BfdRepr::parse(&b), Ok(r));
    }

    #[test]
    fn frame_roundtrip(f in frame()) {
        let v = f.to_vec();
        prop_assert!(MicroBfdFrame::is_micro_bfd(&v));
        prop_assert_eq!(MicroBfdFrame::parse(&v), Ok(f));
    }

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        support::roundtrip::bfd_frame(&data);
        support::roundtrip::bfd_packet(&data);
        support::roundtrip::engine(&data);
    }

    #[test]
    fn mutated_frames_never_panic_and_any_flip_of_a_checked_octet_is_refused(
        f in frame(), at in 0usize..66, bit in 0u8..8,
    ) {
        let mut v = f.to_vec();
        v[at] ^= 1 << bit;
        support::roundtrip::bfd_frame(&v);
        // A flipped octet of the IP header or of the UDP segment breaks a checksum, unless
        // it is the checksum field of the UDP header turning into zero (no checksum).
        if (14..66).contains(&at) {
            let r = MicroBfdFrame::parse(&v);
            if let Ok(g) = r {
                prop_assert!((40..42).contains(&at) && v[40..42] == [0, 0], "{at}: {g:?}");
            }
        }
    }

    /// Whatever the peer sends, the session keeps the RFC's invariants: never Up without a
    /// peer; Desired Min TX at least one second while not Up; P and F never both set; the
    /// next deadline never in the past.
    #[test]
    fn session_invariants(pkts in proptest::collection::vec((repr(), 0u64..400), 1..60)) {
        let cfg = BfdConfig::new(Duration::from_millis(50), 3);
        let mut s = Session::new(Instant::ZERO, cfg, 77, 5);
        let mut now = Instant::ZERO;
        for (mut p, dt) in pkts {
            now += Duration::from_millis(dt);
            if p.your_discriminator % 3 == 0 { p.your_discriminator = 77; }
            let _ = s.handle_packet(now, &p);
            s.handle_timeout(now);
            while let Some(out) = s.poll_transmit(now) {
                prop_assert!(!(out.poll && out.final_bit));
                prop_assert_eq!(out.my_discriminator, 77);
                if out.state != SessionState::Up {
                    prop_assert!(u64::from(out.desired_min_tx_interval) >= SLOW_TX_INTERVAL.as_nanos() / 1000);
                }
            }
            while s.poll_event().is_some() {}
            let st = s.status();
            if st.state == SessionState::Up || st.state == SessionState::Init {
                prop_assert_ne!(st.remote_discr, 0);
            }
            if let Some(t) = s.poll_timeout() { prop_assert!(t > now); }
        }
    }
}
