//! Open vSwitch's userspace datapath in a network namespace, as a real LACP partner.
//!
//! Every instance has its own directory for database, sockets, pid and log files
//! (`OVS_RUNDIR`, `OVS_LOGDIR`, `OVS_DBDIR`, `OVS_SYSCONFDIR`), so several run at once and
//! nothing touches system paths. `ovsdb-server` and `ovs-vswitchd` run in the foreground as our
//! children (`ip netns exec NS ...`), so they are always ended and reaped on drop.

use crate::cmd::{ns_run, run_env, sysctl};
use crate::error::{Error, Result};
use crate::ovs_show::{LacpBond, LacpStats, parse_lacp_show, parse_lacp_stats};
use crate::wait;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bridge every instance creates.
pub const BRIDGE: &str = "br0";

/// LACP mode of a bond (`lacp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OvsLacp {
    /// Sends LACPDUs unprompted.
    Active,
    /// Answers only.
    Passive,
    /// No LACP: a static bond.
    Off,
}

impl OvsLacp {
    fn as_str(self) -> &'static str {
        match self {
            OvsLacp::Active => "active",
            OvsLacp::Passive => "passive",
            OvsLacp::Off => "off",
        }
    }
}

/// Bond mode (`bond_mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OvsBondMode {
    /// L2–L4 hashing (needs LACP).
    BalanceTcp,
    /// Source MAC + VLAN hashing.
    BalanceSlb,
    /// One member at a time.
    ActiveBackup,
}

impl OvsBondMode {
    fn as_str(self) -> &'static str {
        match self {
            OvsBondMode::BalanceTcp => "balance-tcp",
            OvsBondMode::BalanceSlb => "balance-slb",
            OvsBondMode::ActiveBackup => "active-backup",
        }
    }
}

/// A bond to add to the bridge.
#[derive(Debug, Clone)]
pub struct BondSpec {
    /// Bond name.
    pub name: String,
    /// Member interfaces (in the instance's namespace).
    pub members: Vec<String>,
    /// LACP mode.
    pub lacp: OvsLacp,
    /// `lacp-time=fast` (short timeout) when true, `slow` otherwise.
    pub fast: bool,
    /// Bond mode.
    pub mode: OvsBondMode,
    /// `lacp-fallback-ab`: without a LACP partner, fall back to active-backup.
    pub fallback_ab: bool,
}

impl BondSpec {
    /// `bond0` of `members`: LACP active, fast, balance-tcp, no fallback.
    pub fn new(members: &[String]) -> BondSpec {
        BondSpec {
            name: "bond0".into(),
            members: members.to_vec(),
            lacp: OvsLacp::Active,
            fast: true,
            mode: OvsBondMode::BalanceTcp,
            fallback_ab: false,
        }
    }
}

/// A running OVS (ovsdb-server + ovs-vswitchd) in a namespace, with bridge [`BRIDGE`].
#[derive(Debug)]
pub struct OvsInstance {
    ns: String,
    dir: PathBuf,
    db: Option<Child>,
    vswitchd: Option<Child>,
    keep_dir: bool,
}

impl OvsInstance {
    /// Starts OVS in namespace `ns` with a private directory (named from `tag`) and creates
    /// bridge `br0` on the netdev (userspace) datapath with MAC `hwaddr` (the LACP system id).
    pub fn start(ns: &str, tag: &str, hwaddr: &str) -> Result<OvsInstance> {
        OvsInstance::start_with(ns, tag, hwaddr, &[])
    }

