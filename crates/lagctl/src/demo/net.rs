//! The demo's network: two hosts (network namespaces) joined by veth links, each end shaped
//! with tc tbf, and a guard that removes everything when dropped (also on panic).

use lagd_dataplane::netns;

/// Why the network could not be built.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// An `ip`/`tc` command failed.
    #[error("{0}")]
    Command(#[from] lagd_dataplane::Error),
}

/// Two namespaces `a` and `b` joined by `links` veth pairs. Member `i` is named
/// `eth{i}` on both sides. Dropping it deletes both namespaces, which destroys the veths.
#[derive(Debug)]
pub struct DemoNet {
    /// Host A's namespace.
    pub a: String,
    /// Host B's namespace.
    pub b: String,
    /// Member names (the same on both sides).
    pub links: Vec<String>,
    created: Vec<String>,
}

/// Shaping of every veth end, as the baselines recommend for 200 Mbit/s.
pub const TBF: (&str, &str, &str) = ("200mbit", "100kb", "20ms");

impl DemoNet {
    /// Creates the namespaces and `links` shaped veth pairs (all up).
    pub fn build(links: usize) -> Result<DemoNet, NetError> {
        let mut net = DemoNet {
            a: String::new(),
            b: String::new(),
            links: Vec::new(),
            created: Vec::new(),
        };
        net.a = net.namespace("ldemoA")?;
        net.b = net.namespace("ldemoB")?;
        for i in 0..links {
            let name = format!("eth{i}");
            let ta = netns::unique_name("ldv");
            let tb = netns::unique_name("ldv");
            netns::cmd(
                "ip",
                &[
                    "link", "add", &ta, "netns", &net.a, "type", "veth", "peer", "name", &tb,
                    "netns", &net.b,
                ],
            )?;
            for (ns, tmp) in [(&net.a, &ta), (&net.b, &tb)] {
                netns::cmd("ip", &["-n", ns, "link", "set", tmp, "name", &name])?;
                netns::tbf(ns, &name, TBF.0, TBF.1, TBF.2)?;
                netns::cmd("ip", &["-n", ns, "link", "set", &name, "up"])?;
            }
            net.links.push(name);
        }
        Ok(net)
    }

    fn namespace(&mut self, prefix: &str) -> Result<String, NetError> {
        let name = netns::unique_name(prefix);
        netns::cmd("ip", &["netns", "add", &name])?;
        self.created.push(name.clone());
        netns::ns_cmd(&name, &["ip", "link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// Runs `ip ARGS...` in namespace `ns` (`ip -n NS ARGS...`).
    pub fn ip(&self, ns: &str, args: &[&str]) -> Result<String, NetError> {
        let mut a = vec!["-n", ns];
        a.extend_from_slice(args);
        Ok(netns::cmd("ip", &a)?)
    }

    /// Sets member `link` of host B administratively down (`up = false`) or up: the veth loses
    /// or regains its carrier on both ends.
    pub fn set_b_link(&self, link: &str, up: bool) -> Result<(), NetError> {
        self.ip(
            &self.b,
            &["link", "set", link, if up { "up" } else { "down" }],
        )
        .map(|_| ())
    }
}

impl Drop for DemoNet {
    fn drop(&mut self) {
        for ns in self.created.drain(..).rev() {
            // Deleting a namespace destroys the veth ends in it, and so both ends of each pair.
            let _ = netns::cmd("ip", &["netns", "del", &ns]);
        }
    }
}

/// Whether `ip netns` works here: creates and deletes a scratch namespace.
pub fn probe() -> Result<(), String> {
    let name = netns::unique_name("ldprobe");
    netns::cmd("ip", &["netns", "add", &name]).map_err(|e| e.to_string())?;
    let _ = netns::cmd("ip", &["netns", "del", &name]);
    Ok(())
}
