//! Silent link failure: the carrier stays up but every frame a host sends on the link is
//! dropped (there is no netem here): `tc qdisc add dev X clsact; tc filter add dev X egress
//! matchall action mirred egress redirect dev D` (`u32 match u32 0 0` instead of `matchall`
//! when the kernel lacks it), with `D` a device that is down (one end of a veth pair).
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
        // A veth pair left down (the dummy driver may be missing): frames sent to it vanish.
        let peer = lagd_dataplane::netns::unique_name("sinkp");
        ns_run(
            ns,
            &[
                "ip", "link", "add", &sink, "type", "veth", "peer", "name", &peer,
            ],
        )?;
        let f = SilentFault {
            ns: ns.to_string(),
            dev: dev.to_string(),
            sink,
            healed: false,
        };
        ns_run(ns, &["tc", "qdisc", "add", "dev", dev, "clsact"])?;
        // `matchall` where the kernel has it; `u32 match u32 0 0` (matches every frame) else.
        let redirect = [
            "action",
            "mirred",
            "egress",
            "redirect",
            "dev",
            f.sink.as_str(),
        ];
        let base = ["tc", "filter", "add", "dev", dev, "egress"];
        let with = |cls: &[&str]| {
            let mut a: Vec<&str> = base.to_vec();
            a.extend_from_slice(cls);
            a.extend_from_slice(&redirect);
            ns_run(ns, &a)
        };
        if with(&["matchall"]).is_err() {
            with(&["u32", "match", "u32", "0", "0"])?;
        }
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
