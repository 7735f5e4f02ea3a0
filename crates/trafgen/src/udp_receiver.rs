//! Receiver of a sequence-numbered UDP stream, with a fault-injection hook for its own tests.

use crate::clock::now_ns;
use crate::error::{Error, Result};
use crate::stream_packet::StreamPacket;
use crate::stream_stats::{StreamReport, StreamStats};
use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Test hook: faults applied to datagrams after they are received and before they are counted,
/// to check the accounting itself.
#[derive(Debug, Clone, Default)]
pub struct FaultHook {
    /// Sequence numbers to discard.
    pub drop: BTreeSet<u64>,
    /// Sequence numbers to count twice.
    pub duplicate: BTreeSet<u64>,
    /// Sequence numbers to hold back and count after the next datagram (a reordering).
    pub delay: BTreeSet<u64>,
}

/// Where and how long to listen.
#[derive(Debug, Clone)]
pub struct UdpReceiverConfig {
    /// Network namespace to listen in (`None`: the caller's).
    pub netns: Option<String>,
    /// Address to bind (port 0: any; see [`UdpReceiver::local_addr`]).
    pub bind: SocketAddr,
    /// The stream to account; datagrams of other streams count as foreign.
    pub stream_id: u32,
    /// Hard time bound from the start of listening.
    pub max_duration: Duration,
    /// Stop after this long without any datagram, once the first one has arrived. Must exceed
    /// the longest gap to be measured.
    pub idle_timeout: Duration,
    /// After the stream's last sequence number has arrived, listen this much longer for
    /// reordered stragglers.
    pub linger: Duration,
    /// Test hook (none in real measurements).
    pub hook: Option<FaultHook>,
}

impl UdpReceiverConfig {
    /// Listens on `bind` for stream 1 for at most `max_duration`, idle timeout 10 s, linger
    /// 200 ms, no hook.
    pub fn new(bind: SocketAddr, max_duration: Duration) -> UdpReceiverConfig {
        UdpReceiverConfig {
            netns: None,
            bind,
            stream_id: 1,
            max_duration,
            idle_timeout: Duration::from_secs(10),
            linger: Duration::from_millis(200),
            hook: None,
        }
    }
}

/// A running receiver thread.
#[derive(Debug)]
pub struct UdpReceiver {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<StreamStats>>,
    handle: JoinHandle<Result<StreamReport>>,
}

impl UdpReceiver {
    /// Binds (inside `cfg.netns` if set) and starts receiving on a new thread; returns once the
    /// socket is bound.
    pub fn spawn(cfg: UdpReceiverConfig) -> Result<UdpReceiver> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(StreamStats::new(cfg.stream_id)));
        let (tx, rx) = mpsc::channel();
        let (flag, shared) = (Arc::clone(&stop), Arc::clone(&stats));
        let ns = cfg.netns.clone();
        let handle = crate::netns::spawn("udp-receiver", ns.as_deref(), move || {
            let sock = match UdpSocket::bind(cfg.bind) {
                Ok(s) => s,
                Err(e) => {
                    let msg = format!("bind {}: {e}", cfg.bind);
                    let _ = tx.send(Err(msg.clone()));
                    return Err(Error::io(msg, e));
                }
            };
            let _ = tx.send(sock.local_addr().map_err(|e| e.to_string()));
            run(&cfg, &sock, &flag, &shared)
        })?;
        match rx.recv() {
            Ok(Ok(local)) => Ok(UdpReceiver {
                local,
                stop,
                stats,
                handle,
            }),
            Ok(Err(_)) | Err(_) => Err(match crate::netns::join(handle) {
                Err(e) => e,
                Ok(_) => Error::Panicked("receiver ended before binding".into()),
            }),
        }
    }

    /// The bound address (with the port chosen when `bind` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The accounting so far, while it runs.
    pub fn snapshot(&self) -> StreamReport {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report()
    }

    /// Asks the receiver to stop now.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the receiver thread has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the end of reception (stream complete, idle, time bound, or [`Self::stop`]).
    pub fn join(self) -> Result<StreamReport> {
        crate::netns::join(self.handle)
    }
}

/// One datagram from `sock` into `buf`: its length, or `None` when the read timed out (the
/// socket's read timeout) or was interrupted, so that the caller checks its deadlines and
/// reads again.
pub fn recv_datagram(sock: &UdpSocket, buf: &mut [u8]) -> Result<Option<usize>> {
    match sock.recv_from(buf) {
        Ok((n, _)) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::io("recv_from", e)),
    }
}

