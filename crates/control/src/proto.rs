//! The control protocol: newline-delimited JSON over a Unix stream socket.
//!
//! Each line the client writes is one [`Request`]; the daemon answers each with one line holding
//! a [`Response`]: `{"ok": {...}}` or `{"error": {"kind": ..., "message": ...}}`. `Events` with
//! `follow` answers with the recent events, then one [`Reply::Event`] line per new event until
//! the client disconnects.
//!
//! ```json
//! {"request":"ShowAggr","name":"aggr1"}
//! {"request":"CreateAggr","spec":{"name":"aggr1","links":["eth1","eth2"]},"temporary":false}
//! {"request":"RemoveLinks","name":"aggr1","links":["eth2"],"graceful":true}
//! ```

use std::collections::BTreeMap;

use lagd_types::{MacAddr, PortNumber, PortState, format_duration};
use lagd_wire::LacpInfo;
use serde::{Deserialize, Serialize};

use crate::config::{AggrSettings, AggrSpec, DEFAULT_FALLBACK_TIMEOUT, Fallback, Resolved};

/// Version of this protocol, reported by `Ping`.
pub const PROTOCOL_VERSION: u32 = 1;

fn yes() -> bool {
    true
}

/// A request from a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", deny_unknown_fields)]
pub enum Request {
    /// Is the daemon alive? Answered by [`Reply::Pong`].
    Ping,
    /// Create an aggregation (dladm `create-aggr`). `temporary`: not written to the config file.
    CreateAggr {
        /// The aggregation, as in the config file.
        spec: AggrSpec,
        /// Do not write the change back to the config file (dladm `-t`).
        #[serde(default)]
        temporary: bool,
    },
    /// Delete an aggregation: its members are released and restored, its TAP removed.
    DeleteAggr {
        /// Aggregate name.
        name: String,
        /// Do not write the change back.
        #[serde(default)]
        temporary: bool,
    },
    /// Add member links.
    AddLinks {
        /// Aggregate name.
        name: String,
        /// Links to add.
        links: Vec<String>,
        /// Take links that have IP addresses.
        #[serde(default)]
        force: bool,
        /// Do not write the change back.
        #[serde(default)]
        temporary: bool,
    },
    /// Remove member links. `graceful` (default): every conversation leaves the link under
    /// marker protection first (nothing lost or reordered), then the link is released.
    RemoveLinks {
        /// Aggregate name.
        name: String,
        /// Links to remove.
        links: Vec<String>,
        /// Drain before release (default true).
        #[serde(default = "yes")]
        graceful: bool,
        /// Do not write the change back.
        #[serde(default)]
        temporary: bool,
    },
    /// Change settings live (dladm `modify-aggr`).
    ModifyAggr {
        /// Aggregate name.
        name: String,
        /// The fields to change.
        changes: AggrSettings,
        /// Do not write the change back.
        #[serde(default)]
        temporary: bool,
        /// Apply it even if it takes the aggregate down (refused otherwise, with the
        /// diagnosis, as [`ErrorKind::WouldGoDown`]).
        #[serde(default)]
        force: bool,
    },
    /// Full status of one or every aggregation.
    ShowAggr {
        /// One aggregation, or all when absent.
        #[serde(default)]
        name: Option<String>,
    },
    /// Traffic counters per member and per aggregate.
    ShowLink {
        /// One aggregation, or all when absent.
        #[serde(default)]
        name: Option<String>,
    },
    /// Everything the daemon knows, as one JSON document.
    StateDump,
    /// Check one aggregation for misconfigurations (`lagctl diagnose`), answered by
    /// [`Reply::Diagnosis`].
    Diagnose {
        /// Aggregate name.
        name: String,
    },
    /// Distributed Trunking status (`show distributed-trunk status`), answered by
    /// [`Reply::Dt`].
    ShowDt,
    /// Create the DT domain (`[dt]`) at run time (`create-dt-domain`).
    CreateDtDomain {
        /// The `[dt]` table.
        spec: crate::config::DtSpec,
        /// Do not write the change back.
        #[serde(default)]
        temporary: bool,
    },
    /// Reload the configuration file, as SIGHUP does, and answer with the outcome
    /// (`lagctl reload`, the unit's `ExecReload=`: a failed reload fails `systemctl reload`).
    /// A file that is empty or missing while aggregations of the file run is refused, unless
    /// `delete_all` (`lagctl reload --delete-all`): then those aggregations are deleted.
    Reload {
        /// Delete every aggregation of the file when the file has none (or is gone).
        #[serde(default)]
        delete_all: bool,
    },
    /// Test support: inject a fault into a thread of aggregation `name` (`thread`: `tx` or
    /// `rx`, the forwarding threads, or `bfd`, the micro-BFD thread; `fault`: `exit`, `stall`,
    /// `panic` or `none`), to show what the daemon does when one dies or hangs. No lagctl verb
    /// sends it.
    #[doc(hidden)]
    TestFault {
        /// Aggregate name.
        name: String,
        /// `tx`, `rx` or `bfd`.
        thread: String,
        /// `exit`, `stall`, `panic` or `none`.
        fault: String,
    },
    /// Disable members without removing them (`lagctl disable-member`, OVS
    /// `bond/disable-slave`): each is drained under Marker protection (nothing lost or
    /// reordered), then carries no traffic; it stays a member, Collecting. Answered when
    /// drained. Not written to the configuration file (a restart enables every member).
    DisableMembers {
        /// Aggregate name.
        name: String,
        /// Members to disable.
        links: Vec<String>,
        /// Even the last member carrying traffic (the aggregate then carries none).
        #[serde(default)]
        force: bool,
    },
    /// Enable members disabled by `DisableMembers`: each takes back its share of
    /// conversations, every move marker-protected.
    EnableMembers {
        /// Aggregate name.
        name: String,
        /// Members to enable.
        links: Vec<String>,
    },
    /// Active-backup: make `link` the active member now (`lagctl set-active-member`, OVS
    /// `bond/set-active-slave`); the traffic moves under Marker protection.
    ChooseActive {
        /// Aggregate name.
        name: String,
        /// The member to carry the traffic.
        link: String,
    },
    /// The bucket table with each bucket's load, and where conversation `flow` goes
    /// (`lagctl show-hash`), answered by [`Reply::Hash`].
    ShowHash {
        /// Aggregate name.
        name: String,
        /// A conversation to place (computed by the distributor's own hash).
        #[serde(default)]
        flow: Option<lagd_agg::lagd_distrib::FlowKey>,
    },
    /// Recent events; with `follow`, new ones as they happen until the client disconnects.
    Events {
        /// Keep streaming.
        #[serde(default)]
        follow: bool,
    },
}

