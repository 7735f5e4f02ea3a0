//! Per-interface network sysctls under `/proc/sys/net/` (`arp_ignore`, `arp_announce`,
//! `disable_ipv6`, ...). `/proc/sys/net` shows the network namespace of the calling thread.

use crate::error::{Error, Result, check_ifname};
use std::path::PathBuf;

/// An IPv4 per-interface setting: `/proc/sys/net/ipv4/conf/IF/VAR`.
pub fn ipv4_conf(ifname: &str, var: &str) -> Result<PathBuf> {
    conf_path("ipv4", ifname, var)
}

/// An IPv6 per-interface setting: `/proc/sys/net/ipv6/conf/IF/VAR`.
pub fn ipv6_conf(ifname: &str, var: &str) -> Result<PathBuf> {
    conf_path("ipv6", ifname, var)
}

fn conf_path(family: &str, ifname: &str, var: &str) -> Result<PathBuf> {
    check_ifname(ifname)?;
    if var.is_empty() || var.contains('/') || var.contains("..") {
        return Err(Error::InvalidName(var.to_string()));
    }
    Ok(PathBuf::from(format!(
        "/proc/sys/net/{family}/conf/{ifname}/{var}"
    )))
}

/// Reads an integer sysctl.
pub fn read_int(path: &std::path::Path) -> Result<i64> {
    let s = std::fs::read_to_string(path).map_err(|source| Error::Sysctl {
        path: path.display().to_string(),
        source,
    })?;
    s.trim().parse().map_err(|_| Error::SysctlValue {
        path: path.display().to_string(),
        value: s.trim().to_string(),
    })
}

/// Reads an integer sysctl, `None` if it does not exist (e.g. IPv6 disabled at boot).
pub fn read_int_opt(path: &std::path::Path) -> Result<Option<i64>> {
    if !path.exists() {
        return Ok(None);
    }
    read_int(path).map(Some)
}

/// Writes an integer sysctl.
pub fn write_int(path: &std::path::Path, value: i64) -> Result<()> {
    std::fs::write(path, format!("{value}\n")).map_err(|source| Error::Sysctl {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_and_checked() -> Result<()> {
        assert_eq!(
            ipv4_conf("veth0", "arp_ignore")?,
            PathBuf::from("/proc/sys/net/ipv4/conf/veth0/arp_ignore")
        );
        assert_eq!(
            ipv6_conf("veth0", "disable_ipv6")?,
            PathBuf::from("/proc/sys/net/ipv6/conf/veth0/disable_ipv6")
        );
        assert!(ipv4_conf("../x", "arp_ignore").is_err());
        assert!(ipv4_conf("lo", "../../x").is_err());
        Ok(())
    }

    #[test]
    fn reads_loopback_setting() -> Result<()> {
        let v = read_int(&ipv4_conf("lo", "arp_ignore")?)?;
        assert!((0..=8).contains(&v));
        assert_eq!(read_int_opt(&ipv4_conf("lo", "no_such_var")?)?, None);
        Ok(())
    }
}
