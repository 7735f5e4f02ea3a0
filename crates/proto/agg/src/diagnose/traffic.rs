//! Traffic spread: a hash policy that puts most of the traffic on one member (figures 6–9 of
//! the Sun Trunking article: L2 hashing towards one router MAC), naming the policy that
//! spreads it; one flow saturating a member (only round-robin goes beyond one link,
//! reordering).

use lagd_distrib::Mode;
use lagd_lacp::PortStatus;
use lagd_types::{AggrMode, Duration, PortNumber};

use super::{
    Ctx, FindingCode, Fix, IMBALANCE_SHARE, SATURATION, SINGLE_FLOW_SHARE, Setting, Severity,
};

/// Traffic spread: hash imbalance and single-flow saturation.
pub(crate) fn check(cx: &mut Ctx<'_, '_>) {
    let dcfg = &cx.input.config.distributor;
    let st = cx.input.status;
    let ports: Vec<&PortStatus> = st
        .lacp
        .ports
        .iter()
        .filter(|p| p.collecting && p.distributing)
        .collect();
    let bytes_of = |n: PortNumber| {
        st.distributor
            .ports
            .iter()
            .find(|s| s.port == n)
            .map_or(0, |s| s.bytes)
    };
    let total: u64 = ports.iter().map(|p| bytes_of(p.number)).sum();
    let buckets_total: u64 = st.distributor.bucket_bytes.iter().sum();
    let top_bucket = st
        .distributor
        .bucket_bytes
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let one_flow =
        buckets_total > 0 && top_bucket as f64 >= SINGLE_FLOW_SHARE * buckets_total as f64;

    if dcfg.mode == Mode::Hash && ports.len() >= 2 && total >= cx.input.min_bytes {
        let top = ports
            .iter()
            .map(|p| (p.number, bytes_of(p.number)))
            .max_by_key(|(_, b)| *b);
        if let Some((top_port, top_bytes)) = top {
            let share = top_bytes as f64 / total as f64;
            if share >= IMBALANCE_SHARE {
                let m = cx.name_of(top_port);
                let mut evidence: Vec<String> = ports
                    .iter()
                    .map(|p| {
                        let b = bytes_of(p.number);
                        format!(
                            "{}: {b} bytes sent ({:.1}%)",
                            cx.name_of(p.number),
                            100.0 * b as f64 / total as f64
                        )
                    })
                    .collect();
                evidence.push(format!("hash policy {}", dcfg.policy));
                let p = dcfg.policy;
                if p.l4 {
                    evidence.push(
                        "the policy already hashes L4 ports: the traffic is one or a few conversations"
                            .into(),
                    );
                    cx.push(
                        Severity::Warning,
                        FindingCode::HashImbalance,
                        Some(m.clone()),
                        format!(
                            "{:.0}% of the traffic leaves through {m}: a few large conversations dominate, and hashing keeps each conversation on one member",
                            share * 100.0
                        ),
                        evidence,
                        vec![
                            Fix::text("run several flows in parallel (one TCP connection never exceeds one link)"),
                            Fix::set(
                                "or spread frames of one flow with round-robin (frames get reordered)",
                                Setting::Mode,
                                AggrMode::RoundRobin,
                            ),
                        ],
                    );
                } else {
                    let why = if p.l3 {
                        "policy L3 hashes only IP addresses: traffic between two hosts is one conversation whatever the ports"
                    } else {
                        "policy L2 hashes only MAC addresses: traffic through one router (one destination MAC) is one conversation"
                    };
                    cx.push(
                        Severity::Warning,
                        FindingCode::HashImbalance,
                        Some(m.clone()),
                        format!(
                            "{:.0}% of the traffic leaves through {m}: {why}",
                            share * 100.0
                        ),
                        evidence,
                        vec![Fix::set(
                            "hash on IP addresses and ports",
                            Setting::Policy,
                            "L3,L4",
                        )],
                    );
                }
            }
        }
    }

    if dcfg.mode == Mode::RoundRobin || dcfg.mode == Mode::Broadcast {
        return;
    }
    // Saturation: measured rate, or the last rebalance interval's bytes.
    let interval = dcfg.rebalance_interval.filter(|d| *d > Duration::ZERO);
    for p in &ports {
        let speed = cx.speed(p);
        if speed == 0 {
            continue;
        }
        let measured = cx
            .input
            .links
            .get(&p.number)
            .and_then(|l| l.tx_bytes_per_sec);
        let rate = measured.or_else(|| {
            let d = interval?;
            let b = st
                .distributor
                .ports
                .iter()
                .find(|s| s.port == p.number)?
                .last_interval_bytes;
            Some((b as f64 / d.as_secs_f64()) as u64)
        });
        let Some(rate) = rate else { continue };
        let bits = rate as f64 * 8.0;
        let cap = f64::from(speed) * 1e6;
        if bits >= SATURATION * cap
            && (one_flow || ports.len() == 1 || dcfg.mode == Mode::ActiveBackup)
        {
            let m = cx.name_of(p.number);
            cx.push(
                Severity::Warning,
                FindingCode::SingleFlowSaturation,
                Some(m.clone()),
                format!(
                    "one conversation saturates {m} ({:.0} of {speed} Mbit/s): hashing never spreads one flow over several links",
                    bits / 1e6
                ),
                vec![
                    format!("{m}: {:.1}% utilised", 100.0 * bits / cap),
                    format!(
                        "busiest hash bucket: {:.0}% of the bytes",
                        if buckets_total > 0 {
                            100.0 * top_bucket as f64 / buckets_total as f64
                        } else {
                            100.0
                        }
                    ),
                ],
                vec![
                    Fix::text("split the transfer into several flows (parallel streams)"),
                    Fix::set(
                        "or round-robin, the only mode that takes one flow beyond one link, at the cost of reordering",
                        Setting::Mode,
                        AggrMode::RoundRobin,
                    ),
                    Fix::text("or faster member links"),
                ],
            );
        }
    }
}
