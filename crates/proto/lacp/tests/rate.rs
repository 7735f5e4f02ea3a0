//! The Transmit machine sends at most 3 LACPDUs per second per port, deferring (not dropping)
//! the rest.

mod common;

use common::*;
use lagd_types::{Duration, Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::{LacpInfo, SlowFrame, SlowPdu};

#[test]
fn at_most_three_lacpdus_per_second_even_with_ntt_set_repeatedly() {
    let mut l = single(sys(1), 1);
    let partner = LacpInfo {
        system: SystemId::new(1, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(1, 1),
        state: PortState(0x07),
    };
    let mut sent = Vec::new();
    // Every 10 ms for 3 s, a LACPDU whose view of us is wrong: each one sets NTT.
    let mut now = Instant::ZERO;
    for i in 0..300u64 {
        now = Instant::from_millis(i * 10);
        drive(&mut l, now, now, &mut sent);
        let wrong_view = LacpInfo {
            key: (i % 7) as u16,
            ..LacpInfo::default()
        };
        l.handle_frame(now, 1, &lacpdu_frame(partner, wrong_view))
            .unwrap();
    }
    drive(&mut l, now, now + Duration::from_secs(2), &mut sent);
    let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
    assert!(
        times.len() >= 9,
        "deferred, not dropped: {} sent",
        times.len()
    );
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(in_window <= 3, "{in_window} LACPDUs in the second from {t}");
    }
    // The last PDU sent carries the latest state (the deferred NTT was honoured).
    let last = SlowFrame::parse(&sent.last().unwrap().1.frame).unwrap();
    let SlowPdu::Lacp(pdu) = last.pdu else {
        panic!("not a LACPDU")
    };
    assert_eq!(pdu.actor, l.port(1).unwrap().actor);
    assert_eq!(pdu.partner.system, partner.system);
    assert_eq!(l.port(1).unwrap().counters.lacpdus_tx, times.len() as u64);
}

#[test]
fn no_lacpdu_when_port_down_or_lacp_off() {
    let mut l = single(
        sys_with(
            1,
            lagd_lacp::LacpActivity::Off,
            lagd_lacp::LacpTimeout::Short,
        ),
        1,
    );
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert!(sent.is_empty());
    let mut l = single(sys(1), 1);
    l.handle_link(Instant::ZERO, 1, lagd_lacp::LinkStatus::DOWN);
    while l.poll_transmit(Instant::ZERO).is_some() {}
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert!(sent.is_empty());
}