    /// Like [`Self::start`], with `Open_vSwitch` table settings applied before `ovs-vswitchd`
    /// starts (those read only at startup), e.g. `other_config:userspace-tso-enable=true`: OVS
    /// then reads its members with virtio-net headers and accepts the GSO super-frames and
    /// partial checksums a veth peer using vnet headers (lagd) hands over.
    pub fn start_with(ns: &str, tag: &str, hwaddr: &str, settings: &[&str]) -> Result<OvsInstance> {
        let dir = std::env::temp_dir().join(format!(
            "lagd-ovs-{}",
            lagd_dataplane::netns::unique_name(tag)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))?;
        let mut me = OvsInstance {
            ns: ns.to_string(),
            dir,
            db: None,
            vswitchd: None,
            keep_dir: false,
        };
        let d = me.dir.display().to_string();
        run_env(
            "ovsdb-tool",
            &[
                "create",
                &format!("{d}/conf.db"),
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
            &me.env(),
        )?;
        me.db = Some(me.spawn(&[
            "ovsdb-server",
            &format!("{d}/conf.db"),
            &format!("--remote=punix:{d}/db.sock"),
            &format!("--unixctl={d}/ovsdb-server.ctl"),
            &format!("--pidfile={d}/ovsdb-server.pid"),
            &format!("--log-file={d}/ovsdb-server.log"),
        ])?);
        me.wait_file("db.sock")?;
        me.vsctl(&["--no-wait", "init"])?;
        if !settings.is_empty() {
            let mut a = vec!["--no-wait", "set", "Open_vSwitch", "."];
            a.extend_from_slice(settings);
            me.vsctl(&a)?;
        }
        me.vswitchd = Some(me.spawn(&[
            "ovs-vswitchd",
            &format!("unix:{d}/db.sock"),
            "--disable-system",
            &format!("--unixctl={d}/ovs-vswitchd.ctl"),
            &format!("--pidfile={d}/ovs-vswitchd.pid"),
            &format!("--log-file={d}/ovs-vswitchd.log"),
        ])?);
        me.wait_file("ovs-vswitchd.ctl")?;
        me.vsctl(&[
            "add-br",
            BRIDGE,
            "--",
            "set",
            "bridge",
            BRIDGE,
            "datapath_type=netdev",
            &format!("other_config:hwaddr={hwaddr}"),
        ])?;
        Ok(me)
    }

    fn env(&self) -> Vec<(&'static str, &str)> {
        let d = self.dir.to_str().unwrap_or("/nonexistent");
        vec![
            ("OVS_RUNDIR", d),
            ("OVS_LOGDIR", d),
            ("OVS_DBDIR", d),
            ("OVS_SYSCONFDIR", d),
        ]
    }

    fn spawn(&self, args: &[&str]) -> Result<Child> {
        let log = std::fs::File::create(
            self.dir
                .join(format!("{}.stderr", args.first().copied().unwrap_or("ovs"))),
        )
        .map_err(|e| Error::io("create OVS stderr log", e))?;
        Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", args.join(" ")), e))
    }

    fn wait_file(&mut self, name: &str) -> Result<()> {
        let p = self.dir.join(name);
        let what = format!("OVS to create {}", p.display());
        wait::until(
            &what,
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                let mut dead = None;
                for c in [self.db.as_mut(), self.vswitchd.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    if let Ok(Some(st)) = c.try_wait() {
                        dead = Some(st);
                    }
                }
                if let Some(st) = dead {
                    return Err(Error::Ovs(format!(
                        "exited with {st} before creating {name}; logs in {}:\n{}",
                        self.dir.display(),
                        self.log_tail_of("ovs-vswitchd.log")
                    )));
                }
                Ok(if p.exists() {
                    Ok(())
                } else {
                    Err("not yet".into())
                })
            },
        )
    }

