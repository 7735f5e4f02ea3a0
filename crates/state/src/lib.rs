//! What lagd keeps on disk so that neither a crash nor a restart loses anything: a record of
//! every member's original settings, written before the first change and removed only once
//! the member is restored, and a record of every aggregation (its TAP, its port numbers and
//! the protocol state the partner sees), rewritten atomically whenever that state changes.
//!
//! Layout, under the state directory (`--state-dir`, default `/run/lagd`; a tmpfs, so a reboot,
//! which resets every interface anyway, forgets it):
//!
//! ```text
//! net-<namespace cookie>/        one per network namespace lagd runs in
//!     lock                       flock'ed by the running lagd (its pid inside)
//!     members/<ifindex>.json     MemberRecord
//!     aggregates/<name>.json     AggregateRecord
//!     operator/<name>.json       OperatorRecord (kept across a clean stop, unlike the others)
//! ```
//!
//! Every file is written atomically and durably (`lagd_dataplane::durable`): temporary file,
//! `fsync`, rename, `fsync` of the directory.
//!
//! [`restore`] gives back what a lagd that is gone left (TAPs, pinned fast path). The daemon
//! (lagd's `crate::state`) and `lagctl restore-links` both use this crate.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lagd_agg::AggSnapshot;
use lagd_dataplane::MemberOriginal;
use lagd_dataplane::durable::{self, LockFile, Locked};
use lagd_types::{MacAddr, PortNumber};
use serde::{Deserialize, Serialize};

pub mod restore;

/// The format version written; records of another version are not used (and said so).
pub const RECORD_VERSION: u32 = 1;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another lagd owns this state directory in this network namespace.
    #[error(
        "another lagd{} runs in this network namespace with state directory {dir} (lock {lock}); stop it first, or give this one another --state-dir",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Busy {
        /// Its pid, if known.
        pid: Option<u32>,
        /// The state directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A file or directory could not be read or written.
    #[error("state directory {path}: {detail}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

fn io(path: &Path) -> impl Fn(String) -> StateError + '_ {
    move |detail| StateError::Io {
        path: path.to_path_buf(),
        detail,
    }
}

/// A member's original settings, recorded before lagd changed anything on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The aggregation that took it.
    pub aggregate: String,
    /// The pid of the lagd that took it.
    pub pid: u32,
    /// The settings to put back.
    pub original: MemberOriginal,
}

/// One member port of an aggregation record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRecord {
    /// Actor_Port_Number.
    pub number: PortNumber,
    /// The interface index.
    pub ifindex: u32,
}

/// A running aggregation: its TAP, its ports and the protocol state to resume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The aggregate's name (its TAP's).
    pub name: String,
    /// The TAP's interface index (0 until it exists).
    pub ifindex: u32,
    /// The aggregate's MAC.
    pub mac: MacAddr,
    /// The pid of the lagd that wrote it.
    pub pid: u32,
    /// The first port number (Distributed Trunking numbers a secondary's ports from 0x8000).
    pub port_base: u16,
    /// Member ports by interface name.
    pub ports: BTreeMap<String, PortRecord>,
    /// The protocol state the partner sees (absent until the aggregation ran).
    pub snapshot: Option<AggSnapshot>,
}

/// The operator's choices for one aggregation (`lagctl disable-member`, `set-active-member`),
/// by member name. Unlike the other records it outlives a clean stop: a restart of lagd (stop
/// and start, crash, `restart-daemon`'s hand-over) puts them back; a reboot (the state
/// directory is a tmpfs) or deleting the aggregation forgets them. See docs/OPERATIONS.md.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The aggregation.
    pub aggregate: String,
    /// Members disabled (`disable-member`), kept out of distribution.
    #[serde(default)]
    pub disabled: std::collections::BTreeSet<String>,
    /// The member chosen to carry the traffic of an active-backup aggregation.
    #[serde(default)]
    pub active: Option<String>,
}

impl OperatorRecord {
    /// Whether it records nothing.
    pub fn is_empty(&self) -> bool {
        self.disabled.is_empty() && self.active.is_none()
    }
}

/// The descriptors a planned restart hands from one image of lagd to the next (`execve` keeps
/// them open); see lagd's `handover`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The process (the same before and after `execve`).
    pub pid: u32,
    /// Per aggregation.
    pub aggregates: Vec<HandoverAggregate>,
}

/// The descriptors of one aggregation handed on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverAggregate {
    /// The aggregation.
    pub name: String,
    /// Its TAP's descriptor.
    pub tap_fd: i32,
    /// Its members' packet sockets: (interface index, descriptor).
    pub members: Vec<(u32, i32)>,
}

