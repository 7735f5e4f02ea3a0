//! Output: the per-interval traffic table in Sun Trunking's format, and the records of a run
//! (events, state changes, checks, per-flow and per-port summaries) for text and JSON output.
//!
//! The table format is the one of Sun Trunking 1.2's per-port statistics (seed 001):
//! ```text
//! Name  Ipkts    Ierrs Opkts    Oerrs Collis Crc   %Ipkts %Opkts
//!
//! qfe0  210      0     130      0     0      0   100.00  25.00
//!
//! (Aggregate Throughput(Mb/sec):   5.73(New Peak)  31.51(Past Peak) 18.18%(New/Past))
//! ```
//! (our rows are aligned under the headings, which the seed's are not). "New Peak" is the throughput of the interval just ended, "Past Peak" the highest interval
//! so far (this one included), and the percentage their ratio. The real-network demo uses the
//! same functions.

use crate::dt::DtSummary;
use crate::flow::FlowSummary;
use serde::Serialize;
use std::fmt::Write as _;

/// One member's counters over one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SunRow {
    /// Member name.
    pub name: String,
    /// Frames received.
    pub ipkts: u64,
    /// Frames received and dropped (not Collecting, node down).
    pub ierrs: u64,
    /// Frames sent.
    pub opkts: u64,
    /// Frames that could not be sent (carrier down, queue full).
    pub oerrs: u64,
    /// Collisions (always 0 on full-duplex links).
    pub collis: u64,
    /// Frames lost to link errors on the way to this member.
    pub crc: u64,
}

/// Tracks the highest interval throughput of one table.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PeakTracker {
    peak: f64,
}

impl PeakTracker {
    /// Records this interval's throughput; returns (new, past peak, new/past in %).
    pub fn update(&mut self, mbps: f64) -> (f64, f64, f64) {
        if mbps > self.peak {
            self.peak = mbps;
        }
        let pct = if self.peak > 0.0 {
            mbps / self.peak * 100.0
        } else {
            0.0
        };
        (mbps, self.peak, pct)
    }
}

fn col(out: &mut String, v: impl std::fmt::Display, w: usize) {
    let s = v.to_string();
    out.push_str(&s);
    let pad = if s.len() < w { w - s.len() } else { 1 };
    out.extend(std::iter::repeat_n(' ', pad));
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// Formats one interval: title line, header, one row per member, aggregate throughput line.
pub fn sun_table(title: &str, rows: &[SunRow], mbps: f64, peak: &mut PeakTracker) -> String {
    let ti: u64 = rows.iter().map(|r| r.ipkts).sum();
    let to: u64 = rows.iter().map(|r| r.opkts).sum();
    let w = rows
        .iter()
        .map(|r| r.name.len() + 2)
        .max()
        .unwrap_or(6)
        .max(6);
    let mut s = String::new();
    let _ = writeln!(s, "{title}\n");
    col(&mut s, "Name", w);
    s.push_str("Ipkts    Ierrs Opkts    Oerrs Collis Crc   %Ipkts %Opkts\n\n");
    for r in rows {
        col(&mut s, &r.name, w);
        col(&mut s, r.ipkts, 9);
        col(&mut s, r.ierrs, 6);
        col(&mut s, r.opkts, 9);
        col(&mut s, r.oerrs, 6);
        col(&mut s, r.collis, 7);
        col(&mut s, r.crc, 4);
        let _ = writeln!(s, "{:>6.2}{:>7.2}", pct(r.ipkts, ti), pct(r.opkts, to));
    }
    let (new, past, ratio) = peak.update(mbps);
    let _ = writeln!(
        s,
        "\n(Aggregate Throughput(Mb/sec): {new:>6.2}(New Peak) {past:>6.2}(Past Peak) {ratio:>5.2}%(New/Past))\n"
    );
    s
}

/// One table of one interval, for JSON.
#[derive(Clone, Debug, Serialize)]
pub struct TableRecord {
    /// End of the interval, seconds.
    pub t: f64,
    /// `node/aggregation`.
    pub aggregation: String,
    /// Rows.
    pub rows: Vec<SunRow>,
    /// Aggregate throughput of the interval, Mbit/s (sent + received).
    pub mbps: f64,
}

/// A protocol event.
#[derive(Clone, Debug, Serialize)]
pub struct EventRecord {
    /// Seconds.
    pub t: f64,
    /// `node/aggregation`.
    pub aggregation: String,
    /// Port name, if the event concerns one port.
    pub port: Option<String>,
    /// The event with its reason.
    pub text: String,
}

/// A port's LACP state after a change.
#[derive(Clone, Debug, Serialize)]
pub struct StateRecord {
    /// Seconds.
    pub t: f64,
    /// `node:port`.
    pub port: String,
    /// Receive machine state.
    pub receive: String,
    /// Mux machine state.
    pub mux: String,
    /// Selected.
    pub selected: String,
    /// Actor state flags (letters ATGSCDFE).
    pub actor: String,
    /// Partner state flags.
    pub partner: String,
    /// Why the port is not distributing.
    pub why: Option<String>,
}

/// A fault applied.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecord {
    /// Seconds.
    pub t: f64,
    /// What was done.
    pub text: String,
}

