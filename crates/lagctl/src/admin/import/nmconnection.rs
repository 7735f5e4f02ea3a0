//! `lagctl import nmconnection FILE.nmconnection…`: NetworkManager bond profiles in keyfile
//! format (`/etc/NetworkManager/system-connections/`, nm-settings-keyfile(5)): the
//! `type=bond` profile with its `[bond]` options, and the port profiles whose `master=` (or,
//! since NetworkManager 1.46, `controller=`) names the bond by interface name, profile id or
//! UUID.
//!
//! Why keyfiles rather than nmstate YAML: keyfiles are what every NetworkManager host has
//! (NetworkManager is the default on Fedora, RHEL and its rebuilds, SUSE and Ubuntu Desktop,
//! and keyfile is its only format since RHEL 9 deprecated ifcfg files), including the hosts
//! configured with nmstate, which applies its state through NetworkManager and leaves the same
//! keyfiles behind.

use std::collections::BTreeMap;

use super::super::error::AdminError;
use super::Imported;
use super::bonding::{BondBuilder, Loc};
use super::host::HostLinks;
use super::ini::Ini;

/// A parsed profile.
struct Profile {
    file: String,
    ini: Ini,
}

impl Profile {
    fn val(&self, section: &str, key: &str) -> Option<&str> {
        self.ini.get(section, key).map(|e| e.value.as_str())
    }

    fn kind(&self) -> &str {
        self.val("connection", "type").unwrap_or("")
    }

    fn controller(&self) -> Option<&str> {
        self.val("connection", "controller")
            .or_else(|| self.val("connection", "master"))
    }

    fn port_type(&self) -> Option<&str> {
        self.val("connection", "port-type")
            .or_else(|| self.val("connection", "slave-type"))
    }
}

/// Turns keyfiles into lagd configuration: one aggregation per `type=bond` profile.
pub fn import_nmconnection(
    files: &[(String, String)],
    host: &HostLinks,
) -> Result<Imported, AdminError> {
    let mut profiles = Vec::new();
    for (name, text) in files {
        let ini = Ini::parse(text, name).map_err(AdminError::Input)?;
        profiles.push(Profile {
            file: name.clone(),
            ini,
        });
    }
    let mut out = Imported::default();
    let mut bonds: BTreeMap<usize, BondBuilder> = BTreeMap::new();
    for (i, p) in profiles.iter().enumerate() {
        if p.kind() != "bond" {
            continue;
        }
        let Some(ifname) = p.ini.get("connection", "interface-name") else {
            return Err(AdminError::Input(format!(
                "{}: a bond profile without interface-name: lagd needs the aggregate's name",
                p.file
            )));
        };
        let mut b = BondBuilder::new(&ifname.value, Loc::new(&p.file, ifname.line));
        bond_profile(&mut b, p)?;
        bonds.insert(i, b);
    }
    if bonds.is_empty() {
        return Err(AdminError::Input(
            "no bond profile found: give the keyfile with [connection] type=bond and its ports' keyfiles"
                .into(),
        ));
    }
    for p in &profiles {
        let Some(ctl) = p.controller() else { continue };
        let owner = bonds.keys().copied().find(|i| {
            let bp = &profiles[*i];
            Some(ctl) == bp.val("connection", "interface-name")
                || Some(ctl) == bp.val("connection", "uuid")
                || Some(ctl) == bp.val("connection", "id")
        });
        let Some(b) = owner.and_then(|i| bonds.get_mut(&i)) else {
            continue;
        };
        if let Some(t) = p.port_type()
            && t != "bond"
        {
            continue;
        }
        port_profile(b, p, host)?;
    }
    for (_, b) in bonds {
        out.push_bond(b, |name| {
            format!(
                "then delete the bond's and the ports' profiles, keep NetworkManager off the members \
                 (unmanaged-devices=interface-name:MEMBER in NetworkManager.conf) and give {name} its \
                 addresses as docs/COEXISTENCE.md shows"
            )
        })?;
    }
    out.validate("keyfiles")?;
    Ok(out)
}