fn run(
    cfg: &UdpReceiverConfig,
    sock: &UdpSocket,
    stop: &AtomicBool,
    shared: &Mutex<StreamStats>,
) -> Result<StreamReport> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| Error::io("set_read_timeout", e))?;
    let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let start = now_ns();
    let deadline = start.saturating_add(ns(cfg.max_duration));
    let mut last_rx: Option<u64> = None;
    let mut last_seen_at: Option<u64> = None;
    let mut held: Vec<StreamPacket> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = now_ns();
        if stop.load(Ordering::Relaxed) || now >= deadline {
            break;
        }
        if last_rx.is_some_and(|t| now.saturating_sub(t) >= ns(cfg.idle_timeout)) {
            break;
        }
        if last_seen_at.is_some_and(|t| now.saturating_sub(t) >= ns(cfg.linger)) {
            break;
        }
        let Some(n) = recv_datagram(sock, &mut buf)? else {
            continue;
        };
        let rx = now_ns();
        last_rx = Some(rx);
        let pkt = match StreamPacket::decode(buf.get(..n).unwrap_or(&[])) {
            Some(p) if p.stream_id == cfg.stream_id => p,
            _ => {
                lock().record_foreign();
                continue;
            }
        };
        let mut stats = lock();
        let deliver = |p: &StreamPacket, stats: &mut StreamStats| {
            stats.record(p.seq, p.total, p.sent_ns, rx);
        };
        match &cfg.hook {
            Some(h) if h.drop.contains(&pkt.seq) => {}
            Some(h) if h.delay.contains(&pkt.seq) => held.push(pkt),
            Some(h) => {
                deliver(&pkt, &mut stats);
                if h.duplicate.contains(&pkt.seq) {
                    deliver(&pkt, &mut stats);
                }
                for p in held.drain(..) {
                    deliver(&p, &mut stats);
                }
            }
            None => deliver(&pkt, &mut stats),
        }
        if stats.complete() {
            break;
        }
        if last_seen_at.is_none() && stats.saw_last() {
            last_seen_at = Some(rx);
        }
    }
    Ok(lock().report())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udp_sender::{UdpSender, UdpSenderConfig};

    fn run_pair(count: u64, hook: Option<FaultHook>) -> StreamReport {
        let mut rc = UdpReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Duration::from_secs(20),
        );
        rc.stream_id = 9;
        rc.idle_timeout = Duration::from_secs(3);
        rc.hook = hook;
        let rx = UdpReceiver::spawn(rc).expect("bind receiver");
        let mut sc = UdpSenderConfig::new(rx.local_addr(), 2000, count);
        sc.stream_id = 9;
        sc.payload_len = 100;
        let tx = UdpSender::spawn(sc).expect("sender");
        let sent = tx.join().expect("sender result");
        assert_eq!(sent.sent, count, "{sent:?}");
        assert_eq!(sent.send_errors, 0, "{sent:?}");
        rx.join().expect("receiver result")
    }

    #[test]
    fn loopback_stream_without_faults_is_clean() {
        let r = run_pair(400, None);
        assert_eq!(r.expected, 400, "{r}");
        assert_eq!((r.lost, r.duplicated, r.reordered), (0, 0, 0), "{r}");
        assert_eq!(r.unique, 400, "{r}");
        assert!(r.max_gap > Duration::ZERO, "{r}");
    }

    #[test]
    fn injected_drop_dup_and_reorder_are_counted() {
        let hook = FaultHook {
            drop: [10, 11, 12].into_iter().collect(),
            duplicate: [20].into_iter().collect(),
            delay: [30, 40].into_iter().collect(),
        };
        let r = run_pair(200, Some(hook));
        assert_eq!(r.lost, 3, "{r}");
        assert_eq!(r.duplicated, 1, "{r}");
        assert_eq!(r.reordered, 2, "{r}");
        assert_eq!(r.received, 200 - 3 + 1, "{r}");
    }

    #[test]
    fn foreign_datagrams_are_not_counted_in_the_stream() {
        let mut rc = UdpReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Duration::from_secs(10),
        );
        rc.idle_timeout = Duration::from_millis(500);
        let rx = UdpReceiver::spawn(rc).expect("bind receiver");
        let s = UdpSocket::bind("127.0.0.1:0").expect("socket");
        s.send_to(
            b"not a stream datagram, long enough to be parsed",
            rx.local_addr(),
        )
        .expect("send");
        let mut other = [0u8; 40];
        StreamPacket {
            stream_id: 2,
            seq: 0,
            total: 1,
            sent_ns: 0,
        }
        .encode(&mut other);
        s.send_to(&other, rx.local_addr()).expect("send");
        let r = rx.join().expect("receiver");
        assert_eq!((r.foreign, r.received, r.lost), (2, 0, 0), "{r}");
    }

    #[test]
    fn bad_sender_parameters_are_refused() {
        let dst = SocketAddr::from(([127, 0, 0, 1], 9));
        let mut c = UdpSenderConfig::new(dst, 0, 1);
        assert!(matches!(
            UdpSender::spawn(c.clone()),
            Err(Error::Invalid {
                field: "rate_pps",
                ..
            })
        ));
        c.rate_pps = 10;
        c.payload_len = 8;
        assert!(matches!(
            UdpSender::spawn(c),
            Err(Error::Invalid {
                field: "payload_len",
                ..
            })
        ));
    }
}
