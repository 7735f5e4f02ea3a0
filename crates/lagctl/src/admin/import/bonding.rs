//! Linux bonding's options, by their kernel names (`mode`, `xmit_hash_policy`, `lacp_rate`,
//! `miimon`, `min_links`, `ad_select`, `primary`, `arp_interval`, ...), turned into lagd
//! settings: one place for what every importer meets, since networkd (`TransmitHashPolicy=`),
//! netplan (`transmit-hash-policy:`), NetworkManager (`xmit_hash_policy=`) and ifupdown
//! (`bond-xmit-hash-policy`) all spell the same bonding driver's options. Each importer maps
//! its own spelling to the kernel name and keeps the spelling for the notes, so a note names
//! the option as the user wrote it.
//!
//! Every option either becomes a lagd setting or gets a note saying what lagd does instead;
//! none is dropped silently.

use lagd_control::config::{AdSelect, AggrMode, AggrSpec, LacpActivity, LacpTimeout};

use super::super::error::AdminError;
use super::Note;

/// Where something was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the format has none to give).
    pub line: usize,
}

impl Loc {
    /// A location.
    pub fn new(file: &str, line: usize) -> Loc {
        Loc {
            file: file.to_string(),
            line,
        }
    }
}

/// One bond being translated into an aggregation.
#[derive(Debug)]
pub struct BondBuilder {
    name: String,
    at: Loc,
    spec: AggrSpec,
    notes: Vec<Note>,
    mode: Option<Loc>,
    policy: Option<(Loc, String)>,
    lacp_rate: bool,
    primary: Option<(Loc, String, String)>,
    addressing: Vec<(Loc, String)>,
    dhcp: Option<(Loc, String)>,
}

fn first_word(v: &str) -> String {
    v.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase()
}

impl BondBuilder {
    /// A bond named `name` (the aggregate keeps the name), defined at `at`.
    pub fn new(name: &str, at: Loc) -> BondBuilder {
        BondBuilder {
            name: name.to_string(),
            at,
            spec: AggrSpec::new(name, &[]),
            notes: Vec::new(),
            mode: None,
            policy: None,
            lacp_rate: false,
            primary: None,
            addressing: Vec::new(),
            dhcp: None,
        }
    }

    /// The bond's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a remark on `option` (as written) at `at`.
    pub fn note(&mut self, at: &Loc, option: &str, message: impl Into<String>) {
        self.notes.push(Note {
            file: at.file.clone(),
            line: at.line,
            iface: self.name.clone(),
            option: option.to_string(),
            message: message.into(),
        });
    }

    fn bad(&self, at: &Loc, msg: String) -> AdminError {
        AdminError::Input(format!("{}:{}: {}: {msg}", at.file, at.line, self.name))
    }

    fn number(&self, at: &Loc, written: &str, v: &str) -> Result<u64, AdminError> {
        first_word(v)
            .parse::<u64>()
            .map_err(|_| self.bad(at, format!("{written}: `{v}` is not a number")))
    }

    /// Adds a member link (duplicates ignored).
    pub fn member(&mut self, link: &str) {
        if !link.is_empty() && !self.spec.links.iter().any(|l| l == link) {
            self.spec.links.push(link.to_string());
        }
    }

    /// The members so far.
    pub fn members(&self) -> &[String] {
        &self.spec.links
    }

    /// An address, route or DNS setting of the bond: not lagd's; collected into one note.
    pub fn addressing(&mut self, at: &Loc, text: String) {
        self.addressing.push((at.clone(), text));
    }

    /// The bond runs a DHCP client (`how`: "DHCP", "DHCPv6", ...).
    pub fn dhcp(&mut self, at: &Loc, how: &str) {
        if self.dhcp.is_none() {
            self.dhcp = Some((at.clone(), how.to_string()));
        }
    }

    /// The bond's MTU (every member gets it too).
    pub fn mtu(&mut self, at: &Loc, written: &str, v: &str) -> Result<(), AdminError> {
        let n = self.number(at, written, v)?;
        let mtu =
            u32::try_from(n).map_err(|_| self.bad(at, format!("{written}: {n} is too large")))?;
        self.spec.mtu = Some(mtu);
        Ok(())
    }

