//! Silent link failure: the carrier stays up but every frame a host sends on the link is
//! dropped (there is no netem here): `tc qdisc add dev X clsact; tc filter add dev X egress
//! matchall action mirred egress redirect dev D`, with `D` a dummy device that is down.
//! Ingress filters would not do: packet sockets (OVS, lagd) read before tc ingress.

use crate::cmd::ns_run;
use crate::error::Result;

/// An injected silent failure; healed by [`SilentFault::heal`] or on drop.
#[derive(Debug)]
pub struct SilentFault {
    ns: String,
    dev: String,
    sink: String,
    healed: bool,
}

impl SilentFault {
    /// Drops every frame sent on `dev` in namespace `ns` from now on.
    pub fn inject(ns: &str, dev: &str) -> Result<SilentFault> {
        let sink = lagd_dataplane::netns::unique_name("sink");
        ns_run(ns, &["ip", "link", "add", &sink, "type", "dummy"])?;
        let mut f = SilentFault {
            ns: ns.to_string(),
            dev: dev.to_string(),
            sink,
            healed: false,
        };
        ns_run(ns, &["tc", "qdisc", "add", "dev", dev, "clsact"])?;
        ns_run(
            ns,
            &[
                "tc", "filter", "add", "dev", dev, "egress", "matchall", "action", "mirred",
                "egress", "redirect", "dev", &f.sink,
            ],
        )?;
        f.healed = false;
        Ok(f)
    }

    /// The device whose egress is dropped.
    pub fn dev(&self) -> &str {
        &self.dev
    }

    /// Removes the fault: frames flow again.
    pub fn heal(mut self) -> Result<()> {
        self.remove()
    }

    fn remove(&mut self) -> Result<()> {
        if self.healed {
            return Ok(());
        }
        self.healed = true;
        let r = ns_run(
            &self.ns,
            &["tc", "qdisc", "del", "dev", &self.dev, "clsact"],
        );
        let _ = ns_run(&self.ns, &["ip", "link", "del", &self.sink]);
        r.map(|_| ())
    }
}

impl Drop for SilentFault {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}
