//! Shared set-up for the integration tests.
#![allow(dead_code)]

use lagd_lacp::testing::{End, Harness, end};
use lagd_lacp::{LacpActivity, LacpTimeout, PortConfig, SystemConfig};
use lagd_types::{Duration, Instant, MacAddr};

/// The MAC of port `port` of system `sys` (port 0: the system's own).
pub fn mac(sys: u8, port: u16) -> MacAddr {
    MacAddr([2, 0, 0, 0, sys, port as u8])
}

/// A default active, short-timer System numbered `id`.
pub fn sys(id: u8) -> SystemConfig {
    SystemConfig::new(mac(id, 0))
}

/// A System with the given mode and timer.
pub fn sys_with(id: u8, mode: LacpActivity, timer: LacpTimeout) -> SystemConfig {
    SystemConfig {
        mode,
        timer,
        ..sys(id)
    }
}

/// Adds ports 1..=n to system `s` of `h`.
pub fn add_ports(h: &mut Harness, s: usize, id: u8, n: u16) -> Vec<End> {
    (1..=n)
        .map(|p| {
            h.add_port(s, PortConfig::new(p, mac(id, p)));
            end(s, p)
        })
        .collect()
}

/// Two Systems (indices 0 and 1) with `n` ports each, port i cabled to port i.
pub fn pair(a: SystemConfig, b: SystemConfig, n: u16) -> (Harness, Vec<End>, Vec<End>) {
    let mut h = Harness::new();
    let ia = h.add_system(a);
    let ib = h.add_system(b);
    let pa = add_ports(&mut h, ia, 1, n);
    let pb = add_ports(&mut h, ib, 2, n);
    for (x, y) in pa.iter().zip(&pb) {
        h.connect(*x, *y);
    }
    (h, pa, pb)
}

/// Runs until every port of both lists distributes; returns when, panics after `limit`.
pub fn until_all_distributing(h: &mut Harness, a: &[End], b: &[End], limit: Duration) -> Instant {
    let all: Vec<End> = a.iter().chain(b).copied().collect();
    h.run_until_cond(limit, |h| h.all_distributing(&all))
        .unwrap_or_else(|| {
            let states: Vec<String> = all
                .iter()
                .map(|e| {
                    let p = h.port(*e);
                    format!(
                        "sys {} port {}: {} {} {} {:?}",
                        e.system, e.port, p.receive, p.selected, p.mux, p.why_not_distributing
                    )
                })
                .collect();
            panic!(
                "not all distributing within {limit}:\n{}",
                states.join("\n")
            )
        })
}

/// Seconds as an Instant.
pub fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// A LACPDU frame as a partner would send it.
pub fn lacpdu_frame(actor: lagd_wire::LacpInfo, partner: lagd_wire::LacpInfo) -> Vec<u8> {
    lagd_wire::SlowFrame {
        dst: MacAddr::SLOW_PROTOCOLS,
        src: mac(9, 1),
        pdu: lagd_wire::SlowPdu::Lacp(lagd_wire::LacpduRepr {
            version: 1,
            actor,
            partner,
            ..Default::default()
        }),
    }
    .to_vec()
}

/// A Marker frame.
pub fn marker_frame(kind: lagd_wire::MarkerKind, port: u16, system: MacAddr, id: u32) -> Vec<u8> {
    lagd_wire::SlowFrame {
        dst: MacAddr::SLOW_PROTOCOLS,
        src: mac(9, 1),
        pdu: lagd_wire::SlowPdu::Marker(lagd_wire::MarkerRepr {
            kind,
            version: 1,
            requester_port: port,
            requester_system: system,
            transaction_id: id,
        }),
    }
    .to_vec()
}

/// A single System with ports 1..=n up, at time 0.
pub fn single(cfg: SystemConfig, n: u16) -> lagd_lacp::Lacp {
    let mut l = lagd_lacp::Lacp::new(cfg);
    for p in 1..=n {
        l.add_port(Instant::ZERO, PortConfig::new(p, mac(1, p)))
            .unwrap();
        l.handle_link(Instant::ZERO, p, lagd_lacp::LinkStatus::up(1000));
    }
    l
}

/// Drives a single System's timers up to `until`, collecting what it sends.
/// Frames already queued are stamped `now`.
pub fn drive(
    l: &mut lagd_lacp::Lacp,
    now: Instant,
    until: Instant,
    sent: &mut Vec<(Instant, lagd_lacp::Transmit)>,
) {
    while let Some(t) = l.poll_transmit(now) {
        sent.push((now, t));
    }
    loop {
        match l.poll_timeout() {
            Some(t) if t <= until => {
                l.handle_timeout(t);
                while let Some(x) = l.poll_transmit(t) {
                    sent.push((t, x));
                }
            }
            _ => break,
        }
    }
}
