//! Two hosts (network namespaces A and B) joined by N veth pairs, deleted on drop (also when a
//! test panics). Names are unique (prefix + pid + counter, ≤ 15 characters); addresses come only
//! from 198.18.0.0/15.

use crate::cmd::{ns_run, sysctl};
use crate::error::{Error, Result};
use crate::fault::SilentFault;
use lagd_dataplane::netns::TestNet;
use std::net::Ipv4Addr;

/// One of the two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Host A.
    A,
    /// Host B.
    B,
}

impl Side {
    /// The other host.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// The host's address on the aggregate / bridge: 198.18.0.1 (A) or 198.18.0.2 (B).
    pub fn ip(self) -> Ipv4Addr {
        match self {
            Side::A => Ipv4Addr::new(198, 18, 0, 1),
            Side::B => Ipv4Addr::new(198, 18, 0, 2),
        }
    }

    /// A per-host MAC for bridges and aggregates: `02:00:00:00:0b:01` (A), `...:02` (B).
    pub fn mac(self) -> &'static str {
        match self {
            Side::A => "02:00:00:00:0b:01",
            Side::B => "02:00:00:00:0b:02",
        }
    }
}

/// A veth pair: end `a` in host A, end `b` in host B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPair {
    /// Interface name in host A.
    pub a: String,
    /// Interface name in host B.
    pub b: String,
}

impl LinkPair {
    /// The end in host `side`.
    pub fn end(&self, side: Side) -> &str {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }
}

/// Builder of a [`Net`].
#[derive(Debug, Clone)]
pub struct NetBuilder {
    prefix: String,
    links: usize,
    quiet_ipv6: bool,
}

impl NetBuilder {
    /// Number of veth pairs (default 2).
    pub fn links(mut self, n: usize) -> NetBuilder {
        self.links = n;
        self
    }

    /// Disable IPv6 on every member end (default on: no router solicitations or DAD noise on
    /// the links).
    pub fn quiet_ipv6(mut self, on: bool) -> NetBuilder {
        self.quiet_ipv6 = on;
        self
    }

    /// Creates the namespaces and links (all ends administratively down).
    pub fn build(self) -> Result<Net> {
        let dp = |e: lagd_dataplane::Error| Error::Command {
            cmd: "netns setup".into(),
            detail: e.to_string(),
        };
        let mut guard = TestNet::new();
        let p: String = self.prefix.chars().take(4).collect();
        let ns_a = guard.netns(&format!("{p}A")).map_err(dp)?;
        let ns_b = guard.netns(&format!("{p}B")).map_err(dp)?;
        let mut links = Vec::new();
        for _ in 0..self.links {
            let (a, b) = guard
                .veth(&format!("{p}l"), Some(&ns_a), Some(&ns_b))
                .map_err(dp)?;
            links.push(LinkPair { a, b });
        }
        let net = Net {
            guard,
            ns: [ns_a, ns_b],
            links,
        };
        if self.quiet_ipv6 {
            for l in &net.links {
                for side in [Side::A, Side::B] {
                    sysctl(
                        net.ns(side),
                        &format!("net.ipv6.conf.{}.disable_ipv6", l.end(side)),
                        "1",
                    )?;
                }
            }
        }
        Ok(net)
    }
}

/// Two namespaces joined by veth pairs; everything is deleted on drop.
#[derive(Debug)]
pub struct Net {
    guard: TestNet,
    ns: [String; 2],
    links: Vec<LinkPair>,
}

impl Net {
    /// A builder; `prefix` (first 4 characters) starts every name.
    pub fn builder(prefix: &str) -> NetBuilder {
        NetBuilder {
            prefix: prefix.to_string(),
            links: 2,
            quiet_ipv6: true,
        }
    }

    /// Namespace of host `side`.
    pub fn ns(&self, side: Side) -> &str {
        match side {
            Side::A => &self.ns[0],
            Side::B => &self.ns[1],
        }
    }

    /// Every link.
    pub fn links(&self) -> &[LinkPair] {
        &self.links
    }

    /// Link `i`.
    pub fn link(&self, i: usize) -> Result<&LinkPair> {
        self.links.get(i).ok_or_else(|| Error::Command {
            cmd: format!("link {i}"),
            detail: format!("only {} links", self.links.len()),
        })
    }

    /// The link ends of host `side`, in link order.
    pub fn ends(&self, side: Side) -> Vec<String> {
        self.links.iter().map(|l| l.end(side).to_string()).collect()
    }

    /// Runs a command in host `side`.
    pub fn exec(&self, side: Side, args: &[&str]) -> Result<String> {
        ns_run(self.ns(side), args)
    }

    /// Sets the end of link `i` in host `side` up or down. Setting it down cuts the carrier
    /// of the other end: the other host sees a carrier loss.
    pub fn set_end(&self, side: Side, i: usize, up: bool) -> Result<()> {
        let dev = self.link(i)?.end(side).to_string();
        let state = if up { "up" } else { "down" };
        self.exec(side, &["ip", "link", "set", &dev, state])
            .map(|_| ())
    }

    /// Makes link `i` fail silently in the direction from host `from`: its frames are dropped,
    /// carrier stays up. Removed by [`SilentFault::heal`] or on drop.
    pub fn silent_fault(&self, from: Side, i: usize) -> Result<SilentFault> {
        let dev = self.link(i)?.end(from).to_string();
        SilentFault::inject(self.ns(from), &dev)
    }

    /// Adds `ip/24` to `dev` in host `side` and sets it up.
    pub fn add_addr(&self, side: Side, dev: &str, ip: Ipv4Addr) -> Result<()> {
        self.exec(
            side,
            &["ip", "addr", "add", &format!("{ip}/24"), "dev", dev],
        )?;
        self.exec(side, &["ip", "link", "set", dev, "up"])
            .map(|_| ())
    }

    /// Pings `to` from host `side` (`count` echo requests 0.2 s apart, 2 s deadline per reply);
    /// whether at least one reply came.
    pub fn ping(&self, side: Side, to: Ipv4Addr, count: u32) -> bool {
        let c = count.max(1).to_string();
        let w = (2 + count / 5).to_string();
        self.exec(
            side,
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                &c,
                "-i",
                "0.2",
                "-w",
                &w,
                &to.to_string(),
            ],
        )
        .is_ok()
    }

    /// MAC address of `dev` in host `side`.
    pub fn mac_of(&self, side: Side, dev: &str) -> Result<String> {
        let p = format!("/sys/class/net/{dev}/address");
        self.exec(side, &["cat", &p]).map(|s| s.trim().to_string())
    }

    /// The namespace guard (for helpers that need `lagd_dataplane::netns::TestNet`).
    pub fn guard(&self) -> &TestNet {
        &self.guard
    }
}

/// The sorted flags of a link in `ip -j link show`'s output (one element of its array), without
/// the carrier-related ones (they depend on the peer, not on the link's own settings).
pub fn link_flags(link: &serde_json::Value) -> Vec<String> {
    let mut flags: Vec<String> = link["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .filter(|f| f != "LOWER_UP" && f != "M-DOWN" && f != "NO-CARRIER")
        .collect();
    flags.sort();
    flags
}
