//! What the `dt_pdu` fuzz target does with its input, shared with the corpus replay test
//! (`crates/proto/dt/tests/corpus.rs`): parse the bytes as a DT frame (a frame that parses must
//! re-emit to bytes that parse to the same thing), then feed them to a running DT switch on both
//! paths; nothing may panic.

use lagd_dt::{Dt, DtConfig, DtFrame};
use lagd_types::{Instant, MacAddr};

/// Checks one input.
pub fn drive(data: &[u8]) {
    if let Ok(f) = DtFrame::parse(data) {
        let v = f.to_vec().expect("a parsed frame re-emits");
        assert_eq!(DtFrame::parse(&v).expect("re-parses"), f);
    }
    let cfg = DtConfig {
        system_mac: MacAddr([2, 0, 0, 0, 0, 1]),
        ..DtConfig::default()
    };
    let mut dt = Dt::new(Instant::ZERO, cfg).expect("valid config");
    let _ = dt.handle_peer_frame(Instant::from_millis(1), data);
    let _ = dt.handle_keepalive_frame(Instant::from_millis(2), data);
    dt.handle_timeout(Instant::from_secs(10));
    while dt.poll_transmit().is_some() {}
    while dt.poll_event().is_some() {}
    let _ = dt.status();
}
