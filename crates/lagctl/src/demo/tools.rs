//! The external programs the real demo needs: only `ip` and `tc` from iproute2 (namespaces,
//! veths, addresses, tbf shaping). Traffic, reachability and measurements are lagd's own
//! (`lagd-trafgen`), so no `ping`, `iperf3`, `tshark`, `tcpdump`, `ethtool`, `socat` or `nc`.
//! A missing program is named at once, with the package that provides it.

use std::path::{Path, PathBuf};

/// A program the demo runs, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The command name.
    pub name: &'static str,
    /// What the demo does with it.
    pub purpose: &'static str,
    /// The package providing it, and how to install it.
    pub install: &'static str,
}

/// Every program the real demo runs.
pub const NEEDED: &[Tool] = &[
    Tool {
        name: "ip",
        purpose: "network namespaces, veth links and addresses",
        install: "iproute2: `apt-get install iproute2` (Debian, Ubuntu), `dnf install iproute` (Fedora, RHEL)",
    },
    Tool {
        name: "tc",
        purpose: "shaping each link to 200 Mbit/s (tbf)",
        install: "iproute2: `apt-get install iproute2` (Debian, Ubuntu), `dnf install iproute-tc` (Fedora, RHEL)",
    },
];

/// Where `name` is found on `path` (a `PATH` value), if it is an executable file there.
pub fn find_in(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The programs of [`NEEDED`] missing from `PATH`, each explained in one line.
pub fn missing() -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    NEEDED
        .iter()
        .filter(|t| find_in(t.name, &path).is_none())
        .map(|t| {
            format!(
                "`{}` (for {}) is not installed; it comes with {}",
                t.name, t.purpose, t.install
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_executables_on_the_path() {
        let dir = std::env::temp_dir().join(format!("lagctl-tools-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("fake-tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([dir.as_path(), Path::new("/nonexistent")]).unwrap();
        assert_eq!(find_in("fake-tool", &path), None, "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in("fake-tool", &path), Some(exe));
        assert_eq!(find_in("no-such-tool", &path), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
