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
use std::io::Write;

use lagd::config::{AggrMode, AggrSpec, AnyLinks, Config, LacpActivity, LacpTimerSpec};

use super::cli::ImportArgs;
use super::error::AdminError;
use super::verbs::{connect, require_root};

/// A remark on one option of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The interface (stanza) it concerns.
    pub iface: String,
    /// 1-based line number.
    pub line: usize,
    /// The option as written.
    pub option: String,
    /// What lagd does instead.
    pub message: String,
}

/// The result of an import.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// The lagd configuration (one aggregation per bond).
    pub config: Config,
    /// Remarks: options without an equivalent, approximations.
    pub notes: Vec<Note>,
}

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
    out.config.validate(&AnyLinks).map_err(|e| {
        AdminError::Input(format!(
            "{file}: the imported configuration is invalid: {e}"
        ))
    })?;
    Ok(out)
}

fn bond_spec(
    name: &str,
    s: &Stanza,
    slaves_by_master: Option<&Vec<String>>,
    file: &str,
) -> Result<(AggrSpec, Vec<Note>), AdminError> {
    let mut spec = AggrSpec::new(name, &[]);
    let mut notes = Vec::new();
    let mut note = |line: usize, option: &str, message: String| {
        notes.push(Note {
            iface: name.to_string(),
            line,
            option: option.to_string(),
            message,
        });
    };
    let bad = |line: usize, msg: String| AdminError::Input(format!("{file}:{line}: {name}: {msg}"));
    let num = |line: usize, o: &str, v: &str| -> Result<u64, AdminError> {
        first_word(v)
            .parse::<u64>()
            .map_err(|_| bad(line, format!("{o}: `{v}` is not a number")))
    };
    let mut primary: Option<(usize, String)> = None;
    let mut mode_seen = false;
    let mut policy_line: Option<usize> = None;
    let mut addressing: Vec<(usize, String)> = Vec::new();
    for (line, o, v) in &s.options {
        let line = *line;
        match o.as_str() {
            "bond-slaves" => {
                let links: Vec<String> = v
                    .split_whitespace()
                    .filter(|l| *l != "none")
                    .map(str::to_string)
                    .collect();
                for l in links {
                    if !spec.links.contains(&l) {
                        spec.links.push(l);
                    }
                }
            }
            "bond-mode" => {
                mode_seen = true;
                let m = first_word(v);
                let (mode, msg) = match m.as_str() {
                    "0" | "balance-rr" => (AggrMode::RoundRobin, None),
                    "1" | "active-backup" => (AggrMode::ActiveBackup, None),
                    "2" | "balance-xor" => (AggrMode::Static, None),
                    "3" | "broadcast" => (AggrMode::Broadcast, None),
                    "4" | "802.3ad" => (AggrMode::Lacp, None),
                    "5" | "balance-tlb" | "6" | "balance-alb" => (
                        AggrMode::ActiveBackup,
                        Some(format!(
                            "mode {m} ({}) is not supported: lagd does not rewrite MAC addresses per peer; \
                             imported as active-backup (the nearest mode that needs no switch configuration); \
                             with a switch you can configure, use mode lacp",
                            if m == "5" || m == "balance-tlb" {
                                "balance-tlb, adaptive transmit load balancing"
                            } else {
                                "balance-alb, adaptive load balancing"
                            }
                        )),
                    ),
                    _ => {
                        return Err(bad(
                            line,
                            format!(
                                "bond-mode: unknown mode `{v}`: expected 0-6 or balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"
                            ),
                        ));
                    }
                };
                spec.mode = Some(mode);
                if let Some(msg) = msg {
                    note(line, o, msg);
                }
            }
            "bond-miimon" => note(
                line,
                o,
                format!(
                    "no equivalent (ignored): lagd learns carrier changes from kernel link events at once, without polling every {} ms",
                    first_word(v)
                ),
            ),
            "bond-use-carrier" => note(line, o, "no equivalent (ignored): lagd always uses carrier events".into()),
            "bond-updelay" | "bond-downdelay" => note(
                line,
                o,
                "no equivalent (ignored): a member is used as soon as LACP (or carrier, without LACP) allows".into(),
            ),
            "bond-lacp-rate" => {
                spec.timer = Some(match first_word(v).as_str() {
                    "1" | "fast" => LacpTimerSpec::Short,
                    "0" | "slow" => LacpTimerSpec::Long,
                    _ => {
                        return Err(bad(
                            line,
                            format!("bond-lacp-rate: `{v}` is not 0, 1, slow or fast"),
                        ));
                    }
                });
            }
            "bond-lacp-active" => {
                spec.lacp = Some(match first_word(v).as_str() {
                    "on" | "1" | "yes" => LacpActivity::Active,
                    "off" | "0" | "no" => LacpActivity::Passive,
                    _ => {
                        return Err(bad(line, format!("bond-lacp-active: `{v}` is not on or off")));
                    }
                });
            }
            "bond-xmit-hash-policy" => {
                policy_line = Some(line);
                let p = first_word(v);
                let (policy, msg) = match p.as_str() {
                    "layer2" | "0" => ("L2", None),
                    "layer2+3" | "2" => ("L2,L3", None),
                    "layer3+4" | "1" => ("L3,L4", None),
                    "encap2+3" | "3" => (
                        "L2,L3",
                        Some("encap2+3 hashes inner headers of tunnels; lagd hashes the outer headers: imported as L2,L3"),
                    ),
                    "encap3+4" | "4" => (
                        "L3,L4",
                        Some("encap3+4 hashes inner headers of tunnels; lagd hashes the outer headers: imported as L3,L4"),
                    ),
                    "vlan+srcmac" | "5" => (
                        "L2",
                        Some("vlan+srcmac has no equivalent: imported as L2 (MAC addresses and EtherType)"),
                    ),
                    _ => {
                        return Err(bad(
                            line,
                            format!(
                                "bond-xmit-hash-policy: unknown policy `{v}`: expected layer2, layer2+3, layer3+4, encap2+3, encap3+4 or vlan+srcmac"
                            ),
                        ));
                    }
                };
                spec.policy = Some(policy.into());
                if let Some(m) = msg {
                    note(line, o, m.into());
                }
            }
            "bond-min-links" => {
                let n = num(line, o, v)?;
                if n == 0 {
                    note(
                        line,
                        o,
                        "bonding's 0 means \"up with no member\"; lagd needs at least 1: imported as 1".into(),
                    );
                    spec.min_links = Some(1);
                } else {
                    spec.min_links = Some(n as usize);
                }
            }
            "bond-ad-select" => note(
                line,
                o,
                format!(
                    "no equivalent (ignored): ad_select {} — lagd selects the Aggregator by the 802.1AX rules (Port_Priority, then port number); use max-active and port priorities to prefer members",
                    first_word(v)
                ),
            ),
            "bond-ad-actor-sys-prio" => {
                let n = num(line, o, v)?;
                spec.system_priority = Some(u16::try_from(n).map_err(|_| {
                    bad(line, format!("{o}: {n} is above 65535"))
                })?);
            }
            "bond-ad-user-port-key" => {
                let n = num(line, o, v)?;
                spec.key = Some(u16::try_from(n).map_err(|_| {
                    bad(line, format!("{o}: {n} is above 65535"))
                })?);
                note(line, o, "imported as the administrative key (lagd uses all 16 bits)".into());
            }
            "bond-ad-actor-system" => {
                spec.mac = Some(first_word(v));
                note(
                    line,
                    o,
                    "lagd's LACP System address is the aggregate's MAC: imported as mac".into(),
                );
            }
            "bond-primary" => primary = Some((line, first_word(v))),
            "bond-master" => {}
            "hwaddress" => {
                let words: Vec<&str> = v.split_whitespace().collect();
                let mac = match words.as_slice() {
                    ["ether", m, ..] | [m] => m.to_string(),
                    _ => return Err(bad(line, format!("hwaddress: cannot read `{v}`"))),
                };
                spec.mac = Some(mac);
            }
            "mtu" => {
                let n = num(line, o, v)?;
                spec.mtu = Some(u32::try_from(n).map_err(|_| bad(line, format!("mtu: {n} is too large")))?);
            }
            "address" | "netmask" | "gateway" | "broadcast" | "network" | "pointopoint"
            | "metric" | "scope" | "hostname" => addressing.push((line, format!("{o} {v}"))),
            x if x.starts_with("dns-") => addressing.push((line, format!("{o} {v}"))),
            "up" | "down" | "pre-up" | "post-up" | "pre-down" | "post-down" => note(
                line,
                o,
                format!("hook command not imported: run it from your network configuration for {name}: {v}"),
            ),
            x if x.starts_with("bond-") => note(
                line,
                o,
                format!("no equivalent in lagd (ignored): {o} {v}"),
            ),
            _ => note(line, o, format!("not a bonding option, not imported: {o} {v}")),
        }
    }
    if let Some(extra) = slaves_by_master {
        for l in extra {
            if !spec.links.contains(l) {
                spec.links.push(l.clone());
            }
        }
    }
    if !mode_seen {
        spec.mode = Some(AggrMode::RoundRobin);
        note(
            s.line,
            "bond-mode",
            "no bond-mode given: the bonding default is balance-rr, imported as round-robin".into(),
        );
    }
    if let Some((line, p)) = primary {
        if spec.mode == Some(AggrMode::ActiveBackup) {
            if let Some(i) = spec.links.iter().position(|l| *l == p) {
                let l = spec.links.remove(i);
                spec.links.insert(0, l);
                note(
                    line,
                    "bond-primary",
                    format!("lagd prefers the first member in active-backup: {p} listed first"),
                );
            } else {
                return Err(bad(
                    line,
                    format!("bond-primary: `{p}` is not one of the slaves"),
                ));
            }
        } else {
            note(
                line,
                "bond-primary",
                "ignored: only meaningful in active-backup".into(),
            );
        }
    }
    if let Some(line) = policy_line
        && !matches!(spec.mode, Some(AggrMode::Lacp | AggrMode::Static))
    {
        note(
            line,
            "bond-xmit-hash-policy",
            "kept, but only used in modes lacp (802.3ad) and static (balance-xor)".into(),
        );
    }
    if s.methods.iter().any(|m| m == "dhcp") {
        note(
            s.line,
            "inet dhcp",
            format!(
                "addressing stays with your network configuration: run the DHCP client on {name} (the aggregate keeps the name)"
            ),
        );
    }
    if !addressing.is_empty() {
        let line = addressing.first().map_or(s.line, |(l, _)| *l);
        note(
            line,
            "address",
            format!(
                "addresses are not lagd's: configure them on the aggregate {name} as before ({})",
                addressing
                    .iter()
                    .map(|(_, t)| t.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    if spec.links.is_empty() {
        return Err(bad(
            s.line,
            "no slaves: give bond-slaves or bond-master in the slave stanzas".into(),
        ));
    }
    Ok((spec, notes))
}

/// The notes as text lines (`FILE:LINE: IFACE: OPTION: message`).
pub fn render_notes(file: &str, notes: &[Note]) -> String {
    notes
        .iter()
        .map(|n| {
            format!(
                "{file}:{}: {}: {}: {}\n",
                n.line, n.iface, n.option, n.message
            )
        })
        .collect()
}

/// Runs `import ifupdown`.
pub fn run(a: &ImportArgs) -> Result<(), AdminError> {
    let file = a.file.display().to_string();
    let text = std::fs::read_to_string(&a.file).map_err(|source| AdminError::File {
        path: a.file.clone(),
        source,
    })?;
    let imported = import_ifupdown(&text, &file)?;
    if a.apply {
        require_root("import --apply")?;
    }
    let toml = imported
        .config
        .to_toml()
        .map_err(|e| AdminError::Output(e.to_string()))?;
    let toml = toml.replacen(
        "# Rewritten by lagd when aggregations are changed through the control socket.\n",
        &format!("# Imported from {file} by `lagctl import ifupdown`.\n"),
        1,
    );
    eprint!("{}", render_notes(&file, &imported.notes));
    if let Some(out) = &a.output {
        std::fs::write(out, &toml).map_err(|source| AdminError::File {
            path: out.clone(),
            source,
        })?;
    } else if !a.apply {
        let mut o = std::io::stdout().lock();
        o.write_all(toml.as_bytes())?;
    }
    if a.apply {
        let mut c = connect(&a.conn)?;
        for spec in &imported.config.aggregations {
            let msg = c.create_aggr(spec.clone(), a.temporary)?;
            println!("{msg}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(a.timer, Some(LacpTimerSpec::Short));
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
        assert_eq!(a[0].timer, Some(LacpTimerSpec::Long));
        assert_eq!(a[0].min_links, Some(2));
        assert_eq!(a[0].mtu, Some(9000));
        assert_eq!(a[0].mac.as_deref(), Some("02:00:00:00:00:10"));
        assert_eq!(a[0].links, vec!["eth2".to_string(), "eth3".to_string()]);
        // balance-alb: nearest mode, primary first.
        assert_eq!(a[1].mode, Some(AggrMode::ActiveBackup));
        assert_eq!(a[1].links, vec!["eth5".to_string(), "eth4".to_string()]);
        assert!(
            r.notes
                .iter()
                .any(|n| n.iface == "bond2" && n.message.contains("not supported"))
        );
        assert_eq!(a[2].links, vec!["eth6".to_string(), "eth7".to_string()]);
        assert!(r.notes.iter().any(|n| n.option == "bond-ad-select"));
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
            ("5", AggrMode::ActiveBackup),
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
            ("iface b0 inet manual\n bond-mode 4\n", "no slaves"),
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
