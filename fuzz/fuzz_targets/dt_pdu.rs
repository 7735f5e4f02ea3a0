//! Fuzz target: arbitrary bytes as a DT (DRCP dialect) frame. Parsing must never panic; a frame
//! that parses must re-emit to bytes that parse to the same thing; and a DT switch fed the
//! bytes on both paths must not panic.
#![no_main]

use lagd_dt::{Dt, DtConfig, DtFrame};
use lagd_types::{Instant, MacAddr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
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
});
