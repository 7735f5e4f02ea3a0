//! Oracles shared by the fuzz targets (`fuzz/fuzz_targets/*.rs` include this file by path) and
//! by the corpus replay test: feed arbitrary bytes to one decoder and, when they parse, check
//! that emit then parse gives the same value back. A violation panics, which is what a fuzzer
//! reports; malformed input must only ever produce an `Err`.

#![allow(dead_code)]

use lagd_wire::{
    EthernetFrame, LacpduPacket, LacpduRepr, MARKER_PDU_LEN, MarkerPacket, MarkerRepr, SlowFrame,
};

/// LACPDU decoder (view and Repr), starting at the subtype octet.
pub fn lacpdu(data: &[u8]) {
    if let Ok(p) = LacpduPacket::new_checked(data) {
        let _ = (p.actor_info(), p.partner_info(), p.collector_max_delay());
        let _ = p.tlvs().count();
    }
    if let Ok(r) = LacpduRepr::parse(data) {
        let mut buf = vec![0u8; r.buffer_len()];
        match r.emit(&mut buf) {
            Ok(n) => assert_eq!(n, buf.len(), "emit wrote a different length"),
            Err(e) => panic!("emit of a parsed LACPDU failed: {e}"),
        }
        assert_eq!(LacpduRepr::parse(&buf), Ok(r), "LACPDU emit -> parse");
    }
}

/// Marker PDU decoder (view and Repr), starting at the subtype octet.
pub fn marker(data: &[u8]) {
    if let Ok(p) = MarkerPacket::new_checked(data) {
        let _ = (p.requester_system(), p.requester_transaction_id(), p.pad());
    }
    if let Ok(m) = MarkerRepr::parse(data) {
        let mut buf = [0u8; MARKER_PDU_LEN];
        if let Err(e) = m.emit(&mut buf) {
            panic!("emit of a parsed Marker PDU failed: {e}");
        }
        assert_eq!(MarkerRepr::parse(&buf), Ok(m), "Marker emit -> parse");
    }
}

/// Whole slow-protocols Ethernet frame decoder.
pub fn slow_frame(data: &[u8]) {
    let _ = SlowFrame::is_slow_protocols(data);
    if let Ok(e) = EthernetFrame::new_checked(data) {
        let _ = (e.dst(), e.src(), e.ethertype(), e.payload().len());
    }
    if let Ok(f) = SlowFrame::parse(data) {
        let v = f.to_vec();
        assert_eq!(v.len(), f.buffer_len(), "to_vec length");
        assert_eq!(SlowFrame::parse(&v), Ok(f), "SlowFrame emit -> parse");
    }
}
