//! Traffic between the hosts of a system test: UDP streams measuring the failover gap, TCP
//! transfers checking integrity, and which member carries a flow.

use crate::cmd::ns_run;
use crate::error::{Error, Result};
use crate::net::{Net, Side};
use crate::wait;
use lagd_trafgen::{
    SendReport, StreamReport, TcpFlows, TcpFlowsConfig, TcpFlowsReport, TcpSink, TcpSinkConfig,
    TcpSinkReport, UdpReceiver, UdpReceiverConfig, UdpSender, UdpSenderConfig,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A UDP stream from one namespace to another, running.
#[derive(Debug)]
pub struct UdpProbe {
    sender: UdpSender,
    receiver: UdpReceiver,
}

impl UdpProbe {
    /// Starts a receiver on `dst`:any port in `to_ns` and a sender in `from_ns` sending
    /// `rate_pps` datagrams of 64 bytes for `duration`. The receiver stops after `idle_timeout`
    /// of silence (must exceed the gap to be measured).
    pub fn start(
        from_ns: &str,
        to_ns: &str,
        dst: Ipv4Addr,
        rate_pps: u32,
        duration: Duration,
        idle_timeout: Duration,
    ) -> Result<UdpProbe> {
        let mut rc = UdpReceiverConfig::new(
            SocketAddr::from((dst, 0)),
            duration + idle_timeout + Duration::from_secs(10),
        );
        rc.netns = Some(to_ns.to_string());
        rc.idle_timeout = idle_timeout;
        let receiver = UdpReceiver::spawn(rc)?;
        let count = (f64::from(rate_pps) * duration.as_secs_f64()).ceil() as u64;
        let mut sc = UdpSenderConfig::new(receiver.local_addr(), rate_pps, count.max(1));
        sc.netns = Some(from_ns.to_string());
        let sender = UdpSender::spawn(sc)?;
        Ok(UdpProbe { sender, receiver })
    }

    /// Waits until `packets` datagrams have arrived (bounded by `timeout`).
    pub fn wait_flowing(&self, packets: u64, timeout: Duration) -> Result<()> {
        wait::until(
            "UDP stream to flow",
            timeout,
            Duration::from_millis(20),
            || {
                let r = self.receiver.snapshot();
                Ok(if r.unique >= packets {
                    Ok(())
                } else {
                    Err(r.to_string())
                })
            },
        )
    }

    /// The receiver's accounting so far.
    pub fn snapshot(&self) -> StreamReport {
        self.receiver.snapshot()
    }

    /// Waits for the end of the stream; the sender's and the receiver's reports.
    pub fn finish(self) -> Result<(SendReport, StreamReport)> {
        let s = self.sender.join()?;
        let r = self.receiver.join()?;
        Ok((s, r))
    }
}

/// `tx_packets` of `dev` in namespace `ns`.
pub fn tx_packets(ns: &str, dev: &str) -> Result<u64> {
    let p = format!("/sys/class/net/{dev}/statistics/tx_packets");
    let t = ns_run(ns, &["cat", &p])?;
    t.trim().parse().map_err(|_| Error::Parse {
        what: "tx_packets",
        detail: t,
    })
}

/// Index of the link whose end in host `side` sent the most frames during `window`: the
/// member that carries a running flow from that host.
pub fn busiest_end(net: &Net, side: Side, window: Duration) -> Result<usize> {
    let ns = net.ns(side);
    let ends = net.ends(side);
    let before: Vec<u64> = ends
        .iter()
        .map(|d| tx_packets(ns, d))
        .collect::<Result<_>>()?;
    std::thread::sleep(window);
    let after: Vec<u64> = ends
        .iter()
        .map(|d| tx_packets(ns, d))
        .collect::<Result<_>>()?;
    let deltas: Vec<u64> = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    deltas
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .map(|(i, _)| i)
        .ok_or_else(|| Error::Command {
            cmd: "busiest_end".into(),
            detail: "no links".into(),
        })
}

/// A TCP transfer of `flows` connections from `from_ns` to a sink on `dst` in `to_ns` for
/// `duration`, optionally rate-limited per flow; both reports.
pub fn tcp_transfer(
    from_ns: &str,
    to_ns: &str,
    dst: Ipv4Addr,
    flows: u32,
    duration: Duration,
    rate_limit_bps: Option<u64>,
) -> Result<(TcpFlowsReport, TcpSinkReport)> {
    let mut sc = TcpSinkConfig::new(
        SocketAddr::from((dst, 0)),
        usize::try_from(flows).unwrap_or(usize::MAX),
        duration + Duration::from_secs(30),
    );
    sc.netns = Some(to_ns.to_string());
    let sink = TcpSink::spawn(sc)?;
    let mut fc = TcpFlowsConfig::new(sink.local_addr(), flows, duration);
    fc.netns = Some(from_ns.to_string());
    fc.rate_limit_bps = rate_limit_bps;
    let tx = TcpFlows::spawn(fc)?.join();
    if tx.is_err() {
        sink.stop();
    }
    let rx = sink.join()?;
    Ok((tx?, rx))
}
