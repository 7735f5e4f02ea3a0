//! A TCP sink: accepts flows, verifies each flow's byte pattern, counts bytes per flow and per
//! second.

use crate::error::{Error, Result};
use crate::tcp_pattern::{HELLO_LEN, Hello, Pattern, Verifier};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where and how long to listen.
#[derive(Debug, Clone)]
pub struct TcpSinkConfig {
    /// Network namespace to listen in (`None`: the caller's).
    pub netns: Option<String>,
    /// Address to listen on (port 0: any; see [`TcpSink::local_addr`]).
    pub bind: SocketAddr,
    /// Stop once this many flows have ended (0: only at the time bound or [`TcpSink::stop`]).
    pub flows: usize,
    /// Hard time bound from the start of listening.
    pub max_duration: Duration,
}

impl TcpSinkConfig {
    /// Listens on `bind` for `flows` flows, for at most `max_duration`.
    pub fn new(bind: SocketAddr, flows: usize, max_duration: Duration) -> TcpSinkConfig {
        TcpSinkConfig {
            netns: None,
            bind,
            flows,
            max_duration,
        }
    }
}

/// What one flow delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkFlowReport {
    /// Flow id from its hello (`None`: no valid hello arrived).
    pub flow_id: Option<u32>,
    /// The sender's address.
    pub peer: SocketAddr,
    /// Pattern bytes received (the hello not included).
    pub bytes: u64,
    /// Offset of the first byte that did not match the pattern, if any.
    pub corrupt_at: Option<u64>,
    /// Whether the flow ended with an orderly close (EOF).
    pub eof: bool,
    /// A read error, if one ended the flow.
    pub error: Option<String>,
    /// Bytes received in each second since the sink started listening (index = second).
    pub per_second: Vec<u64>,
}

impl SinkFlowReport {
    /// Whether the flow arrived complete and intact: hello, pattern, EOF, no error.
    pub fn intact(&self) -> bool {
        self.flow_id.is_some() && self.corrupt_at.is_none() && self.eof && self.error.is_none()
    }
}

/// What the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSinkReport {
    /// Every accepted flow, sorted by flow id.
    pub flows: Vec<SinkFlowReport>,
}

impl TcpSinkReport {
    /// Total pattern bytes received.
    pub fn total_bytes(&self) -> u64 {
        self.flows.iter().map(|f| f.bytes).sum()
    }

    /// Whether every flow is [`SinkFlowReport::intact`].
    pub fn all_intact(&self) -> bool {
        self.flows.iter().all(SinkFlowReport::intact)
    }

    /// Aggregate bytes per second (sum over flows, index = second since the sink started).
    pub fn per_second(&self) -> Vec<u64> {
        let n = self
            .flows
            .iter()
            .map(|f| f.per_second.len())
            .max()
            .unwrap_or(0);
        (0..n)
            .map(|i| self.flows.iter().filter_map(|f| f.per_second.get(i)).sum())
            .collect()
    }
}

/// A running sink.
#[derive(Debug)]
pub struct TcpSink {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<TcpSinkReport>>,
}

impl TcpSink {
    /// Listens (inside `cfg.netns` if set) and accepts flows on a new thread; returns once
    /// listening.
    pub fn spawn(cfg: TcpSinkConfig) -> Result<TcpSink> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, rx) = mpsc::channel();
        let ns = cfg.netns.clone();
        let handle = crate::netns::spawn("tcp-sink", ns.as_deref(), move || {
            let l = match TcpListener::bind(cfg.bind).and_then(|l| {
                l.set_nonblocking(true)?;
                Ok(l)
            }) {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(None);
                    return Err(Error::io(format!("listen {}", cfg.bind), e));
                }
            };
            let _ = tx.send(l.local_addr().ok());
            run(&cfg, &l, &flag)
        })?;
        match rx.recv() {
            Ok(Some(local)) => Ok(TcpSink {
                local,
                stop,
                handle,
            }),
            _ => Err(match crate::netns::join(handle) {
                Err(e) => e,
                Ok(_) => Error::Panicked("sink ended before listening".into()),
            }),
        }
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Asks the sink to stop now.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for the end (flows done, time bound, or [`Self::stop`]).
    pub fn join(self) -> Result<TcpSinkReport> {
        crate::netns::join(self.handle)
    }
}

fn run(cfg: &TcpSinkConfig, l: &TcpListener, stop: &Arc<AtomicBool>) -> Result<TcpSinkReport> {
    let start = Instant::now();
    let deadline = start + cfg.max_duration;
    let pattern = Arc::new(Pattern::new());
    let mut conns: Vec<JoinHandle<SinkFlowReport>> = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
            stop.store(true, Ordering::Relaxed);
            break;
        }
        if cfg.flows > 0 && conns.len() >= cfg.flows && conns.iter().all(JoinHandle::is_finished) {
            break;
        }
        match l.accept() {
            Ok((s, peer)) => {
                let (p, st) = (Arc::clone(&pattern), Arc::clone(stop));
                let h = std::thread::Builder::new()
                    .name("tcp-sink-flow".into())
                    .spawn(move || serve(s, peer, &p, &st, start, deadline))
                    .map_err(|e| Error::io("spawn thread", e))?;
                conns.push(h);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(Error::io("accept", e)),
        }
    }
    let mut flows = Vec::new();
    for h in conns {
        flows.push(h.join().map_err(|p| Error::from_panic(p.as_ref()))?);
    }
    flows.sort_by_key(|f| f.flow_id);
    Ok(TcpSinkReport { flows })
}