/// Outcome of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    /// Number in the scenario file (1-based).
    pub index: usize,
    /// Evaluation time, seconds.
    pub t: f64,
    /// What was checked.
    pub label: String,
    /// Passed.
    pub passed: bool,
    /// The measured value, in words.
    pub value: String,
}

/// Whole-run load of one member.
#[derive(Clone, Debug, Serialize)]
pub struct PortSummary {
    /// `node:port`.
    pub port: String,
    /// `node/aggregation`.
    pub aggregation: String,
    /// Data frames sent.
    pub data_opkts: u64,
    /// Data frames received.
    pub data_ipkts: u64,
    /// Share of the aggregation's data frames sent, %.
    pub out_share: f64,
    /// Share of the aggregation's data frames received, %.
    pub in_share: f64,
    /// LACPDUs / Marker PDUs sent.
    pub control_opkts: u64,
    /// LACPDUs / Marker PDUs received.
    pub control_ipkts: u64,
    /// Send failures.
    pub oerrs: u64,
    /// Receive drops.
    pub ierrs: u64,
}

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Virtual duration, seconds.
    pub duration: f64,
    /// Whether every check passed.
    pub passed: bool,
    /// Check outcomes.
    pub checks: Vec<CheckResult>,
    /// Per-flow figures.
    pub flows: Vec<FlowSummary>,
    /// Per-member load.
    pub ports: Vec<PortSummary>,
    /// Faults applied.
    pub faults: Vec<FaultRecord>,
    /// Protocol events.
    pub events: Vec<EventRecord>,
    /// LACP state changes.
    pub states: Vec<StateRecord>,
    /// Traffic tables.
    pub tables: Vec<TableRecord>,
    /// Simulator statistics: events processed, frames carried.
    pub stats: RunStats,
    /// Distributed Trunking switches at the end (left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dt: Vec<DtSummary>,
    /// Learning switches (`kind = "bridge"`) at the end (left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<BridgeSummary>,
    /// Switch-independent balancers (`transmit-lb`, `adaptive-lb`) at the end (left out when
    /// there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub balancers: Vec<BalancerSummary>,
}

/// A learning switch at the end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct BridgeSummary {
    /// Node name.
    pub node: String,
    /// Counters.
    pub counters: crate::bridge::BridgeCounters,
    /// MACs that moved between ports while their entry was live, with how often.
    pub moved: Vec<(String, u64)>,
    /// The live table: MAC and `node:port`.
    pub table: Vec<(String, String)>,
}

/// A `transmit-lb` / `adaptive-lb` aggregation at the end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct BalancerSummary {
    /// `node/aggregation`.
    pub aggregation: String,
    /// The member answering to the aggregate's MAC (`node:port`).
    pub receive_member: Option<String>,
    /// Peer address and the member (`node:port`) it is received on.
    pub peers: Vec<(String, String)>,
    /// The balancer's counters.
    pub counters: lagd_agg::alb::AlbCounters,
}

/// Simulator statistics.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RunStats {
    /// Events processed.
    pub events: u64,
    /// Frames put on links.
    pub frames: u64,
    /// Data frames generated by flows.
    pub data_frames: u64,
}

