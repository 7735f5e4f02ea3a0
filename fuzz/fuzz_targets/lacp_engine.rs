//! Fuzz target: arbitrary bytes as frames received by a running LACP System. The first byte
//! picks a port and a time step; the rest is the frame (prefixed with a valid slow-protocols
//! Ethernet header half of the time, so the PDU decoders and the machines behind them are
//! reached). Nothing may panic, and every frame must be either accepted or counted.
#![no_main]

use lagd_lacp::{Lacp, LinkStatus, PortConfig, SystemConfig};
use lagd_types::{Duration, Instant, MacAddr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut lacp = Lacp::new(SystemConfig::new(MacAddr([2, 0, 0, 0, 0, 1])));
    let mut now = Instant::ZERO;
    for p in 1..=2u16 {
        let _ = lacp.add_port(now, PortConfig::new(p, MacAddr([2, 0, 0, 0, 1, p as u8])));
        lacp.handle_link(now, p, LinkStatus::up(10_000));
    }
    for chunk in data.chunks(128) {
        let Some((&ctl, body)) = chunk.split_first() else { continue };
        let port = u16::from(ctl & 1) + 1;
        now = now + Duration::from_millis(u64::from(ctl >> 1) * 50);
        let mut frame = Vec::with_capacity(14 + body.len());
        if ctl & 0x80 == 0 {
            frame.extend_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 9, 9, 0x88, 0x09]);
        }
        frame.extend_from_slice(body);
        let _ = lacp.handle_frame(now, port, &frame);
        lacp.handle_timeout(now);
        while lacp.poll_transmit(now).is_some() {}
        while lacp.poll_event().is_some() {}
        let _ = lacp.status();
    }
});
