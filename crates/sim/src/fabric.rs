//! A generated Distributed Trunking fabric: DT switch pairs, each with dual-homed servers
//! (two links to each switch of their pair, one LACP aggregation of four) and an upstream host
//! (one link to each switch), a stream from every server to its upstream host, and one switch
//! of every pair losing power mid-run. Used by `benches/dt_fabric.rs` and the tests.

use std::fmt::Write as _;

/// The shape of a fabric.
#[derive(Clone, Debug, PartialEq)]
pub struct FabricSpec {
    /// DT switch pairs (1..=255).
    pub pairs: usize,
    /// Servers per pair (1..=63: with the upstream aggregation, at most 64 distributed
    /// aggregations per switch).
    pub servers_per_pair: usize,
    /// Frames per second of each server's stream (and of the reverse stream, if any).
    pub frames_per_sec: u32,
    /// Also a stream from the upstream host to every server.
    pub reverse: bool,
    /// Virtual duration, seconds.
    pub duration_s: u32,
    /// Streams start, seconds (after the pairs and aggregations have formed).
    pub traffic_from_s: f64,
    /// When the first switch (the primary, role priority 100) of every pair loses power.
    pub fail_at_s: f64,
    /// When it comes back, if it does.
    pub recover_at_s: Option<f64>,
    /// Seed.
    pub seed: u64,
}

impl Default for FabricSpec {
    /// 1 000 servers over 25 pairs, 100 frames/s each way, switch A of every pair fails at
    /// 10 s and returns at 20 s, 30 s of virtual time.
    fn default() -> Self {
        FabricSpec {
            pairs: 25,
            servers_per_pair: 40,
            frames_per_sec: 100,
            reverse: true,
            duration_s: 30,
            traffic_from_s: 5.0,
            fail_at_s: 10.0,
            recover_at_s: Some(20.0),
            seed: 1,
        }
    }
}

/// Name of server `i` (from 0) of pair `p` (from 0).
pub fn server_name(p: usize, i: usize) -> String {
    format!("s{p}-{i}")
}

/// Name of the stream from server `i` of pair `p` to its upstream host.
pub fn server_flow(p: usize, i: usize) -> String {
    format!("s{p}-{i}-up")
}

