//! What the demo measured, the checks it makes of it, and the closing summary.

use std::fmt::Write as _;
use std::time::Duration;

/// Measurements of one run.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Member names.
    pub links: Vec<String>,
    /// From starting the daemons until every member of both sides was Collecting and
    /// Distributing.
    pub lacp_formed: Option<Duration>,
    /// The member that was cut (the one carrying the UDP stream).
    pub cut_link: Option<String>,
    /// Whether the UDP stream was seen on the cut link before the cut.
    pub stream_on_cut_link: bool,
    /// From the cut until host A's status showed the member out of Distributing (status
    /// polled every 100 ms).
    pub cut_detected: Option<Duration>,
    /// Largest silence of the UDP stream ending within 1 s after the cut: (gap, its start
    /// relative to the cut in seconds, datagrams missing in it).
    pub failover_gap: Option<(Duration, f64, u64)>,
    /// Largest silence ending within 3 s after the restore, and datagrams missing in it.
    pub restore_gap: Option<(Duration, u64)>,
    /// From the restore until the member was Collecting and Distributing again on host A.
    pub rejoined: Option<Duration>,
    /// Mean Mbit/s per link before the cut, while cut, after the restore.
    pub before: Vec<f64>,
    /// While the link was cut.
    pub during: Vec<f64>,
    /// After the restore.
    pub after: Vec<f64>,
    /// UDP stream: sent, received (unique), lost, duplicated, reordered.
    pub udp: Option<(u64, u64, u64, u64, u64)>,
    /// TCP: flows, flows verified intact at the sink, total bytes, seconds.
    pub tcp: Option<(usize, usize, u64, f64)>,
    /// Whether both daemons exited cleanly on SIGTERM (members restored).
    pub clean_exit: bool,
    /// The UDP receiver's full report.
    pub udp_detail: String,
    /// TCP flows not delivered intact, described.
    pub tcp_problems: Vec<String>,
}

/// One check of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What is checked.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
}

fn pct_line(links: &[String], mbps: &[f64], skip: Option<usize>) -> String {
    let total: f64 = mbps
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, v)| v)
        .sum();
    let mut s = String::new();
    for (i, (n, v)) in links.iter().zip(mbps).enumerate() {
        if Some(i) == skip {
            let _ = write!(s, "{n} (cut) {v:.0}   ");
            continue;
        }
        let p = if total > 0.0 { v * 100.0 / total } else { 0.0 };
        let _ = write!(s, "{n} {v:.0} ({p:.0}%)   ");
    }
    s.trim_end().to_string()
}

impl Measured {
    /// Index of the cut link.
    pub fn cut_index(&self) -> Option<usize> {
        let c = self.cut_link.as_ref()?;
        self.links.iter().position(|l| l == c)
    }

