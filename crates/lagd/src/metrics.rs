//! Prometheus text exposition (`[daemon] prometheus = "127.0.0.1:9477"`): per-member counters
//! and state flags, aggregate up, carrier losses. A minimal HTTP responder on one thread: every
//! request, whatever its path, gets the metrics.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::control::proto::{AggrStatus, LinkStats, MemberStatus};

/// Reads one gauge of a member.
type MemberGauge = fn(&MemberStatus) -> u64;
/// Reads one traffic counter.
type LinkCounter = fn(&LinkStats) -> u64;
use crate::engine::Engine;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the metrics of `aggrs` and `links` in the Prometheus text format (version 0.0.4).
pub fn render(aggrs: &[AggrStatus], links: &[LinkStats]) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    let b = |v: bool| u8::from(v);

    family(
        &mut out,
        "lagd_aggregate_up",
        "gauge",
        "Aggregate up (min-links met, or fallback).",
    );
    for a in aggrs {
        let _ = writeln!(
            out,
            "lagd_aggregate_up{{aggregate=\"{}\"}} {}",
            esc(&a.name),
            b(a.up)
        );
    }
    family(
        &mut out,
        "lagd_aggregate_fallback_active",
        "gauge",
        "Fallback in force.",
    );
    for a in aggrs {
        let _ = writeln!(
            out,
            "lagd_aggregate_fallback_active{{aggregate=\"{}\"}} {}",
            esc(&a.name),
            b(a.fallback_active)
        );
    }
    family(
        &mut out,
        "lagd_aggregate_carrier_losses_total",
        "counter",
        "Member carrier losses (each one a failover of its conversations).",
    );
    for a in aggrs {
        let _ = writeln!(
            out,
            "lagd_aggregate_carrier_losses_total{{aggregate=\"{}\"}} {}",
            esc(&a.name),
            a.carrier_losses
        );
    }
    let gauges: [(&str, &str, MemberGauge); 5] = [
        ("lagd_member_link_up", "Member carrier.", |m| {
            u64::from(m.link_up)
        }),
        ("lagd_member_collecting", "Member Collecting.", |m| {
            u64::from(m.collecting)
        }),
        ("lagd_member_distributing", "Member Distributing.", |m| {
            u64::from(m.distributing)
        }),
        (
            "lagd_member_actor_state",
            "Actor_State octet (§6.4.2.3).",
            |m| u64::from(m.actor.state.bits()),
        ),
        (
            "lagd_member_partner_state",
            "Partner_State octet (§6.4.2.3).",
            |m| u64::from(m.partner.state.bits()),
        ),
    ];
    for (name, help, get) in gauges {
        family(&mut out, name, "gauge", help);
        for a in aggrs {
            for m in &a.members {
                let _ = writeln!(
                    out,
                    "{name}{{aggregate=\"{}\",member=\"{}\"}} {}",
                    esc(&a.name),
                    esc(&m.name),
                    get(m)
                );
            }
        }
    }
    // LACP counters, by their 802.3ad MIB names.
    let mut counter_names: Vec<String> = aggrs
        .iter()
        .flat_map(|a| a.members.iter())
        .filter_map(|m| m.counters.as_object())
        .flat_map(|o| o.keys().cloned())
        .collect();
    counter_names.sort();
    counter_names.dedup();
    for c in counter_names {
        let name = format!("lagd_member_{c}_total");
        family(&mut out, &name, "counter", "LACP protocol counter.");
        for a in aggrs {
            for m in &a.members {
                if let Some(v) = m.counters.get(&c).and_then(serde_json::Value::as_u64) {
                    let _ = writeln!(
                        out,
                        "{name}{{aggregate=\"{}\",member=\"{}\"}} {v}",
                        esc(&a.name),
                        esc(&m.name)
                    );
                }
            }
        }
    }
    let traffic: [(&str, LinkCounter); 6] = [
        ("ipackets", |l| l.ipackets),
        ("rbytes", |l| l.rbytes),
        ("ierrors", |l| l.ierrors),
        ("opackets", |l| l.opackets),
        ("obytes", |l| l.obytes),
        ("oerrors", |l| l.oerrors),
    ];
    for (c, get) in traffic {
        let name = format!("lagd_link_{c}_total");
        family(&mut out, &name, "counter", "Forwarder traffic counter.");
        for l in links {
            let _ = writeln!(
                out,
                "{name}{{aggregate=\"{}\",link=\"{}\",kind=\"{}\"}} {}",
                esc(&l.aggregate),
                esc(&l.name),
                esc(&l.kind),
                get(l)
            );
        }
    }
    out
}

/// Serves the metrics on `addr` on a background thread.
pub fn serve(addr: SocketAddr, engine: Arc<Engine>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    std::thread::Builder::new()
        .name("lagd-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(s) => {
                        if let Err(e) = answer(s, &engine) {
                            tracing::debug!("metrics client: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::warn!("metrics accept: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        })?;
    Ok(())
}

fn answer(stream: TcpStream, engine: &Engine) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    let mut total = 0;
    // Read the request head up to the blank line (bounded).
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        total += n;
        if n == 0 || line.trim().is_empty() || total > 8192 {
            break;
        }
    }
    let body = render(
        &engine.show(None).unwrap_or_default(),
        &engine.show_link(None).unwrap_or_default(),
    );
    let mut s = &stream;
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AggrSpec;

    #[test]
    fn renders_aggregate_member_and_link_metrics() {
        let a = AggrStatus {
            name: "aggr1".into(),
            spec: AggrSpec::new("aggr1", &["eth1"]),
            temporary: false,
            mac: lagd_types::MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 3,
            members: vec![MemberStatus {
                name: "eth1".into(),
                port: 1,
                link_up: true,
                speed_mbps: 1000,
                full_duplex: true,
                selected: "SELECTED".into(),
                mux: "COLLECTING_DISTRIBUTING".into(),
                receive: "CURRENT".into(),
                actor: lagd_wire::LacpInfo {
                    state: lagd_types::PortState(0x3d),
                    ..Default::default()
                },
                partner: Default::default(),
                collecting: true,
                distributing: false,
                why_not_distributing: Some("x".into()),
                counters: serde_json::json!({"lacpdus_rx": 12}),
                bfd: None,
            }],
            draining: vec![],
            protocol: serde_json::Value::Null,
            offload: None,
        };
        let l = LinkStats {
            name: "eth1".into(),
            aggregate: "aggr1".into(),
            kind: "member".into(),
            opackets: 99,
            ..Default::default()
        };
        let text = render(&[a], &[l]);
        for want in [
            "lagd_aggregate_up{aggregate=\"aggr1\"} 1",
            "lagd_aggregate_carrier_losses_total{aggregate=\"aggr1\"} 3",
            "lagd_member_collecting{aggregate=\"aggr1\",member=\"eth1\"} 1",
            "lagd_member_distributing{aggregate=\"aggr1\",member=\"eth1\"} 0",
            "lagd_member_actor_state{aggregate=\"aggr1\",member=\"eth1\"} 61",
            "lagd_member_lacpdus_rx_total{aggregate=\"aggr1\",member=\"eth1\"} 12",
            "lagd_link_opackets_total{aggregate=\"aggr1\",link=\"eth1\",kind=\"member\"} 99",
            "# TYPE lagd_link_obytes_total counter",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert_eq!(esc("a\"b\\"), "a\\\"b\\\\");
    }
}