fn serve(
    mut s: TcpStream,
    peer: SocketAddr,
    pattern: &Pattern,
    stop: &AtomicBool,
    start: Instant,
    deadline: Instant,
) -> SinkFlowReport {
    let mut rep = SinkFlowReport {
        flow_id: None,
        peer,
        bytes: 0,
        corrupt_at: None,
        eof: false,
        error: None,
        per_second: Vec::new(),
    };
    if let Err(e) = s
        .set_nonblocking(false)
        .and_then(|()| s.set_read_timeout(Some(Duration::from_millis(100))))
    {
        rep.error = Some(e.to_string());
        return rep;
    }
    let mut hello = [0u8; HELLO_LEN];
    let mut got = 0;
    let mut buf = vec![0u8; 256 * 1024];
    let mut verifier: Option<Verifier> = None;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let n = match s.read(&mut buf) {
            Ok(0) => {
                rep.eof = true;
                break;
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                rep.error = Some(format!("read: {e}"));
                break;
            }
        };
        let mut data = buf.get(..n).unwrap_or(&[]);
        if verifier.is_none() {
            let take = (HELLO_LEN - got).min(data.len());
            if let (Some(dst), Some(src)) = (hello.get_mut(got..got + take), data.get(..take)) {
                dst.copy_from_slice(src);
            }
            got += take;
            data = data.get(take..).unwrap_or(&[]);
            if got < HELLO_LEN {
                continue;
            }
            match Hello::decode(&hello) {
                Some(h) => {
                    rep.flow_id = Some(h.flow_id);
                    verifier = Some(Verifier::new(h.flow_id));
                }
                None => {
                    rep.error = Some("no flow hello".into());
                    break;
                }
            }
        }
        if let Some(v) = verifier.as_mut() {
            v.check(pattern, data);
        }
        let sec = usize::try_from(start.elapsed().as_secs()).unwrap_or(usize::MAX);
        if sec < 100_000 {
            if rep.per_second.len() <= sec {
                rep.per_second.resize(sec + 1, 0);
            }
            if let Some(b) = rep.per_second.get_mut(sec) {
                *b += data.len() as u64;
            }
        }
    }
    if let Some(v) = &verifier {
        rep.bytes = v.bytes();
        rep.corrupt_at = v.corrupt_at();
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp_sender::{TcpFlows, TcpFlowsConfig};
    use std::io::Write;

    #[test]
    fn loopback_flows_arrive_intact_with_distinct_ports() {
        let sink = TcpSink::spawn(TcpSinkConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            4,
            Duration::from_secs(20),
        ))
        .expect("sink");
        let mut c = TcpFlowsConfig::new(sink.local_addr(), 4, Duration::from_millis(1500));
        c.rate_limit_bps = Some(2_000_000);
        let tx = TcpFlows::spawn(c)
            .expect("flows")
            .join()
            .expect("flows result");
        assert!(tx.all_ok(), "{tx:?}");
        let mut ports: Vec<u16> = tx
            .flows
            .iter()
            .filter_map(|f| f.local.map(|a| a.port()))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 4);
        let rx = sink.join().expect("sink result");
        assert_eq!(rx.flows.len(), 4);
        assert!(rx.all_intact(), "{rx:?}");
        assert_eq!(rx.total_bytes(), tx.total_bytes());
        let ids: Vec<Option<u32>> = rx.flows.iter().map(|f| f.flow_id).collect();
        assert_eq!(ids, vec![Some(0), Some(1), Some(2), Some(3)]);
        // Rate limited to 2 MB/s for 1.5 s: about 3 MB per flow, never more than allowed.
        for f in &tx.flows {
            assert!(f.bytes <= 3_100_000 && f.bytes >= 500_000, "{f:?}");
        }
        let per_sec: u64 = rx.per_second().iter().sum();
        assert_eq!(per_sec, rx.total_bytes());
    }

    #[test]
    fn corrupted_flow_is_reported() {
        let sink = TcpSink::spawn(TcpSinkConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            1,
            Duration::from_secs(10),
        ))
        .expect("sink");
        let mut s = TcpStream::connect(sink.local_addr()).expect("connect");
        let p = Pattern::new();
        s.write_all(&Hello { flow_id: 3 }.encode()).expect("hello");
        let mut data = p.slice(3, 0, 5000).to_vec();
        data[4000] ^= 0x80;
        s.write_all(&data).expect("data");
        drop(s);
        let r = sink.join().expect("sink result");
        assert_eq!(r.flows.len(), 1);
        let f = &r.flows[0];
        assert_eq!(
            (f.flow_id, f.bytes, f.corrupt_at, f.eof),
            (Some(3), 5000, Some(4000), true)
        );
        assert!(!r.all_intact());
    }
}
