//! Oracles shared by the fuzz target `bfd_frame` (included by `#[path]`) and the corpus
//! replay test: decoders never panic; whatever parses re-emits to something that parses the
//! same; a running micro-BFD endpoint fed the bytes keeps working.
#![allow(dead_code)]

use lagd_bfd::{BfdConfig, BfdPacket, BfdRepr, MicroBfd, MicroBfdFrame};
use lagd_types::{Duration, Instant, MacAddr};

/// Offset of the BFD packet in a frame lagd emits.
const BFD_AT: usize = 42;

/// `data` as a BFD Control packet (UDP payload).
pub fn bfd_packet(data: &[u8]) {
    if let Ok(p) = BfdPacket::new_checked(data) {
        let _ = (p.version(), p.diag(), p.state(), p.poll(), p.final_bit());
        let _ = (p.control_plane_independent(), p.auth_present(), p.demand());
        let _ = (
            p.multipoint(),
            p.detect_mult(),
            p.length(),
            p.my_discriminator(),
        );
        let _ = (p.your_discriminator(), p.desired_min_tx_interval());
        let _ = (
            p.required_min_rx_interval(),
            p.required_min_echo_rx_interval(),
        );
        let _ = (p.auth_type(), p.auth_len());
    }
    if let Ok(r) = BfdRepr::parse(data) {
        let mut buf = [0u8; 24];
        let n = r.emit(&mut buf).expect("emit into a buffer of buffer_len");
        assert_eq!(n, r.buffer_len());
        assert_eq!(
            BfdRepr::parse(&buf),
            Ok(r),
            "emit then parse is the identity"
        );
    }
}

/// `data` as a whole micro-BFD frame.
pub fn bfd_frame(data: &[u8]) {
    let _ = MicroBfdFrame::is_micro_bfd(data);
    if let Ok(f) = MicroBfdFrame::parse(data) {
        let v = f.to_vec();
        assert_eq!(v.len(), f.buffer_len());
        assert_eq!(
            MicroBfdFrame::parse(&v),
            Ok(f),
            "emit then parse is the identity"
        );
    }
    bfd_packet(data.get(BFD_AT..).unwrap_or_default());
}

/// `data` in chunks as frames received by a running two-member endpoint: the first octet of
/// each chunk picks the port and advances the clock. Nothing may panic; timers, transmit and
/// status keep working.
pub fn engine(data: &[u8]) {
    let mut m = MicroBfd::new(BfdConfig::new(Duration::from_millis(10), 3), 9);
    m.add_port(Instant::ZERO, 1, MacAddr([2, 0, 0, 0, 0, 1]))
        .unwrap();
    m.add_port(Instant::ZERO, 2, MacAddr([2, 0, 0, 0, 0, 2]))
        .unwrap();
    let mut now = Instant::ZERO;
    for chunk in data.chunks(80) {
        let (&ctl, frame) = chunk.split_first().unwrap_or((&0, &[]));
        now += Duration::from_millis(u64::from(ctl >> 2));
        let port = u16::from(ctl & 3);
        let _ = m.handle_frame(now, port, frame);
        m.handle_timeout(now);
        while let Some(t) = m.poll_transmit(now) {
            assert!(
                MicroBfdFrame::parse(&t.frame).is_ok(),
                "we send what we parse"
            );
        }
        while m.poll_event().is_some() {}
        if let Some(t) = m.poll_timeout() {
            assert!(t >= now || t + Duration::from_secs(1) >= now);
        }
        let _ = m.status();
    }
}