impl Request {
    /// The request in words, for logs: the verb and the object (`modify-aggr aggr1`).
    pub fn describe(&self) -> String {
        match self {
            Request::Ping => "ping".into(),
            Request::CreateAggr { spec, .. } => format!("create-aggr {}", spec.name),
            Request::DeleteAggr { name, .. } => format!("delete-aggr {name}"),
            Request::AddLinks { name, links, .. } => {
                format!("add-aggr {} to {name}", links.join(", "))
            }
            Request::RemoveLinks { name, links, .. } => {
                format!("remove-aggr {} from {name}", links.join(", "))
            }
            Request::ModifyAggr { name, .. } => format!("modify-aggr {name}"),
            Request::ShowAggr { name } => format!("show-aggr {}", name.as_deref().unwrap_or("")),
            Request::ShowLink { name } => format!("show-link {}", name.as_deref().unwrap_or("")),
            Request::StateDump => "state dump".into(),
            Request::Diagnose { name } => format!("diagnose {name}"),
            Request::ShowDt => "show distributed-trunk".into(),
            Request::CreateDtDomain { spec, .. } => {
                format!("create-dt-domain {}", spec.domain_id)
            }
            Request::Events { .. } => "events".into(),
            Request::DisableMembers { name, links, .. } => {
                format!("disable-member {} of {name}", links.join(", "))
            }
            Request::EnableMembers { name, links } => {
                format!("enable-member {} of {name}", links.join(", "))
            }
            Request::ChooseActive { name, link } => format!("set-active-member {link} of {name}"),
            Request::ShowHash { name, .. } => format!("show-hash {name}"),
            Request::Reload { delete_all: false } => "reload".into(),
            Request::Reload { delete_all: true } => "reload --delete-all".into(),
            Request::TestFault { name, .. } => format!("test fault on {name}"),
        }
    }