/// Descriptors inherited from the previous image, claimed and waiting for their aggregation.
#[derive(Debug, Default)]
pub struct Inherited {
    /// The TAP.
    pub tap: Option<std::os::fd::OwnedFd>,
    /// Member sockets by interface index.
    pub members: BTreeMap<u32, std::os::fd::OwnedFd>,
}

/// The state directory of this network namespace, locked by this process.
#[derive(Debug)]
pub struct StateDir {
    base: PathBuf,
    root: PathBuf,
    _lock: Option<LockFile>,
    inherited: std::sync::Mutex<BTreeMap<String, Inherited>>,
    /// This namespace's BPF pin directory, or why there is none (found once).
    pins: std::sync::OnceLock<Result<PathBuf, String>>,
}

impl StateDir {
    /// Opens (creating, mode 0700) the state of the calling thread's network namespace under
    /// `base` and takes its lock; [`StateError::Busy`] if another process holds it.
    pub fn open(base: &Path) -> Result<StateDir, StateError> {
        let mut d = StateDir::unlocked(base)?;
        d.lock()?;
        Ok(d)
    }

    /// Opens it without the lock (for `lagctl`, which must not run while a lagd does: see
    /// [`StateDir::lock`]).
    pub fn unlocked(base: &Path) -> Result<StateDir, StateError> {
        let ns = durable::netns_id().map_err(|e| io(base)(e.to_string()))?;
        let root = base.join(format!("net-{ns}"));
        for d in [
            root.clone(),
            root.join("members"),
            root.join("aggregates"),
            root.join("operator"),
        ] {
            create_private_dir(&d)?;
        }
        Ok(StateDir {
            base: base.to_path_buf(),
            root,
            _lock: None,
            inherited: std::sync::Mutex::new(BTreeMap::new()),
            pins: std::sync::OnceLock::new(),
        })
    }

    /// Takes the lock (no waiting).
    pub fn lock(&mut self) -> Result<(), StateError> {
        let lock = self.root.join("lock");
        match LockFile::try_lock(&lock).map_err(|e| io(&lock)(e.to_string()))? {
            Locked::Acquired(l) => {
                self._lock = Some(l);
                Ok(())
            }
            Locked::Busy(pid) => Err(StateError::Busy {
                pid,
                dir: self.base.clone(),
                lock,
            }),
        }
    }

    /// The directory of this namespace's records.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This namespace's BPF pin directory (`<bpffs>/lagd/net-<cookie>`; the kernel fast path
    /// of aggregation `A` is pinned in `A/` below it, so that it goes on forwarding while no
    /// lagd runs): in the bpffs at `/sys/fs/bpf`, else in `<state dir>/bpffs`, mounted by lagd
    /// when it may ([`lagd_dataplane::pin::bpffs`]). Found, and mounted, once; the error says
    /// why nothing can be pinned.
    pub fn pin_root(&self) -> Result<PathBuf, String> {
        self.pins
            .get_or_init(|| {
                let fs = lagd_dataplane::pin::bpffs(&self.base.join("bpffs"))
                    .map_err(|e| e.to_string())?;
                Ok(self.pins_in(&fs))
            })
            .clone()
    }

    /// The pin directory if a bpffs is mounted already (never mounts: `lagctl`).
    pub fn existing_pin_root(&self) -> Option<PathBuf> {
        lagd_dataplane::pin::mounted_bpffs(&self.base.join("bpffs")).map(|fs| self.pins_in(&fs))
    }

    fn pins_in(&self, fs: &Path) -> PathBuf {
        let ns = self.root.file_name().unwrap_or_default();
        fs.join("lagd").join(ns)
    }

    /// The aggregations with pins under `root`: (name, directory).
    pub fn pinned(root: &Path) -> Vec<(String, PathBuf)> {
        let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        v.sort();
        v
    }

    /// Removes the pin directory `root` and its parent `lagd/` if empty (nothing pinned).
    pub fn remove_pin_root_if_empty(root: &Path) {
        let _ = std::fs::remove_dir(root);
        if let Some(parent) = root.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }

    fn member_path(&self, ifindex: u32) -> PathBuf {
        self.root.join("members").join(format!("{ifindex}.json"))
    }

    fn aggregate_path(&self, name: &str) -> PathBuf {
        self.root.join("aggregates").join(format!("{name}.json"))
    }

    /// Records a member's original settings (before the first change).
    pub fn write_member(&self, r: &MemberRecord) -> Result<(), StateError> {
        write_json(&self.member_path(r.original.ifindex), r)
    }

