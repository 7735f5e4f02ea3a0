//! The engine: every running aggregation, the timer thread, the link monitor thread, the
//! control requests, reload and shutdown.
//!
//! Locking: the engine state mutex is taken first, an aggregation's adapter mutex second; the
//! forwarder threads take only adapter mutexes. Nobody holds an adapter mutex while calling the
//! forwarder's `add_member`/`remove_member`/`stop`.

mod carrier;
mod metrics_text;
mod operator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;

use lagd_dataplane::{Epoll, Events, Interest, LinkEvent, LinkMonitor, Netlink, monotonic_now};
use lagd_types::PortNumber;

use crate::adapter::{EngineMsg, Reporter};
use crate::aggregate::{Aggr, AggrError, link_status};
use crate::config::{AggrSettings, AggrSpec, Config, ConfigError, LinkEnv, Syntax};
use crate::control::proto::{
    AggrStatus, ErrorKind, LinkStats, PROTOCOL_VERSION, Reply, Request, Response,
};
use crate::control::server::Handler;
use crate::events::EventLog;
use crate::sync::lock;

/// The longest the timer thread sleeps without looking (a safety net; deadlines are exact).
const MAX_SLEEP: StdDuration = StdDuration::from_secs(1);
/// How long a graceful removal may take before the member is removed anyway.
const DRAIN_LIMIT: StdDuration = StdDuration::from_secs(10);

/// A refused request: the kind and a message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct OpError {
    /// Class.
    pub kind: ErrorKind,
    /// Message.
    pub message: String,
    /// For [`ErrorKind::WouldGoDown`]: why, with fixes.
    pub findings: Vec<lagd_agg::diagnose::Finding>,
}

fn op(kind: ErrorKind, message: impl Into<String>) -> OpError {
    OpError {
        kind,
        message: message.into(),
        findings: Vec::new(),
    }
}

impl From<ConfigError> for OpError {
    fn from(e: ConfigError) -> Self {
        // Requests come from the command line: speak its language.
        op(ErrorKind::InvalidConfig, e.render(Syntax::Cli))
    }
}

impl From<AggrError> for OpError {
    fn from(e: AggrError) -> Self {
        match e {
            AggrError::System { .. } | AggrError::Offload(_) => {
                op(ErrorKind::System, e.to_string())
            }
            AggrError::Protocol(m) => op(ErrorKind::InvalidConfig, m),
        }
    }
}

/// Checks interface names with rtnetlink in the daemon's network namespace.
struct NetlinkLinks(Mutex<Option<Netlink>>);

impl NetlinkLinks {
    fn new() -> Self {
        NetlinkLinks(Mutex::new(Netlink::open().ok()))
    }
}

