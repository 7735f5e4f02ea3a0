//! `lagctl import netplan FILE.yaml…`: the `bonds:` of netplan (network: version 2), with the
//! `ethernets:` they name resolved to interface names (`set-name`, `match: name/macaddress`,
//! or the id itself, as netplan does). Several files are read in order, later ones adding to
//! or replacing the earlier ones' definitions, as `netplan generate` merges
//! `/etc/netplan/*.yaml`.

use std::collections::BTreeMap;

use super::super::error::AdminError;
use super::bonding::{BondBuilder, Loc};
use super::host::HostLinks;
use super::yaml::{self, Node};
use super::{Imported, Note};

/// `parameters:` keys and the bonding driver's names for them (netplan-yaml(5)); both the
/// current and the older spellings netplan accepts.
const PARAMETERS: &[(&str, &str)] = &[
    ("mode", "mode"),
    ("lacp-rate", "lacp_rate"),
    ("mii-monitor-interval", "miimon"),
    ("min-links", "min_links"),
    ("transmit-hash-policy", "xmit_hash_policy"),
    ("ad-select", "ad_select"),
    ("all-members-active", "all_slaves_active"),
    ("all-slaves-active", "all_slaves_active"),
    ("arp-interval", "arp_interval"),
    ("arp-ip-targets", "arp_ip_target"),
    ("arp-validate", "arp_validate"),
    ("arp-all-targets", "arp_all_targets"),
    ("up-delay", "updelay"),
    ("down-delay", "downdelay"),
    ("fail-over-mac-policy", "fail_over_mac"),
    ("gratuitous-arp", "num_grat_arp"),
    ("gratuitious-arp", "num_grat_arp"),
    ("packets-per-member", "packets_per_slave"),
    ("packets-per-slave", "packets_per_slave"),
    ("primary-reselect-policy", "primary_reselect"),
    ("resend-igmp", "resend_igmp"),
    ("learn-packet-interval", "lp_interval"),
    ("primary", "primary"),
];

/// A definition and the file it came from.
#[derive(Clone)]
struct Def {
    file: String,
    node: Node,
}

/// Turns netplan files into lagd configuration: one aggregation per bond.
pub fn import_netplan(
    files: &[(String, String)],
    host: &HostLinks,
) -> Result<Imported, AdminError> {
    let mut ethernets: BTreeMap<String, Def> = BTreeMap::new();
    let mut bonds: Vec<(String, Def)> = Vec::new();
    let mut users: Vec<(String, String, usize, String)> = Vec::new();
    let mut renderer: Option<(String, usize, String)> = None;
    for (file, text) in files {
        let doc = yaml::parse(text).map_err(|e| AdminError::Input(format!("{file}: {e}")))?;
        let Some(net) = doc.get("network") else {
            return Err(AdminError::Input(format!(
                "{file}: no `network:` at the top"
            )));
        };
        if let Some((line, v)) = net.entry("version")
            && v.as_str() != Some("2")
        {
            return Err(AdminError::Input(format!(
                "{file}:{line}: network version {}: netplan files are version 2",
                v.text()
            )));
        }
        if let Some((line, r)) = net.entry("renderer") {
            renderer = Some((file.clone(), line, r.text()));
        }
        for (id, _, node) in net.get("ethernets").map(Node::entries).unwrap_or_default() {
            ethernets.insert(
                id.clone(),
                Def {
                    file: file.clone(),
                    node: node.clone(),
                },
            );
        }
        for (name, _, node) in net.get("bonds").map(Node::entries).unwrap_or_default() {
            let def = Def {
                file: file.clone(),
                node: node.clone(),
            };
            match bonds.iter_mut().find(|(n, _)| n == name) {
                Some((_, d)) => *d = def,
                None => bonds.push((name.clone(), def)),
            }
        }
        // Bridges and VLANs stacked on a bond: they stay with netplan.
        for kind in ["bridges", "vlans", "vrfs"] {
            for (name, line, node) in net.get(kind).map(Node::entries).unwrap_or_default() {
                let mut lower = node
                    .get("interfaces")
                    .map(Node::strings)
                    .unwrap_or_default();
                if let Some(l) = node.get("link").and_then(Node::as_str) {
                    lower.push(l.to_string());
                }
                for l in lower {
                    users.push((file.clone(), format!("{kind} {name}"), *line, l));
                }
            }
        }
    }
    if bonds.is_empty() {
        return Err(AdminError::Input(
            "no bond found: the files have no `network: bonds:`".into(),
        ));
    }
    let mut out = Imported::default();
    for (name, def) in &bonds {
        let mut b = BondBuilder::new(name, Loc::new(&def.file, def.node.line()));
        bond(&mut b, def, &ethernets, host)?;
        for (file, what, line, lower) in &users {
            if lower == name {
                b.note(
                    &Loc::new(file, *line),
                    what,
                    format!("{what} is stacked on {name}: it stays in netplan, on the aggregate as on the bond"),
                );
            }
        }
        out.push_bond(b, |name| {
            format!(
                "then remove {name} from `bonds:` and its members from `ethernets:` (netplan must not \
                 create the bond nor configure the members) and give {name} its addresses as \
                 docs/COEXISTENCE.md shows for your renderer"
            )
        })?;
    }
    if let Some((file, line, r)) = renderer {
        out.notes.push(Note {
            file,
            line,
            iface: String::new(),
            option: "renderer".into(),
            message: format!(
                "renderer {r}: it must leave lagd's members alone (docs/COEXISTENCE.md)"
            ),
        });
    }
    out.validate("netplan files")?;
    Ok(out)
}

