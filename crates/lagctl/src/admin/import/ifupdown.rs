//! `lagctl import ifupdown FILE`: Debian ifupdown bond stanzas (`/etc/network/interfaces`, as
//! ifenslave reads them) to lagd configuration, with a note for every option lagd has no
//! equivalent for.
//!
//! ```text
//! auto bond0
//! iface bond0 inet dhcp
//! bond-mode 4 (802.3ad)
//! bond-miimon 100
//! bond-lacp-rate 1
//! bond-slaves eth0 eth1
//! ```
//! becomes `[[aggregation]] name = "bond0" links = ["eth0", "eth1"] mode = "lacp" timer =
//! "short"`, with notes that miimon is not needed (lagd follows carrier events) and that DHCP
//! runs on `bond0` as before.

use std::collections::BTreeMap;

use super::super::error::AdminError;
use super::Imported;
use super::bonding::{BondBuilder, Loc};

/// One `iface` stanza (all families merged).
#[derive(Default, Debug)]
struct Stanza {
    line: usize,
    methods: Vec<String>,
    /// (line, option name normalised, value).
    options: Vec<(usize, String, String)>,
}

/// Reads an interfaces file's stanzas: iface name → options.
fn stanzas(text: &str) -> (Vec<String>, BTreeMap<String, Stanza>) {
    let mut order = Vec::new();
    let mut map: BTreeMap<String, Stanza> = BTreeMap::new();
    let mut current: Option<String> = None;
    // Join continuation lines (trailing backslash), keeping the first line's number.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let (n, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(stripped) = line.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            pending = Some((n, acc));
            continue;
        }
        acc.push_str(line);
        logical.push((n, acc));
    }
    if let Some(p) = pending {
        logical.push(p);
    }
    for (n, line) in logical {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words = t.split_whitespace();
        let Some(first) = words.next() else { continue };
        match first {
            "iface" => {
                let name = words.next().unwrap_or("").to_string();
                let _family = words.next();
                let method = words.next().unwrap_or("").to_string();
                if name.is_empty() {
                    current = None;
                    continue;
                }
                let s = map.entry(name.clone()).or_insert_with(|| Stanza {
                    line: n,
                    ..Stanza::default()
                });
                if !method.is_empty() {
                    s.methods.push(method);
                }
                if !order.contains(&name) {
                    order.push(name.clone());
                }
                current = Some(name);
            }
            "auto" | "mapping" | "source" | "source-directory" | "rename" | "no-auto-down"
            | "no-scripts" | "source-dir" => current = None,
            w if w.starts_with("allow-") => current = None,
            opt => {
                if let Some(c) = &current
                    && let Some(s) = map.get_mut(c)
                {
                    let value = t[opt.len()..].trim().to_string();
                    let mut name = opt.to_ascii_lowercase().replace('_', "-");
                    if name == "slaves" {
                        name = "bond-slaves".into();
                    }
                    s.options.push((n, name, value));
                }
            }
        }
    }
    (order, map)
}