    /// The aggregation the request is about, if one (for the log span of its handling).
    pub fn aggregation(&self) -> Option<&str> {
        match self {
            Request::CreateAggr { spec, .. } => Some(&spec.name),
            Request::DeleteAggr { name, .. }
            | Request::AddLinks { name, .. }
            | Request::RemoveLinks { name, .. }
            | Request::ModifyAggr { name, .. }
            | Request::Diagnose { name }
            | Request::DisableMembers { name, .. }
            | Request::EnableMembers { name, .. }
            | Request::ChooseActive { name, .. }
            | Request::ShowHash { name, .. }
            | Request::TestFault { name, .. } => Some(name),
            Request::ShowAggr { name } | Request::ShowLink { name } => name.as_deref(),
            Request::Ping
            | Request::StateDump
            | Request::ShowDt
            | Request::CreateDtDomain { .. }
            | Request::Events { .. }
            | Request::Reload { .. } => None,
        }
    }
}

/// The daemon's answer to one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Success.
    Ok(Reply),
    /// Failure; nothing changed.
    Error(ErrorReply),
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply")]
pub enum Reply {
    /// Answer to `Ping`.
    Pong {
        /// Daemon version.
        version: String,
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Daemon process id.
        pid: u32,
    },
    /// A change was made.
    Done {
        /// What was done, for humans.
        message: String,
    },
    /// Answer to `ShowAggr`.
    Aggregations {
        /// One entry per aggregation, sorted by name.
        aggregations: Vec<AggrStatus>,
    },
    /// Answer to `ShowLink`.
    Links {
        /// Aggregates and members.
        links: Vec<LinkStats>,
    },
    /// Answer to `StateDump`.
    State {
        /// Everything, as one document.
        state: serde_json::Value,
    },
    /// Answer to `Events`: the recent events, oldest first.
    Events {
        /// Recent events.
        events: Vec<EventRecord>,
    },
    /// One new event (streamed after `Events { follow: true }`).
    Event(EventRecord),
    /// Answer to `ShowDt`: a [`DtView`], `null` without a DT domain.
    Dt {
        /// The DT status.
        status: serde_json::Value,
    },
    /// Answer to `Diagnose`.
    Diagnosis {
        /// The findings.
        diagnosis: lagd_agg::diagnose::Diagnosis,
    },
    /// Answer to `ShowHash`.
    Hash {
        /// Buckets, loads, and the conversation asked about.
        hash: HashView,
    },
}

/// The distribution of one aggregation (`ShowHash`): every bucket with its member and load,
/// as OVS `bond/show` lists its hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashView {
    /// Aggregate name.
    pub aggregate: String,
    /// Distribution mode (`lacp`, `static`, `active-backup`, ...).
    pub mode: String,
    /// Hash policy (`L3,L4`, ...).
    pub policy: String,
    /// The load measurement interval (`rebalance_interval`), or `off`.
    pub interval: String,
    /// One entry per bucket, by bucket number.
    pub buckets: Vec<BucketView>,
    /// Where the conversation asked about goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowPlace>,
}

/// One distribution bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketView {
    /// Bucket number.
    pub bucket: usize,
    /// The member its frames are sent on (none: no member distributing).
    pub member: Option<String>,
    /// Moving to another member under Marker protection (its frames are held meanwhile).
    pub moving: bool,
    /// Bytes hashed to it in the last complete measurement interval.
    pub last_interval_bytes: u64,
    /// Bytes hashed to it so far in the current interval.
    pub current_bytes: u64,
}

/// Where one conversation goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPlace {
    /// The conversation, as the distributor reads it from a frame.
    pub key: lagd_agg::lagd_distrib::FlowKey,
    /// Its hash under the policy.
    pub hash: u32,
    /// Its bucket.
    pub bucket: usize,
    /// The member carrying it (none: no member, or a per-frame mode).
    pub member: Option<String>,
    /// Its bucket is moving.
    pub moving: bool,
    /// Round-robin or broadcast: no single member carries it.
    pub per_frame: bool,
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// Class of error.
    pub kind: ErrorKind,
    /// What went wrong, naming the object.
    pub message: String,
    /// For [`ErrorKind::WouldGoDown`]: why the change takes the aggregate down, with fixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<lagd_agg::diagnose::Finding>,
}

