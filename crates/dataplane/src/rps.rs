//! Receive Packet Steering on the aggregate: every conversation through one CPU's backlog.
//!
//! The receive program ([`crate::rx_offload`]) hands a member's data frame to the aggregate
//! with `bpf_redirect(tap, BPF_F_INGRESS)`, which queues it on a CPU's backlog (`netif_rx`):
//! without RPS, the backlog of the CPU the program runs on. A member's receive path does not
//! stay on one CPU (a NIC's interrupt moves, a veth's NAPI runs where its peer sent), and two
//! CPUs' backlogs are emptied independently: frames of one conversation that arrived in order
//! on the member were then delivered out of order whenever consecutive ones were taken on
//! different CPUs (issue 12: seen in `ns_offload`, 1 to 4 datagrams per run, more often with a
//! qdisc on the sender's members, whose bursts keep two CPUs busy with one member). With RPS
//! on the aggregate, `netif_rx` queues each frame on the backlog of the CPU its flow hash
//! picks, so one conversation's frames are queued on one backlog in the order the members'
//! receive paths handed them on, whatever CPU ran the program, and leave it in that order.
//! The program clears the frame's hash first (a NIC's RSS hash differs from member to member),
//! so that the kernel's own flow hash (addresses and ports, the same on every member) picks the
//! CPU: a conversation moved to another member keeps its CPU, and its frames from the new
//! member queue behind those from the old one (a Marker exchange orders them in time).

use crate::error::{Error, Result, check_ifname};

/// Steers frames the aggregate `ifname` receives to a CPU by flow hash (every online CPU in
/// the RPS map of each of its receive queues). Returns how many queues were set; 0 on a
/// one-CPU machine or a kernel without RPS (nothing to order across CPUs, or no way to).
pub fn steer_by_flow(ifname: &str) -> Result<usize> {
    set_by_flow(ifname, true)
}

/// [`steer_by_flow`] (`on`), or no steering (`off`: each frame stays on the backlog of the CPU
/// that handed it on). Returns how many queues were written (0: one CPU, or no RPS).
///
/// Switching under traffic can reorder: a frame queued on one CPU's backlog before the switch
/// may be overtaken by a later one of its conversation queued on another after it. lagd
/// switches only at a moment no frame of the aggregate is queued (`lagd`'s `offload`, with
/// [`backlogs_empty`]).
pub fn set_by_flow(ifname: &str, on: bool) -> Result<usize> {
    RpsMaps::of(ifname)?.write(on)
}

/// The RPS maps of a device's receive queues and the map "every online CPU", read once, so
/// that switching ([`RpsMaps::write`]) is the writes alone (lagd times a switch between two
/// reads of a counter: the shorter the window, the rarer a frame in it).
#[derive(Debug)]
pub struct RpsMaps {
    ifname: String,
    paths: Vec<std::path::PathBuf>,
    every: Option<String>,
}

impl RpsMaps {
    /// The maps of `ifname`.
    pub fn of(ifname: &str) -> Result<RpsMaps> {
        check_ifname(ifname)?;
        Ok(RpsMaps {
            ifname: ifname.to_string(),
            paths: rps_maps(ifname)?,
            every: every_cpu()?,
        })
    }

    /// Steers by flow (`on`) or not; returns how many queues were written (0: one CPU, or no
    /// RPS).
    pub fn write(&self, on: bool) -> Result<usize> {
        let Some(every) = &self.every else {
            return Ok(0);
        };
        let mask = if on { every.as_str() } else { "0" };
        for path in &self.paths {
            std::fs::write(path, mask).map_err(|source| Error::Link {
                op: "set the RPS map",
                ifname: self.ifname.clone(),
                source,
            })?;
        }
        Ok(self.paths.len())
    }
}

