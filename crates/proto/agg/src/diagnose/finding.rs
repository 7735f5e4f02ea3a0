//! What diagnosis returns: findings, each with its evidence and its fixes, as data. A fix
//! names the setting to change and its value (or the members to take out, the view to look
//! at); `lagctl` renders it as a command, the JSON carries it as it is.

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault (a Standby member).
    Info,
    /// Degraded: the aggregate works with less capacity or resilience than configured.
    Warning,
    /// Broken: traffic is lost or the aggregate is down.
    Error,
}

impl core::fmt::Display for Severity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What kind of problem a finding is (stable names for scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// We run active LACP and no LACPDU arrived lately on any member: the partner runs no LACP.
    PartnerNoLacp,
    /// We are passive and no LACPDU arrived lately: the partner is passive too (or static).
    BothPassive,
    /// LACPDUs arrive on a static trunk: the partner runs LACP.
    LacpOnStaticTrunk,
    /// Members reach different partner Systems or keys.
    DifferentPartners,
    /// The partner runs the other LACP timer (long against short).
    TimerMismatch,
    /// Members run at different speeds.
    SpeedMismatch,
    /// A member runs half duplex, or members differ in duplex.
    DuplexMismatch,
    /// Members (or the aggregate) have different MTUs, or large frames are dropped on the way
    /// to the partner (its MTU is smaller).
    MtuMismatch,
    /// A member's carrier is down.
    LinkDown,
    /// A member's interface no longer exists.
    MemberDeleted,
    /// A member is up and selected but not Collecting and Distributing.
    NotDistributing,
    /// A member is Standby (max-active).
    Standby,
    /// Actor or partner churn detected on a member (§6.4.17).
    Churn,
    /// A member's partner information expired (§6.4.12 EXPIRED).
    Expired,
    /// Some members DEFAULTED while others hear the partner.
    Defaulted,
    /// Fewer members Collecting and Distributing than min-links: the aggregate is down.
    MinLinks,
    /// The aggregate forwards through fallback, without LACP.
    Fallback,
    /// Most of the traffic goes through one member because of the hash policy.
    HashImbalance,
    /// One conversation saturates one member.
    SingleFlowSaturation,
    /// A distributed aggregation, but no Distributed Trunking domain is configured.
    DtNoDomain,
    /// The DT peer is not (yet) heard: this switch acts alone.
    DtPeer,
    /// The DT peer link is down while the peer is alive (split brain).
    DtSplitBrain,
    /// The switch heard on the peer link belongs to another DT domain.
    DtDomainMismatch,
    /// The aggregation's configuration differs from the DT peer's.
    DtMismatch,
    /// The DT decision holds this switch's ports of the aggregation down.
    DtPortsDown,
    /// No keepalive path: a peer-link failure cannot be told from a dead peer.
    DtNoKeepalive,
    /// The kernel could not attach the peer-link egress filter: lagd falls back to flood
    /// control, and a flooded frame may reach other aggregations' hosts twice.
    DtPeerFilterFallback,
    /// DT frames of another switch than the pinned peer are arriving and refused.
    DtRefusedPeer,
    /// DT frames fail authentication (no key, another key, forged or altered).
    DtAuthFailed,
    /// The peer's MAC sync table is full: some of its addresses are not installed.
    DtMacSyncFull,
    /// `offload = true`, but the kernel fast path is not running (or not on every member).
    OffloadInactive,
    /// A member receives this System's own LACPDUs: looped back, cabled to another member,
    /// or on a hub or switch port that echoes frames.
    Loopback,
    /// Switch-independent mode: frames for the aggregate's MAC arrive on a member that is not
    /// the receive member (the switch learned the MAC there).
    AggregateMacMoved,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What kind.
    pub code: FindingCode,
    /// The member concerned, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// What is wrong, in one line.
    pub problem: String,
    /// Why we say so: the values seen.
    pub evidence: Vec<String>,
    /// What to do, best first.
    pub fix: Vec<Fix>,
}

/// Where a fix must be applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Where {
    /// On this host's aggregation.
    #[default]
    Here,
    /// On the LACP partner (the switch or host at the other end of the members).
    Partner,
    /// On both ends of the members: here and on the partner.
    BothEnds,
    /// On the Distributed Trunking peer switch.
    DtPeer,
    /// On both switches of the Distributed Trunking pair.
    BothSwitches,
}

/// A setting of an aggregation, named by its one name: the configuration-file key, the JSON
/// name and (with `_` written `-`) the long flag, as the settings model (`lagd-node`) names
/// it; `lagd-node`'s tests check that every key here is one of its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Distribution mode (`lacp`, `static`, `active-backup`, ...).
    Mode,
    /// LACP activity: `active`, `passive` or `off`.
    LacpMode,
    /// LACP timer: `short` or `long`.
    LacpTimer,
    /// Hash policy (`L3,L4`).
    Policy,
    /// The aggregate's MAC address.
    Mac,
    /// MTU of the aggregate and its members.
    Mtu,
    /// Members Collecting and Distributing needed for the aggregate to be up.
    MinLinks,
    /// At most this many active members (0: no limit).
    MaxActive,
    /// What to do when the partner sends no LACPDU: `off`, `one-member`, `static`.
    Fallback,
    /// How long without LACPDU before fallback.
    FallbackTimeout,
    /// LACP System priority.
    SystemPriority,
    /// Administrative key.
    Key,
    /// Kernel fast path: `on` or `off`.
    Offload,
    /// A Distributed Trunking aggregation: `true` or `false`.
    Distributed,
}