/// Class of error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request line is not a valid request.
    BadRequest,
    /// No such aggregation or link.
    NotFound,
    /// The aggregation or link exists already.
    AlreadyExists,
    /// The resulting configuration would be invalid.
    InvalidConfig,
    /// The system refused (interface busy, has addresses, permission...).
    System,
    /// The change was applied but could not be written to the config file.
    Persist,
    /// A bug in the daemon.
    Internal,
    /// The change would take the aggregate down; nothing changed (force applies it anyway).
    WouldGoDown,
    /// The configuration file was edited on disk since lagd last read it: a change written
    /// back would overwrite the edit; nothing changed (reload first, or make it temporary).
    FileChanged,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::System => "system error",
            ErrorKind::Persist => "not saved",
            ErrorKind::Internal => "internal error",
            ErrorKind::WouldGoDown => "refused",
            ErrorKind::FileChanged => "refused",
        };
        f.write_str(s)
    }
}

/// Status of one aggregation (`ShowAggr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggrStatus {
    /// Aggregate (TAP) name.
    pub name: String,
    /// The running configuration.
    pub spec: AggrSpec,
    /// Whether the running configuration differs from the config file (temporary changes).
    pub temporary: bool,
    /// The aggregate's MAC address (also the LACP System address).
    pub mac: MacAddr,
    /// MTU of the aggregate and its members.
    pub mtu: u32,
    /// Aggregate up (min-links met, or fallback): the TAP has carrier.
    pub up: bool,
    /// Fallback in force.
    pub fallback_active: bool,
    /// Why fallback is in force.
    pub fallback_reason: Option<String>,
    /// How many times a member lost its carrier (each one a failover of its conversations).
    #[serde(default)]
    pub carrier_losses: u64,
    /// Members, by port number.
    pub members: Vec<MemberStatus>,
    /// Members being drained before removal.
    pub draining: Vec<String>,
    /// Full protocol status: LACP (ports, machines, counters, aggregators), distributor
    /// statistics, collector counters (`lagd_agg::AggregationStatus`).
    pub protocol: serde_json::Value,
    /// The kernel fast path: setting, state, counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<OffloadStatus>,
    /// Why the aggregate is down (or how it is up, when not plainly: `through fallback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Every setting in force (defaults applied).
    #[serde(default)]
    pub settings: Settings,
    /// Active-backup: the member carrying the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_member: Option<String>,
    /// Switch-independent modes: the receive member and which peer is received on which
    /// member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer: Option<BalancerStatus>,
    /// The aggregation as the configuration file has it (dladm's persistent configuration,
    /// `show-aggr -P`); none for an aggregation created with `-t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<AggrSpec>,
    /// Members the operator disabled (`disable-member`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<String>,
}

/// Switch-independent load balancing (`transmit-lb`, `adaptive-lb`) as `show-aggr -x` shows
/// it, members by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerStatus {
    /// `transmit-lb` or `adaptive-lb`.
    pub mode: String,
    /// The member answering to the aggregate's MAC.
    pub receive_member: Option<String>,
    /// The aggregate's addresses it announces on failover.
    pub addresses: Vec<String>,
    /// Members: the MAC peers reach them by, how many peers, their receive rate.
    pub members: Vec<BalancerMember>,
    /// Peers (adaptive-lb): which member each is received on.
    pub peers: Vec<BalancerPeer>,
}

/// One member of a switch-independent aggregation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerMember {
    /// Interface name.
    pub name: String,
    /// The MAC peers reach it by (the aggregate's on the receive member).
    pub mac: MacAddr,
    /// Peers received on it.
    pub peers: usize,
    /// Their measured rate, bytes per second.
    pub rx_rate: u64,
    /// Frames for the aggregate's MAC the switch sent to it although it is not the receive
    /// member (`diagnose` warns).
    pub aggregate_mac_elsewhere: u64,
}