fn first_word(v: &str) -> String {
    v.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Turns the text of an interfaces file into lagd configuration. `file` names it in messages.
pub fn import_ifupdown(text: &str, file: &str) -> Result<Imported, AdminError> {
    let (order, map) = stanzas(text);
    // Slaves declared from their own stanza (`bond-master bond0`).
    let mut by_master: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in &order {
        if let Some(s) = map.get(name) {
            for (_, o, v) in &s.options {
                if o == "bond-master" {
                    by_master
                        .entry(first_word(v))
                        .or_default()
                        .push(name.clone());
                }
            }
        }
    }
    let mut out = Imported::default();
    for name in &order {
        let Some(s) = map.get(name) else { continue };
        let is_bond = s
            .options
            .iter()
            .any(|(_, o, _)| o == "bond-slaves" || o == "bond-mode")
            || by_master.contains_key(name);
        if !is_bond {
            continue;
        }
        let (spec, notes) = bond_spec(name, s, by_master.get(name), file)?;
        out.config.aggregations.push(spec);
        out.notes.extend(notes);
    }
    if out.config.aggregations.is_empty() {
        return Err(AdminError::Input(format!(
            "{file}: no bond interface found (no iface stanza with bond-slaves or bond-mode)"
        )));
    }
    out.validate(file)?;
    Ok(out)
}

fn bond_spec(
    name: &str,
    s: &Stanza,
    slaves_by_master: Option<&Vec<String>>,
    file: &str,
) -> Result<(lagd_control::config::AggrSpec, Vec<super::Note>), AdminError> {
    let mut b = BondBuilder::new(name, Loc::new(file, s.line));
    for (line, o, v) in &s.options {
        let at = Loc::new(file, *line);
        match o.as_str() {
            "bond-slaves" => {
                for l in v.split_whitespace().filter(|l| *l != "none") {
                    b.member(l);
                }
            }
            "bond-master" => {}
            "hwaddress" => {
                let words: Vec<&str> = v.split_whitespace().collect();
                match words.as_slice() {
                    ["ether", m, ..] | [m] => b.mac(m),
                    _ => {
                        return Err(AdminError::Input(format!(
                            "{file}:{line}: {name}: hwaddress: cannot read `{v}`"
                        )));
                    }
                }
            }
            "mtu" => b.mtu(&at, o, v)?,
            "address" | "netmask" | "gateway" | "broadcast" | "network" | "pointopoint"
            | "metric" | "scope" | "hostname" => b.addressing(&at, format!("{o} {v}")),
            x if x.starts_with("dns-") => b.addressing(&at, format!("{o} {v}")),
            "up" | "down" | "pre-up" | "post-up" | "pre-down" | "post-down" => b.note(
                &at,
                o,
                format!(
                    "hook command not imported: run it from your network configuration for {name}: {v}"
                ),
            ),
            x if x.starts_with("bond-") => {
                let kernel = x.trim_start_matches("bond-").replace('-', "_");
                b.option(&at, o, &kernel, v)?;
            }
            _ => b.note(&at, o, format!("not a bonding option, not imported: {o} {v}")),
        }
    }
    if let Some(extra) = slaves_by_master {
        for l in extra {
            b.member(l);
        }
    }
    if s.methods.iter().any(|m| m == "dhcp") {
        b.dhcp(&Loc::new(file, s.line), "inet dhcp");
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_control::config::{AggrMode, Config, LacpTimeout};

    /// Seed 000's stanza, verbatim.
    const SEED_000: &str = "auto bond0\niface bond0 inet dhcp\nbond-mode 4 (802.3ad)\nbond-miimon 100\nbond-lacp-rate 1\nbond-slaves eth0 eth1\n";

    #[test]
    fn seed_000_stanza_gives_a_lacp_aggregation() {
        let r = import_ifupdown(SEED_000, "interfaces").unwrap();
        assert_eq!(r.config.aggregations.len(), 1);
        let a = &r.config.aggregations[0];
        assert_eq!(a.name, "bond0");
        assert_eq!(a.links, vec!["eth0".to_string(), "eth1".to_string()]);
        assert_eq!(a.mode, Some(AggrMode::Lacp));
        assert_eq!(a.lacp_timer, Some(LacpTimeout::Short));
        let miimon = r.notes.iter().find(|n| n.option == "bond-miimon").unwrap();
        assert_eq!(miimon.line, 4);
        assert!(miimon.message.contains("carrier"), "{miimon:?}");
        assert!(
            r.notes
                .iter()
                .any(|n| n.message.contains("DHCP client on bond0"))
        );
        let toml = r.config.to_toml().unwrap();
        assert!(toml.contains("name = \"bond0\""), "{toml}");
        assert_eq!(Config::parse(&toml).unwrap(), r.config);
    }

    #[test]
    fn modes_policies_and_options() {
        let text = "iface bond1 inet static\n    address 198.18.0.1\n    netmask 255.255.255.0\n    bond_mode balance-xor\n    bond-xmit-hash-policy layer2+3\n    bond-lacp-rate slow\n    bond-min-links 2\n    bond-ad-select bandwidth\n    slaves eth2 eth3\n    mtu 9000\n    hwaddress ether 02:00:00:00:00:10\n\niface bond2 inet manual\n    bond-mode 6\n    bond-slaves eth4 eth5\n    bond-primary eth5\n\niface eth6 inet manual\n    bond-master bond3\niface eth7 inet manual\n    bond-master bond3\niface bond3 inet manual\n    bond-mode active-backup\n    bond-slaves none\n    bond-xmit-hash-policy encap3+4\n";
        let r = import_ifupdown(text, "f").unwrap();
        let a = &r.config.aggregations;
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].mode, Some(AggrMode::Static));
        assert_eq!(a[0].policy.as_deref(), Some("L2,L3"));
        assert_eq!(a[0].lacp_timer, Some(LacpTimeout::Long));
        assert_eq!(a[0].min_links, Some(2));
        assert_eq!(a[0].mtu, Some(9000));
        assert_eq!(a[0].mac.as_deref(), Some("02:00:00:00:00:10"));
        assert_eq!(a[0].links, vec!["eth2".to_string(), "eth3".to_string()]);
        // balance-alb: adaptive-lb, primary first (it receives for the aggregate's MAC).
        assert_eq!(a[1].mode, Some(AggrMode::AdaptiveLb));
        assert_eq!(a[1].links, vec!["eth5".to_string(), "eth4".to_string()]);
        assert!(
            r.notes
                .iter()
                .any(|n| n.iface == "bond2" && n.message.contains("listed first"))
        );
        assert_eq!(a[2].links, vec!["eth6".to_string(), "eth7".to_string()]);
        assert_eq!(
            a[0].ad_select,
            Some(lagd_control::config::AdSelect::Bandwidth)
        );
        assert!(!r.notes.iter().any(|n| n.option == "bond-ad-select"));
        assert!(
            r.notes
                .iter()
                .any(|n| n.iface == "bond1" && n.message.contains("address 198.18.0.1"))
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.iface == "bond3" && n.message.contains("outer headers"))
        );
    }

    #[test]
    fn numeric_modes_map_one_to_one() {
        for (m, want) in [
            ("0", AggrMode::RoundRobin),
            ("1", AggrMode::ActiveBackup),
            ("2", AggrMode::Static),
            ("3", AggrMode::Broadcast),
            ("4", AggrMode::Lacp),
            ("5", AggrMode::TransmitLb),
            ("6", AggrMode::AdaptiveLb),
        ] {
            let t = format!("iface b0 inet manual\n bond-mode {m}\n bond-slaves e1\n");
            let r = import_ifupdown(&t, "f").unwrap();
            assert_eq!(r.config.aggregations[0].mode, Some(want), "mode {m}");
        }
    }

    #[test]
    fn bad_inputs_are_refused_with_the_line() {
        let cases = [
            (
                "iface b0 inet manual\n bond-mode 9\n bond-slaves e1\n",
                "f:2: b0: bond-mode: unknown mode `9`",
            ),
            (
                "iface b0 inet manual\n bond-mode 4\n bond-lacp-rate 7\n bond-slaves e1\n",
                "f:3: b0: bond-lacp-rate",
            ),
            ("iface b0 inet manual\n bond-mode 4\n", "no members"),
            ("iface eth0 inet dhcp\n", "no bond interface found"),
            (
                "iface b0 inet manual\n bond-mode 4\n bond-slaves e1\n bond-xmit-hash-policy layer5\n",
                "unknown policy `layer5`",
            ),
            (
                "iface b0 inet manual\n bond-mode 4\n bond-slaves e1\n hwaddress ether 01:00:5e:00:00:01\n",
                "not a unicast address",
            ),
        ];
        for (text, want) in cases {
            let e = import_ifupdown(text, "f").unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} does not contain {want:?}");
        }
    }
}