    /// The instance's directory (database, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The namespace.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Keep the directory (logs) after drop, for post-mortem.
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }

    /// Runs `ovs-vsctl --timeout=30 --db=unix:DIR/db.sock ARGS`.
    pub fn vsctl(&self, args: &[&str]) -> Result<String> {
        let db = format!("--db=unix:{}/db.sock", self.dir.display());
        let mut a = vec!["--timeout=30", db.as_str()];
        a.extend_from_slice(args);
        run_env("ovs-vsctl", &a, &self.env())
    }

    /// Runs `ovs-appctl --timeout=30 -t DIR/ovs-vswitchd.ctl ARGS`.
    pub fn appctl(&self, args: &[&str]) -> Result<String> {
        let t = format!("{}/ovs-vswitchd.ctl", self.dir.display());
        let mut a = vec!["--timeout=30", "-t", t.as_str()];
        a.extend_from_slice(args);
        run_env("ovs-appctl", &a, &self.env())
    }

    /// Prepares the members (up, `arp_ignore=1`, no IPv6, neighbours flushed) and adds the bond.
    pub fn add_bond(&self, b: &BondSpec) -> Result<()> {
        for m in &b.members {
            ns_run(&self.ns, &["ip", "link", "set", m, "up"])?;
            sysctl(&self.ns, &format!("net.ipv4.conf.{m}.arp_ignore"), "1")?;
            sysctl(&self.ns, &format!("net.ipv6.conf.{m}.disable_ipv6"), "1")?;
            let _ = ns_run(&self.ns, &["ip", "neigh", "flush", "dev", m]);
        }
        let mut args: Vec<String> = vec!["add-bond".into(), BRIDGE.into(), b.name.clone()];
        args.extend(b.members.iter().cloned());
        args.push(format!("bond_mode={}", b.mode.as_str()));
        args.push(format!("lacp={}", b.lacp.as_str()));
        args.push(format!(
            "other_config:lacp-time={}",
            if b.fast { "fast" } else { "slow" }
        ));
        args.push(format!("other_config:lacp-fallback-ab={}", b.fallback_ab));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.vsctl(&refs).map(|_| ())
    }

    /// Deletes a bond (its members stay in the namespace).
    pub fn del_bond(&self, name: &str) -> Result<()> {
        self.vsctl(&["del-port", BRIDGE, name]).map(|_| ())
    }

    /// Sets `column=value` pairs on port `name` (e.g. `lacp=passive`,
    /// `other_config:lacp-time=slow`).
    pub fn set_port(&self, name: &str, settings: &[&str]) -> Result<()> {
        let mut a = vec!["set", "port", name];
        a.extend_from_slice(settings);
        self.vsctl(&a).map(|_| ())
    }

    /// Gives the bridge's internal port `ip/24` and sets it up.
    pub fn set_bridge_ip(&self, ip: std::net::Ipv4Addr) -> Result<()> {
        ns_run(
            &self.ns,
            &["ip", "addr", "add", &format!("{ip}/24"), "dev", BRIDGE],
        )?;
        ns_run(&self.ns, &["ip", "link", "set", BRIDGE, "up"]).map(|_| ())
    }

    /// Parsed `lacp/show` of every bond.
    pub fn lacp_show(&self) -> Result<Vec<LacpBond>> {
        parse_lacp_show(&self.appctl(&["lacp/show"])?)
    }

    /// Parsed `lacp/show BOND`.
    pub fn lacp_bond(&self, bond: &str) -> Result<LacpBond> {
        parse_lacp_show(&self.appctl(&["lacp/show", bond])?)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Ovs(format!("no bond {bond} in lacp/show")))
    }

    /// Parsed `lacp/show-stats` (every member of every bond).
    pub fn lacp_stats(&self) -> Result<Vec<LacpStats>> {
        parse_lacp_stats(&self.appctl(&["lacp/show-stats"])?)
    }

    /// `bond/show BOND`, raw text.
    pub fn bond_show(&self, bond: &str) -> Result<String> {
        self.appctl(&["bond/show", bond])
    }

    /// Waits until bond `bond` is negotiated with `members` members current, attached and
    /// collecting+distributing, for at most `timeout`; returns its `lacp/show`.
    pub fn wait_negotiated(
        &self,
        bond: &str,
        members: usize,
        timeout: Duration,
    ) -> Result<LacpBond> {
        let what = format!("OVS bond {bond} negotiated with {members} members distributing");
        wait::until(&what, timeout, Duration::from_millis(20), || {
            let b = self.lacp_bond(bond)?;
            let ready = b
                .members
                .iter()
                .filter(|m| {
                    m.is("current")
                        && m.is("attached")
                        && m.actor.state.distributing()
                        && m.partner.state.distributing()
                })
                .count();
            Ok(if b.negotiated() && ready >= members {
                Ok(b)
            } else {
                Err(format!("{b:?}"))
            })
        })
    }

    /// The last 40 lines of one of the instance's log files.
    pub fn log_tail_of(&self, file: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .get(lines.len().saturating_sub(40)..)
            .unwrap_or(&[])
            .join("\n")
    }

    /// Stops OVS: `exit --cleanup`, then ends both processes and removes the directory.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let first_err = match self.vswitchd {
            Some(_) => self.appctl(&["exit", "--cleanup"]).err(),
            None => None,
        };
        for child in [self.vswitchd.take(), self.db.take()].into_iter().flatten() {
            end_child(child);
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Waits up to 3 s for a child to exit after SIGTERM, then kills it; always reaps it.
fn end_child(mut c: Child) {
    if matches!(c.try_wait(), Ok(None)) {
        let _ = crate::cmd::signal(c.id(), "TERM");
        for _ in 0..150 {
            if !matches!(c.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
    }
    let _ = c.wait();
}

impl Drop for OvsInstance {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