/// One peer of an `adaptive-lb` aggregation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerPeer {
    /// Its IP address.
    pub ip: String,
    /// Its MAC, once learned.
    pub mac: Option<MacAddr>,
    /// The member it is received on.
    pub member: String,
    /// Its measured rate, bytes per second.
    pub rx_rate: u64,
}

/// What `show distributed-trunk status` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DtView {
    /// The core's status.
    pub status: lagd_dt::DtStatus,
    /// Peer link interface.
    pub peer_link: String,
    /// Keepalive interface.
    pub keepalive: Option<String>,
    /// The bridge.
    pub bridge: String,
    /// Recent DT events, oldest first, as text with their monotonic time in seconds.
    pub events: Vec<(f64, String)>,
    /// How frames from the peer link are kept out of DT aggregates both switches deliver to.
    #[serde(default)]
    pub peer_filter: PeerFilterView,
    /// The peer link's carrier as the kernel reports it (the peer link can have carrier and
    /// still deliver nothing: a hung peer).
    #[serde(default)]
    pub peer_link_carrier: bool,
    /// DT aggregates where DT frames (EtherType 0x8952) from hosts are dropped at ingress, and
    /// how many each dropped.
    #[serde(default)]
    pub ingress_filter: Vec<(String, u64)>,
}

/// The peer-link filtering as applied (see lagd's `dt::isolation`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerFilterView {
    /// `egress filter` (eBPF at each DT aggregate's tcx egress) or `flood control` (the
    /// fallback when the kernel cannot attach the filter).
    pub mode: String,
    /// Per DT aggregate whose filter is on: its name and the frames the filter dropped.
    pub filtered: Vec<(String, u64)>,
    /// Whether the bridge floods onto the peer link (always, with the egress filter).
    pub flooding: bool,
}

/// The settings of an aggregation in force, defaults applied, spelt as in the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Distribution mode: `lacp`, `static`, `active-backup`, `round-robin`, `broadcast`.
    pub mode: String,
    /// LACP activity: `active`, `passive`, `off`.
    pub lacp_mode: String,
    /// LACP timer: `short`, `long`.
    pub lacp_timer: String,
    /// Hash policy.
    pub policy: String,
    /// Members Collecting and Distributing needed for the aggregate to be up.
    pub min_links: usize,
    /// At most this many members active (none: no limit).
    pub max_active: Option<usize>,
    /// Fallback: `off`, `one-member`, `static`.
    pub fallback: String,
    /// How long without LACPDU before fallback.
    pub fallback_timeout: String,
    /// Administrative key.
    pub key: u16,
    /// LACP System priority.
    pub system_priority: u16,
    /// The kernel fast path setting: `auto`, `on` or `off` (what runs: `AggrStatus::offload`).
    pub offload: String,
    /// Load rebalancing interval, or `off`.
    pub rebalance_interval: String,
    /// Aggregate Wait Time (802.1AX `aggregate_wait_time`): how long a port waits in
    /// WAITING before it attaches. Empty from a lagd that did not report it.
    #[serde(default)]
    pub aggregate_wait: String,
}

impl Settings {
    /// The settings of `r` in force, as `show-aggr` and its JSON show them: the one place
    /// that turns the settings model into this view (a new setting is a field above and a
    /// line here; `lagctl show-aggr --json` carries every field).
    pub fn of(r: &Resolved) -> Settings {
        let (fallback, fallback_timeout) = match r.fallback {
            Some((k, t)) => (k, format_duration(t)),
            None => (Fallback::Off, DEFAULT_FALLBACK_TIMEOUT.to_string()),
        };
        Settings {
            mode: r.mode.to_string(),
            lacp_mode: r.lacp_mode.to_string(),
            lacp_timer: r.lacp_timer.to_string(),
            policy: r.policy.to_string(),
            min_links: r.min_links,
            max_active: r.max_active,
            fallback: fallback.to_string(),
            fallback_timeout,
            key: r.key,
            system_priority: r.system_priority,
            offload: r.offload.to_string(),
            rebalance_interval: r
                .rebalance_interval
                .map_or_else(|| "off".to_string(), format_duration),
            aggregate_wait: format_duration(r.aggregate_wait),
        }
    }
}