/// The scenario text of `spec` (its checks: every server aggregates its four links under one
/// partner before the failure and keeps two after it; no duplicate; largest gap < 1 s).
pub fn fabric_scenario(spec: &FabricSpec) -> Result<String, String> {
    if !(1..=255).contains(&spec.pairs) {
        return Err(format!("pairs {} must be within 1..=255", spec.pairs));
    }
    if !(1..=63).contains(&spec.servers_per_pair) {
        return Err(format!(
            "servers_per_pair {} must be within 1..=63",
            spec.servers_per_pair
        ));
    }
    if spec.frames_per_sec == 0 {
        return Err("frames_per_sec must be positive".into());
    }
    let mut s = String::new();
    let _ = write!(
        s,
        "name = \"dt-fabric\"\n\
         description = \"{} servers dual-homed to {} DT pairs; switch A of every pair fails at {} s\"\n\
         duration = \"{}s\"\nseed = {}\n\
         [report]\ntable = []\nstates = false\nevents = false\n",
        spec.pairs * spec.servers_per_pair,
        spec.pairs,
        spec.fail_at_s,
        spec.duration_s,
        spec.seed
    );
    for p in 0..spec.pairs {
        let n = spec.servers_per_pair;
        // Servers: 02:01:PP:II:00:00, four ports, one aggregation.
        for i in 0..n {
            let _ = write!(
                s,
                "[[node]]\nname = \"{}\"\nmac = \"02:01:{p:02x}:{i:02x}:00:00\"\nports = 4\n\
                 [[node.aggregation]]\nname = \"bond\"\n",
                server_name(p, i)
            );
        }
        // The two switches: peer link, keepalive, upstream, then two ports per server.
        for (k, letter) in ["a", "b"].iter().enumerate() {
            let mut ports = vec!["\"pl\"".to_string(), "\"ka\"".into(), "\"up\"".into()];
            for i in 0..n {
                ports.push(format!("\"x{i}a\""));
                ports.push(format!("\"x{i}b\""));
            }
            let _ = write!(
                s,
                "[[node]]\nname = \"{letter}{p}\"\nkind = \"switch\"\nmac = \"02:{:02x}:{p:02x}:00:00:00\"\n\
                 ports = [{}]\n[[node.aggregation]]\nname = \"up\"\nports = [\"up\"]\nkey = 100\n",
                0xa + k,
                ports.join(", ")
            );
            for i in 0..n {
                let _ = write!(
                    s,
                    "[[node.aggregation]]\nname = \"srv{i}\"\nports = [\"x{i}a\", \"x{i}b\"]\nkey = {}\n",
                    i + 1
                );
            }
        }
        let _ = write!(
            s,
            "[[node]]\nname = \"u{p}\"\nmac = \"02:0c:{p:02x}:00:00:00\"\nports = 2\n\
             [[node.aggregation]]\nname = \"bond\"\n"
        );
        for i in 0..n {
            let srv = server_name(p, i);
            for (port, sw, x) in [(1, "a", "a"), (2, "a", "b"), (3, "b", "a"), (4, "b", "b")] {
                let _ = write!(
                    s,
                    "[[link]]\na = \"{srv}:p{port}\"\nb = \"{sw}{p}:x{i}{x}\"\n"
                );
            }
        }
        let _ = write!(
            s,
            "[[link]]\na = \"u{p}:p1\"\nb = \"a{p}:up\"\n[[link]]\na = \"u{p}:p2\"\nb = \"b{p}:up\"\n\
             [[link]]\na = \"a{p}:pl\"\nb = \"b{p}:pl\"\nrate = \"10Gbit\"\n\
             [[link]]\na = \"a{p}:ka\"\nb = \"b{p}:ka\"\nrate = \"100Mbit\"\n"
        );
        let aggs: Vec<String> = std::iter::once("\"up\"".to_string())
            .chain((0..n).map(|i| format!("\"srv{i}\"")))
            .collect();
        let _ = write!(
            s,
            "[[dt]]\nname = \"dt{p}\"\ndomain_id = {}\npeer_link = \"a{p}:pl\"\nkeepalive = \"a{p}:ka\"\n\
             aggregations = [{}]\nsystem_priority = 256\ntx_interval = \"200ms\"\npeer_timeout = \"1s\"\n\
             keepalive_interval = \"200ms\"\nkeepalive_timeout = \"1s\"\ninit_delay = \"2s\"\n\
             [[dt.switch]]\nnode = \"a{p}\"\nrole_priority = 100\n\
             [[dt.switch]]\nnode = \"b{p}\"\nrole_priority = 200\n",
            p + 1,
            aggs.join(", ")
        );
        for i in 0..n {
            let srv = server_name(p, i);
            let _ = write!(
                s,
                "[[flow]]\nname = \"{}\"\nfrom = \"{srv}\"\nto = \"u{p}\"\nrate = \"{}fps\"\nsize = 200\n\
                 start = \"{}s\"\n",
                server_flow(p, i),
                spec.frames_per_sec,
                spec.traffic_from_s
            );
            if spec.reverse {
                let _ = write!(
                    s,
                    "[[flow]]\nname = \"u{p}-{i}-down\"\nfrom = \"u{p}\"\nto = \"{srv}\"\nrate = \"{}fps\"\n\
                     size = 200\nstart = \"{}s\"\n",
                    spec.frames_per_sec, spec.traffic_from_s
                );
            }
        }
        let _ = write!(
            s,
            "[[fault]]\nat = \"{}s\"\naction = \"node-down\"\nnode = \"a{p}\"\n",
            spec.fail_at_s
        );
        if let Some(r) = spec.recover_at_s {
            let _ = write!(
                s,
                "[[fault]]\nat = \"{r}s\"\naction = \"node-up\"\nnode = \"a{p}\"\n"
            );
        }
        for i in 0..n {
            let srv = server_name(p, i);
            let _ = write!(
                s,
                "[[check]]\nat = \"{}s\"\ncheck = \"distributing\"\naggregation = \"{srv}/bond\"\nmin = 4\nmax = 4\n\
                 [[check]]\nat = \"{}s\"\ncheck = \"partners\"\naggregation = \"{srv}/bond\"\nmin = 1\nmax = 1\n\
                 [[check]]\nat = \"{}s\"\ncheck = \"distributing\"\naggregation = \"{srv}/bond\"\nmin = 2\nmax = 2\n",
                spec.fail_at_s - 0.1,
                spec.fail_at_s - 0.1,
                spec.fail_at_s + 2.0
            );
        }
    }
    let _ = write!(
        s,
        "[[check]]\nat = \"end\"\ncheck = \"flow-dup\"\nflow = \"*\"\nmax = 0\n\
         [[check]]\nat = \"end\"\ncheck = \"flow-gap\"\nflow = \"*\"\nmax = 1.0\n"
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    #[test]
    fn generates_a_valid_scenario() {
        let spec = FabricSpec {
            pairs: 2,
            servers_per_pair: 3,
            ..FabricSpec::default()
        };
        let sc = Scenario::from_toml(&fabric_scenario(&spec).unwrap()).unwrap();
        // 3 servers + 2 switches + 1 upstream per pair; 4 + 2 + 2 links per server and pair.
        assert_eq!(sc.nodes.len(), 12);
        assert_eq!(sc.links.len(), 2 * (3 * 4 + 4));
        assert_eq!(sc.dt.len(), 2);
        assert_eq!(sc.dt[1].aggregations.len(), 4);
        assert_eq!(sc.flows.len(), 2 * 3 * 2);
        assert_eq!(sc.faults.len(), 4);
        assert!(
            fabric_scenario(&FabricSpec {
                servers_per_pair: 64,
                ..spec.clone()
            })
            .is_err()
        );
        assert!(fabric_scenario(&FabricSpec { pairs: 0, ..spec }).is_err());
    }
}