impl RunReport {
    /// The final summary in text: checks, flows, member load, verdict.
    pub fn summary_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "== flows");
        let _ = writeln!(
            s,
            "{:<16} {:<18} {:>9} {:>9} {:>7} {:>5} {:>7} {:>10}",
            "flow", "from -> to", "sent", "received", "lost", "dup", "reorder", "max gap"
        );
        for f in &self.flows {
            let _ = writeln!(
                s,
                "{:<16} {:<18} {:>9} {:>9} {:>7} {:>5} {:>7} {:>8.1}ms",
                f.name,
                format!("{} -> {}", f.from, f.to),
                f.sent,
                f.received,
                f.lost,
                f.duplicates,
                f.reordered,
                f.max_gap_ms
            );
        }
        let _ = writeln!(s, "\n== member load (data frames, whole run)");
        let _ = writeln!(
            s,
            "{:<20} {:<20} {:>10} {:>7} {:>10} {:>7} {:>8} {:>8}",
            "aggregation", "port", "out", "out%", "in", "in%", "lacp tx", "lacp rx"
        );
        for p in &self.ports {
            let _ = writeln!(
                s,
                "{:<20} {:<20} {:>10} {:>6.2}% {:>10} {:>6.2}% {:>8} {:>8}",
                p.aggregation,
                p.port,
                p.data_opkts,
                p.out_share,
                p.data_ipkts,
                p.in_share,
                p.control_opkts,
                p.control_ipkts
            );
        }
        if !self.bridges.is_empty() {
            let _ = writeln!(s, "\n== learning switches");
            for b in &self.bridges {
                let c = &b.counters;
                let _ = writeln!(
                    s,
                    "{}: forwarded {}, flooded {} (unknown unicast {}), filtered {}, flushed {}; \
                     MAC moves {}",
                    b.node,
                    c.forwarded,
                    c.flooded,
                    c.unknown_unicast,
                    c.filtered,
                    c.flushed,
                    c.moves
                );
                for (mac, n) in &b.moved {
                    let _ = writeln!(s, "  {mac} moved {n} times");
                }
            }
        }
        if !self.balancers.is_empty() {
            let _ = writeln!(s, "\n== switch-independent balancing");
            for b in &self.balancers {
                let c = &b.counters;
                let _ = writeln!(
                    s,
                    "{}: receive member {}; announcements {}, peer updates {}, learning frames {}, \
                     ARP replies rewritten {}",
                    b.aggregation,
                    b.receive_member.as_deref().unwrap_or("none"),
                    c.announcements,
                    c.peer_updates,
                    c.learning,
                    c.arp_rewritten
                );
                for (peer, member) in &b.peers {
                    let _ = writeln!(s, "  peer {peer} -> {member}");
                }
            }
        }
        if !self.dt.is_empty() {
            let _ = writeln!(s, "\n== distributed trunking");
            for d in &self.dt {
                let c = &d.counters;
                let f = &d.forwarding;
                let _ = writeln!(
                    s,
                    "{} {}: {} {} base {:#06x}; PDUs tx {} rx {}, keepalives tx {} rx {}, bad {}, \
                     foreign {}; data out {} to peer link {} from peer link {} dropped {}",
                    d.domain,
                    d.node,
                    d.state,
                    d.role,
                    d.port_base,
                    c.tx_peer,
                    c.rx_peer,
                    c.tx_keepalive,
                    c.rx_keepalive,
                    c.rx_errors,
                    c.rx_foreign,
                    f.local,
                    f.to_peer_link,
                    f.from_peer_link,
                    f.dropped
                );
                for x in &d.decisions {
                    let _ = writeln!(s, "    {x}");
                }
            }
        }
        let _ = writeln!(s, "\n== checks");
        for c in &self.checks {
            let _ = writeln!(
                s,
                "{} #{} at {:.3}s: {}: {}",
                if c.passed { "PASS" } else { "FAIL" },
                c.index,
                c.t,
                c.label,
                c.value
            );
        }
        let failed: Vec<&CheckResult> = self.checks.iter().filter(|c| !c.passed).collect();
        if failed.is_empty() {
            let _ = writeln!(s, "\nRESULT: PASS ({} checks)", self.checks.len());
        } else {
            let _ = writeln!(
                s,
                "\nRESULT: FAIL ({} of {} checks failed: {})",
                failed.len(),
                self.checks.len(),
                failed
                    .iter()
                    .map(|c| format!("#{} {}", c.index, c.label))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, ipkts: u64, opkts: u64) -> SunRow {
        SunRow {
            name: name.into(),
            ipkts,
            opkts,
            ..Default::default()
        }
    }

    #[test]
    fn sun_layout_matches_the_seed() {
        let mut peak = PeakTracker::default();
        peak.update(31.51);
        let rows = [
            row("qfe0", 210, 130),
            row("qfe1", 0, 130),
            row("qfe2", 0, 130),
            row("qfe3", 0, 130),
        ];
        let t = sun_table("Jan 10 14:22:05 2002", &rows, 5.73, &mut peak);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Jan 10 14:22:05 2002");
        assert_eq!(
            lines[2],
            "Name  Ipkts    Ierrs Opkts    Oerrs Collis Crc   %Ipkts %Opkts"
        );
        // Columns under their headings (the seed's rows drift; ours line up).
        assert_eq!(
            lines[4],
            "qfe0  210      0     130      0     0      0   100.00  25.00"
        );
        assert_eq!(
            lines[5],
            "qfe1  0        0     130      0     0      0     0.00  25.00"
        );
        assert_eq!(
            lines[9],
            "(Aggregate Throughput(Mb/sec):   5.73(New Peak)  31.51(Past Peak) 18.18%(New/Past))"
        );
    }

    #[test]
    fn peak_tracks_the_maximum() {
        let mut p = PeakTracker::default();
        assert_eq!(p.update(0.0), (0.0, 0.0, 0.0));
        assert_eq!(p.update(10.0), (10.0, 10.0, 100.0));
        assert_eq!(p.update(5.0), (5.0, 10.0, 50.0));
    }
}