/// The kernel fast path of an aggregation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OffloadStatus {
    /// The setting: `auto`, `on` or `off`.
    pub setting: String,
    /// Whether the kernel programs run (else every frame takes the user-space path).
    pub active: bool,
    /// How the programs are attached: `tcx` or `clsact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Why the kernel path is not running, or not for every member (the user-space path
    /// carries those frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How to fix that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Buckets whose frames the kernel sends straight to their member now.
    pub fast_buckets: usize,
    /// Buckets in all.
    pub buckets: usize,
    /// Wire frames the fast path sent (GSO super-frames count as their segments).
    pub frames: u64,
    /// Bytes the fast path sent.
    pub bytes: u64,
    /// Members whose received frames the kernel delivers.
    pub rx_members: usize,
    /// Wire frames the members' receive programs delivered to the aggregate.
    pub rx_frames: u64,
    /// Bytes they delivered.
    pub rx_bytes: u64,
    /// Buckets handed back to the kernel right after a move (no frame of them waiting in user
    /// space).
    pub hand_backs: u64,
    /// Buckets that came to the kernel after an idle gap (first time, or a count that could
    /// not match).
    pub idle_returns: u64,
    /// From a move's end to its bucket being back in the kernel: the last one (µs).
    pub hand_back_last_us: u64,
    /// ... and the longest so far (µs).
    pub hand_back_max_us: u64,
    /// Switch-independent modes: frames the receive programs delivered from addresses that
    /// are not the balancer's peers (so in no peer's rate: hosts behind a router, sources
    /// lagd has not seen resolve the aggregate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx_untracked_frames: Option<u64>,
    /// Receive steering on the aggregate (setting `rx_steering`): `by-flow` (RPS by flow) or
    /// `off`, and ` (to X: waiting for a moment with no frame queued)` while a change waits
    /// for a moment it cannot reorder anything (see lagd's `offload`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx_steering: Option<String>,
    /// Changes of receive steering during which a frame arrived (the one case in which it
    /// might be overtaken).
    pub rx_steering_crossed: u64,
}

/// Status of one member (`ShowAggr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// Interface name.
    pub name: String,
    /// No interface of that name exists (not yet created, or deleted): the member is taken
    /// over when it appears.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
    /// LACP Port_Number.
    pub port: PortNumber,
    /// Carrier.
    pub link_up: bool,
    /// Speed (Mbit/s, 0 unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Selected / Unselected / Standby.
    pub selected: String,
    /// Mux machine state (DETACHED, WAITING, ATTACHED, COLLECTING_DISTRIBUTING...).
    pub mux: String,
    /// Receive machine state (CURRENT, EXPIRED, DEFAULTED...).
    pub receive: String,
    /// Actor operational information.
    pub actor: LacpInfo,
    /// Partner operational information.
    pub partner: LacpInfo,
    /// Collecting (frames from this member reach the host).
    pub collecting: bool,
    /// Distributing (frames to the partner may leave through this member).
    pub distributing: bool,
    /// Why the member is not distributing, when it is not.
    pub why_not_distributing: Option<String>,
    /// LACP counters (LACPDUs, markers, illegal, unknown).
    pub counters: serde_json::Value,
    /// The member's micro-BFD session, when BFD is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdStatus>,
    /// What the member is doing, in one word (`lagd_agg::member_state`): `down`, `no-lacp`,
    /// `wrong-partner`, `not-selected`, `standby`, `waiting`, `attached`, `collecting`,
    /// `active`, `backup`, `deleted`, `bfd-down`.
    #[serde(default)]
    pub state: String,
    /// How many times its carrier went down.
    #[serde(default)]
    pub carrier_losses: u64,
    /// How many times it stopped carrying traffic, whatever the cause.
    #[serde(default)]
    pub flaps: u64,
}