/// The bond profile: `[bond]` options, MTU, MAC, addressing.
fn bond_profile(b: &mut BondBuilder, p: &Profile) -> Result<(), AdminError> {
    for s in &p.ini.sections {
        for e in &s.entries {
            let at = Loc::new(&p.file, e.line);
            match (s.name.as_str(), e.key.as_str()) {
                (
                    "connection",
                    "id"
                    | "uuid"
                    | "type"
                    | "interface-name"
                    | "autoconnect"
                    | "timestamp"
                    | "permissions"
                    | "multi-connect"
                    | "autoconnect-priority"
                    | "autoconnect-slaves"
                    | "autoconnect-ports"
                    | "zone"
                    | "secondaries",
                ) => {}
                ("bond", "options") => {
                    // The older single-key form: options=mode=802.3ad,miimon=100
                    for kv in e.value.split(',').filter(|kv| !kv.trim().is_empty()) {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        b.option(&at, k.trim(), k.trim(), v.trim())?;
                    }
                }
                ("bond", k) => b.option(&at, k, k, &e.value)?,
                ("ethernet" | "802-3-ethernet", "mtu") => b.mtu(&at, "mtu", &e.value)?,
                ("ethernet" | "802-3-ethernet", "cloned-mac-address") => {
                    if e.value.contains(':') {
                        b.mac(&e.value);
                    } else {
                        b.note(
                            &at,
                            "cloned-mac-address",
                            format!(
                                "cloned-mac-address={}: lagd's aggregate takes the first member's MAC, or mac",
                                e.value
                            ),
                        );
                    }
                }
                (
                    "ethernet" | "802-3-ethernet",
                    "mac-address-blacklist" | "mac-address-denylist",
                ) => {}
                ("ipv4", "method") if e.value == "auto" => b.dhcp(&at, "ipv4.method=auto"),
                ("ipv4" | "ipv6", "method") => match e.value.as_str() {
                    "disabled" | "ignore" => {}
                    v => b.addressing(&at, format!("{}.method={v}", s.name)),
                },
                ("ipv4" | "ipv6", "dns-search" | "addr-gen-mode" | "may-fail")
                    if e.value.is_empty() || s.name == "ipv6" || e.key == "may-fail" => {}
                ("ipv4" | "ipv6", k) => b.addressing(
                    &at,
                    format!("{}.{k}={}", s.name, e.value.trim_end_matches(';')),
                ),
                ("proxy" | "ethtool" | "user", _) => {}
                (sec, k) => b.note(&at, k, format!("[{sec}] {k}={} not imported", e.value)),
            }
        }
    }
    Ok(())
}

/// A port profile: its interface becomes a member.
fn port_profile(b: &mut BondBuilder, p: &Profile, host: &HostLinks) -> Result<(), AdminError> {
    let name = match p.ini.get("connection", "interface-name") {
        Some(e) => e.value.clone(),
        None => {
            let Some(mac) = p
                .ini
                .get("ethernet", "mac-address")
                .or_else(|| p.ini.get("802-3-ethernet", "mac-address"))
            else {
                return Err(AdminError::Input(format!(
                    "{}: port of {} without interface-name or mac-address: the member cannot be named",
                    p.file,
                    b.name()
                )));
            };
            let parsed = mac.value.parse().map_err(|_| {
                AdminError::Input(format!(
                    "{}:{}: `{}` is not a MAC address",
                    p.file, mac.line, mac.value
                ))
            })?;
            let Some(n) = host.by_mac(parsed) else {
                return Err(AdminError::Input(format!(
                    "{}:{}: {}: mac-address {} matches no interface of {}: import on the host the \
                     profiles are for, or give its interfaces with --host-links FILE (`ip -j link` there)",
                    p.file,
                    mac.line,
                    b.name(),
                    mac.value,
                    host.source
                )));
            };
            b.note(
                &Loc::new(&p.file, mac.line),
                "mac-address",
                format!("{} is {n} on {}", mac.value, host.source),
            );
            n
        }
    };
    b.member(&name);
    for s in &p.ini.sections {
        for e in &s.entries {
            let at = Loc::new(&p.file, e.line);
            match (s.name.as_str(), e.key.as_str()) {
                ("connection", _) => {}
                ("ethernet" | "802-3-ethernet", "mtu") => b.member_mtu(&at, "mtu", &e.value)?,
                ("ethernet" | "802-3-ethernet", "mac-address" | "mac-address-blacklist"
                | "mac-address-denylist") => {}
                ("bond-port", "prio") => b.note(
                    &at,
                    "bond-port.prio",
                    format!(
                        "port priority {}: bonding's prio orders active-backup fail-over; lagd uses the \
                         member order (and LACP Port_Priority: [aggregation.port.{name}] priority)",
                        e.value
                    ),
                ),
                ("bond-port", "queue-id") => b.note(
                    &at,
                    "bond-port.queue-id",
                    "no lagd setting (ignored): lagd distributes by hash, not by queue id",
                ),
                ("bond-port", _) => {}
                (sec, k) => b.note(
                    &at,
                    k,
                    format!(
                        "member {name}: [{sec}] {k}={} not imported: lagd takes the member over",
                        e.value
                    ),
                ),
            }
        }
    }
    Ok(())
}