/// Whether frames the device `ifname` receives are steered (a non-empty RPS map on any of
/// its receive queues).
pub fn is_by_flow(ifname: &str) -> Result<bool> {
    check_ifname(ifname)?;
    for path in rps_maps(ifname)? {
        let map = std::fs::read_to_string(&path).map_err(|source| Error::Link {
            op: "read the RPS map",
            ifname: ifname.to_string(),
            source,
        })?;
        if map
            .trim()
            .chars()
            .any(|c| c.is_ascii_hexdigit() && c != '0')
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `rps_cpus` files of the receive queues of `ifname` (none on a kernel without RPS).
fn rps_maps(ifname: &str) -> Result<Vec<std::path::PathBuf>> {
    let dir = format!("/sys/class/net/{ifname}/queues");
    let entries = std::fs::read_dir(&dir).map_err(|source| Error::Link {
        op: "list the receive queues",
        ifname: ifname.to_string(),
        source,
    })?;
    let mut maps = Vec::new();
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with("rx-") {
            continue;
        }
        let path = e.path().join("rps_cpus");
        if !path.exists() {
            // A kernel built without CONFIG_RPS.
            return Ok(Vec::new());
        }
        maps.push(path);
    }
    Ok(maps)
}

/// Whether every CPU's backlog (the queue `netif_rx` and RPS fill, emptied by that CPU's
/// receive softirq) is empty now, each read at one instant (`/proc/net/softnet_stat`,
/// column 12: frames in the backlog's input and process queues, Linux ≥ 5.10). `None`: the
/// kernel does not say.
pub fn backlogs_empty() -> Result<Option<bool>> {
    let text = std::fs::read_to_string("/proc/net/softnet_stat").map_err(|source| Error::Sys {
        op: "read /proc/net/softnet_stat",
        source,
    })?;
    Ok(backlogs_empty_in(&text))
}

fn backlogs_empty_in(text: &str) -> Option<bool> {
    let mut empty = true;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let len = line.split_whitespace().nth(11)?;
        empty &= u32::from_str_radix(len, 16).ok()? == 0;
    }
    Some(empty)
}

/// The RPS map of every online CPU (see [`steer_by_flow`]); `None` on a one-CPU machine.
pub fn every_cpu() -> Result<Option<String>> {
    let online =
        std::fs::read_to_string("/sys/devices/system/cpu/online").map_err(|source| Error::Sys {
            op: "read /sys/devices/system/cpu/online",
            source,
        })?;
    Ok(cpu_mask(&online))
}

/// The RPS map (`rps_cpus` syntax: hex, 32-bit groups separated by commas, most significant
/// first) of the CPU list `online` (`/sys/devices/system/cpu/online`, e.g. `0-3,6`); `None`
/// if it names fewer than two CPUs or cannot be read.
fn cpu_mask(online: &str) -> Option<String> {
    let mut cpus = Vec::new();
    for part in online.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let c = part.parse::<usize>().ok()?;
                (c, c)
            }
        };
        if hi < lo || hi >= 8192 {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    if cpus.len() < 2 {
        return None;
    }
    let words = cpus.iter().max().copied().unwrap_or(0) / 32 + 1;
    let mut mask = vec![0u32; words];
    for c in cpus {
        if let Some(w) = mask.get_mut(c / 32) {
            *w |= 1 << (c % 32);
        }
    }
    let groups: Vec<String> = mask.iter().rev().map(|w| format!("{w:08x}")).collect();
    Some(groups.join(","))
}

#[cfg(test)]
mod tests {
    use super::{backlogs_empty_in, cpu_mask};

    #[test]
    fn backlog_lengths() {
        let idle = "0019c8e4 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00022e35 00000000 00000000 00000000 00000000 00000000\n\
                    00197810 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 0003014b 00000000 00000000 00000001 00000000 00000000\n";
        assert_eq!(backlogs_empty_in(idle), Some(true));
        let busy = idle.replacen(
            "00000000 00000001 00000000",
            "00000002 00000001 00000002",
            1,
        );
        assert_eq!(backlogs_empty_in(&busy), Some(false));
        // A kernel before 5.10: no backlog column.
        assert_eq!(backlogs_empty_in("0019c8e4 00000000 00000000\n"), None);
    }

    #[test]
    fn masks_of_cpu_lists() {
        assert_eq!(cpu_mask("0-1\n").as_deref(), Some("00000003"));
        assert_eq!(cpu_mask("0").as_deref(), None);
        assert_eq!(cpu_mask("0-3,6").as_deref(), Some("0000004f"));
        assert_eq!(cpu_mask("0-32").as_deref(), Some("00000001,ffffffff"));
        assert_eq!(cpu_mask("2,40").as_deref(), Some("00000100,00000004"));
        assert_eq!(cpu_mask("x").as_deref(), None);
        assert_eq!(cpu_mask("3-1").as_deref(), None);
    }
}
