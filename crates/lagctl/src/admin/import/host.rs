//! The interfaces of the host a configuration is imported for: networkd and netplan name
//! members by shell glob (`Name=enp1s0f*`) or by MAC address (`MACAddress=`, `match:
//! macaddress:`), which only the host's interfaces turn into names. Read from this host
//! (`/sys/class/net`) or, to import for another machine, from that machine's `ip -j link`
//! output (`--host-links FILE`).

use std::path::Path;

use lagd_types::MacAddr;

use super::super::error::AdminError;

/// One interface: its name and hardware address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostLink {
    /// Interface name.
    pub name: String,
    /// Hardware address, when it has a 6-byte one.
    pub mac: Option<MacAddr>,
}

/// The interfaces known to the import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostLinks {
    /// Where they were read (for messages).
    pub source: String,
    /// The interfaces, sorted by name.
    pub links: Vec<HostLink>,
}

impl HostLinks {
    /// This host's interfaces (`/sys/class/net`), without `lo`.
    pub fn from_sysfs() -> HostLinks {
        let mut links = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "lo" {
                    continue;
                }
                let mac = std::fs::read_to_string(e.path().join("address"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                links.push(HostLink { name, mac });
            }
        }
        links.sort_by(|a, b| a.name.cmp(&b.name));
        HostLinks {
            source: "this host's interfaces".into(),
            links,
        }
    }

    /// The interfaces listed in `ip -j link` output saved to `path`.
    pub fn from_ip_json(path: &Path) -> Result<HostLinks, AdminError> {
        let text = std::fs::read_to_string(path).map_err(|source| AdminError::File {
            path: path.to_path_buf(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            AdminError::Input(format!("{}: not `ip -j link` output: {e}", path.display()))
        })?;
        let Some(items) = v.as_array() else {
            return Err(AdminError::Input(format!(
                "{}: not `ip -j link` output: expected a JSON array",
                path.display()
            )));
        };
        let mut links: Vec<HostLink> = items
            .iter()
            .filter_map(|l| {
                let name = l.get("ifname")?.as_str()?.to_string();
                let mac = l
                    .get("address")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|m| m.parse().ok());
                Some(HostLink { name, mac })
            })
            .filter(|l| l.name != "lo")
            .collect();
        links.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(HostLinks {
            source: path.display().to_string(),
            links,
        })
    }

    /// Names matching a shell glob, in name order.
    pub fn matching(&self, glob: &str) -> Vec<String> {
        self.links
            .iter()
            .filter(|l| glob_match(glob, &l.name))
            .map(|l| l.name.clone())
            .collect()
    }

    /// The interface with hardware address `mac`.
    pub fn by_mac(&self, mac: MacAddr) -> Option<String> {
        self.links
            .iter()
            .find(|l| l.mac == Some(mac))
            .map(|l| l.name.clone())
    }
}

/// Whether `pattern` (shell glob: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`) matches all of `name`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_from(&p, &n)
}

fn matches_from(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|i| matches_from(rest, n.get(i..).unwrap_or(&[]))),
        Some(('?', rest)) => n
            .split_first()
            .is_some_and(|(_, nr)| matches_from(rest, nr)),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                // No closing bracket: a literal '['.
                return n.first() == Some(&'[') && matches_from(rest, n.get(1..).unwrap_or(&[]));
            };
            let (class, after) = (
                rest.get(..close).unwrap_or(&[]),
                rest.get(close + 1..).unwrap_or(&[]),
            );
            let Some((c, nr)) = n.split_first() else {
                return false;
            };
            let (negate, class) = match class.split_first() {
                Some(('!' | '^', cl)) => (true, cl),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class.get(i + 1) == Some(&'-') {
                    if let (Some(lo), Some(hi)) = (class.get(i), class.get(i + 2))
                        && (*lo..=*hi).contains(c)
                    {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if class.get(i) == Some(c) {
                        hit = true;
                    }
                    i += 1;
                }
            }
            hit != negate && matches_from(after, nr)
        }
        Some((x, rest)) => n
            .split_first()
            .is_some_and(|(c, nr)| c == x && matches_from(rest, nr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("enp1s0f*", "enp1s0f3", true),
            ("enp1s0f*", "enp1s0", false),
            ("en*", "enp1s0", true),
            ("eth?", "eth1", true),
            ("eth?", "eth10", false),
            ("eth[0-2]", "eth2", true),
            ("eth[0-2]", "eth3", false),
            ("eth[!0]", "eth0", false),
            ("eth[!0]", "eth1", true),
            ("*", "x", true),
            ("a[b", "a[b", true),
            ("eth1", "eth1", true),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn reads_ip_json() {
        let dir = std::env::temp_dir().join(format!("lagctl-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("links.json");
        std::fs::write(
            &f,
            r#"[{"ifindex":1,"ifname":"lo","address":"00:00:00:00:00:00"},
                {"ifindex":2,"ifname":"eth1","address":"52:54:00:e9:64:41"},
                {"ifindex":3,"ifname":"eth0","address":"52:54:00:e9:64:42"}]"#,
        )
        .unwrap();
        let h = HostLinks::from_ip_json(&f).unwrap();
        assert_eq!(h.links.len(), 2);
        assert_eq!(
            h.matching("eth*"),
            vec!["eth0".to_string(), "eth1".to_string()]
        );
        assert_eq!(
            h.by_mac("52:54:00:e9:64:41".parse().unwrap()).as_deref(),
            Some("eth1")
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
