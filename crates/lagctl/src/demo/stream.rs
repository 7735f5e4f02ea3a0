//! The demo's UDP stream receiver: trafgen's accounting ([`StreamStats`]: lost, duplicated,
//! reordered) plus the arrival time of every datagram, so that the silence around the cut can
//! be told apart from scheduling hiccups elsewhere in the run.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use lagd_trafgen::clock::now_ns;
use lagd_trafgen::udp_receiver::recv_datagram;
use lagd_trafgen::{StreamPacket, StreamReport, StreamStats};

/// One datagram's arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Arrival (`CLOCK_MONOTONIC` ns).
    pub rx_ns: u64,
    /// Its sequence number.
    pub seq: u64,
}

/// What the receiver saw.
#[derive(Clone, Debug)]
pub struct Recording {
    /// trafgen's accounting of the stream.
    pub report: StreamReport,
    /// Every arrival of the stream, in arrival order.
    pub arrivals: Vec<Arrival>,
}

/// A receiving thread.
#[derive(Debug)]
pub struct Recorder {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
    handle: JoinHandle<Result<Recording, lagd_trafgen::Error>>,
}

impl Recorder {
    /// Binds `bind` in namespace `ns` and records stream `stream_id` until stopped (or 120 s).
    pub fn spawn(
        ns: &str,
        bind: SocketAddr,
        stream_id: u32,
    ) -> Result<Recorder, lagd_trafgen::Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&received));
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = lagd_trafgen::netns::spawn("demo-udp-rx", Some(ns), move || {
            let sock = match UdpSocket::bind(bind) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(false);
                    return Err(lagd_trafgen::Error::io(format!("bind {bind}"), e));
                }
            };
            let _ = tx.send(true);
            record(&sock, stream_id, &flag, &count)
        })?;
        match rx.recv() {
            Ok(true) => Ok(Recorder {
                stop,
                received,
                handle,
            }),
            _ => Err(match lagd_trafgen::netns::join(handle) {
                Err(e) => e,
                Ok(_) => lagd_trafgen::Error::Panicked("receiver ended before binding".into()),
            }),
        }
    }

    /// Datagrams received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Stops and returns the recording.
    pub fn finish(self) -> Result<Recording, lagd_trafgen::Error> {
        self.stop.store(true, Ordering::Relaxed);
        lagd_trafgen::netns::join(self.handle)
    }
}

fn record(
    sock: &UdpSocket,
    stream_id: u32,
    stop: &AtomicBool,
    count: &AtomicU64,
) -> Result<Recording, lagd_trafgen::Error> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| lagd_trafgen::Error::io("set_read_timeout", e))?;
    let mut stats = StreamStats::new(stream_id);
    let mut arrivals = Vec::new();
    let mut buf = vec![0u8; 2048];
    let deadline = now_ns().saturating_add(120_000_000_000);
    while !stop.load(Ordering::Relaxed) && now_ns() < deadline {
        let Some(n) = recv_datagram(sock, &mut buf)? else {
            continue;
        };
        let rx_ns = now_ns();
        match StreamPacket::decode(buf.get(..n).unwrap_or(&[])) {
            Some(p) if p.stream_id == stream_id => {
                stats.record(p.seq, p.total, p.sent_ns, rx_ns);
                arrivals.push(Arrival { rx_ns, seq: p.seq });
                count.fetch_add(1, Ordering::Relaxed);
            }
            _ => stats.record_foreign(),
        }
    }
    Ok(Recording {
        report: stats.report(),
        arrivals,
    })
}

/// The silence around an event at `at_ns`: the largest time between two consecutive arrivals
/// where the later one is in `[at_ns, at_ns + window_ns]` (the earlier one may precede the
/// event), with the start of that silence relative to the event (ns, may be negative) and the
/// datagrams missing between those two arrivals.
pub fn gap_around(
    arrivals: &[Arrival],
    at_ns: u64,
    window_ns: u64,
) -> Option<(Duration, i64, u64)> {
    let end = at_ns.saturating_add(window_ns);
    arrivals
        .windows(2)
        .filter_map(|w| match w {
            [a, b] if b.rx_ns >= at_ns && b.rx_ns <= end => Some((a, b)),
            _ => None,
        })
        .max_by_key(|(a, b)| b.rx_ns.saturating_sub(a.rx_ns))
        .map(|(a, b)| {
            (
                Duration::from_nanos(b.rx_ns.saturating_sub(a.rx_ns)),
                a.rx_ns as i64 - at_ns as i64,
                b.seq.saturating_sub(a.seq).saturating_sub(1),
            )
        })
}

#[cfg(test)]
impl Recorder {
    /// Like [`Recorder::spawn`] in the caller's namespace, with the bound address.
    fn spawn_here(
        bind: SocketAddr,
        stream_id: u32,
    ) -> Result<(Recorder, SocketAddr), lagd_trafgen::Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&received));
        let sock = UdpSocket::bind(bind).map_err(|e| lagd_trafgen::Error::io("bind", e))?;
        let addr = sock
            .local_addr()
            .map_err(|e| lagd_trafgen::Error::io("local_addr", e))?;
        let handle = lagd_trafgen::netns::spawn("demo-udp-rx", None, move || {
            record(&sock, stream_id, &flag, &count)
        })?;
        Ok((
            Recorder {
                stop,
                received,
                handle,
            },
            addr,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn arrivals(points: &[(u64, u64)]) -> Vec<Arrival> {
        points
            .iter()
            .map(|&(ms, seq)| Arrival {
                rx_ns: ms * MS,
                seq,
            })
            .collect()
    }

    #[test]
    fn gap_around_the_event_ignores_earlier_hiccups() {
        // A 50 ms hiccup at 100 ms, the event at 1000 ms followed by 12 ms of silence with
        // 5 datagrams lost.
        let a = arrivals(&[
            (100, 0),
            (150, 1),
            (151, 2),
            (999, 3),
            (1001, 4),
            (1013, 10),
            (1014, 11),
        ]);
        let (g, start, lost) = gap_around(&a, 1000 * MS, 1000 * MS).unwrap();
        assert_eq!(g, Duration::from_millis(12));
        assert_eq!(start, 1_000_000); // +1 ms after the event
        assert_eq!(lost, 5);
        // The silence may begin before the event (frames in flight when it happened).
        let (g, start, _) = gap_around(&a, 1000 * MS, 0).unwrap_or((Duration::ZERO, 0, 0));
        assert_eq!((g, start), (Duration::ZERO, 0));
        let (g, start, lost) = gap_around(&a, 1001 * MS, 0).unwrap();
        assert_eq!((g, start, lost), (Duration::from_millis(2), -2_000_000, 0));
        assert!(gap_around(&[], 0, 10).is_none());
    }

    #[test]
    fn records_a_loopback_stream() {
        let (rec, addr) = Recorder::spawn_here(SocketAddr::from(([127, 0, 0, 1], 0)), 3).unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 64];
        for seq in 0..50 {
            StreamPacket {
                stream_id: 3,
                seq,
                total: 50,
                sent_ns: now_ns(),
            }
            .encode(&mut buf);
            s.send_to(&buf, addr).unwrap();
        }
        s.send_to(b"foreign datagram, long enough to be looked at", addr)
            .unwrap();
        let t = std::time::Instant::now();
        while rec.received() < 50 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let r = rec.finish().unwrap();
        assert_eq!(r.report.unique, 50);
        assert_eq!(r.arrivals.len(), 50);
        assert_eq!(r.report.lost, 0);
        assert!(r.arrivals.windows(2).all(|w| w[0].rx_ns <= w[1].rx_ns));
    }
}