    /// The record of the member with index `ifindex`, if any.
    pub fn member(&self, ifindex: u32) -> Option<MemberRecord> {
        read_json(&self.member_path(ifindex))
    }

    /// Forgets a member's record (once it is restored, or gone).
    pub fn remove_member(&self, ifindex: u32) -> Result<(), StateError> {
        let p = self.member_path(ifindex);
        durable::remove(&p).map_err(|e| io(&p)(e.to_string()))
    }

    /// Every member record, by interface index.
    pub fn members(&self) -> BTreeMap<u32, MemberRecord> {
        self.list("members")
            .into_iter()
            .filter_map(|p| read_json::<MemberRecord>(&p))
            .map(|r| (r.original.ifindex, r))
            .collect()
    }

    /// Writes an aggregation's record.
    pub fn write_aggregate(&self, r: &AggregateRecord) -> Result<(), StateError> {
        write_json(&self.aggregate_path(&r.name), r)
    }

    /// The record of aggregation `name`, if any.
    pub fn aggregate(&self, name: &str) -> Option<AggregateRecord> {
        read_json(&self.aggregate_path(name))
    }

    /// Forgets an aggregation's record.
    pub fn remove_aggregate(&self, name: &str) -> Result<(), StateError> {
        let p = self.aggregate_path(name);
        durable::remove(&p).map_err(|e| io(&p)(e.to_string()))
    }

    /// Every aggregation record, by name.
    pub fn aggregates(&self) -> BTreeMap<String, AggregateRecord> {
        self.list("aggregates")
            .into_iter()
            .filter_map(|p| read_json::<AggregateRecord>(&p))
            .map(|r| (r.name.clone(), r))
            .collect()
    }

    fn operator_path(&self, name: &str) -> PathBuf {
        self.root.join("operator").join(format!("{name}.json"))
    }

    /// The operator's choices for aggregation `name`, if any.
    pub fn operator(&self, name: &str) -> Option<OperatorRecord> {
        read_json(&self.operator_path(name))
    }

    /// Writes the operator's choices for an aggregation (removes the record when empty).
    pub fn write_operator(&self, r: &OperatorRecord) -> Result<(), StateError> {
        if r.is_empty() {
            return self.remove_operator(&r.aggregate);
        }
        write_json(&self.operator_path(&r.aggregate), r)
    }

    /// Forgets the operator's choices for aggregation `name`.
    pub fn remove_operator(&self, name: &str) -> Result<(), StateError> {
        let p = self.operator_path(name);
        if !p.exists() {
            return Ok(());
        }
        durable::remove(&p).map_err(|e| io(&p)(e.to_string()))
    }

    /// The aggregations with operator choices recorded.
    pub fn operator_records(&self) -> Vec<String> {
        self.list("operator")
            .into_iter()
            .filter_map(|p| read_json::<OperatorRecord>(&p))
            .map(|r| r.aggregate)
            .collect()
    }

    /// Records the descriptors handed on to the next image of this process.
    pub fn write_handover(&self, r: &HandoverRecord) -> Result<(), StateError> {
        write_json(&self.root.join("handover.json"), r)
    }

    /// Reads and removes the hand-over record. Only one written by this very process (before
    /// its `execve`) describes descriptors open here; any other is stale and dropped. The
    /// descriptors are claimed and kept for [`StateDir::take_inherited`].
    pub fn claim_handover(&self) -> Option<usize> {
        let path = self.root.join("handover.json");
        let r: Option<HandoverRecord> = read_json(&path);
        let _ = durable::remove(&path);
        let r = r?;
        if r.pid != std::process::id() {
            tracing::info!(
                pid = r.pid,
                "hand-over record of another process (it crashed during a restart): ignored"
            );
            return None;
        }
        let mut claimed = BTreeMap::new();
        let mut count = 0;
        for a in r.aggregates {
            let mut inh = Inherited::default();
            match durable::claim_inherited(a.tap_fd) {
                Ok(fd) => {
                    inh.tap = Some(fd);
                    count += 1;
                }
                Err(e) => tracing::warn!(aggregate = %a.name, "inherited TAP descriptor: {e}"),
            }
            for (ifindex, raw) in a.members {
                match durable::claim_inherited(raw) {
                    Ok(fd) => {
                        inh.members.insert(ifindex, fd);
                        count += 1;
                    }
                    Err(e) => {
                        tracing::warn!(aggregate = %a.name, ifindex, "inherited member socket: {e}")
                    }
                }
            }
            claimed.insert(a.name, inh);
        }
        *self
            .inherited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = claimed;
        Some(count)
    }

