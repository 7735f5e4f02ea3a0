//! Sender of a sequence-numbered UDP stream at a fixed rate.

use crate::clock::now_ns;
use crate::error::{Error, Result};
use crate::stream_packet::{HEADER_LEN, StreamPacket};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest payload accepted (a UDP datagram's payload limit over IPv4).
pub const MAX_PAYLOAD: usize = 65_507;

/// What to send.
#[derive(Debug, Clone)]
pub struct UdpSenderConfig {
    /// Network namespace to send from (`None`: the caller's).
    pub netns: Option<String>,
    /// Local address to bind (`None`: unspecified address of `dst`'s family, any port).
    pub bind: Option<SocketAddr>,
    /// Destination.
    pub dst: SocketAddr,
    /// Stream id written in every datagram.
    pub stream_id: u32,
    /// Datagrams per second (≥ 1).
    pub rate_pps: u32,
    /// UDP payload size in bytes (≥ [`HEADER_LEN`], ≤ [`MAX_PAYLOAD`]).
    pub payload_len: usize,
    /// Datagrams to send (≥ 1); announced in every datagram.
    pub count: u64,
    /// Hard time bound; the sender stops then even if `count` is not reached.
    pub max_duration: Duration,
}

impl UdpSenderConfig {
    /// `count` datagrams of 64 bytes to `dst` at `rate_pps`, stream 1, from the caller's
    /// namespace, bounded by twice the nominal duration plus 2 s.
    pub fn new(dst: SocketAddr, rate_pps: u32, count: u64) -> UdpSenderConfig {
        let nominal = Duration::from_secs_f64(count as f64 / f64::from(rate_pps.max(1)));
        UdpSenderConfig {
            netns: None,
            bind: None,
            dst,
            stream_id: 1,
            rate_pps,
            payload_len: 64,
            count,
            max_duration: nominal * 2 + Duration::from_secs(2),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.rate_pps == 0 {
            return Err(Error::Invalid {
                field: "rate_pps",
                detail: "must be at least 1".into(),
            });
        }
        if self.count == 0 {
            return Err(Error::Invalid {
                field: "count",
                detail: "must be at least 1".into(),
            });
        }
        if !(HEADER_LEN..=MAX_PAYLOAD).contains(&self.payload_len) {
            return Err(Error::Invalid {
                field: "payload_len",
                detail: format!("{} not in {HEADER_LEN}..={MAX_PAYLOAD}", self.payload_len),
            });
        }
        Ok(())
    }
}

/// What a sender did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Datagrams handed to the kernel.
    pub sent: u64,
    /// Sends that failed (e.g. no route or buffer during a failover); the datagram counts as
    /// not sent, but its sequence number is used up.
    pub send_errors: u64,
    /// The last send error, if any.
    pub last_error: Option<String>,
    /// Whether it stopped before `count` (time bound or [`UdpSender::stop`]).
    pub stopped_early: bool,
    /// First send (`CLOCK_MONOTONIC` ns).
    pub started_ns: u64,
    /// After the last send.
    pub finished_ns: u64,
    /// The longest time between two consecutive sends (ns): how long the sender itself stalled
    /// (a loaded machine), which a receiver sees as a gap of the stream too.
    pub max_send_gap_ns: u64,
}

/// A running sender thread.
#[derive(Debug)]
pub struct UdpSender {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<SendReport>>,
}

impl UdpSender {
    /// Starts sending on a new thread (inside `cfg.netns` if set).
    pub fn spawn(cfg: UdpSenderConfig) -> Result<UdpSender> {
        cfg.validate()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let ns = cfg.netns.clone();
        let handle = crate::netns::spawn("udp-sender", ns.as_deref(), move || run(&cfg, &flag))?;
        Ok(UdpSender { stop, handle })
    }

    /// Asks the sender to stop early.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the sender thread has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the end of the stream.
    pub fn join(self) -> Result<SendReport> {
        crate::netns::join(self.handle)
    }
}

fn run(cfg: &UdpSenderConfig, stop: &AtomicBool) -> Result<SendReport> {
    let bind = cfg.bind.unwrap_or(match cfg.dst {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    });
    let sock = UdpSocket::bind(bind).map_err(|e| Error::io(format!("bind {bind}"), e))?;
    // Allowed to send to a broadcast address (a subnet's or 255.255.255.255).
    sock.set_broadcast(true)
        .map_err(|e| Error::io("SO_BROADCAST".to_string(), e))?;
    let mut buf = vec![0u8; cfg.payload_len];
    for (i, b) in buf.iter_mut().enumerate().skip(HEADER_LEN) {
        *b = (i % 251) as u8;
    }
    let period_ns = 1_000_000_000u64 / u64::from(cfg.rate_pps.max(1));
    let period_rem = 1_000_000_000u64 % u64::from(cfg.rate_pps.max(1));
    let start = now_ns();
    let deadline =
        start.saturating_add(u64::try_from(cfg.max_duration.as_nanos()).unwrap_or(u64::MAX));
    let mut report = SendReport {
        started_ns: start,
        ..SendReport::default()
    };
    let mut last_sent = start;
    for seq in 0..cfg.count {
        // Target time of datagram `seq`, exact over long streams.
        let target = start
            .saturating_add(seq.saturating_mul(period_ns))
            .saturating_add(seq.saturating_mul(period_rem) / u64::from(cfg.rate_pps.max(1)));
        loop {
            if stop.load(Ordering::Relaxed) || now_ns() >= deadline {
                report.stopped_early = true;
                report.finished_ns = now_ns();
                return Ok(report);
            }
            let now = now_ns();
            if now >= target {
                break;
            }
            std::thread::sleep(Duration::from_nanos((target - now).min(50_000_000)));
        }
        let pkt = StreamPacket {
            stream_id: cfg.stream_id,
            seq,
            total: cfg.count,
            sent_ns: now_ns(),
        };
        pkt.encode(&mut buf);
        if seq > 0 {
            report.max_send_gap_ns = report.max_send_gap_ns.max(pkt.sent_ns - last_sent);
        }
        last_sent = pkt.sent_ns;
        match sock.send_to(&buf, cfg.dst) {
            Ok(_) => report.sent += 1,
            Err(e) => {
                report.send_errors += 1;
                report.last_error = Some(e.to_string());
            }
        }
    }
    report.finished_ns = now_ns();
    Ok(report)
}