    /// A member's MTU: the aggregate's when the bond sets none (lagd gives every member the
    /// aggregate's MTU); noted when it differs from the bond's.
    pub fn member_mtu(&mut self, at: &Loc, written: &str, v: &str) -> Result<(), AdminError> {
        let n = self.number(at, written, v)?;
        match self.spec.mtu {
            None => {
                self.mtu(at, written, v)?;
                self.note(
                    at,
                    written,
                    format!("member MTU {n} imported as the aggregate's mtu (lagd gives every member the aggregate's MTU)"),
                );
            }
            Some(m) if u64::from(m) == n => {}
            Some(m) => self.note(
                at,
                written,
                format!(
                    "member MTU {n} not imported: lagd gives every member the aggregate's MTU ({m})"
                ),
            ),
        }
        Ok(())
    }

    /// The bond's MAC address (also lagd's LACP System address).
    pub fn mac(&mut self, v: &str) {
        self.spec.mac = Some(first_word(v));
    }

    /// A bonding option by its kernel name (`/sys/class/net/BOND/bonding/NAME`), written as
    /// `written` at `at`.
    pub fn option(
        &mut self,
        at: &Loc,
        written: &str,
        kernel: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let v = first_word(value);
        match kernel {
            "mode" => {
                self.mode = Some(at.clone());
                let mode = match v.as_str() {
                    "0" | "balance-rr" => AggrMode::RoundRobin,
                    "1" | "active-backup" => AggrMode::ActiveBackup,
                    "2" | "balance-xor" => AggrMode::Static,
                    "3" | "broadcast" => AggrMode::Broadcast,
                    "4" | "802.3ad" => AggrMode::Lacp,
                    "5" | "balance-tlb" => AggrMode::TransmitLb,
                    "6" | "balance-alb" => AggrMode::AdaptiveLb,
                    _ => {
                        return Err(self.bad(
                            at,
                            format!(
                                "{written}: unknown mode `{value}`: expected 0-6 or balance-rr, active-backup, \
                                 balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"
                            ),
                        ));
                    }
                };
                self.spec.mode = Some(mode);
            }
            "xmit_hash_policy" => {
                let (policy, msg) = match v.as_str() {
                    "layer2" | "0" => ("L2", None),
                    "layer3+4" | "1" => ("L3,L4", None),
                    "layer2+3" | "2" => ("L2,L3", None),
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
                        return Err(self.bad(
                            at,
                            format!(
                                "{written}: unknown policy `{value}`: expected layer2, layer2+3, layer3+4, \
                                 encap2+3, encap3+4 or vlan+srcmac"
                            ),
                        ));
                    }
                };
                self.spec.policy = Some(policy.into());
                self.policy = Some((at.clone(), written.to_string()));
                if let Some(m) = msg {
                    self.note(at, written, m);
                }
            }
            "lacp_rate" => {
                self.lacp_rate = true;
                self.spec.lacp_timer = Some(match v.as_str() {
                    "1" | "fast" => LacpTimeout::Short,
                    "0" | "slow" => LacpTimeout::Long,
                    _ => {
                        return Err(self.bad(
                            at,
                            format!("{written}: `{value}` is not 0, 1, slow or fast"),
                        ));
                    }
                });
            }
            "lacp_active" => {
                self.spec.lacp_mode = Some(match v.as_str() {
                    "on" | "1" | "yes" | "true" => LacpActivity::Active,
                    "off" | "0" | "no" | "false" => LacpActivity::Passive,
                    _ => {
                        return Err(self.bad(at, format!("{written}: `{value}` is not on or off")));
                    }
                });
            }
            "miimon" => self.note(
                at,
                written,
                format!(
                    "no lagd setting (ignored): lagd learns carrier changes from kernel link events at once, \
                     without polling every {v}{}",
                    if v.chars().all(|c| c.is_ascii_digit()) { " ms" } else { "" }
                ),
            ),
            "use_carrier" => self.note(
                at,
                written,
                "no lagd setting (ignored): lagd always uses carrier events",
            ),
            "updelay" | "downdelay" | "peer_notif_delay" => self.note(
                at,
                written,
                "no lagd setting (ignored): a member is used as soon as LACP (or its carrier, without LACP) allows, \
                 and left at once when it fails; LACP's own Synchronization wait guards against flapping links",
            ),
            "min_links" => {
                let n = self.number(at, written, value)?;
                if n == 0 {
                    self.note(
                        at,
                        written,
                        "bonding's 0 means \"up with no member\"; lagd needs at least 1: imported as 1",
                    );
                    self.spec.min_links = Some(1);
                } else {
                    self.spec.min_links = Some(n as usize);
                }
            }
            "ad_select" => {
                self.spec.ad_select = Some(match v.as_str() {
                    "0" | "stable" => AdSelect::Stable,
                    "1" | "bandwidth" => AdSelect::Bandwidth,
                    "2" | "count" => AdSelect::Count,
                    _ => {
                        return Err(self.bad(
                            at,
                            format!("{written} {v}: expected stable, bandwidth or count"),
                        ));
                    }
                });
            }
            "ad_actor_sys_prio" => {
                let n = self.number(at, written, value)?;
                self.spec.system_priority = Some(
                    u16::try_from(n).map_err(|_| self.bad(at, format!("{written}: {n} is above 65535")))?,
                );
            }
            "ad_user_port_key" => {
                let n = self.number(at, written, value)?;
                self.spec.key = Some(
                    u16::try_from(n).map_err(|_| self.bad(at, format!("{written}: {n} is above 65535")))?,
                );
                self.note(
                    at,
                    written,
                    "imported as the administrative key (bonding puts it in the upper 10 bits of the key; lagd uses all 16 bits)",
                );
            }
            "ad_actor_system" => {
                self.spec.mac = Some(v.clone());
                self.note(
                    at,
                    written,
                    "lagd's LACP System address is the aggregate's MAC: imported as mac",
                );
            }
            "primary" | "active_slave" => {
                self.primary = Some((at.clone(), written.to_string(), value.trim().to_string()));
            }
            "primary_reselect" => self.note(
                at,
                written,
                format!(
                    "no lagd setting (ignored): primary_reselect {v}: lagd starts on the first member and keeps \
                     the active member until it fails (as bonding's `failure`); choose the active member with \
                     lagctl when you want to move it back"
                ),
            ),
            "arp_interval" | "arp_ip_target" | "arp_validate" | "arp_all_targets" | "arp_missed_max"
            | "ns_ip6_target" => self.note(
                at,
                written,
                "no lagd setting (ignored): lagd does not probe by ARP; a path that fails without losing \
                 carrier is detected by LACP (3 s with the short timer) or by micro-BFD (`bfd = { interval = \"50ms\" }`)",
            ),
            "fail_over_mac" => self.note(
                at,
                written,
                format!(
                    "no lagd setting (ignored): fail_over_mac {v}: the aggregate keeps one MAC address (mac, \
                     default the first member's) whichever member is active, so the switch learns it on the \
                     new member from its first frame"
                ),
            ),
            "num_grat_arp" | "num_unsol_na" => self.note(
                at,
                written,
                "no lagd setting (ignored): lagd sends no gratuitous ARP or unsolicited NA on failover",
            ),
            "all_slaves_active" => self.note(
                at,
                written,
                "no lagd setting (ignored): lagd drops frames that arrive on a member that is not Collecting \
                 (counted as not_collecting)",
            ),
            "resend_igmp" => self.note(
                at,
                written,
                "no lagd setting (ignored): lagd sends no IGMP reports of its own on failover",
            ),
            "packets_per_slave" => {
                if v != "1" {
                    self.note(
                        at,
                        written,
                        format!("round-robin sends {v} frames per member in bonding; lagd rotates every frame"),
                    );
                }
            }
            "lp_interval" | "tlb_dynamic_lb" => self.note(
                at,
                written,
                "no lagd setting (ignored): only meaningful in balance-tlb/balance-alb",
            ),
            "coupled_control" => self.note(
                at,
                written,
                "no lagd setting in the file (ignored): lagd's Mux machine couples Collecting and Distributing \
                 (802.1AX coupled control)",
            ),
            "max_bonds" => self.note(at, written, "module parameter (ignored)"),
            _ => self.note(
                at,
                written,
                format!("not a bonding option lagd knows (ignored): {written} {value}"),
            ),
        }
        Ok(())
    }

    /// The aggregation and the notes, once every input is in. `no_mode_default`: what to say
    /// when no mode was given (the source's default mode).
    pub fn finish(mut self) -> Result<(AggrSpec, Vec<Note>), AdminError> {
        let at = self.at.clone();
        if self.mode.is_none() {
            self.spec.mode = Some(AggrMode::RoundRobin);
            self.note(
                &at,
                "mode",
                "no mode given: the bonding default is balance-rr, imported as round-robin (it reorders \
                 frames; a switch needs a static trunk): with a switch that speaks LACP, use mode lacp",
            );
        }
        if let Some((pat, written, p)) = self.primary.take() {
            if matches!(
                self.spec.mode,
                Some(AggrMode::ActiveBackup | AggrMode::TransmitLb | AggrMode::AdaptiveLb)
            ) {
                if let Some(i) = self.spec.links.iter().position(|l| *l == p) {
                    let l = self.spec.links.remove(i);
                    self.spec.links.insert(0, l);
                    self.note(
                        &pat,
                        &written,
                        format!(
                            "lagd starts on the first member (active-backup: it carries the traffic; \
                             transmit-lb/adaptive-lb: it receives for the aggregate's MAC): {p} listed first"
                        ),
                    );
                } else {
                    return Err(
                        self.bad(&pat, format!("{written}: `{p}` is not one of the members"))
                    );
                }
            } else {
                self.note(
                    &pat,
                    &written,
                    "ignored: only meaningful in active-backup, balance-tlb and balance-alb",
                );
            }
        }
        let hashed = matches!(self.spec.mode, Some(AggrMode::Lacp | AggrMode::Static));
        match &self.policy {
            Some((pat, written)) if !hashed => {
                let (pat, written) = (pat.clone(), written.clone());
                self.note(
                    &pat,
                    &written,
                    "kept, but only used in modes lacp (802.3ad) and static (balance-xor)",
                );
            }
            None if hashed => self.note(
                &at,
                "xmit_hash_policy",
                "none given: bonding hashes layer2 by default; lagd's default L3,L4 also spreads the flows \
                 between two hosts (add policy = \"L2\" for bonding's behaviour)",
            ),
            _ => {}
        }
        if self.spec.mode == Some(AggrMode::Lacp) && !self.lacp_rate {
            self.note(
                &at,
                "lacp_rate",
                "none given: bonding asks its partner for slow LACPDUs (a dead partner seen after 90 s); \
                 lagd's default is short (3 s); add timer = \"long\" for bonding's behaviour",
            );
        }
        if let Some((dat, how)) = self.dhcp.take() {
            let name = self.name.clone();
            self.note(
                &dat,
                &how,
                format!(
                    "addressing stays with your network configuration: run the DHCP client on {name} (the \
                     aggregate keeps the name)"
                ),
            );
        }
        if !self.addressing.is_empty() {
            let first = self
                .addressing
                .first()
                .map_or(at.clone(), |(l, _)| l.clone());
            let list = self
                .addressing
                .iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let name = self.name.clone();
            self.note(
                &first,
                "addresses",
                format!("addresses are not lagd's: configure them on the aggregate {name} as before ({list})"),
            );
        }
        if self.spec.links.is_empty() {
            return Err(self.bad(&at, "no members: nothing enslaves this bond".into()));
        }
        self.notes
            .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
        Ok((self.spec, self.notes))
    }
}