    /// The descriptors inherited for aggregation `name` (once).
    pub fn take_inherited(&self, name: &str) -> Option<Inherited> {
        self.inherited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name)
    }

    /// Closes inherited descriptors no aggregation claimed (it is no longer configured).
    pub fn drop_unclaimed(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .inherited
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_keys()
        .collect()
    }

    /// Removes this namespace's directory if no record is left in it (a clean stop); records
    /// left (a member that could not be restored) keep it.
    pub fn remove_if_empty(&self) {
        if !self.list("members").is_empty() || !self.list("aggregates").is_empty() {
            return;
        }
        // The operator's choices outlive a clean stop: their directory stays if not empty.
        for sub in ["members", "aggregates", "operator"] {
            let _ = std::fs::remove_dir(self.root.join(sub));
        }
        let _ = std::fs::remove_file(self.root.join("lock"));
        let _ = std::fs::remove_dir(&self.root);
    }

    fn list(&self, sub: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.root.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        v.sort();
        v
    }
}

fn create_private_dir(d: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(d)
    {
        Ok(()) => Ok(()),
        Err(e) => Err(io(d)(e.to_string())),
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), StateError> {
    let text = serde_json::to_vec_pretty(v).map_err(|e| io(path)(e.to_string()))?;
    durable::write_atomic(path, &text).map_err(|e| io(path)(e.to_string()))
}

/// Reads a record; one that cannot be read or is of another version is logged and ignored
/// (never guessed at).
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::error!(record = %path.display(), "cannot read state record: {e}");
            return None;
        }
    };
    let version = serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    if version != Some(u64::from(RECORD_VERSION)) {
        tracing::error!(
            record = %path.display(),
            "state record of format version {} (this lagd writes {RECORD_VERSION}): not used",
            version.map_or_else(|| "?".to_string(), |v| v.to_string())
        );
        return None;
    }
    match serde_json::from_slice(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(record = %path.display(), "unreadable state record: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original(ifindex: u32) -> MemberOriginal {
        MemberOriginal {
            ifindex,
            name: format!("eth{ifindex}"),
            mac: Some(MacAddr([2, 0, 0, 0, 0, ifindex as u8])),
            up: true,
            mtu: 1500,
            noarp: false,
            arp_ignore: 0,
            rp_filter: 2,
            disable_ipv6: Some(0),
            addresses: Vec::new(),
            alias: None,
            clsact: None,
        }
    }

    #[test]
    fn records_round_trip_and_the_lock_is_exclusive() {
        let base = std::env::temp_dir().join(lagd_dataplane::netns::unique_name("state"));
        let st = StateDir::open(&base).unwrap();
        assert!(matches!(
            StateDir::open(&base),
            Err(StateError::Busy { pid: Some(p), .. }) if p == std::process::id()
        ));
        let m = MemberRecord {
            version: RECORD_VERSION,
            aggregate: "aggr1".into(),
            pid: 1,
            original: original(7),
        };
        st.write_member(&m).unwrap();
        assert_eq!(st.member(7), Some(m.clone()));
        assert_eq!(st.members().len(), 1);
        let a = AggregateRecord {
            version: RECORD_VERSION,
            name: "aggr1".into(),
            ifindex: 9,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            pid: 1,
            port_base: 0,
            ports: [(
                "eth7".to_string(),
                PortRecord {
                    number: 1,
                    ifindex: 7,
                },
            )]
            .into(),
            snapshot: Some(AggSnapshot::default()),
        };
        st.write_aggregate(&a).unwrap();
        assert_eq!(st.aggregate("aggr1"), Some(a));
        assert_eq!(st.aggregates().len(), 1);
        // A record of another version is not used.
        let p = st.root().join("members").join("8.json");
        std::fs::write(&p, r#"{"version": 99}"#).unwrap();
        assert_eq!(st.member(8), None);
        assert_eq!(st.members().len(), 1);
        // The operator's choices: written, read back, removed when empty.
        let mut o = OperatorRecord {
            version: RECORD_VERSION,
            aggregate: "aggr1".into(),
            disabled: ["eth7".to_string()].into(),
            active: Some("eth8".into()),
        };
        st.write_operator(&o).unwrap();
        assert_eq!(st.operator("aggr1"), Some(o.clone()));
        assert_eq!(st.operator_records(), vec!["aggr1".to_string()]);
        o.disabled.clear();
        o.active = None;
        st.write_operator(&o).unwrap();
        assert_eq!(st.operator("aggr1"), None);
        st.remove_member(7).unwrap();
        st.remove_aggregate("aggr1").unwrap();
        assert_eq!(st.member(7), None);
        assert!(st.aggregates().is_empty());
        drop(st);
        assert!(StateDir::open(&base).is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