impl NetlinkLinks {
    /// Refuses, before anything changes, the members that cannot be Ethernet links (`lo`, a
    /// TAP such as an aggregate, a bridge, a port of a bridge, ...: see
    /// [`lagd_dataplane::eligibility`]).
    fn check_members(&self, resolved: &[crate::config::Resolved]) -> Result<(), OpError> {
        let mut guard = lock(&self.0);
        let Some(nl) = guard.as_mut() else {
            return Ok(());
        };
        for r in resolved {
            for link in &r.links {
                if let Ok(Err(why)) = lagd_dataplane::eligibility::check(nl, link) {
                    return Err(op(
                        ErrorKind::InvalidConfig,
                        format!("aggregation `{}`: links: {why}", r.name),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl LinkEnv for NetlinkLinks {
    fn link_exists(&self, name: &str) -> bool {
        match lock(&self.0).as_mut() {
            Some(nl) => nl.link_by_name(name).is_ok(),
            None => crate::config::SysfsLinks.link_exists(name),
        }
    }
    fn link_names(&self) -> Vec<String> {
        crate::config::SysfsLinks.link_names()
    }
}

struct State {
    /// The configuration file as last read or written.
    persistent: Config,
    /// The file's text as lagd last read or wrote it (`None`: no file): a write-back never
    /// overwrites an edit made on disk since ([`crate::config::edited_on_disk`]).
    on_disk: Option<String>,
    /// The `[dt]` table in force (read at start-up or by `create-dt-domain`; a reload does
    /// not restart Distributed Trunking, it says what waits for the next start).
    dt_in_force: Option<crate::config::DtSpec>,
    /// Running aggregations by name.
    aggrs: BTreeMap<String, Aggr>,
}

/// The daemon's engine.
pub(crate) struct Engine {
    state: Mutex<State>,
    log: Arc<EventLog>,
    reporter: Reporter,
    rx: Mutex<Option<Receiver<EngineMsg>>>,
    config_path: PathBuf,
    socket_path: PathBuf,
    next_id: AtomicU64,
    stopping: AtomicBool,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// When the timer thread last went round its loop (monotonic ns): its liveness.
    timer_beat: AtomicU64,
    /// Distributed Trunking runtime, when `[dt]` is configured.
    dt: Mutex<Option<crate::dt::DtRuntime>>,
    /// This engine, for the DT runtime (which must not keep it alive).
    me: std::sync::Weak<Engine>,
    /// The records that make a crash or a restart lose nothing (`crate::state`).
    state_dir: Arc<crate::state::StateDir>,
    /// The Prometheus endpoint (`[daemon] prometheus`) and the address it was configured as.
    metrics: Mutex<Option<(String, crate::metrics::Endpoint)>>,
}

impl Engine {
    /// A new engine with no aggregation yet.
    pub(crate) fn new(
        config_path: &Path,
        socket_path: &Path,
        history: usize,
        state_dir: Arc<crate::state::StateDir>,
    ) -> Arc<Engine> {
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(EventLog::new(history));
        Arc::new_cyclic(|me| Engine {
            me: me.clone(),
            state: Mutex::new(State {
                persistent: Config::default(),
                on_disk: None,
                dt_in_force: None,
                aggrs: BTreeMap::new(),
            }),
            reporter: Reporter {
                log: log.clone(),
                tx,
                sleeping_until: Arc::new(AtomicU64::new(0)),
            },
            log,
            rx: Mutex::new(Some(rx)),
            config_path: config_path.to_path_buf(),
            socket_path: socket_path.to_path_buf(),
            next_id: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            timer_beat: AtomicU64::new(monotonic_now().as_nanos()),
            dt: Mutex::new(None),
            state_dir,
            metrics: Mutex::new(None),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn daemon_event(&self, aggregate: &str, message: String) {
        tracing::info!(aggregate, "{message}");
        self.log.push(
            monotonic_now().as_nanos(),
            aggregate,
            None,
            message,
            serde_json::Value::Null,
        );
    }

    /// Applies `config` (read from the file's text `on_disk`, `None`: no file) at startup. On
    /// error every aggregation started so far is stopped (members restored) and the error
    /// returned.
    pub(crate) fn start(
        self: &Arc<Self>,
        config: Config,
        on_disk: Option<String>,
    ) -> Result<(), OpError> {
        let links = NetlinkLinks::new();
        // A configured member that does not exist yet does not stop lagd: its aggregation
        // starts without it and takes it over when it appears (hot-plug).
        let resolved = config.validate(&crate::config::AnyLinks)?;
        links.check_members(&resolved)?;
        {
            let mut st = self.state();
            for (spec, r) in config.aggregations.iter().zip(resolved) {
                match self.start_aggr(spec.clone(), r) {
                    Ok(a) => {
                        st.aggrs.insert(a.resolved.name.clone(), a);
                    }
                    Err(mut e) => {
                        for (_, a) in std::mem::take(&mut st.aggrs) {
                            if let Err(f) = a.stop() {
                                e.message = format!("{}; {f}", e.message);
                            }
                        }
                        return Err(e);
                    }
                }
            }
            st.dt_in_force = config.dt.clone();
            st.on_disk = on_disk;
            st.persistent = config;
            self.clean_up_leftovers(&st);
        }
        self.spawn_threads()?;
        let dt = self.state().persistent.dt.clone();
        match dt {
            Some(spec) => self.dt_start(&spec),
            None => Ok(()),
        }
    }

    /// Records of a previous lagd that no running aggregation claimed: members restored from
    /// them, TAPs removed.
    fn clean_up_leftovers(&self, st: &State) {
        // Kernel fast paths pinned for aggregations no longer configured go first: their
        // receive programs would hold on to members about to be restored.
        if let Some(root) = self.state_dir.existing_pin_root() {
            for (name, dir) in crate::state::StateDir::pinned(&root) {
                if !st.aggrs.contains_key(&name) {
                    crate::offload::Offload::unpin(&dir);
                    self.daemon_event(
                        &name,
                        "start-up: kernel fast path pinned by a previous lagd removed (no longer configured)".into(),
                    );
                }
            }
        }
        for name in self.state_dir.operator_records() {
            if !st.aggrs.contains_key(&name) {
                let _ = self.state_dir.remove_operator(&name);
                self.daemon_event(
                    &name,
                    "start-up: operator choices of an aggregation no longer configured forgotten"
                        .into(),
                );
            }
        }
        for name in self.state_dir.drop_unclaimed() {
            self.daemon_event(
                &name,
                "start-up: handed over by the previous image, but no longer configured".into(),
            );
        }
        let members: std::collections::BTreeSet<u32> = st
            .aggrs
            .values()
            .flat_map(|a| a.members.values().map(|m| m.member.ifindex()))
            .collect();
        let aggrs = st.aggrs.keys().cloned().collect();
        for msg in crate::takeover::clean_up_leftovers(&self.state_dir, &members, &aggrs) {
            self.daemon_event("-", format!("start-up: {msg}"));
        }
    }

    fn spawn_threads(self: &Arc<Self>) -> Result<(), OpError> {
        let rx = lock(&self.rx)
            .take()
            .ok_or_else(|| op(ErrorKind::Internal, "engine started twice"))?;
        let me = self.clone();
        let timer = std::thread::Builder::new()
            .name("lagd-timer".into())
            .spawn(move || me.run_timers(rx))
            .map_err(|e| op(ErrorKind::System, format!("spawning the timer thread: {e}")))?;
        let me = self.clone();
        let links = std::thread::Builder::new()
            .name("lagd-links".into())
            .spawn(move || me.run_link_monitor())
            .map_err(|e| op(ErrorKind::System, format!("spawning the link thread: {e}")))?;
        lock(&self.threads).extend([timer, links]);
        Ok(())
    }

    fn start_aggr(&self, spec: AggrSpec, r: crate::config::Resolved) -> Result<Aggr, OpError> {
        self.start_aggr_keeping(spec, r, crate::aggregate::Kept::default())
    }

    /// [`Engine::start_aggr`] with what a previous instance kept (its TAP and members).
    fn start_aggr_keeping(
        &self,
        spec: AggrSpec,
        r: crate::config::Resolved,
        kept: crate::aggregate::Kept,
    ) -> Result<Aggr, OpError> {
        let _span = crate::logging::aggr_span(&r.name).entered();
        if self.state_dir.aggregate(&r.name).is_none() && NetlinkLinks::new().link_exists(&r.name) {
            return Err(op(
                ErrorKind::AlreadyExists,
                format!(
                    "aggregation `{}`: an interface named `{}` already exists",
                    r.name, r.name
                ),
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let name = r.name.clone();
        let links = r.links.join(", ");
        let again = kept.tap.is_some() || !kept.members.is_empty();
        let a = Aggr::start(
            id,
            spec,
            r,
            self.reporter.clone(),
            self.state_dir.clone(),
            kept,
        )
        .map_err(|e| {
            let e = OpError::from(e);
            op(e.kind, format!("aggregation `{name}`: {}", e.message))
        })?;
        if !again {
            self.daemon_event(&name, format!("aggregation created with members {links}"));
            if let Some(rec) = self.state_dir.operator(&name) {
                let mut kept: Vec<String> = rec
                    .disabled
                    .iter()
                    .map(|l| format!("{l} disabled"))
                    .collect();
                kept.extend(rec.active.iter().map(|l| format!("{l} chosen active")));
                self.daemon_event(
                    &name,
                    format!("operator choices kept from before: {}", kept.join(", ")),
                );
            }
        }
        let _ = self.reporter.tx.send(EngineMsg::Wake);
        Ok(a)
    }

    /// A planned restart (`crate::handover`): every aggregation handed over to the next image
    /// of this process, whose descriptors are recorded in the state directory. Control
    /// requests are refused from here on. Refused (nothing changed) while Distributed
    /// Trunking runs: its peer protocol is not handed over.
    pub(crate) fn hand_over(&self) -> Result<(), OpError> {
        if lock(&self.dt).is_some() {
            return Err(op(
                ErrorKind::System,
                "a restart that keeps the aggregations is not available with Distributed Trunking (its peer protocol restarts); stop and start lagd instead",
            ));
        }
        self.stopping.store(true, Ordering::SeqCst);
        let mut st = self.state();
        let mut aggregates = Vec::new();
        for a in st.aggrs.values_mut() {
            let _span = crate::logging::aggr_span(&a.resolved.name).entered();
            aggregates.push(a.hand_over(crate::handover::QUIESCE_LIMIT)?);
        }
        let rec = crate::state::HandoverRecord {
            version: crate::state::RECORD_VERSION,
            pid: std::process::id(),
            aggregates,
        };
        self.state_dir
            .write_handover(&rec)
            .map_err(|e| op(ErrorKind::System, e.to_string()))?;
        let _ = std::fs::remove_file(&self.socket_path);
        Ok(())
    }

    /// Stops everything: forwarders, members restored, TAPs removed, socket removed. Members
    /// that could not be restored are returned (and were logged as errors).
    pub(crate) fn shutdown(&self) -> Result<(), Vec<crate::aggregate::RestoreFailed>> {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.reporter.tx.send(EngineMsg::Stop);
        if let Some(rt) = lock(&self.dt).take() {
            rt.stop();
        }
        let aggrs = std::mem::take(&mut self.state().aggrs);
        let mut failed = Vec::new();
        for (name, a) in aggrs {
            let _span = crate::logging::aggr_span(&name).entered();
            match a.stop() {
                Ok(()) => tracing::info!(aggregate = %name, "removed"),
                Err(e) => failed.push(e),
            }
        }
        let threads: Vec<_> = lock(&self.threads).drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket_path);
        if let Some(root) = self.state_dir.existing_pin_root() {
            crate::state::StateDir::remove_pin_root_if_empty(&root);
        }
        self.state_dir.remove_if_empty();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed)
        }
    }

    /// The running configuration (every running aggregation, name order).
    fn running(st: &State) -> Config {
        Config {
            daemon: st.persistent.daemon.clone(),
            dt: st.dt_in_force.clone(),
            aggregations: st.aggrs.values().map(|a| a.spec.clone()).collect(),
        }
    }

    /// Validates the running configuration with `name` replaced by `spec` (or removed).
    fn check(
        st: &State,
        name: &str,
        spec: Option<&AggrSpec>,
    ) -> Result<crate::config::Resolved, OpError> {
        let mut c = Self::running(st);
        c.aggregations.retain(|a| a.name != name);
        if let Some(s) = spec {
            c.aggregations.push(s.clone());
        }
        let links = NetlinkLinks::new();
        let resolved = c.validate(&links)?;
        links.check_members(&resolved)?;
        let mut r = resolved
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| op(ErrorKind::Internal, "validated aggregation vanished"))?;
        // Distributed Trunking numbers the ports; keep the running base.
        r.port_base = st.aggrs.get(name).map_or(0, |a| a.resolved.port_base);
        Ok(r)
    }

    /// Writes the persistent configuration (after a non-temporary change), unless the file
    /// was edited on disk meanwhile (checked before the change too: [`Engine::file_unchanged`]).
    fn persist(&self, st: &mut State, done: String) -> Result<String, OpError> {
        if let Err(e) = self.file_unchanged(st) {
            return Err(op(
                ErrorKind::Persist,
                format!("{done}, but the change was not saved: {}", e.message),
            ));
        }
        let text = st.persistent.write_atomic(&self.config_path).map_err(|e| {
            op(
                ErrorKind::Persist,
                format!("{done}, but the change was not saved: {e}"),
            )
        })?;
        st.on_disk = Some(text);
        Ok(done)
    }

    /// Refuses a change that would be written back over an edit made to the file on disk
    /// since lagd last read or wrote it (the edit would be lost without a word). An edit of
    /// comments or layout only is no conflict: the write-back keeps it.
    fn file_unchanged(&self, st: &State) -> Result<(), OpError> {
        let path = self.config_path.display();
        let now = crate::config::file::read(&self.config_path)
            .map_err(|e| op(ErrorKind::Persist, format!("{path}: {e}")))?;
        match crate::config::edited_on_disk(st.on_disk.as_deref(), now.as_deref()) {
            None => Ok(()),
            Some(what) => Err(op(
                ErrorKind::FileChanged,
                format!(
                    "{path} {what} on disk since lagd read it; writing this change back would overwrite that edit, so nothing changed: run `lagctl reload` first to apply the file, or make the change temporary (-t)"
                ),
            )),
        }
    }

    /// Whether `req` is a change that will be written back to the file.
    fn saves(st: &State, req: &Request) -> bool {
        let file_has = |name: &str| st.persistent.get(name).is_some();
        match req {
            Request::CreateAggr { temporary, .. } | Request::CreateDtDomain { temporary, .. } => {
                !*temporary
            }
            Request::DeleteAggr { name, temporary }
            | Request::AddLinks {
                name, temporary, ..
            }
            | Request::RemoveLinks {
                name, temporary, ..
            }
            | Request::ModifyAggr {
                name, temporary, ..
            } => !*temporary && file_has(name),
            _ => false,
        }
    }

    fn create(&self, spec: AggrSpec, temporary: bool) -> Result<String, OpError> {
        let mut st = self.state();
        if st.aggrs.contains_key(&spec.name) {
            return Err(op(
                ErrorKind::AlreadyExists,
                format!("aggregation `{}` already exists", spec.name),
            ));
        }
        let r = Self::check(&st, &spec.name, Some(&spec))?;
        // A new aggregation starts without the choices made for an earlier one of its name.
        let _ = self.state_dir.remove_operator(&spec.name);
        let a = self.start_aggr(spec.clone(), r)?;
        let name = spec.name.clone();
        st.aggrs.insert(name.clone(), a);
        let done = format!("aggregation `{name}` created");
        if temporary {
            return Ok(done);
        }
        st.persistent.aggregations.retain(|a| a.name != name);
        st.persistent.aggregations.push(spec);
        self.persist(&mut st, done)
    }

    fn delete(&self, name: &str, temporary: bool) -> Result<String, OpError> {
        let mut st = self.state();
        let a = st.aggrs.remove(name).ok_or_else(|| not_found(name))?;
        if let Err(e) = a.stop() {
            self.daemon_event(name, format!("aggregation deleted, but {e}"));
            return Err(op(
                ErrorKind::System,
                format!("aggregation deleted, but {e}"),
            ));
        }
        self.daemon_event(name, "aggregation deleted, members restored".into());
        if let Err(e) = self.state_dir.remove_operator(name) {
            tracing::warn!(aggregate = %name, "operator record: {e}");
        }
        let done = format!("aggregation `{name}` deleted");
        if temporary || st.persistent.get(name).is_none() {
            return Ok(done);
        }
        st.persistent.aggregations.retain(|a| a.name != name);
        self.persist(&mut st, done)
    }

    fn add_links(
        &self,
        name: &str,
        links: &[String],
        force: bool,
        temporary: bool,
    ) -> Result<String, OpError> {
        if links.is_empty() {
            return Err(op(ErrorKind::BadRequest, "no link given"));
        }
        let mut st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        let mut spec = a.spec.clone();
        for l in links {
            if a.port_of(l).is_some() {
                return Err(op(
                    ErrorKind::AlreadyExists,
                    format!("link `{l}` is already a member of aggregation `{name}`"),
                ));
            }
            spec.links.push(l.clone());
        }
        let r = Self::check(&st, name, Some(&spec))?;
        let a = st.aggrs.get_mut(name).ok_or_else(|| not_found(name))?;
        let mut added = Vec::new();
        for l in links {
            match a.add_link(l, force) {
                Ok(p) => added.push(p),
                Err(e) => {
                    for p in added {
                        a.remove_port(p);
                    }
                    return Err(e.into());
                }
            }
        }
        a.spec = spec;
        a.resolved = r;
        let done = format!("added {} to aggregation `{name}`", links.join(", "));
        self.daemon_event(name, done.clone());
        if temporary {
            return Ok(done);
        }
        let Some(p) = st
            .persistent
            .aggregations
            .iter_mut()
            .find(|s| s.name == name)
        else {
            return Ok(format!("{done} (temporary aggregation: not saved)"));
        };
        for l in links {
            if !p.links.contains(l) {
                p.links.push(l.clone());
            }
        }
        self.persist(&mut st, done)
    }

    fn remove_links(
        &self,
        name: &str,
        links: &[String],
        graceful: bool,
        temporary: bool,
    ) -> Result<String, OpError> {
        if links.is_empty() {
            return Err(op(ErrorKind::BadRequest, "no link given"));
        }
        let ports = {
            let mut st = self.state();
            let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
            let mut ports = Vec::new();
            let mut spec = a.spec.clone();
            for l in links {
                let p = a.port_of(l).ok_or_else(|| {
                    op(
                        ErrorKind::NotFound,
                        format!("link `{l}` is not a member of aggregation `{name}`"),
                    )
                })?;
                ports.push(p);
                spec.links.retain(|x| x != l);
                spec.port.remove(l);
            }
            let r = Self::check(&st, name, Some(&spec))?;
            let a = st.aggrs.get_mut(name).ok_or_else(|| not_found(name))?;
            for p in &ports {
                if graceful {
                    a.drain_port(*p)?;
                } else {
                    a.remove_port(*p);
                }
            }
            a.spec = spec;
            a.resolved = r;
            if !temporary
                && let Some(p) = st
                    .persistent
                    .aggregations
                    .iter_mut()
                    .find(|s| s.name == name)
            {
                p.links.retain(|x| !links.contains(x));
                for l in links {
                    p.port.remove(l);
                }
            }
            ports
        };
        // Wait (without the lock) until the timer thread has released the drained members.
        let deadline = std::time::Instant::now() + DRAIN_LIMIT;
        loop {
            let mut st = self.state();
            let Some(a) = st.aggrs.get_mut(name) else {
                break;
            };
            let left: Vec<_> = ports
                .iter()
                .copied()
                .filter(|p| a.members.contains_key(p))
                .collect();
            if left.is_empty() {
                break;
            }
            if std::time::Instant::now() >= deadline {
                for p in left {
                    tracing::warn!(
                        aggregate = name,
                        port = p,
                        "drain did not finish: removing now"
                    );
                    a.remove_port(p);
                }
                break;
            }
            drop(st);
            std::thread::sleep(StdDuration::from_millis(10));
        }
        let done = format!(
            "removed {} from aggregation `{name}`{}",
            links.join(", "),
            if graceful { " (drained first)" } else { "" }
        );
        self.daemon_event(name, done.clone());
        if temporary {
            return Ok(done);
        }
        let mut st = self.state();
        if st.persistent.get(name).is_none() {
            return Ok(done);
        }
        self.persist(&mut st, done)
    }

    fn modify(
        &self,
        name: &str,
        changes: &AggrSettings,
        temporary: bool,
        force: bool,
    ) -> Result<String, OpError> {
        let mut st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        for l in changes.port.keys() {
            if a.port_of(l).is_none() {
                return Err(op(
                    ErrorKind::NotFound,
                    format!("link `{l}` is not a member of aggregation `{name}`"),
                ));
            }
        }
        let spec = a.spec.with_changes(changes);
        let r = Self::check(&st, name, Some(&spec))?;
        let what = crate::changes::describe(&a.resolved, &r);
        let what = if what.is_empty() {
            "no setting in force changed".to_string()
        } else {
            what.join(", ")
        };
        let down = a.consequences(&r);
        if !down.is_empty() && !force {
            return Err(OpError {
                kind: ErrorKind::WouldGoDown,
                message: format!(
                    "{what} on {name} would take {name} down: {}; nothing changed (--force applies it anyway)",
                    down[0].problem
                ),
                findings: down,
            });
        }
        let was_up = lock(&a.adapter).agg.is_up();
        self.apply_spec(&mut st, spec, r)?;
        let outcome = outcome(name, was_up, &down);
        let done = format!("{what} on {name}; {outcome}");
        self.daemon_event(name, done.clone());
        if temporary {
            return Ok(done);
        }
        let Some(p) = st
            .persistent
            .aggregations
            .iter_mut()
            .find(|s| s.name == name)
        else {
            return Ok(format!("{done} (temporary aggregation: not saved)"));
        };
        *p = p.with_changes(changes);
        self.persist(&mut st, done)
    }

    /// Brings running aggregation `spec.name` to `spec` (validated as `r`): members added and
    /// removed (at once), everything else applied live, the MTU included (nothing re-creates
    /// the aggregate: its addresses and routes stay).
    fn apply_spec(
        &self,
        st: &mut State,
        spec: AggrSpec,
        r: crate::config::Resolved,
    ) -> Result<(), OpError> {
        let name = spec.name.clone();
        let a = st.aggrs.get_mut(&name).ok_or_else(|| not_found(&name))?;
        // The MTU changes in place (the aggregate keeps its addresses and routes); `force`
        // only matters to members taken over from now on.
        a.set_mtu(r.mtu)?;
        let removed: Vec<PortNumber> = a
            .members
            .iter()
            .map(|(p, m)| (p, &m.name))
            .chain(a.absent.iter())
            .filter(|(_, n)| !spec.links.contains(n))
            .map(|(p, _)| *p)
            .collect();
        for p in removed {
            a.remove_port(p);
        }
        let current: Vec<String> = a
            .members
            .values()
            .map(|m| m.name.clone())
            .chain(a.absent.values().cloned())
            .collect();
        for l in spec.links.iter().filter(|l| !current.contains(l)) {
            a.add_link(l, false)?;
        }
        a.reconfigure(spec, r)?;
        Ok(())
    }

    /// [`Engine::reload`] as the service manager sees it: `RELOADING=1` before, `READY=1` and
    /// the outcome as `STATUS=` after (`crate::notify`), the outcome logged.
    pub(crate) fn reload_reported(&self, delete_all: bool) -> Result<String, OpError> {
        crate::notify::reloading();
        tracing::info!("reloading {}", self.config_path.display());
        let r = self.reload(delete_all);
        match &r {
            Ok(m) => {
                tracing::info!("{m}");
                crate::notify::ready(&format!("running; {m}"));
            }
            Err(e) => {
                tracing::error!("reload refused or incomplete: {e}");
                crate::notify::ready(&format!("running; reload failed: {e}"));
            }
        }
        r
    }

    /// Liveness of every thread that must run: the timer thread and each aggregation's
    /// forwarding threads and micro-BFD thread (for `crate::supervise`).
    pub(crate) fn health(&self) -> Health {
        let st = self.state();
        let forwarders = st
            .aggrs
            .iter()
            .map(|(n, a)| (n.clone(), a.forwarder.health()))
            .collect();
        let bfd = st
            .aggrs
            .iter()
            .filter_map(|(n, a)| Some((n.clone(), a.bfd_health()?)))
            .collect();
        Health {
            stopping: self.stopping.load(Ordering::SeqCst),
            timer_beat_ns: self.timer_beat.load(Ordering::Relaxed),
            forwarders,
            bfd,
        }
    }

    fn test_fault(&self, name: &str, thread: &str, fault: &str) -> Result<String, OpError> {
        use lagd_dataplane::{Fault, ForwarderThread};
        let t = match thread {
            "tx" => Some(ForwarderThread::Tx),
            "rx" => Some(ForwarderThread::Rx),
            "bfd" => None,
            _ => return Err(op(ErrorKind::BadRequest, "thread: tx, rx or bfd")),
        };
        let f = match fault {
            "exit" => Fault::Exit,
            "stall" => Fault::Stall,
            "panic" => Fault::Panic,
            "none" => Fault::None,
            _ => {
                return Err(op(
                    ErrorKind::BadRequest,
                    "fault: exit, stall, panic or none",
                ));
            }
        };
        let st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        match t {
            Some(t) => a.forwarder.inject_fault(t, f),
            None if a.inject_bfd_fault(f) => {}
            None => {
                return Err(op(
                    ErrorKind::BadRequest,
                    format!("`{name}` runs no micro-BFD thread (micro-BFD is off)"),
                ));
            }
        }
        tracing::warn!(aggregate = name, "test fault injected: {thread} {fault}");
        Ok(format!("fault {fault} injected into {thread} of `{name}`"))
    }

    /// SIGHUP: reads the configuration file again and applies what changed in it since lagd
    /// last read it (or wrote it back).
    ///
    /// - A file that does not parse or validate changes nothing (the error says why); nor does
    ///   an empty or missing file while aggregations of the file run, unless `delete_all`.
    /// - Every aggregation of the file is made what the file says: changed, created or
    ///   deleted; temporary (`-t`) changes to them are undone (the answer names them).
    /// - Temporary aggregations (created with `-t`) are not the file's: they stay, unless the
    ///   file now has one of the same name, which then takes it over.
    /// - `[daemon]` is applied (the Prometheus endpoint moved, the event history resized);
    ///   `[dt]` is not (Distributed Trunking restarts only with lagd): the answer names the
    ///   `[dt]` keys that wait for the next start.
    pub(crate) fn reload(&self, delete_all: bool) -> Result<String, OpError> {
        let path = self.config_path.display().to_string();
        let (config, text) = Config::load_text(&self.config_path)?;
        // The file on its own first (its `[dt]` included).
        config.validate(&crate::config::AnyLinks)?;
        let mut st = self.state();
        let old = st.persistent.clone();
        let of_file: Vec<String> = st
            .aggrs
            .keys()
            .filter(|n| old.get(n).is_some())
            .cloned()
            .collect();
        if config.aggregations.is_empty() && !of_file.is_empty() && !delete_all {
            let what = match &text {
                None => "is missing",
                Some(t) if t.trim().is_empty() => "is empty",
                Some(_) => "has no aggregation",
            };
            return Err(op(
                ErrorKind::InvalidConfig,
                format!(
                    "{path} {what}: reloading it would delete {}; nothing changed (`lagctl reload --delete-all` deletes them)",
                    of_file.join(", ")
                ),
            ));
        }
        // Temporary aggregations stay: validated with the file, so the file cannot take their
        // links.
        let temporaries: Vec<AggrSpec> = st
            .aggrs
            .values()
            .filter(|a| old.get(&a.spec.name).is_none() && config.get(&a.spec.name).is_none())
            .map(|a| a.spec.clone())
            .collect();
        // With the `[dt]` in force: what will run.
        let mut whole = config.clone();
        whole.dt = st.dt_in_force.clone();
        whole.aggregations.extend(temporaries.iter().cloned());
        // Members that do not exist (yet) are taken over when they appear, as at start-up.
        let resolved = whole.validate(&crate::config::AnyLinks).map_err(|e| {
            let mut e = OpError::from(e);
            if !temporaries.is_empty() {
                let names: Vec<&str> = temporaries.iter().map(|t| t.name.as_str()).collect();
                e.message = format!(
                    "{} (with the temporary aggregations, which a reload keeps: {})",
                    e.message,
                    names.join(", ")
                );
            }
            if config.dt != st.dt_in_force {
                e.message = format!(
                    "{} (with the [dt] in force: a reload does not restart Distributed Trunking; restart lagd for the file's [dt])",
                    e.message
                );
            }
            e
        })?;
        NetlinkLinks::new().check_members(&resolved)?;
        // What the file asks for, by name (the temporaries are not the file's).
        let wanted: BTreeMap<String, (AggrSpec, crate::config::Resolved)> = config
            .aggregations
            .iter()
            .cloned()
            .zip(resolved)
            .map(|(s, r)| (s.name.clone(), (s, r)))
            .collect();
        let mut undone = Vec::new();
        let mut todo = Vec::new();
        for (n, (spec, r)) in wanted {
            let unchanged = old.get(&n) == Some(&spec);
            match st.aggrs.get(&n) {
                Some(a) if a.spec == spec => continue,
                Some(_) if unchanged => undone.push(format!("{n} (changed with -t)")),
                None if unchanged => undone.push(format!("{n} (deleted with -t)")),
                _ => {}
            }
            todo.push((n, spec, r));
        }
        let mut first_error = None;
        // What the reload did to each aggregation, for the answer (the events say it too).
        let mut done: Vec<String> = Vec::new();
        // Deletions first (they free links), then changes, then creations.
        let gone: Vec<String> = of_file
            .into_iter()
            .filter(|n| config.get(n).is_none())
            .collect();
        for n in gone {
            if let Some(a) = st.aggrs.remove(&n) {
                let _span = crate::logging::aggr_span(&n).entered();
                let _ = self.state_dir.remove_operator(&n);
                done.push(format!("{n} deleted"));
                match a.stop() {
                    Ok(()) => self.daemon_event(&n, "aggregation deleted (reload)".into()),
                    Err(e) => {
                        self.daemon_event(&n, format!("aggregation deleted (reload), but {e}"))
                    }
                }
            }
        }
        // Links leaving an aggregation before any is added elsewhere.
        for (n, spec, _) in &todo {
            if let Some(a) = st.aggrs.get_mut(n) {
                let _span = crate::logging::aggr_span(n).entered();
                let leaving: Vec<PortNumber> = a
                    .members
                    .iter()
                    .map(|(p, m)| (p, &m.name))
                    .chain(a.absent.iter())
                    .filter(|(_, n)| !spec.links.contains(n))
                    .map(|(p, _)| *p)
                    .collect();
                for p in leaving {
                    a.remove_port(p);
                }
            }
        }
        for (n, spec, mut r) in todo {
            let _span = crate::logging::aggr_span(&n).entered();
            r.port_base = st.aggrs.get(&n).map_or(0, |a| a.resolved.port_base);
            let result = match st.aggrs.get(&n) {
                Some(a) => {
                    // A reload is not refused, but a change that takes the aggregate down is
                    // said before it is applied.
                    let what = crate::changes::describe(&a.resolved, &r).join(", ");
                    let down = a.consequences(&r);
                    let was_up = lock(&a.adapter).agg.is_up();
                    for f in &down {
                        tracing::warn!(aggregate = %n, "reload: {what} takes {n} down: {}", f.problem);
                    }
                    self.apply_spec(&mut st, spec, r).map(|()| {
                        let outcome = outcome(&n, was_up, &down);
                        done.push(if what.is_empty() {
                            format!("{n} updated ({outcome})")
                        } else {
                            format!("{what} on {n} ({outcome})")
                        });
                        self.daemon_event(&n, format!("reload: {what} on {n}; {outcome}"))
                    })
                }
                None => self.start_aggr(spec, r).map(|a| {
                    st.aggrs.insert(n.clone(), a);
                    done.push(format!("{n} created"));
                }),
            };
            if let Err(e) = result {
                tracing::error!(aggregate = %n, "reload: {e}");
                first_error.get_or_insert(e);
            }
        }
        let mut said = done;
        if !temporaries.is_empty() {
            let names: Vec<&str> = temporaries.iter().map(|t| t.name.as_str()).collect();
            said.push(format!("temporary aggregations kept: {}", names.join(", ")));
        }
        if !undone.is_empty() {
            said.push(format!(
                "temporary changes undone, as the file has them: {}",
                undone.join(", ")
            ));
        }
        let dt = crate::config::dt_changes(st.dt_in_force.as_ref(), config.dt.as_ref());
        if !dt.is_empty() {
            said.push(format!(
                "[dt] {} changed: in force at the next start of lagd (Distributed Trunking is not restarted by a reload)",
                dt.join(", ")
            ));
        }
        let daemon = config.daemon.clone();
        st.persistent = config;
        st.on_disk = text;
        drop(st);
        match self.apply_daemon(&daemon) {
            Ok(changed) => said.extend(changed),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        let _ = self.reporter.tx.send(EngineMsg::Wake);
        if let Some(e) = first_error {
            return Err(e);
        }
        if said.is_empty() {
            return Ok("configuration reloaded".into());
        }
        let m = format!("configuration reloaded; {}", said.join("; "));
        self.daemon_event("-", m.clone());
        Ok(m)
    }

    /// Brings `[daemon]` into force: the event history's length, the Prometheus endpoint
    /// (the new address bound before the old one closes; the old one kept if the new one
    /// cannot be bound). Says what changed.
    pub(crate) fn apply_daemon(
        &self,
        d: &crate::config::DaemonConfig,
    ) -> Result<Vec<String>, OpError> {
        let mut said = Vec::new();
        let history = d.event_history.unwrap_or(crate::events::DEFAULT_HISTORY);
        if self.log.capacity() != history.max(1) {
            self.log.set_capacity(history);
            said.push(format!("[daemon] event_history = {history} in force"));
        }
        let mut slot = lock(&self.metrics);
        let now = slot.as_ref().map(|(a, _)| a.clone());
        if now == d.prometheus {
            return Ok(said);
        }
        let old = slot.take();
        let Some(addr) = d.prometheus.clone() else {
            if let Some((a, ep)) = old {
                ep.stop();
                tracing::info!("Prometheus endpoint {a} closed");
            }
            said.push("[daemon] prometheus off".into());
            return Ok(said);
        };
        let sock: std::net::SocketAddr = addr.parse().map_err(|e| {
            op(
                ErrorKind::InvalidConfig,
                format!("daemon: prometheus: {addr:?} is not an address:port ({e})"),
            )
        })?;
        // The same port on another address may conflict with the old socket: then the old one
        // goes first, and comes back if the new one cannot be bound.
        let bound = match crate::metrics::serve(sock, self.metrics_body()) {
            Ok(ep) => Ok((ep, old)),
            Err(e) => match old {
                Some((a, ep)) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    let prev = ep.local_addr();
                    ep.stop();
                    match crate::metrics::serve(sock, self.metrics_body()) {
                        Ok(ep) => Ok((ep, None)),
                        Err(e) => {
                            let back = crate::metrics::serve(prev, self.metrics_body()).ok();
                            Err((e, back.map(|ep| (a, ep))))
                        }
                    }
                }
                old => Err((e, old)),
            },
        };
        match bound {
            Ok((ep, old)) => {
                if let Some((_, o)) = old {
                    o.stop();
                }
                tracing::info!("Prometheus metrics on http://{addr}/metrics");
                *slot = Some((addr.clone(), ep));
                said.push(format!("[daemon] prometheus = {addr} in force"));
                Ok(said)
            }
            Err((e, old)) => {
                let still = match &old {
                    Some((a, _)) => format!("metrics still served on {a}"),
                    None => "no metrics endpoint".into(),
                };
                *slot = old;
                Err(op(
                    ErrorKind::System,
                    format!("Prometheus endpoint {addr}: {e}; {still}"),
                ))
            }
        }
    }

    /// Status of one or every aggregation (`ShowAggr`).
    pub(crate) fn show(&self, name: Option<&str>) -> Result<Vec<AggrStatus>, OpError> {
        let st = self.state();
        let status = |a: &Aggr| {
            let persistent = st.persistent.get(&a.spec.name);
            a.status(persistent != Some(&a.spec), persistent.cloned())
        };
        match name {
            Some(n) => {
                let a = st.aggrs.get(n).ok_or_else(|| not_found(n))?;
                Ok(vec![status(a)])
            }
            None => Ok(st.aggrs.values().map(status).collect()),
        }
    }

    /// Counters of one or every aggregation (`ShowLink`).
    pub(crate) fn show_link(&self, name: Option<&str>) -> Result<Vec<LinkStats>, OpError> {
        let st = self.state();
        match name {
            Some(n) => Ok(st.aggrs.get(n).ok_or_else(|| not_found(n))?.link_stats()),
            None => Ok(st.aggrs.values().flat_map(Aggr::link_stats).collect()),
        }
    }

    /// `Diagnose`: runs `lagd_agg::diagnose` on the aggregation, with each member's link
    /// facts and, for a distributed aggregation, the DT runtime's view.
    fn diagnose(&self, name: &str) -> Result<lagd_agg::diagnose::Diagnosis, OpError> {
        let distributed = {
            let st = self.state();
            st.aggrs
                .get(name)
                .ok_or_else(|| not_found(name))?
                .resolved
                .distributed
        };
        // The DT runtime's lock is not taken under the engine's (its thread takes them in
        // the other order).
        let dt = distributed.then(|| {
            lock(&self.dt)
                .as_ref()
                .and_then(crate::dt::DtRuntime::view)
                .map(|v| lagd_agg::diagnose::DtFacts {
                    status: v.status,
                    peer_link: v.peer_link,
                    keepalive: v.keepalive,
                    flood_control: v.peer_filter.mode == "flood control",
                    flooding: v.peer_filter.flooding,
                })
        });
        let st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        Ok(a.diagnose(dt))
    }

    fn state_dump(&self) -> Result<serde_json::Value, OpError> {
        let aggregations = self.show(None)?;
        let links = self.show_link(None)?;
        let persistent = self.state().persistent.clone();
        Ok(serde_json::json!({
            "daemon": {
                "version": env!("CARGO_PKG_VERSION"),
                "pid": std::process::id(),
                "config_file": self.config_path,
                "control_socket": self.socket_path,
                "now_ns": monotonic_now().as_nanos(),
            },
            "config": persistent,
            "aggregations": aggregations,
            "links": links,
            "events": self.log.recent(),
        }))
    }

    /// The timer thread: runs every due timer, then sleeps until the earliest deadline or a
    /// message.
    fn run_timers(self: Arc<Self>, rx: Receiver<EngineMsg>) {
        loop {
            self.timer_beat
                .store(monotonic_now().as_nanos(), Ordering::Relaxed);
            // While the pass runs, any new deadline wakes us again.
            self.reporter
                .sleeping_until
                .store(u64::MAX, Ordering::Relaxed);
            let now = monotonic_now();
            let mut next = now + lagd_types::Duration::from(MAX_SLEEP);
            {
                let mut st = self.state();
                for a in st.aggrs.values_mut() {
                    let _span = crate::logging::aggr_span(&a.resolved.name).entered();
                    a.sample_members();
                }
                for a in st.aggrs.values_mut() {
                    let _span = crate::logging::aggr_span(&a.resolved.name).entered();
                    let fired = {
                        let mut ad = lock(&a.adapter);
                        let due = ad.poll_timeout().is_some_and(|t| t <= now);
                        if due {
                            ad.handle_timeout(now);
                            ad.drain_events();
                        }
                        if let Some(t) = ad.poll_timeout() {
                            next = next.min(t);
                        }
                        due
                    };
                    if fired {
                        a.forwarder.wake();
                    }
                    a.save_state();
                }
            }
            self.reporter
                .sleeping_until
                .store(next.as_nanos(), Ordering::Relaxed);
            let wait: StdDuration = next.saturating_since(monotonic_now()).into();
            match rx.recv_timeout(wait) {
                Ok(EngineMsg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Ok(EngineMsg::Drained { id, port }) => self.on_drained(id, port),
                Ok(EngineMsg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// A graceful removal finished: release the member.
    fn on_drained(&self, id: u64, port: PortNumber) {
        let mut st = self.state();
        if let Some(a) = st.aggrs.values_mut().find(|a| a.id == id)
            && a.members.get(&port).is_some_and(|m| m.draining)
        {
            let _span = crate::logging::aggr_span(&a.resolved.name).entered();
            a.remove_port(port);
        }
    }

    /// The link monitor thread: member carrier changes go to the protocol at once, from the
    /// kernel's notifications and from a read of every member's carrier each `[daemon]
    /// carrier_poll` (the kernel may hold a notification back up to 1 s).
    fn run_link_monitor(self: Arc<Self>) {
        let setup = || -> lagd_dataplane::Result<(LinkMonitor, Epoll)> {
            let mon = LinkMonitor::open()?;
            let ep = Epoll::new()?;
            ep.add(std::os::fd::AsFd::as_fd(&mon), 0, Interest::Read)?;
            Ok((mon, ep))
        };
        let (mut mon, ep) = match setup() {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("link monitor unavailable, carrier changes are not seen: {e}");
                return;
            }
        };
        // Members were taken (and their carrier read) before this subscription existed: a
        // change in between (e.g. the peer bringing its end up) sent no event we can still
        // receive, so read every member once more now.
        self.resync_links();
        self.refresh_addresses(None);
        let mut events = Events::with_capacity(4);
        let mut batch = Vec::new();
        let mut bfd_refreshed = std::time::Instant::now();
        let mut poll = carrier::CarrierPoll::new();
        while !self.stopping.load(Ordering::SeqCst) {
            // Micro-BFD's source address follows the aggregate's IPv4 address.
            if bfd_refreshed.elapsed() >= StdDuration::from_secs(2) {
                bfd_refreshed = std::time::Instant::now();
                for a in self.state().aggrs.values() {
                    let _span = crate::logging::aggr_span(&a.resolved.name).entered();
                    a.refresh_bfd_source();
                }
            }
            if let Err(e) = ep.wait(&mut events, Some(poll.wait())) {
                tracing::warn!("link monitor wait: {e}");
                std::thread::sleep(StdDuration::from_millis(100));
                continue;
            }
            batch.clear();
            match mon.recv(&mut batch) {
                Ok(_) => {}
                Err(lagd_dataplane::Error::MonitorOverrun) => {
                    tracing::warn!("link monitor overrun: re-reading every member");
                    self.resync_links();
                    self.refresh_addresses(None);
                }
                Err(e) => tracing::warn!("link monitor: {e}"),
            }
            for ev in &batch {
                self.on_link_event(ev);
            }
            let changed = mon.take_address_changes();
            if !changed.is_empty() {
                self.refresh_addresses(Some(&changed));
            }
            // After the notifications read: one sent before a change the read sees is not
            // handled after it.
            self.poll_carriers(&mut poll);
        }
    }

    /// The aggregates' addresses changed (those whose interface index is in `changed`, or
    /// all): the switch-independent balancers learn them from the kernel.
    fn refresh_addresses(&self, changed: Option<&[u32]>) {
        let st = self.state();
        for a in st.aggrs.values() {
            if changed.is_none_or(|c| c.contains(&a.forwarder.tap().ifindex())) {
                a.refresh_local_addresses();
            }
        }
    }

    fn on_link_event(&self, ev: &LinkEvent) {
        let mut st = self.state();
        // A member's interface deleted (unplugged, driver unloaded): a failed link, taken over
        // again when an interface of that name appears.
        if ev.deleted {
            for a in st.aggrs.values_mut() {
                if let Some(port) = a.port_of_ifindex(ev.ifindex) {
                    let _span = crate::logging::aggr_span(&a.resolved.name).entered();
                    let name = a.members.get(&port).map(|m| m.name.clone());
                    a.member_gone(port);
                    let aggr = a.resolved.name.clone();
                    self.daemon_event(
                        &aggr,
                        format!(
                            "member {} deleted: handled as a failed link, taken over again when it appears",
                            name.unwrap_or_default()
                        ),
                    );
                    return;
                }
            }
            return;
        }
        for a in st.aggrs.values_mut() {
            let Some(port) = a.port_of_ifindex(ev.ifindex) else {
                continue;
            };
            let _span = crate::logging::aggr_span(&a.resolved.name).entered();
            if let Some(m) = a.members.get_mut(&port)
                && m.member.name() != ev.name
            {
                // Followed by its index: its sockets, records and settings are the index's.
                tracing::info!(member = %m.name, "member's interface renamed from {} to {}: followed", m.member.name(), ev.name);
                m.member.renamed(&ev.name);
            }
            let Some(m) = a.members.get(&port) else {
                return;
            };
            let known = a.known_link(port).is_some_and(|l| l.up);
            if (ev.up && ev.carrier) == known {
                return;
            }
            // A change: confirmed by a read of the link now, since a notification can be
            // older than a change the carrier poll already handled (linkwatch may send it
            // up to 1 s late).
            let mut nl = Netlink::open().ok();
            let up = nl
                .as_mut()
                .and_then(|nl| nl.link_by_index(ev.ifindex).ok())
                .map_or(ev.up && ev.carrier, |l| l.is_up() && l.carrier);
            if up == known {
                return;
            }
            let status = if up {
                link_status(nl.as_mut(), &m.member)
            } else {
                lagd_agg::lagd_lacp::LinkStatus::default()
            };
            tracing::info!(aggregate = %a.resolved.name, member = %m.name, up, "member carrier {}", if up { "up" } else { "down" });
            a.handle_link(port, status);
            if !up {
                a.carrier_losses += 1;
                if let Some(m) = a.members.get_mut(&port) {
                    m.carrier_losses += 1;
                }
            }
            return;
        }
        // An absent member's interface appeared (a late driver, a veth created after lagd).
        for a in st.aggrs.values_mut() {
            if let Some(port) = a.absent_port(&ev.name) {
                let aggr = a.resolved.name.clone();
                let _span = crate::logging::aggr_span(&aggr).entered();
                self.member_appeared(a, port, &ev.name, &aggr);
                return;
            }
        }
    }

    /// Takes absent member `name` of `a` over now that its interface exists.
    fn member_appeared(&self, a: &mut Aggr, port: PortNumber, name: &str, aggr: &str) {
        if let Ok(mut nl) = Netlink::open()
            && let Ok(Err(why)) = lagd_dataplane::eligibility::check(&mut nl, name)
        {
            tracing::error!(aggregate = %aggr, member = %name, "an interface of the member's name appeared, but it cannot be a member: {why}");
            return;
        }
        match a.member_appeared(port) {
            Ok(()) => self.daemon_event(
                aggr,
                format!("member {name} appeared: taken over, joining the aggregation"),
            ),
            Err(e) => {
                tracing::warn!(aggregate = %aggr, member = %name, "member appeared but could not be taken over: {e}");
            }
        }
    }

    fn resync_links(&self) {
        let mut st = self.state();
        let mut nl = Netlink::open().ok();
        for a in st.aggrs.values_mut() {
            let aggr = a.resolved.name.clone();
            let _span = crate::logging::aggr_span(&aggr).entered();
            let gone: Vec<PortNumber> = a
                .members
                .iter()
                .filter(|(_, m)| {
                    nl.as_mut().is_some_and(|nl| {
                        matches!(
                            nl.link_by_index(m.member.ifindex()),
                            Err(lagd_dataplane::Error::NoSuchInterface(_))
                        )
                    })
                })
                .map(|(p, _)| *p)
                .collect();
            for p in gone {
                a.member_gone(p);
            }
            let appeared: Vec<(PortNumber, String)> = a
                .absent
                .iter()
                .filter(|(_, n)| crate::takeover::link_present(n))
                .map(|(p, n)| (*p, n.clone()))
                .collect();
            for (p, n) in appeared {
                self.member_appeared(a, p, &n, &aggr);
            }
            for (port, m) in &a.members {
                let s = link_status(nl.as_mut(), &m.member);
                if a.known_link(*port).map(|l| l.up) != Some(s.up) {
                    a.handle_link(*port, s);
                }
            }
        }
    }

    fn dispatch(&self, req: Request) -> Result<Reply, OpError> {
        let done = |m: String| Reply::Done { message: m };
        {
            // Before anything changes: a change to be written back over an edit made on disk
            // is refused (and checked again at the write-back).
            let st = self.state();
            if Self::saves(&st, &req) {
                self.file_unchanged(&st)?;
            }
        }
        match req {
            Request::Ping => Ok(Reply::Pong {
                version: env!("CARGO_PKG_VERSION").to_string(),
                protocol: PROTOCOL_VERSION,
                pid: std::process::id(),
            }),
            Request::CreateAggr { spec, temporary } => self.create(spec, temporary).map(done),
            Request::DeleteAggr { name, temporary } => self.delete(&name, temporary).map(done),
            Request::AddLinks {
                name,
                links,
                force,
                temporary,
            } => self.add_links(&name, &links, force, temporary).map(done),
            Request::RemoveLinks {
                name,
                links,
                graceful,
                temporary,
            } => self
                .remove_links(&name, &links, graceful, temporary)
                .map(done),
            Request::ModifyAggr {
                name,
                changes,
                temporary,
                force,
            } => self.modify(&name, &changes, temporary, force).map(done),
            Request::ShowAggr { name } => self
                .show(name.as_deref())
                .map(|aggregations| Reply::Aggregations { aggregations }),
            Request::ShowLink { name } => self
                .show_link(name.as_deref())
                .map(|links| Reply::Links { links }),
            Request::StateDump => self.state_dump().map(|state| Reply::State { state }),
            Request::Diagnose { name } => self
                .diagnose(&name)
                .map(|diagnosis| Reply::Diagnosis { diagnosis }),
            Request::Events { .. } => Ok(Reply::Events {
                events: self.log.recent(),
            }),
            Request::ShowDt => Ok(Reply::Dt {
                status: lock(&self.dt)
                    .as_ref()
                    .and_then(crate::dt::DtRuntime::view)
                    .and_then(|v| serde_json::to_value(v).ok())
                    .unwrap_or(serde_json::Value::Null),
            }),
            Request::CreateDtDomain { spec, temporary } => {
                self.create_dt_domain(spec, temporary).map(done)
            }
            Request::Reload { delete_all } => self.reload_reported(delete_all).map(done),
            Request::TestFault {
                name,
                thread,
                fault,
            } => self.test_fault(&name, &thread, &fault).map(done),
            Request::DisableMembers { name, links, force } => {
                self.disable_members(&name, &links, force).map(done)
            }
            Request::EnableMembers { name, links } => self.enable_members(&name, &links).map(done),
            Request::ChooseActive { name, link } => self.choose_active(&name, &link).map(done),
            Request::ShowHash { name, flow } => self
                .hash_view(&name, flow.as_ref())
                .map(|hash| Reply::Hash { hash }),
        }
    }

    /// Starts the DT runtime for `spec` (Distributed Trunking, `docs/DT.md`).
    fn dt_start(&self, spec: &crate::config::DtSpec) -> Result<(), OpError> {
        let r = spec.resolve()?;
        let rt = crate::dt::DtRuntime::start(self.me.clone(), r)
            .map_err(|m| op(ErrorKind::System, format!("DT: {m}")))?;
        *lock(&self.dt) = Some(rt);
        self.daemon_event("dt", format!("DT domain {} started", spec.domain_id));
        Ok(())
    }

    fn create_dt_domain(
        &self,
        spec: crate::config::DtSpec,
        temporary: bool,
    ) -> Result<String, OpError> {
        if lock(&self.dt).is_some() {
            return Err(op(
                ErrorKind::AlreadyExists,
                "a DT domain is already running",
            ));
        }
        self.dt_start(&spec)?;
        let mut st = self.state();
        st.dt_in_force = Some(spec.clone());
        let done = format!("DT domain {} created", spec.domain_id);
        if temporary {
            return Ok(done);
        }
        st.persistent.dt = Some(spec);
        self.persist(&mut st, done)
    }

    /// DT hook: runs `f` on the running aggregations (engine state locked).
    pub(crate) fn dt_with_aggrs<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Aggr>) -> T) -> T {
        f(&mut self.state().aggrs)
    }

    /// DT hook: restarts aggregation `name` with its ports numbered from `base`. The
    /// aggregate is kept (same interface, addresses, routes, neighbours and bridge port) and
    /// so are the members; only the protocol starts again, with the new port numbers.
    pub(crate) fn dt_renumber(&self, name: &str, base: u16) -> Result<(), OpError> {
        let _span = crate::logging::aggr_span(name).entered();
        let mut st = self.state();
        let old = st.aggrs.remove(name).ok_or_else(|| not_found(name))?;
        let spec = old.spec.clone();
        let mut r = old.resolved.clone();
        let from = r.port_base;
        r.port_base = base;
        let kept = old.stop_keeping_aggregate();
        let a = self.start_aggr_keeping(spec, r, kept)?;
        st.aggrs.insert(name.to_string(), a);
        self.daemon_event(
            name,
            format!(
                "DT: ports of {name} renumbered from {from:#06x} to {base:#06x} (the partner sees new ports); the aggregate, its addresses and routes kept"
            ),
        );
        Ok(())
    }

    /// DT hook: records a DT event.
    pub(crate) fn dt_event(&self, message: String) {
        self.daemon_event("dt", message);
    }
}

/// Liveness of the engine's threads ([`Engine::health`]).
#[derive(Clone, Debug)]
pub(crate) struct Health {
    /// Shutting down: threads end on purpose.
    pub stopping: bool,
    /// When the timer thread last went round its loop, monotonic ns.
    pub timer_beat_ns: u64,
    /// Each aggregation's forwarding threads.
    pub forwarders: Vec<(String, lagd_dataplane::ForwarderHealth)>,
    /// The micro-BFD thread of each aggregation that has micro-BFD on.
    pub bfd: Vec<(String, lagd_dataplane::ThreadHealth)>,
}

/// What becomes of aggregation `name` after a change: it stays up, goes down (the first of
/// `down`, a forced change), or is down already.
fn outcome(name: &str, was_up: bool, down: &[lagd_agg::diagnose::Finding]) -> String {
    match (down.first(), was_up) {
        (Some(f), _) => format!("{name} goes down: {}", f.problem),
        (None, true) => format!("{name} stays up"),
        (None, false) => format!("{name} is down"),
    }
}

fn not_found(name: &str) -> OpError {
    op(
        ErrorKind::NotFound,
        format!("no aggregation named `{name}`"),
    )
}

impl Handler for Engine {
    fn handle(&self, req: Request) -> Response {
        if self.stopping.load(Ordering::SeqCst) {
            return Response::error(ErrorKind::System, "lagd is shutting down");
        }
        let what = req.describe();
        let _span = req
            .aggregation()
            .map(|n| crate::logging::aggr_span(n).entered());
        match self.dispatch(req) {
            Ok(r) => Response::Ok(r),
            Err(e) => {
                tracing::warn!("{what}: refused: {}", e.message);
                Response::Error(crate::control::proto::ErrorReply {
                    kind: e.kind,
                    message: e.message,
                    findings: e.findings,
                })
            }
        }
    }

    fn events(&self) -> &EventLog {
        &self.log
    }
}