/// A member's micro-BFD session (RFC 7130), for `show-aggr -x` and `--json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdStatus {
    /// bfd.SessionState: AdminDown, Down, Init or Up.
    pub state: String,
    /// bfd.RemoteSessionState.
    pub remote_state: String,
    /// bfd.LocalDiag: why the session last changed state.
    pub diag: String,
    /// The peer's last Diag.
    pub remote_diag: String,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr (0: no peer heard).
    pub remote_discr: u32,
    /// The interval we transmit at, e.g. "50ms" (none: not sending).
    pub tx_interval: Option<String>,
    /// The Detection Time in force, e.g. "150ms" (none: no peer heard).
    pub detection_time: Option<String>,
    /// Destination MAC in use (01:00:5e:90:00:01 until the peer is heard).
    pub dst_mac: MacAddr,
    /// IPv4 source and destination in use.
    pub src_ip: String,
    /// IPv4 destination in use.
    pub dst_ip: String,
    /// Control packets accepted (bfdSessPerfCtrlPktIn).
    pub ctrl_pkt_in: u64,
    /// Control packets sent (bfdSessPerfCtrlPktOut).
    pub ctrl_pkt_out: u64,
    /// Control packets dropped (bfdSessPerfCtrlPktDrop).
    pub ctrl_pkt_drop: u64,
    /// Times the session came Up (bfdSessPerfSessUpCount).
    pub sess_up_count: u64,
    /// Silent failures detected (Detection Time expired while Init or Up).
    pub detection_timeouts: u64,
}

impl From<&lagd_bfd::MemberStatus> for BfdStatus {
    fn from(m: &lagd_bfd::MemberStatus) -> Self {
        let s = &m.session;
        BfdStatus {
            state: s.state.to_string(),
            remote_state: s.remote_state.to_string(),
            diag: s.local_diag.to_string(),
            remote_diag: s.remote_diag.to_string(),
            local_discr: s.local_discr,
            remote_discr: s.remote_discr,
            tx_interval: s.tx_interval.map(|d| d.to_string()),
            detection_time: s.detection_time.map(|d| d.to_string()),
            dst_mac: m.dst_mac,
            src_ip: m.src_ip.to_string(),
            dst_ip: m.dst_ip.to_string(),
            ctrl_pkt_in: s.counters.ctrl_pkt_in,
            ctrl_pkt_out: s.counters.ctrl_pkt_out,
            ctrl_pkt_drop: s.counters.ctrl_pkt_drop,
            sess_up_count: s.counters.sess_up_count,
            detection_timeouts: s.counters.detection_timeouts,
        }
    }
}

impl MemberStatus {
    /// Actor state flags.
    pub fn actor_state(&self) -> PortState {
        self.actor.state
    }
}

/// Traffic counters of an aggregate or member (`ShowLink`, dladm `show-link -s`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    /// Interface name.
    pub name: String,
    /// The aggregate it belongs to (itself for an aggregate).
    pub aggregate: String,
    /// `"aggregate"` or `"member"`.
    pub kind: String,
    /// Frames received.
    pub ipackets: u64,
    /// Bytes received.
    pub rbytes: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Frames sent.
    pub opackets: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Send errors.
    pub oerrors: u64,
    /// Frames dropped, by reason.
    pub drops: BTreeMap<String, u64>,
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Sequence number, increasing by one per event.
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// Monotonic protocol time, nanoseconds.
    pub mono_ns: u64,
    /// The aggregation (empty for daemon-wide events).
    pub aggregate: String,
    /// The member concerned, if any.
    pub link: Option<String>,
    /// One readable line.
    pub message: String,
    /// The event itself (`lagd_agg::AggEvent` or a daemon event), as JSON.
    pub detail: serde_json::Value,
}

