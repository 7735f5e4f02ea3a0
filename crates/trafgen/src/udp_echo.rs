//! A UDP echo responder and a probe that waits for its echo: reachability between two hosts
//! (and ARP/ND resolved both ways) without `ping`, which needs a tool that is not on every
//! machine (and raw sockets or a ping group).
//!
//! ```no_run
//! # use std::net::SocketAddr; use std::time::Duration;
//! use lagd_trafgen::udp_echo::{UdpEcho, probe};
//! let dst: SocketAddr = "198.18.0.2:7".parse().unwrap();
//! let echo = UdpEcho::spawn(Some("hostB"), dst).unwrap();
//! let rtt = probe(Some("hostA"), dst, Duration::from_secs(1)).unwrap();
//! echo.stop();
//! ```

use crate::error::{Error, Result};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The probe's payload prefix (the rest is a counter, so a late echo of an earlier probe is
/// not taken for the current one).
const MAGIC: &[u8; 8] = b"lagdecho";
/// How often the responder looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// A responder that sends every datagram it receives back to its sender, on a thread (inside a
/// network namespace when given) until stopped.
#[derive(Debug)]
pub struct UdpEcho {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<u64>>,
}

impl UdpEcho {
    /// Binds `addr` (in namespace `netns`, the caller's when `None`) and starts echoing. Returns
    /// once the socket is bound, so a probe sent afterwards is answered.
    pub fn spawn(netns: Option<&str>, addr: SocketAddr) -> Result<UdpEcho> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = crate::netns::spawn("trafgen-echo", netns, move || {
            let sock = match UdpSocket::bind(addr) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(Error::io(format!("bind {addr}"), e)));
                    return Ok(0);
                }
            };
            let _ = tx.send(Ok(()));
            sock.set_read_timeout(Some(POLL))
                .map_err(|e| Error::io("SO_RCVTIMEO", e))?;
            let mut buf = [0u8; 2048];
            let mut echoed = 0u64;
            while !flag.load(Ordering::Relaxed) {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if let Some(b) = buf.get(..n)
                            && sock.send_to(b, from).is_ok()
                        {
                            echoed += 1;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => return Err(Error::io("recv", e)),
                }
            }
            Ok(echoed)
        })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(UdpEcho { stop, handle }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => Err(crate::netns::join(handle)
                .err()
                .unwrap_or_else(|| Error::Panicked("echo thread ended early".into()))),
        }
    }

    /// Stops the responder; the number of datagrams it echoed.
    pub fn stop(self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        crate::netns::join(self.handle)
    }
}

/// Sends one probe to the echo responder at `dst` from namespace `netns` and waits up to
/// `timeout` for its echo; the round-trip time, or an error (timeout: [`Error::Io`] with
/// `TimedOut`).
pub fn probe(netns: Option<&str>, dst: SocketAddr, timeout: Duration) -> Result<Duration> {
    crate::netns::run_in(netns, move || {
        let any: SocketAddr = if dst.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = UdpSocket::bind(any).map_err(|e| Error::io("bind", e))?;
        let mut msg = [0u8; 16];
        msg[..8].copy_from_slice(MAGIC);
        let nonce = crate::clock::now_ns();
        msg[8..].copy_from_slice(&nonce.to_be_bytes());
        let start = Instant::now();
        sock.send_to(&msg, dst)
            .map_err(|e| Error::io(format!("send to {dst}"), e))?;
        let mut buf = [0u8; 64];
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::io(
                    format!("no echo from {dst} within {} ms", timeout.as_millis()),
                    std::io::ErrorKind::TimedOut.into(),
                ));
            }
            sock.set_read_timeout(Some(left))
                .map_err(|e| Error::io("SO_RCVTIMEO", e))?;
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == dst && buf.get(..n) == Some(&msg[..]) => {
                    return Ok(start.elapsed());
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(Error::io(format!("echo from {dst}"), e)),
            }
        }
    })
}

/// Probes `dst` (each probe waiting up to 1 s) until one is answered or `patience` ran out;
/// the number of probes sent when answered.
pub fn probe_until(netns: Option<&str>, dst: SocketAddr, patience: Duration) -> Result<u32> {
    let start = Instant::now();
    let mut sent = 0u32;
    loop {
        sent += 1;
        match probe(netns, dst, Duration::from_secs(1)) {
            Ok(_) => return Ok(sent),
            Err(e) if start.elapsed() >= patience => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_on_loopback() -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 47_907));
        let echo = UdpEcho::spawn(None, addr)?;
        let rtt = probe(None, addr, Duration::from_secs(5))?;
        assert!(rtt < Duration::from_secs(5));
        assert_eq!(probe_until(None, addr, Duration::from_secs(5))?, 1);
        assert_eq!(echo.stop()?, 2);
        Ok(())
    }

    #[test]
    fn no_responder_times_out() {
        let r = probe(
            None,
            SocketAddr::from(([127, 0, 0, 1], 47_908)),
            Duration::from_millis(300),
        );
        assert!(r.is_err());
    }
}
