//! "Did you mean": a value written as another tool writes it (Linux bonding's
//! `xmit_hash_policy=layer3+4`, `lacp_rate=fast`, `mode=802.3ad`; ifupdown's `bond-mode 4`;
//! teamd's runner names; Open vSwitch's `bond_mode`), or a misspelt one (`actve`), answered
//! with lagd's own spelling. Used by the command line, the configuration file and the imports,
//! so each says the same thing.

/// What other tools call a value of a lagd setting: (setting, their spelling, lagd's value,
/// whose spelling it is). Compared case-insensitively.
const FOREIGN: &[(&str, &str, &str, &str)] = &[
    // Linux bonding xmit_hash_policy (also ifupdown's bond-xmit-hash-policy, networkd's
    // TransmitHashPolicy, netplan's transmit-hash-policy).
    ("policy", "layer2", "L2", "bonding's xmit_hash_policy"),
    ("policy", "layer2+3", "L2,L3", "bonding's xmit_hash_policy"),
    ("policy", "layer3+4", "L3,L4", "bonding's xmit_hash_policy"),
    (
        "policy",
        "encap2+3",
        "L2,L3",
        "bonding's xmit_hash_policy (lagd hashes the outer headers)",
    ),
    (
        "policy",
        "encap3+4",
        "L3,L4",
        "bonding's xmit_hash_policy (lagd hashes the outer headers)",
    ),
    ("policy", "vlan+srcmac", "L2", "bonding's xmit_hash_policy"),
    ("policy", "0", "L2", "bonding's xmit_hash_policy number"),
    ("policy", "1", "L3,L4", "bonding's xmit_hash_policy number"),
    ("policy", "2", "L2,L3", "bonding's xmit_hash_policy number"),
    // Linux bonding lacp_rate (networkd's LACPTransmitRate, netplan's lacp-rate).
    ("lacp_timer", "fast", "short", "bonding's lacp_rate"),
    ("lacp_timer", "slow", "long", "bonding's lacp_rate"),
    ("lacp_timer", "1", "short", "bonding's lacp_rate number"),
    ("lacp_timer", "0", "long", "bonding's lacp_rate number"),
    // Linux bonding modes, by name and number; teamd runners; Open vSwitch bond modes.
    ("mode", "802.3ad", "lacp", "bonding's mode"),
    ("mode", "4", "lacp", "bonding's mode number"),
    ("mode", "balance-rr", "round-robin", "bonding's mode"),
    ("mode", "0", "round-robin", "bonding's mode number"),
    ("mode", "1", "active-backup", "bonding's mode number"),
    ("mode", "balance-xor", "static", "bonding's mode"),
    ("mode", "2", "static", "bonding's mode number"),
    ("mode", "3", "broadcast", "bonding's mode number"),
    ("mode", "balance-tlb", "transmit-lb", "bonding's mode"),
    ("mode", "5", "transmit-lb", "bonding's mode number"),
    ("mode", "balance-alb", "adaptive-lb", "bonding's mode"),
    ("mode", "6", "adaptive-lb", "bonding's mode number"),
    ("mode", "roundrobin", "round-robin", "teamd's runner"),
    ("mode", "activebackup", "active-backup", "teamd's runner"),
    ("mode", "loadbalance", "static", "teamd's runner"),
    (
        "mode",
        "balance-tcp",
        "lacp",
        "Open vSwitch's bond_mode (with lacp=active)",
    ),
    (
        "mode",
        "balance-slb",
        "transmit-lb",
        "Open vSwitch's bond_mode",
    ),
    ("mode", "trunk", "static", "a switch's static trunk"),
    // LACP activity as booleans (teamd's "active", bonding's ad_lacp_active).
    ("lacp_mode", "on", "active", "bonding's ad_lacp_active"),
    ("lacp_mode", "true", "active", "teamd's lacp active"),
    (
        "lacp_mode",
        "1",
        "active",
        "bonding's ad_lacp_active number",
    ),
    ("lacp_mode", "false", "passive", "teamd's lacp active"),
    (
        "lacp_mode",
        "0",
        "passive",
        "bonding's ad_lacp_active number",
    ),
    // Open vSwitch's lacp-fallback-ab.
    (
        "fallback",
        "lacp-fallback-ab",
        "one-member",
        "Open vSwitch's other_config:lacp-fallback-ab",
    ),
    (
        "fallback",
        "true",
        "one-member",
        "Open vSwitch's lacp-fallback-ab",
    ),
    (
        "fallback",
        "active-backup",
        "one-member",
        "Open vSwitch's lacp-fallback-ab",
    ),
];

