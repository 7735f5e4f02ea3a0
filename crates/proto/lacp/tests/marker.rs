//! The Marker protocol: responder and generator.

use crate::common::*;
use lagd_lacp::{EventKind, MarkerError, MarkerId};
use lagd_types::{Duration, Instant};
use lagd_wire::{MarkerKind, SlowFrame, SlowPdu};

#[test]
fn generator_gets_response_from_responding_partner() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    let now = h.now;
    let id = h.lacp_mut(0).send_marker(now, 1).unwrap();
    h.drain();
    h.run_for(Duration::from_millis(10));
    let got: Vec<_> = h
        .events(0, |e| e.port == Some(1))
        .filter_map(|e| match e.kind {
            EventKind::MarkerResponse { id } => Some((e.at, id)),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![(now + Duration::from_millis(2), id)]);
    let ca = h.port(a[0]).counters;
    assert_eq!((ca.marker_pdus_tx, ca.marker_response_pdus_rx), (1, 1));
    let cb = h.port(b[0]).counters;
    assert_eq!((cb.marker_pdus_rx, cb.marker_response_pdus_tx), (1, 1));
    // The response echoes the information with type Response, from B's port MAC.
    let resp = h
        .sent
        .iter()
        .find(|s| s.system == 1 && s.transmit.frame.get(14) == Some(&2))
        .unwrap();
    let f = SlowFrame::parse(&resp.transmit.frame).unwrap();
    assert_eq!(f.src, mac(2, 1));
    match f.pdu {
        SlowPdu::Marker(m) => {
            assert_eq!(m.kind, MarkerKind::Response);
            assert_eq!(m.requester_port, 1);
            assert_eq!(m.requester_system, sys(1).system.addr);
            assert_eq!(MarkerId(m.transaction_id), id);
        }
        other => panic!("{other:?}"),
    }
    assert!(!h.saw(0, |k| matches!(k, EventKind::MarkerTimeout { .. })));
}

#[test]
fn generator_times_out_on_silent_partner() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.silence(1, true, false);
    let now = h.now;
    let id = h.lacp_mut(0).send_marker(now, 2).unwrap();
    let id2 = h.lacp_mut(0).send_marker(now, 2).unwrap();
    assert_ne!(id, id2, "fresh ids");
    h.drain();
    h.run_for(Duration::from_secs(2));
    let to: Vec<_> = h
        .events(0, |e| matches!(e.kind, EventKind::MarkerTimeout { .. }))
        .map(|e| (e.at, e.kind.clone()))
        .collect();
    let at = now + Duration::from_secs(1);
    assert_eq!(
        to,
        vec![
            (at, EventKind::MarkerTimeout { id }),
            (at, EventKind::MarkerTimeout { id: id2 })
        ]
    );
    assert_eq!(h.port(a[1]).counters.marker_timeouts, 2);
    assert_eq!(
        h.lacp_mut(0).send_marker(now, 99),
        Err(MarkerError::UnknownPort(99))
    );
}

#[test]
fn responder_is_rate_limited_and_unmatched_responses_counted() {
    let mut l = single(sys(1), 1);
    let now = Instant::from_secs(1);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, now, &mut sent);
    sent.clear();
    for i in 0..20 {
        l.handle_frame(
            now,
            1,
            &marker_frame(MarkerKind::Information, 7, mac(9, 0), i),
        )
        .unwrap();
    }
    while let Some(t) = l.poll_transmit(now) {
        sent.push((now, t));
    }
    let c = l.port(1).unwrap().counters;
    assert_eq!(c.marker_pdus_rx, 20);
    assert!(c.marker_response_pdus_tx >= 1);
    assert_eq!(c.marker_response_pdus_tx + c.marker_responses_dropped, 20);
    assert!(sent.len() <= 10, "{} slow frames in one second", sent.len());
    // A second later the responder answers again.
    let later = now + Duration::from_secs(1);
    drive(&mut l, now, later, &mut Vec::new());
    l.handle_frame(
        later,
        1,
        &marker_frame(MarkerKind::Information, 7, mac(9, 0), 99),
    )
    .unwrap();
    assert_eq!(
        l.port(1).unwrap().counters.marker_response_pdus_tx,
        c.marker_response_pdus_tx + 1
    );
    // A response for nobody.
    l.handle_frame(
        later,
        1,
        &marker_frame(MarkerKind::Response, 1, mac(1, 0), 12345),
    )
    .unwrap();
    let c = l.port(1).unwrap().counters;
    assert_eq!(
        (c.marker_response_pdus_rx, c.marker_responses_unmatched),
        (1, 1)
    );
    assert!(
        std::iter::from_fn(|| l.poll_event())
            .all(|e| !matches!(e.kind, EventKind::MarkerResponse { .. }))
    );
}