    /// Shares (%) of the links that stayed up, while the cut lasted.
    pub fn shares_during_cut(&self) -> Vec<f64> {
        let skip = self.cut_index();
        let rest: Vec<f64> = self
            .during
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, v)| *v)
            .collect();
        crate::demo::sample::shares(&rest)
    }

    /// The checks.
    pub fn checks(&self) -> Vec<Check> {
        let mut c = Vec::new();
        let mut push = |what: String, ok: bool| c.push(Check { what, ok });
        push(
            "LACP formed on all links of both hosts".into(),
            self.lacp_formed.is_some(),
        );
        let during = self.shares_during_cut();
        let even = !during.is_empty() && during.iter().all(|s| (22.0..=44.0).contains(s));
        push(
            format!(
                "while cut, the load is spread over the other {} links (each ≈ {:.0} %, none ≈ 50 %)",
                during.len(),
                100.0 / during.len().max(1) as f64
            ),
            even,
        );
        match self.tcp {
            Some((flows, intact, bytes, _)) => push(
                format!("{intact} of {flows} TCP flows delivered intact (byte pattern verified)"),
                flows > 0 && intact == flows && bytes > 0,
            ),
            None => push("TCP flows ran".into(), false),
        }
        match self.udp {
            Some((_, _, _, dup, _)) => {
                push(format!("UDP stream: {dup} duplicated datagrams"), dup == 0)
            }
            None => push("UDP stream ran".into(), false),
        }
        push(
            "the cut link came back Collecting and Distributing".into(),
            self.rejoined.is_some(),
        );
        push(
            "both lagd exited cleanly on SIGTERM (members restored)".into(),
            self.clean_exit,
        );
        c
    }

    /// The summary text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "==== Summary ====");
        if let Some(d) = self.lacp_formed {
            let _ = writeln!(s, "LACP formed on every link in {:.1} s", d.as_secs_f64());
        }
        if let Some(l) = &self.cut_link {
            let _ = writeln!(
                s,
                "cut link: {l} (carrier down on host B's end){}",
                if self.stream_on_cut_link {
                    ", the link carrying the UDP stream"
                } else {
                    " (the UDP stream's link could not be identified)"
                }
            );
        }
        if let Some(d) = self.cut_detected {
            let _ = writeln!(
                s,
                "host A took {l} out of distribution within {:.0} ms of the cut (status polled every 100 ms)",
                d.as_secs_f64() * 1e3,
                l = self.cut_link.as_deref().unwrap_or("?")
            );
        }
        match self.failover_gap {
            Some((g, at, lost)) => {
                let _ = writeln!(
                    s,
                    "failover gap (longest silence of the UDP stream within 1 s of the cut): {:.1} ms, from {:+.1} ms, {lost} datagrams missing",
                    g.as_secs_f64() * 1e3,
                    at * 1e3
                );
            }
            None => {
                let _ = writeln!(s, "failover gap: not measured");
            }
        }
        if let Some(d) = self.rejoined {
            let _ = writeln!(
                s,
                "after the restore the link was Collecting and Distributing again within {:.0} ms (status polled every 100 ms)",
                d.as_secs_f64() * 1e3
            );
        }
        if let Some((g, lost)) = self.restore_gap {
            let _ = writeln!(
                s,
                "longest silence of the UDP stream within 3 s of the restore: {:.1} ms, {lost} datagrams missing",
                g.as_secs_f64() * 1e3
            );
        }
        let _ = writeln!(s, "mean Mbit/s per link (host A → B):");
        let _ = writeln!(
            s,
            "  before the cut:  {}",
            pct_line(&self.links, &self.before, None)
        );
        let _ = writeln!(
            s,
            "  while cut:       {}",
            pct_line(&self.links, &self.during, self.cut_index())
        );
        let _ = writeln!(
            s,
            "  after restore:   {}",
            pct_line(&self.links, &self.after, None)
        );
        if let Some((sent, got, lost, dup, reord)) = self.udp {
            let _ = writeln!(
                s,
                "UDP stream B → A: {sent} sent, {got} received, {lost} lost, {dup} duplicated, {reord} reordered"
            );
        }
        if let Some((flows, intact, bytes, secs)) = self.tcp {
            let _ = writeln!(
                s,
                "TCP A → B: {flows} flows, {intact} intact, {:.1} MB in {secs:.0} s = {:.0} Mbit/s",
                bytes as f64 / 1e6,
                if secs > 0.0 {
                    bytes as f64 * 8.0 / secs / 1e6
                } else {
                    0.0
                }
            );
        }
        if !self.udp_detail.is_empty() {
            let _ = writeln!(s, "  ({})", self.udp_detail);
        }
        for p in &self.tcp_problems {
            let _ = writeln!(s, "  TCP flow not intact: {p}");
        }
        for c in self.checks() {
            let _ = writeln!(s, "[{}] {}", if c.ok { " ok " } else { "FAIL" }, c.what);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            links: (0..4).map(|i| format!("eth{i}")).collect(),
            lacp_formed: Some(Duration::from_secs(2)),
            cut_link: Some("eth2".into()),
            stream_on_cut_link: true,
            cut_detected: Some(Duration::from_millis(100)),
            failover_gap: Some((Duration::from_millis(3), 0.001, 4)),
            restore_gap: None,
            rejoined: Some(Duration::from_secs(3)),
            before: vec![190.0; 4],
            during: vec![190.0, 189.0, 0.0, 191.0],
            after: vec![190.0; 4],
            udp: Some((60_000, 59_990, 10, 0, 0)),
            tcp: Some((16, 16, 3_000_000_000, 30.0)),
            clean_exit: true,
            udp_detail: String::new(),
            tcp_problems: Vec::new(),
        }
    }

    #[test]
    fn healthy_run_passes_every_check() {
        let m = measured();
        let sh = m.shares_during_cut();
        assert_eq!(sh.len(), 3);
        assert!(sh.iter().all(|s| (s - 33.3).abs() < 1.0), "{sh:?}");
        assert!(m.checks().iter().all(|c| c.ok), "{:?}", m.checks());
        let text = m.render();
        assert!(text.contains("failover gap"), "{text}");
        assert!(text.contains("eth2 (cut) 0"), "{text}");
        assert!(!text.contains("FAIL"), "{text}");
    }

    #[test]
    fn one_link_taking_the_failed_load_fails_the_spread_check() {
        let mut m = measured();
        // Sun Trunking 1.2's behaviour: the failed link's traffic all moved onto one other.
        m.during = vec![95.0, 190.0, 0.0, 95.0];
        let c = m.checks();
        assert!(!c[1].ok, "{c:?}");
        m.udp = Some((10, 10, 0, 1, 0));
        assert!(!m.checks()[3].ok);
        m.tcp = Some((16, 15, 1, 30.0));
        assert!(!m.checks()[2].ok);
        assert!(m.render().contains("FAIL"));
    }
}
