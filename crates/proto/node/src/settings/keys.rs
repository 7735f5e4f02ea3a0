//! One System, one key: the rule the daemon and the simulator both apply to the aggregations of
//! one host (issue 11, defect 5).

use std::collections::BTreeMap;

use lagd_types::{Key, SystemId};

use super::SettingsError;

/// Refuses two LACP aggregations of one host with the same System (priority and address) and
/// key. 802.1AX §6.3.3 wants a key unique within a System: a partner would take both for one
/// aggregation (a port of each in one LAG). `aggs` lists each LACP aggregation's name, System
/// and key, in configuration order; the caller leaves out aggregations that do not run LACP, or
/// whose System is unique anyway (the daemon's without `mac`, whose System is their first
/// member's MAC). The later of two colliding aggregations is named.
pub fn check_unique_keys<'a>(
    aggs: impl IntoIterator<Item = (&'a str, SystemId, Key)>,
) -> Result<(), SettingsError> {
    let mut seen: BTreeMap<(SystemId, Key), &str> = BTreeMap::new();
    for (name, system, key) in aggs {
        if let Some(other) = seen.insert((system, key), name) {
            return Err(SettingsError::new(
                name,
                "key",
                format!(
                    "aggregation `{other}` runs LACP with the same System {} (priority {}) and \
                     key {key}: a key is unique within a System (802.1AX 6.3.3), or the partner \
                     takes both for one aggregation; give one of them another `key`, or another \
                     System (`mac`, `system_priority`)",
                    system.addr, system.priority
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lagd_types::MacAddr;

    use super::*;

    #[test]
    fn one_system_one_key() {
        let a = SystemId::new(32768, MacAddr([2, 0, 0, 0, 0, 1]));
        let b = SystemId::new(32768, MacAddr([2, 0, 0, 0, 0, 2]));
        let low = SystemId::new(100, MacAddr([2, 0, 0, 0, 0, 1]));
        let err = check_unique_keys([("x", a, 1), ("y", b, 1), ("z", a, 1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "aggregation `z`: key: aggregation `x` runs LACP with the same System \
             02:00:00:00:00:01 (priority 32768) and key 1: a key is unique within a System \
             (802.1AX 6.3.3), or the partner takes both for one aggregation; give one of them \
             another `key`, or another System (`mac`, `system_priority`)"
        );
        // Another key, another address, another priority: other Systems or keys.
        assert!(check_unique_keys([("x", a, 1), ("y", a, 2), ("z", b, 1), ("w", low, 1)]).is_ok());
    }
}
