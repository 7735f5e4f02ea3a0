//! The skip policy: a test that needs root or a tool prints `skipped: <reason>` and returns
//! when it is missing, except when the environment variable `CI` is set, where a missing
//! prerequisite fails the test (CI installs everything).

use crate::cmd::have;

/// Something a system test may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Effective uid 0 (namespaces, veths, tc).
    Root,
    /// `ip` and `tc` (iproute2).
    Iproute,
    /// Open vSwitch: `ovsdb-server`, `ovs-vswitchd`, `ovs-vsctl`, `ovs-appctl`, `ovsdb-tool`.
    Ovs,
    /// `tshark`.
    Tshark,
    /// The `lagd` binary next to the test executable (see [`crate::lagd_instance::lagd_binary`]).
    Lagd,
}

/// Why `need` is not met, or `None` when it is.
pub fn missing(need: Need) -> Option<String> {
    let tools = |list: &[&str]| -> Option<String> {
        let absent: Vec<&str> = list.iter().copied().filter(|t| !have(t)).collect();
        (!absent.is_empty()).then(|| format!("{} not installed", absent.join(", ")))
    };
    match need {
        Need::Root => (!lagd_dataplane::netns::is_root()).then(|| "needs root".to_string()),
        Need::Iproute => tools(&["ip", "tc"]),
        Need::Ovs => tools(&[
            "ovsdb-server",
            "ovs-vswitchd",
            "ovs-vsctl",
            "ovs-appctl",
            "ovsdb-tool",
        ])
        .map(|m| format!("{m} (apt-get install openvswitch-switch)")),
        Need::Tshark => tools(&["tshark"]),
        Need::Lagd => crate::lagd_instance::lagd_binary()
            .err()
            .map(|e| e.to_string()),
    }
}

/// Whether we run in CI (`CI` set and not empty), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Checks `needs`: `true` when all are met. Otherwise prints `skipped: <reason>` and returns
/// `false`, or panics when [`in_ci`].
pub fn check(test: &str, needs: &[Need]) -> bool {
    let reasons: Vec<String> = needs.iter().filter_map(|n| missing(*n)).collect();
    if reasons.is_empty() {
        return true;
    }
    let reason = reasons.join("; ");
    if in_ci() {
        panic!("{test}: prerequisite missing in CI: {reason}");
    }
    eprintln!("skipped: {test}: {reason}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_tools_and_root_are_reported() {
        assert_eq!(
            missing(Need::Root).is_none(),
            lagd_dataplane::netns::is_root()
        );
        if let Some(m) = missing(Need::Ovs) {
            assert!(m.contains("openvswitch-switch"), "{m}");
        }
    }
}