/// The interface an `ethernets:` id (or a plain name) stands for.
fn resolve(
    b: &mut BondBuilder,
    id: &str,
    at: &Loc,
    ethernets: &BTreeMap<String, Def>,
    host: &HostLinks,
) -> Result<Vec<String>, AdminError> {
    let Some(def) = ethernets.get(id) else {
        return Ok(vec![id.to_string()]);
    };
    let eat = Loc::new(&def.file, def.node.line());
    if let Some(set) = def.node.get("set-name").and_then(Node::as_str) {
        return Ok(vec![set.to_string()]);
    }
    let Some(m) = def.node.get("match") else {
        return Ok(vec![id.to_string()]);
    };
    let unresolved = |what: String| {
        AdminError::Input(format!(
            "{}:{}: {}: ethernets {id} ({what}) matches no interface of {}: import on the host the \
             files are for, or give its interfaces with --host-links FILE (the output of `ip -j \
             link` there)",
            eat.file,
            eat.line,
            b.name(),
            host.source
        ))
    };
    if let Some(mac) = m.get("macaddress").and_then(Node::as_str) {
        let parsed = mac.parse().map_err(|_| {
            AdminError::Input(format!(
                "{}:{}: {}: `{mac}` is not a MAC address",
                eat.file,
                eat.line,
                b.name()
            ))
        })?;
        let Some(name) = host.by_mac(parsed) else {
            return Err(unresolved(format!("macaddress {mac}")));
        };
        b.note(
            at,
            id,
            format!(
                "ethernets {id} (macaddress {mac}) is {name} on {}",
                host.source
            ),
        );
        return Ok(vec![name]);
    }
    if let Some(glob) = m.get("name").and_then(Node::as_str) {
        if !glob.contains(['*', '?', '[']) {
            return Ok(vec![glob.to_string()]);
        }
        let found = host.matching(glob);
        if found.is_empty() {
            return Err(unresolved(format!("name {glob}")));
        }
        b.note(
            at,
            id,
            format!(
                "ethernets {id} (name {glob}) matches {} on {}",
                found.join(" "),
                host.source
            ),
        );
        return Ok(found);
    }
    Err(AdminError::Input(format!(
        "{}:{}: {}: ethernets {id}: `match:` by {} cannot be turned into interface names; match \
         members by name or macaddress",
        eat.file,
        eat.line,
        b.name(),
        m.entries()
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

fn bond(
    b: &mut BondBuilder,
    def: &Def,
    ethernets: &BTreeMap<String, Def>,
    host: &HostLinks,
) -> Result<(), AdminError> {
    let file = &def.file;
    let mut primary: Option<(Loc, String)> = None;
    for (key, line, v) in def.node.entries() {
        let at = Loc::new(file, *line);
        match key.as_str() {
            "interfaces" => {
                for id in v.strings() {
                    for name in resolve(b, &id, &at, ethernets, host)? {
                        b.member(&name);
                    }
                    if let Some(m) = ethernets.get(&id) {
                        member(b, &id, m)?;
                    }
                }
            }
            "parameters" => {
                for (pk, pl, pv) in v.entries() {
                    let pat = Loc::new(file, *pl);
                    match PARAMETERS.iter().find(|(k, _)| k == pk) {
                        Some((_, "primary")) => primary = Some((pat, pv.text())),
                        Some((_, kernel)) => b.option(&pat, pk, kernel, &pv.text())?,
                        None => b.note(
                            &pat,
                            pk,
                            format!("parameter {pk} is not one lagd knows (ignored)"),
                        ),
                    }
                }
            }
            "mtu" => b.mtu(&at, "mtu", &v.text())?,
            "macaddress" => b.mac(&v.text()),
            "dhcp4" | "dhcp6" => {
                if matches!(v.text().as_str(), "true" | "yes" | "on") {
                    b.dhcp(&at, key);
                }
            }
            "addresses"
            | "routes"
            | "gateway4"
            | "gateway6"
            | "nameservers"
            | "routing-policy"
            | "accept-ra"
            | "link-local"
            | "ipv6-privacy"
            | "dhcp4-overrides"
            | "dhcp6-overrides"
            | "ipv6-address-generation"
            | "ipv6-address-token" => b.addressing(&at, format!("{key}: {}", v.text())),
            "renderer" | "optional" | "critical" | "activation-mode" => b.note(
                &at,
                key,
                format!(
                    "{key}: {}: stays with netplan (the aggregate's addressing)",
                    v.text()
                ),
            ),
            _ => b.note(&at, key, format!("{key}: {}: not imported", v.text())),
        }
    }
    if let Some((pat, id)) = primary {
        let name = resolve(b, &id, &pat, ethernets, host)?
            .into_iter()
            .next()
            .unwrap_or(id);
        b.option(&pat, "primary", "primary", &name)?;
    }
    Ok(())
}

/// What an `ethernets:` entry of a member sets beyond its identity.
fn member(b: &mut BondBuilder, id: &str, def: &Def) -> Result<(), AdminError> {
    for (key, line, v) in def.node.entries() {
        let at = Loc::new(&def.file, *line);
        match key.as_str() {
            "match" | "set-name" => {}
            "mtu" => b.member_mtu(&at, "mtu", &v.text())?,
            "dhcp4" | "dhcp6" if matches!(v.text().as_str(), "false" | "no" | "off") => {}
            "optional" => {}
            _ => b.note(
                &at,
                key,
                format!(
                    "member {id}: {key}: {} not imported: lagd takes the member over (no addresses, \
                     no ARP, IPv6 off)",
                    v.text()
                ),
            ),
        }
    }
    Ok(())
}
