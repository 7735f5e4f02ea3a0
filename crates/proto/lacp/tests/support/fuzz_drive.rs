//! Drives a running two-port LACP System with arbitrary bytes: shared by the `lacp_engine`
//! fuzz target (`fuzz/fuzz_targets/lacp_engine.rs`) and the corpus replay test
//! (`crates/proto/lacp/tests/corpus.rs`).
//!
//! The input is cut into chunks of 128 bytes; each chunk's first byte picks the port (bit 0),
//! a time step (bits 1–6, in 50 ms units) and whether a slow-protocols Ethernet header is
//! prepended (bit 7 clear), so the PDU decoders and the machines behind them are reached.

use lagd_lacp::{Lacp, LinkStatus, PortConfig, SystemConfig};
use lagd_types::{Duration, Instant, MacAddr};

/// Feeds `data` to a fresh System; panics only if the engine does.
pub fn drive(data: &[u8]) {
    let mut lacp = Lacp::new(SystemConfig::new(MacAddr([2, 0, 0, 0, 0, 1])));
    let mut now = Instant::ZERO;
    for p in 1..=2u16 {
        let _ = lacp.add_port(now, PortConfig::new(p, MacAddr([2, 0, 0, 0, 1, p as u8])));
        lacp.handle_link(now, p, LinkStatus::up(10_000));
    }
    let mut frame = Vec::with_capacity(14 + 128);
    for chunk in data.chunks(128) {
        let Some((&ctl, body)) = chunk.split_first() else {
            continue;
        };
        let port = u16::from(ctl & 1) + 1;
        now += Duration::from_millis(u64::from((ctl >> 1) & 0x3f) * 50);
        frame.clear();
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
}
