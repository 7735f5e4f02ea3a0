//! `lagctl import networkd FILE.netdev [FILE.network…]`: systemd-networkd bonds (a `.netdev`
//! with `Kind=bond` and its `[Bond]` section) and the `.network` files that enslave members
//! (`Bond=`) or configure the bond itself (`[Match] Name=BOND`).
//!
//! Members are matched as networkd matches them: `[Match] Name=` globs and `MACAddress=` are
//! turned into interface names with the host's interfaces ([`HostLinks`]).

use std::collections::BTreeMap;

use super::super::error::AdminError;
use super::bonding::{BondBuilder, Loc};
use super::host::HostLinks;
use super::ini::{Entry, Ini};
use super::{Imported, Note};

/// `[Bond]` keys and the bonding driver's names for them (systemd.netdev(5)).
const BOND_KEYS: &[(&str, &str)] = &[
    ("Mode", "mode"),
    ("TransmitHashPolicy", "xmit_hash_policy"),
    ("LACPTransmitRate", "lacp_rate"),
    ("MIIMonitorSec", "miimon"),
    ("UpDelaySec", "updelay"),
    ("DownDelaySec", "downdelay"),
    ("PeerNotifyDelaySec", "peer_notif_delay"),
    ("LearnPacketIntervalSec", "lp_interval"),
    ("AdSelect", "ad_select"),
    ("AdActorSystemPriority", "ad_actor_sys_prio"),
    ("AdUserPortKey", "ad_user_port_key"),
    ("AdActorSystem", "ad_actor_system"),
    ("FailOverMACPolicy", "fail_over_mac"),
    ("ARPValidate", "arp_validate"),
    ("ARPIntervalSec", "arp_interval"),
    ("ARPIPTargets", "arp_ip_target"),
    ("ARPAllTargets", "arp_all_targets"),
    ("ARPMissedMax", "arp_missed_max"),
    ("PrimaryReselectPolicy", "primary_reselect"),
    ("ResendIGMP", "resend_igmp"),
    ("PacketsPerSlave", "packets_per_slave"),
    ("GratuitousARP", "num_grat_arp"),
    ("AllSlavesActive", "all_slaves_active"),
    ("DynamicTransmitLoadBalancing", "tlb_dynamic_lb"),
    ("MinLinks", "min_links"),
];

/// A parsed input file.
struct File {
    name: String,
    ini: Ini,
}

