//! One second of the demo: per-member counter deltas from lagd's `ShowLink`, as Sun Trunking
//! rows, per-link throughput, and the aggregate throughput.

use lagd_control::proto::LinkStats;
use lagd_sim::SunRow;

/// The counters of one interval, host A's view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// End of the interval, seconds since the traffic started.
    pub t: f64,
    /// One row per member (deltas), in member order.
    pub rows: Vec<SunRow>,
    /// Mbit/s sent by each member (same order).
    pub out_mbps: Vec<f64>,
    /// Mbit/s sent and received by all members together (the table's aggregate throughput).
    pub total_mbps: f64,
}

/// Members of `stats` (kind `member`), by name.
fn member<'a>(stats: &'a [LinkStats], name: &str) -> Option<&'a LinkStats> {
    stats.iter().find(|l| l.kind == "member" && l.name == name)
}

/// The deltas between two `ShowLink` snapshots `dt` seconds apart, for `links` in that order.
/// A member missing from either snapshot counts zero.
pub fn sample(
    t: f64,
    links: &[String],
    before: &[LinkStats],
    after: &[LinkStats],
    dt: f64,
) -> Sample {
    let mut s = Sample {
        t,
        ..Sample::default()
    };
    let mut bits = 0u64;
    for name in links {
        let zero = LinkStats::default();
        let b = member(before, name).unwrap_or(&zero);
        let a = member(after, name).unwrap_or(&zero);
        let d = |f: fn(&LinkStats) -> u64| f(a).saturating_sub(f(b));
        s.rows.push(SunRow {
            name: name.clone(),
            ipkts: d(|l| l.ipackets),
            ierrs: d(|l| l.ierrors),
            opkts: d(|l| l.opackets),
            oerrs: d(|l| l.oerrors),
            collis: 0,
            crc: 0,
        });
        let ob = d(|l| l.obytes);
        bits += (ob + d(|l| l.rbytes)) * 8;
        s.out_mbps.push(mbps(ob * 8, dt));
    }
    s.total_mbps = mbps(bits, dt);
    s
}

fn mbps(bits: u64, dt: f64) -> f64 {
    if dt > 0.0 {
        bits as f64 / dt / 1e6
    } else {
        0.0
    }
}

/// Share (%) of each link in the summed `values` (all zero: all 0).
pub fn shares(values: &[f64]) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    values
        .iter()
        .map(|v| if total > 0.0 { v * 100.0 / total } else { 0.0 })
        .collect()
}

/// Mean per-link outgoing throughput over the samples whose time is in `[from, to]`.
pub fn mean_out(samples: &[Sample], from: f64, to: f64) -> Vec<f64> {
    let chosen: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t >= from && s.t <= to)
        .collect();
    let n = chosen.iter().map(|s| s.out_mbps.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let v: Vec<f64> = chosen
                .iter()
                .filter_map(|s| s.out_mbps.get(i).copied())
                .collect();
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect()
}

/// The index of the member whose frame count grew the most between two snapshots
/// (`ipackets` when `received`, else `opackets`), with that growth.
pub fn busiest(
    links: &[String],
    before: &[LinkStats],
    after: &[LinkStats],
    received: bool,
) -> Option<(usize, u64)> {
    links
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let get = |s: &[LinkStats]| {
                member(s, n).map_or(0, |l| if received { l.ipackets } else { l.opackets })
            };
            (i, get(after).saturating_sub(get(before)))
        })
        .max_by_key(|&(i, d)| (d, usize::MAX - i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(name: &str, ip: u64, op: u64, rb: u64, ob: u64) -> LinkStats {
        LinkStats {
            name: name.into(),
            aggregate: "aggr1".into(),
            kind: "member".into(),
            ipackets: ip,
            rbytes: rb,
            opackets: op,
            obytes: ob,
            ..LinkStats::default()
        }
    }

    #[test]
    fn deltas_and_throughput() {
        let links = vec!["eth0".to_string(), "eth1".to_string()];
        let before = vec![ls("eth0", 10, 20, 1000, 2000), ls("eth1", 0, 0, 0, 0)];
        let mut agg = ls("aggr1", 999, 999, 999, 999);
        agg.kind = "aggregate".into();
        let after = vec![
            agg,
            ls("eth0", 15, 120, 1000, 2_002_000),
            ls("eth1", 1, 50, 125_000, 1_000_000),
        ];
        let s = sample(1.0, &links, &before, &after, 2.0);
        assert_eq!(s.rows[0].ipkts, 5);
        assert_eq!(s.rows[0].opkts, 100);
        assert_eq!(s.rows[1].opkts, 50);
        // 2 MB out on eth0 in 2 s = 8 Mbit/s.
        assert!((s.out_mbps[0] - 8.0).abs() < 1e-9, "{s:?}");
        assert!((s.out_mbps[1] - 4.0).abs() < 1e-9, "{s:?}");
        // Sent + received: (2e6 + 1e6 + 125e3) * 8 / 2 / 1e6.
        assert!((s.total_mbps - 12.5).abs() < 1e-9, "{s:?}");
        // A counter that went backwards (daemon restart) counts zero, not a huge value.
        let s = sample(2.0, &links, &after, &before, 1.0);
        assert_eq!(s.rows[0].opkts, 0);
    }

    #[test]
    fn shares_and_means() {
        let sh = shares(&[1.0, 1.0, 2.0, 0.0]);
        assert_eq!(sh, vec![25.0, 25.0, 50.0, 0.0]);
        assert_eq!(shares(&[0.0, 0.0]), vec![0.0, 0.0]);
        let mk = |t: f64, v: Vec<f64>| Sample {
            t,
            out_mbps: v,
            ..Sample::default()
        };
        let samples = vec![
            mk(1.0, vec![10.0, 0.0]),
            mk(2.0, vec![20.0, 2.0]),
            mk(3.0, vec![90.0, 90.0]),
        ];
        assert_eq!(mean_out(&samples, 1.0, 2.0), vec![15.0, 1.0]);
    }

    #[test]
    fn busiest_member_is_found() {
        let links = vec!["eth0".to_string(), "eth1".to_string(), "eth2".to_string()];
        let before = vec![ls("eth0", 5, 5, 0, 0), ls("eth1", 5, 5, 0, 0)];
        let after = vec![
            ls("eth0", 6, 900, 0, 0),
            ls("eth1", 1005, 6, 0, 0),
            ls("eth2", 2, 2, 0, 0),
        ];
        assert_eq!(busiest(&links, &before, &after, true), Some((1, 1000)));
        assert_eq!(busiest(&links, &before, &after, false), Some((0, 895)));
    }
}
