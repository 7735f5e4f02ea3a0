//! What a change did, in words: `modify-aggr` and reload say which settings changed ("timer
//! short → long") and what becomes of the aggregate ("aggr1 stays up").

use crate::config::{Fallback, Resolved};
use lagd_types::format_duration;

fn fallback_text(r: &Resolved) -> String {
    match r.fallback {
        None | Some((Fallback::Off, _)) => Fallback::Off.to_string(),
        Some((k, t)) => format!("{k} after {}", format_duration(t)),
    }
}

/// The fields of [`Resolved`] said above with their values (or not settings: the name and the
/// DT port-number base).
const DESCRIBED: &[&str] = &[
    "name",
    "links",
    "mode",
    "lacp_mode",
    "lacp_timer",
    "policy",
    "mac",
    "mtu",
    "min_links",
    "max_active",
    "ad_select",
    "fallback",
    "system_priority",
    "key",
    "rebalance_interval",
    "offload",
    "distributed",
    "port_priority",
    "port_base",
];

/// Each setting that differs between `old` and `new`, as `"timer short → long"`; a setting
/// without a phrase of its own as `"buckets changed"`.
pub fn describe(old: &Resolved, new: &Resolved) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what} {a} → {b}"));
        }
    };
    diff("mode", old.mode.to_string(), new.mode.to_string());
    diff("lacp", old.lacp_mode.to_string(), new.lacp_mode.to_string());
    diff(
        "timer",
        old.lacp_timer.to_string(),
        new.lacp_timer.to_string(),
    );
    diff("policy", old.policy.to_string(), new.policy.to_string());
    let mac = |r: &Resolved| r.mac.map_or_else(|| "auto".into(), |m| m.to_string());
    diff("mac", mac(old), mac(new));
    diff("mtu", old.mtu.to_string(), new.mtu.to_string());
    diff(
        "min-links",
        old.min_links.to_string(),
        new.min_links.to_string(),
    );
    let max = |r: &Resolved| {
        r.max_active
            .map_or_else(|| "none".into(), |m| m.to_string())
    };
    diff("max-active", max(old), max(new));
    diff(
        "ad-select",
        old.ad_select.as_str().into(),
        new.ad_select.as_str().into(),
    );
    diff("fallback", fallback_text(old), fallback_text(new));
    diff(
        "system-priority",
        old.system_priority.to_string(),
        new.system_priority.to_string(),
    );
    diff("key", old.key.to_string(), new.key.to_string());
    let reb = |r: &Resolved| {
        r.rebalance_interval
            .map_or_else(|| "off".into(), format_duration)
    };
    diff("rebalance-interval", reb(old), reb(new));
    let on = |b: bool| if b { "on" } else { "off" }.to_string();
    diff("offload", old.offload.to_string(), new.offload.to_string());
    diff("distributed", on(old.distributed), on(new.distributed));
    // Every other setting in force, by its name: a setting without a phrase above is still
    // said to have changed.
    let (a, b) = (serde_json::to_value(old), serde_json::to_value(new));
    if let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) = (a, b) {
        for (k, v) in &b {
            if !DESCRIBED.contains(&k.as_str()) && a.get(k) != Some(v) {
                out.push(format!("{} changed", k.replace('_', "-")));
            }
        }
    }
    for l in new.links.iter().filter(|l| !old.links.contains(l)) {
        out.push(format!("member {l} added"));
    }
    for l in old.links.iter().filter(|l| !new.links.contains(l)) {
        out.push(format!("member {l} removed"));
    }
    for l in &new.links {
        let (a, b) = (old.priority_of(l), new.priority_of(l));
        if old.links.contains(l) && a != b {
            out.push(format!("port priority of {l} {a} → {b}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AggrSpec, AnyLinks, LacpTimeout};

    #[test]
    fn says_what_changed() {
        let a = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        let mut b = a.clone();
        b.lacp_timer = Some(LacpTimeout::Long);
        b.mtu = Some(9000);
        b.fallback = Some(Fallback::Static);
        let (a, b) = (a.resolve(&AnyLinks).unwrap(), b.resolve(&AnyLinks).unwrap());
        assert_eq!(
            describe(&a, &b),
            vec![
                "timer short → long",
                "mtu 1500 → 9000",
                "fallback off → static after 6s"
            ]
        );
        assert!(describe(&a, &a).is_empty());
        let mut c = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        c.buckets = Some(64);
        c.coupled_control = Some(false);
        let c = c.resolve(&AnyLinks).unwrap();
        assert_eq!(
            describe(&a, &c),
            vec!["buckets changed", "coupled-control changed"]
        );
    }
}