impl Setting {
    /// The configuration-file key.
    pub fn key(self) -> &'static str {
        match self {
            Setting::Mode => "mode",
            Setting::LacpMode => "lacp_mode",
            Setting::LacpTimer => "lacp_timer",
            Setting::Policy => "policy",
            Setting::Mac => "mac",
            Setting::Mtu => "mtu",
            Setting::MinLinks => "min_links",
            Setting::MaxActive => "max_active",
            Setting::Fallback => "fallback",
            Setting::FallbackTimeout => "fallback_timeout",
            Setting::SystemPriority => "system_priority",
            Setting::Key => "key",
            Setting::Offload => "offload",
            Setting::Distributed => "distributed",
        }
    }
}

impl core::fmt::Display for Setting {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.key())
    }
}

/// A view of `lagctl` that shows what a fix needs to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// `show-aggr -L`: the LACP flags of each member.
    Lacp,
    /// `show-aggr -x`: actor and partner, machine states.
    Extended,
    /// `show distributed-trunk status`.
    DtStatus,
}

/// What a fix changes, as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    /// Set one setting of the aggregation to `value` (its file/CLI spelling).
    Set {
        /// The setting.
        setting: Setting,
        /// The new value.
        value: String,
    },
    /// Take these members out of the aggregation.
    RemoveMembers {
        /// The members.
        members: Vec<String>,
    },
    /// Add a member (which one is the operator's choice).
    AddMember,
    /// Take the member out and add it back (its kernel programs and socket are set up anew).
    Readd {
        /// The member.
        member: String,
    },
    /// Look at a view first.
    Show {
        /// The view.
        view: View,
    },
    /// Create the Distributed Trunking domain (with this id, when it is known).
    CreateDtDomain {
        /// The domain id to use.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain_id: Option<u32>,
    },
}

/// One way to fix a finding: what to do in words, where, and the change that does it when
/// lagd can make it. Words never carry command syntax: `lagctl` renders the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What to do and when it is the right fix ("or run a static trunk").
    pub text: String,
    /// Where to do it.
    #[serde(default)]
    pub on: Where,
    /// The change, when lagd can make it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

impl Fix {
    /// A fix in words only (cabling, the switch, autonegotiation).
    pub fn text(text: impl Into<String>) -> Fix {
        Fix {
            text: text.into(),
            on: Where::Here,
            change: None,
        }
    }

    /// Set `setting` to `value` on this aggregation.
    pub fn set(text: impl Into<String>, setting: Setting, value: impl ToString) -> Fix {
        Fix {
            text: text.into(),
            on: Where::Here,
            change: Some(Change::Set {
                setting,
                value: value.to_string(),
            }),
        }
    }

    /// Take `members` out.
    pub fn remove(text: impl Into<String>, members: Vec<String>) -> Fix {
        Fix {
            text: text.into(),
            on: Where::Here,
            change: Some(Change::RemoveMembers { members }),
        }
    }

    /// Look at `view`.
    pub fn show(text: impl Into<String>, view: View) -> Fix {
        Fix {
            text: text.into(),
            on: Where::Here,
            change: Some(Change::Show { view }),
        }
    }

    /// Any change.
    pub fn change(text: impl Into<String>, change: Change) -> Fix {
        Fix {
            text: text.into(),
            on: Where::Here,
            change: Some(change),
        }
    }

    /// The same fix, applied `on`.
    pub fn on(mut self, on: Where) -> Fix {
        self.on = on;
        self
    }

    /// The setting and value this fix sets, if it sets one.
    pub fn sets(&self) -> Option<(Setting, &str)> {
        match &self.change {
            Some(Change::Set { setting, value }) => Some((*setting, value.as_str())),
            _ => None,
        }
    }
}

/// The result of [`super::diagnose`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The aggregate's name.
    pub aggregate: String,
    /// No finding of severity warning or error.
    pub healthy: bool,
    /// The findings, most serious first.
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// A diagnosis of `findings` (sorted, most serious first; `healthy` computed).
    pub fn new(aggregate: &str, mut findings: Vec<Finding>) -> Diagnosis {
        findings.sort_by_key(|f| core::cmp::Reverse(f.severity));
        Diagnosis {
            aggregate: aggregate.to_string(),
            healthy: findings.iter().all(|f| f.severity == Severity::Info),
            findings,
        }
    }

    /// Adds findings found elsewhere (kept sorted, `healthy` updated).
    pub fn extend(&mut self, more: impl IntoIterator<Item = Finding>) {
        let mut all = core::mem::take(&mut self.findings);
        all.extend(more);
        *self = Diagnosis::new(&self.aggregate, all);
    }

    /// Whether some finding has `code`.
    pub fn has(&self, code: FindingCode) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// The fixes that set a setting to the value it already has (`current` gives the value in
    /// force, in the same spelling): a diagnosis must never offer one.
    pub fn fixes_in_effect(
        &self,
        current: impl Fn(Setting) -> Option<String>,
    ) -> Vec<(&Finding, &Fix)> {
        let mut out = Vec::new();
        for f in &self.findings {
            for x in &f.fix {
                if !matches!(x.on, Where::Here | Where::BothEnds) {
                    continue;
                }
                if let Some((s, v)) = x.sets()
                    && current(s).as_deref() == Some(v)
                {
                    out.push((f, x));
                }
            }
        }
        out
    }
}