/// Turns networkd files into lagd configuration: one aggregation per `Kind=bond` netdev.
/// `files` are (name, text) pairs in the order given.
pub fn import_networkd(
    files: &[(String, String)],
    host: &HostLinks,
) -> Result<Imported, AdminError> {
    let mut parsed = Vec::new();
    for (name, text) in files {
        let ini = Ini::parse(text, name).map_err(AdminError::Input)?;
        parsed.push(File {
            name: name.clone(),
            ini,
        });
    }
    // networkd applies the first .network (in file name order) that matches a link.
    let mut networks: Vec<&File> = parsed
        .iter()
        .filter(|f| f.name.ends_with(".network"))
        .collect();
    networks.sort_by_key(|f| base(&f.name).to_string());
    let mut bonds: BTreeMap<String, BondBuilder> = BTreeMap::new();
    let mut order = Vec::new();
    for f in parsed.iter().filter(|f| f.name.ends_with(".netdev")) {
        let Some(kind) = f.ini.get("NetDev", "Kind") else {
            continue;
        };
        if kind.value != "bond" {
            continue;
        }
        let Some(name) = f.ini.get("NetDev", "Name") else {
            return Err(AdminError::Input(format!(
                "{}:{}: a bond netdev needs Name=",
                f.name, kind.line
            )));
        };
        let mut b = BondBuilder::new(&name.value, Loc::new(&f.name, name.line));
        netdev(&mut b, f)?;
        order.push(name.value.clone());
        bonds.insert(name.value.clone(), b);
    }
    if bonds.is_empty() {
        return Err(AdminError::Input(
            "no bond found: give the .netdev with [NetDev] Kind=bond (and the .network files that \
             enslave its members with Bond=)"
                .into(),
        ));
    }
    // The bonds' own .network files first (their MTU is the aggregate's), then the members'.
    let mut used = vec![false; networks.len()];
    for (i, f) in networks.iter().enumerate() {
        if f.ini.get("Network", "Bond").is_none()
            && let Some(m) = f.ini.get("Match", "Name")
            && let Some(b) = bonds.get_mut(&m.value)
        {
            used[i] = true;
            bond_network(b, f)?;
        }
    }
    for (i, f) in networks.iter().enumerate() {
        if let Some(bond) = f.ini.get("Network", "Bond")
            && let Some(b) = bonds.get_mut(&bond.value)
        {
            used[i] = true;
            member_network(b, f, host)?;
        }
    }
    let mut out = Imported::default();
    for (i, f) in networks.iter().enumerate() {
        if !used[i] {
            out.notes.push(Note {
                file: f.name.clone(),
                line: 1,
                iface: String::new(),
                option: "file".into(),
                message: "not about the bonds imported (ignored)".into(),
            });
        }
    }
    for name in order {
        if let Some(b) = bonds.remove(&name) {
            out.push_bond(b, migration)?;
        }
    }
    out.validate("networkd files")?;
    Ok(out)
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What to do with the networkd files once lagd runs the aggregate.
fn migration(name: &str) -> String {
    format!(
        "then remove the bond's .netdev and the Bond={0} lines, give each member a .network with \
             [Link] Unmanaged=yes, and keep the .network of {0}: networkd configures its addresses once \
             lagd has created it (docs/COEXISTENCE.md)",
        name
    )
}

/// `[NetDev]` and `[Bond]` of the bond's netdev.
fn netdev(b: &mut BondBuilder, f: &File) -> Result<(), AdminError> {
    for e in f.ini.entries("NetDev") {
        let at = Loc::new(&f.name, e.line);
        match e.key.as_str() {
            "Name" | "Kind" => {}
            "MACAddress" => b.mac(&e.value),
            "MTUBytes" => b.mtu(&at, "MTUBytes", &bytes(&e.value))?,
            "Description" => {}
            k => b.note(
                &at,
                k,
                format!("[NetDev] {k} has no lagd setting (ignored)"),
            ),
        }
    }
    for e in f.ini.entries("Bond") {
        let at = Loc::new(&f.name, e.line);
        match BOND_KEYS.iter().find(|(k, _)| *k == e.key) {
            Some((_, kernel)) => {
                let value = match *kernel {
                    "all_slaves_active" | "tlb_dynamic_lb" => bool_01(&e.value),
                    _ => e.value.clone(),
                };
                b.option(&at, &e.key, kernel, &value)?;
            }
            None => b.note(
                &at,
                &e.key,
                format!("[Bond] {} is not a setting lagd knows (ignored)", e.key),
            ),
        }
    }
    for s in &f.ini.sections {
        if !matches!(s.name.as_str(), "NetDev" | "Bond" | "Match") {
            let at = Loc::new(&f.name, s.line);
            b.note(&at, &format!("[{}]", s.name), "section not imported");
        }
    }
    Ok(())
}

/// A `.network` that enslaves links to the bond.
fn member_network(b: &mut BondBuilder, f: &File, host: &HostLinks) -> Result<(), AdminError> {
    let names = match_links(b, f, host)?;
    for n in &names {
        b.member(n);
    }
    for e in f.ini.entries("Network") {
        let at = Loc::new(&f.name, e.line);
        match e.key.as_str() {
            "Bond" => {}
            "PrimarySlave" | "ActiveSlave" if yes(&e.value) => {
                let Some(first) = names.first() else { continue };
                if names.len() > 1 {
                    b.note(
                        &at,
                        &e.key,
                        format!("{} matches several links: {first} taken as the primary", e.key),
                    );
                }
                let kernel = if e.key == "PrimarySlave" {
                    "primary"
                } else {
                    "active_slave"
                };
                b.option(&at, &e.key, kernel, first)?;
            }
            "PrimarySlave" | "ActiveSlave" => {}
            k => b.note(
                &at,
                k,
                format!(
                    "member setting not imported: lagd takes the member over (no addresses, no ARP, \
                     IPv6 off): {k}={}",
                    e.value
                ),
            ),
        }
    }
    for e in f.ini.entries("Link") {
        let at = Loc::new(&f.name, e.line);
        match e.key.as_str() {
            "MTUBytes" => b.member_mtu(&at, "MTUBytes", &bytes(&e.value))?,
            k => b.note(&at, k, format!("member [Link] {k} not imported")),
        }
    }
    Ok(())
}

/// The links a `.network`'s `[Match]` selects.
fn match_links(b: &mut BondBuilder, f: &File, host: &HostLinks) -> Result<Vec<String>, AdminError> {
    let mut names: Vec<String> = Vec::new();
    let mut any = false;
    for e in f.ini.entries("Match") {
        let at = Loc::new(&f.name, e.line);
        match e.key.as_str() {
            "Name" => {
                any = true;
                if e.value.starts_with('!') {
                    return Err(AdminError::Input(format!(
                        "{}:{}: {}: Name={}: an inverted match names no member; list the members",
                        f.name,
                        e.line,
                        b.name(),
                        e.value
                    )));
                }
                for glob in e.value.split_whitespace() {
                    if glob.contains(['*', '?', '[']) {
                        let found = host.matching(glob);
                        if found.is_empty() {
                            return Err(unresolved(b, f, e, host));
                        }
                        b.note(
                            &at,
                            "Name",
                            format!(
                                "{glob} matches {} on {}: members listed by name",
                                found.join(" "),
                                host.source
                            ),
                        );
                        names.extend(found);
                    } else {
                        names.push(glob.to_string());
                    }
                }
            }
            "MACAddress" | "PermanentMACAddress" => {
                any = true;
                for m in e.value.split_whitespace() {
                    let mac = m.parse().map_err(|_| {
                        AdminError::Input(format!(
                            "{}:{}: {}: {}: `{m}` is not a MAC address",
                            f.name,
                            e.line,
                            b.name(),
                            e.key
                        ))
                    })?;
                    let Some(name) = host.by_mac(mac) else {
                        return Err(unresolved(b, f, e, host));
                    };
                    b.note(
                        &at,
                        &e.key,
                        format!("{m} is {name} on {}: member listed by name", host.source),
                    );
                    names.push(name);
                }
            }
            k => {
                return Err(AdminError::Input(format!(
                    "{}:{}: {}: [Match] {k}= cannot be turned into interface names; match members \
                     by Name= or MACAddress=, or list them",
                    f.name,
                    e.line,
                    b.name()
                )));
            }
        }
    }
    if !any {
        return Err(AdminError::Input(format!(
            "{}: {}: a .network without [Match] would enslave every link; match the members by \
             Name= or MACAddress=",
            f.name,
            b.name()
        )));
    }
    names.dedup();
    Ok(names)
}

fn unresolved(b: &BondBuilder, f: &File, e: &Entry, host: &HostLinks) -> AdminError {
    AdminError::Input(format!(
        "{}:{}: {}: {}={} matches no interface of {}: import on the host the files are for, or give \
         its interfaces with --host-links FILE (the output of `ip -j link` there)",
        f.name,
        e.line,
        b.name(),
        e.key,
        e.value,
        host.source
    ))
}

/// The bond's own `.network`: addressing stays with networkd.
fn bond_network(b: &mut BondBuilder, f: &File) -> Result<(), AdminError> {
    for s in &f.ini.sections {
        for e in &s.entries {
            let at = Loc::new(&f.name, e.line);
            match (s.name.as_str(), e.key.as_str()) {
                ("Match", _) => {}
                ("Network", "DHCP") if !matches!(e.value.as_str(), "no" | "false" | "0") => {
                    b.dhcp(&at, &format!("DHCP={}", e.value))
                }
                ("Network", "BindCarrier") => b.note(
                    &at,
                    "BindCarrier",
                    "not needed with lagd: the aggregate has carrier exactly while min_links members \
                     forward; networkd sees that carrier as for any link",
                ),
                ("Network", "VLAN" | "MACVLAN" | "VXLAN" | "Tunnel" | "Bridge" | "VRF") => b.note(
                    &at,
                    &e.key,
                    format!(
                        "{}={}: stays with networkd, stacked on the aggregate as on the bond",
                        e.key, e.value
                    ),
                ),
                ("Network", "Address" | "Gateway" | "DNS" | "Domains" | "NTP")
                | ("Address" | "Route" | "RoutingPolicyRule", _) => {
                    b.addressing(&at, format!("{}={}", e.key, e.value))
                }
                ("Link", "MTUBytes") => b.mtu(&at, "MTUBytes", &bytes(&e.value))?,
                ("Link", "MACAddress") => b.mac(&e.value),
                (sec, k) => b.note(
                    &at,
                    k,
                    format!("[{sec}] {k}={}: stays with networkd (the .network of the aggregate)", e.value),
                ),
            }
        }
    }
    Ok(())
}

fn yes(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on")
}

fn bool_01(v: &str) -> String {
    if yes(v) { "1".into() } else { "0".into() }
}

/// A networkd byte size (`9000`, `1K` = 1024) in bytes, as text.
fn bytes(v: &str) -> String {
    let t = v.trim();
    let (num, mult) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1024),
        Some('M') => (&t[..t.len() - 1], 1024 * 1024),
        Some('G') => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| (n * mult).to_string())
        .unwrap_or_else(|_| t.to_string())
}