/// lagd's spelling of `value` for `setting` when another tool spells it that way, with whose
/// spelling it is, if lagd has that value (`known` lists lagd's values; empty = any).
pub fn foreign(setting: &str, value: &str, known: &[&str]) -> Option<(&'static str, &'static str)> {
    FOREIGN
        .iter()
        .find(|(s, theirs, ours, _)| {
            *s == setting
                && theirs.eq_ignore_ascii_case(value.trim())
                && (known.is_empty() || known.contains(ours))
        })
        .map(|(_, _, ours, whose)| (*ours, *whose))
}

/// The suffix for an error about `value` of `setting`: `` (did you mean `L3,L4`? that is
/// bonding's xmit_hash_policy)``, `` (did you mean `active`?)`` for a near miss among
/// `known`, or nothing.
pub fn suggestion(setting: &str, value: &str, known: &[&str]) -> String {
    if let Some((ours, whose)) = foreign(setting, value, known) {
        return format!(" (did you mean `{ours}`? `{value}` is {whose})");
    }
    did_you_mean(value, known.iter().copied())
}

/// Edit distance between `a` and `b`, case-insensitive: insertions, deletions, substitutions
/// and transpositions of neighbours (`eht1` is one step from `eth1`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The candidates close to `word` (at most a third of its length wrong, at least one
/// character), closest first.
pub fn close_matches<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut found: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    found.sort();
    found.dedup();
    found.into_iter().map(|(_, c)| c).collect()
}

/// `` (did you mean `x`?)``, `` (did you mean `x` or `y`?)``, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let m = close_matches(word, candidates);
    match m.as_slice() {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        more => format!(
            " (did you mean {}?)",
            more.iter()
                .take(3)
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{AggrMode, Fallback, values};
    use lagd_types::{LacpActivity, LacpTimeout};

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(
            did_you_mean("eht1", ["eth1", "eth2", "lo"]),
            " (did you mean `eth1`?)"
        );
        assert_eq!(
            did_you_mean("eth", ["eth1", "eth2"]),
            " (did you mean `eth1` or `eth2`?)"
        );
        assert_eq!(did_you_mean("wlan0", ["eth1"]), "");
    }

    #[test]
    fn other_tools_spellings_are_answered_in_lagds() {
        assert_eq!(
            suggestion("policy", "layer3+4", &[]),
            " (did you mean `L3,L4`? `layer3+4` is bonding's xmit_hash_policy)"
        );
        assert_eq!(
            suggestion("lacp_timer", "FAST", values::<LacpTimeout>()),
            " (did you mean `short`? `FAST` is bonding's lacp_rate)"
        );
        assert_eq!(
            suggestion("mode", "802.3ad", values::<AggrMode>()),
            " (did you mean `lacp`? `802.3ad` is bonding's mode)"
        );
        assert_eq!(
            suggestion("lacp_mode", "actve", values::<LacpActivity>()),
            " (did you mean `active`?)"
        );
        assert_eq!(
            suggestion("fallback", "lacp-fallback-ab", values::<Fallback>()),
            " (did you mean `one-member`? `lacp-fallback-ab` is Open vSwitch's other_config:lacp-fallback-ab)"
        );
    }

    #[test]
    fn every_answer_is_a_value_lagd_has() {
        for (setting, theirs, ours, _) in FOREIGN {
            let known: &[&str] = match *setting {
                "mode" => values::<AggrMode>(),
                "lacp_mode" => values::<LacpActivity>(),
                "lacp_timer" => values::<LacpTimeout>(),
                "fallback" => values::<Fallback>(),
                "policy" => {
                    assert!(
                        ours.parse::<lagd_agg::lagd_distrib::HashPolicy>().is_ok(),
                        "{ours}"
                    );
                    continue;
                }
                other => panic!("{other} is not a setting with values"),
            };
            // A mode lagd does not have yet is simply not suggested.
            if *setting == "mode" && !known.contains(ours) {
                assert_eq!(foreign(setting, theirs, known), None);
                continue;
            }
            assert!(known.contains(ours), "{setting}: {ours} not in {known:?}");
            assert!(!known.contains(theirs), "{setting}: {theirs} is lagd's own");
        }
    }
}
