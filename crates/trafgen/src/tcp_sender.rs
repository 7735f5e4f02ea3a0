//! N concurrent TCP connections sending their flow pattern for a duration.

use crate::error::{Error, Result};
use crate::tcp_pattern::{Hello, Pattern};
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What to send.
#[derive(Debug, Clone)]
pub struct TcpFlowsConfig {
    /// Network namespace to connect from (`None`: the caller's).
    pub netns: Option<String>,
    /// The sink's address.
    pub dst: SocketAddr,
    /// Number of concurrent connections (each gets its own ephemeral source port).
    pub flows: u32,
    /// Id of the first flow; flow `i` has id `first_flow_id + i`.
    pub first_flow_id: u32,
    /// How long each flow sends.
    pub duration: Duration,
    /// Per-flow rate limit in bytes per second (`None`: as fast as possible).
    pub rate_limit_bps: Option<u64>,
    /// Bound on connecting.
    pub connect_timeout: Duration,
}

impl TcpFlowsConfig {
    /// `flows` unlimited connections to `dst` for `duration`, from the caller's namespace.
    pub fn new(dst: SocketAddr, flows: u32, duration: Duration) -> TcpFlowsConfig {
        TcpFlowsConfig {
            netns: None,
            dst,
            flows,
            first_flow_id: 0,
            duration,
            rate_limit_bps: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What one flow sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlowReport {
    /// Flow id.
    pub flow_id: u32,
    /// Local address of the connection (distinct port per flow), if it connected.
    pub local: Option<SocketAddr>,
    /// Pattern bytes written (the hello not included).
    pub bytes: u64,
    /// The error that ended the flow early, if any.
    pub error: Option<String>,
}

/// What all flows sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlowsReport {
    /// Per flow, in id order.
    pub flows: Vec<TcpFlowReport>,
}

impl TcpFlowsReport {
    /// Total pattern bytes written.
    pub fn total_bytes(&self) -> u64 {
        self.flows.iter().map(|f| f.bytes).sum()
    }

    /// Whether every flow connected and ended without error.
    pub fn all_ok(&self) -> bool {
        self.flows
            .iter()
            .all(|f| f.error.is_none() && f.local.is_some())
    }
}

/// Running sender flows.
#[derive(Debug)]
pub struct TcpFlows {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Result<TcpFlowReport>>>,
}

impl TcpFlows {
    /// Starts the flows, one thread each (inside `cfg.netns` if set).
    pub fn spawn(cfg: TcpFlowsConfig) -> Result<TcpFlows> {
        if cfg.flows == 0 {
            return Err(Error::Invalid {
                field: "flows",
                detail: "must be at least 1".into(),
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let pattern = Arc::new(Pattern::new());
        let mut handles = Vec::new();
        for i in 0..cfg.flows {
            let flow_id = cfg.first_flow_id.wrapping_add(i);
            let (c, s, p) = (cfg.clone(), Arc::clone(&stop), Arc::clone(&pattern));
            let h = crate::netns::spawn("tcp-flow", cfg.netns.as_deref(), move || {
                Ok(run_flow(&c, flow_id, &s, &p))
            })?;
            handles.push(h);
        }
        Ok(TcpFlows { stop, handles })
    }

    /// Asks every flow to stop now.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for every flow.
    pub fn join(self) -> Result<TcpFlowsReport> {
        let mut flows = Vec::new();
        for h in self.handles {
            flows.push(crate::netns::join(h)?);
        }
        Ok(TcpFlowsReport { flows })
    }
}

fn run_flow(
    cfg: &TcpFlowsConfig,
    flow_id: u32,
    stop: &AtomicBool,
    pattern: &Pattern,
) -> TcpFlowReport {
    let mut rep = TcpFlowReport {
        flow_id,
        local: None,
        bytes: 0,
        error: None,
    };
    let mut s = match TcpStream::connect_timeout(&cfg.dst, cfg.connect_timeout) {
        Ok(s) => s,
        Err(e) => {
            rep.error = Some(format!("connect {}: {e}", cfg.dst));
            return rep;
        }
    };
    rep.local = s.local_addr().ok();
    if let Err(e) = s
        .set_write_timeout(Some(Duration::from_millis(100)))
        .and_then(|()| s.set_nodelay(true))
        .and_then(|()| s.write_all(&Hello { flow_id }.encode()))
    {
        rep.error = Some(format!("hello: {e}"));
        return rep;
    }
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let elapsed = start.elapsed();
        if elapsed >= cfg.duration {
            break;
        }
        let mut max = 64 * 1024;
        if let Some(bps) = cfg.rate_limit_bps {
            let allowed = (bps as f64 * elapsed.as_secs_f64()) as u64;
            let room = allowed.saturating_sub(rep.bytes);
            // Write in chunks of about 20 ms of the rate (at least one full segment, at most
            // 64 KiB): with TCP_NODELAY, trickling a few bytes every 2 ms would turn a modest
            // rate into a storm of tiny segments.
            let min_chunk = (bps / 50).clamp(1448, 64 * 1024);
            if room < min_chunk {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            max = usize::try_from(room).unwrap_or(max).min(max);
        }
        let chunk = pattern.slice(flow_id, rep.bytes, max);
        match s.write(chunk) {
            Ok(n) => rep.bytes += n as u64,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                rep.error = Some(format!("write: {e}"));
                return rep;
            }
        }
    }
    // Close our half; the sink sees EOF after the last byte.
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = s.flush();
    if let Err(e) = s.shutdown(Shutdown::Write) {
        rep.error = Some(format!("shutdown: {e}"));
    }
    rep
}