impl Response {
    /// An error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error(ErrorReply {
            kind,
            message: message.into(),
            findings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AggrMode, LacpTimeout};

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: &T) {
        let line = serde_json::to_string(v).unwrap();
        assert!(!line.contains('\n'));
        let back: T = serde_json::from_str(&line).unwrap();
        assert_eq!(&back, v, "{line}");
    }

    #[test]
    fn requests_round_trip() {
        let mut spec = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        spec.mode = Some(AggrMode::ActiveBackup);
        let reqs = vec![
            Request::Ping,
            Request::CreateAggr {
                spec,
                temporary: true,
            },
            Request::DeleteAggr {
                name: "aggr1".into(),
                temporary: false,
            },
            Request::AddLinks {
                name: "aggr1".into(),
                links: vec!["eth3".into()],
                force: false,
                temporary: false,
            },
            Request::RemoveLinks {
                name: "aggr1".into(),
                links: vec!["eth3".into()],
                graceful: true,
                temporary: false,
            },
            Request::ModifyAggr {
                name: "aggr1".into(),
                changes: AggrSettings {
                    lacp_timer: Some(LacpTimeout::Long),
                    ..AggrSettings::default()
                },
                temporary: false,
                force: true,
            },
            Request::ShowAggr { name: None },
            Request::ShowLink {
                name: Some("aggr1".into()),
            },
            Request::StateDump,
            Request::Events { follow: true },
            Request::DisableMembers {
                name: "aggr1".into(),
                links: vec!["eth2".into()],
                force: false,
            },
            Request::EnableMembers {
                name: "aggr1".into(),
                links: vec!["eth2".into()],
            },
            Request::ChooseActive {
                name: "aggr1".into(),
                link: "eth2".into(),
            },
            Request::ShowHash {
                name: "aggr1".into(),
                flow: Some(lagd_agg::lagd_distrib::FlowKey::default()),
            },
        ];
        for r in &reqs {
            round_trip(r);
        }
    }

    #[test]
    fn request_wire_form_and_defaults() {
        let r: Request =
            serde_json::from_str(r#"{"request":"RemoveLinks","name":"aggr1","links":["eth2"]}"#)
                .unwrap();
        assert_eq!(
            r,
            Request::RemoveLinks {
                name: "aggr1".into(),
                links: vec!["eth2".into()],
                graceful: true,
                temporary: false
            }
        );
        assert_eq!(
            serde_json::to_string(&Request::Ping).unwrap(),
            r#"{"request":"Ping"}"#
        );
        let err = serde_json::from_str::<Request>(r#"{"request":"Reboot"}"#).unwrap_err();
        assert!(err.to_string().contains("Reboot"), "{err}");
    }

    #[test]
    fn responses_round_trip() {
        let status = AggrStatus {
            name: "aggr1".into(),
            spec: AggrSpec::new("aggr1", &["eth1"]),
            temporary: false,
            mac: "02:00:00:00:00:01".parse().unwrap(),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 0,
            members: vec![MemberStatus {
                name: "eth1".into(),
                absent: false,
                port: 1,
                link_up: true,
                speed_mbps: 10000,
                full_duplex: true,
                selected: "SELECTED".into(),
                mux: "COLLECTING_DISTRIBUTING".into(),
                receive: "CURRENT".into(),
                actor: LacpInfo::default(),
                partner: LacpInfo::default(),
                collecting: true,
                distributing: true,
                why_not_distributing: None,
                counters: serde_json::json!({"lacpdus_rx": 3}),
                bfd: None,
                state: "active".into(),
                carrier_losses: 0,
                flaps: 0,
            }],
            draining: vec![],
            protocol: serde_json::json!({"up": true}),
            offload: None,
            why: None,
            settings: Settings::default(),
            active_member: None,
            balancer: None,
            persistent: None,
            disabled: vec![],
        };
        let resps = vec![
            Response::Ok(Reply::Pong {
                version: "0.1.0".into(),
                protocol: PROTOCOL_VERSION,
                pid: 42,
            }),
            Response::Ok(Reply::Done {
                message: "created".into(),
            }),
            Response::Ok(Reply::Aggregations {
                aggregations: vec![status],
            }),
            Response::Ok(Reply::Links {
                links: vec![LinkStats {
                    name: "eth1".into(),
                    ipackets: 5,
                    ..LinkStats::default()
                }],
            }),
            Response::Ok(Reply::State {
                state: serde_json::json!({"a": [1, 2]}),
            }),
            Response::Ok(Reply::Event(EventRecord {
                seq: 1,
                unix_ms: 2,
                mono_ns: 3,
                aggregate: "aggr1".into(),
                link: Some("eth1".into()),
                message: "up".into(),
                detail: serde_json::Value::Null,
            })),
            Response::error(ErrorKind::NotFound, "no aggregation named `x`"),
        ];
        for r in &resps {
            round_trip(r);
        }
        assert_eq!(
            serde_json::to_string(&Response::error(ErrorKind::NotFound, "m")).unwrap(),
            r#"{"error":{"kind":"not-found","message":"m"}}"#
        );
    }
}
