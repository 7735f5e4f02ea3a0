//! An adversary's tools on a real link: frames sniffed off an interface and frames injected
//! onto it through an `AF_PACKET` socket opened in the interface's namespace (lagd's own
//! [`PacketSocket`], no scapy).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lagd_dataplane::{Netlink, PacketOptions, PacketSocket, RecvBatch};
use lagd_dt::DtFrame;
use lagd_types::MacAddr;

fn open(dev: &str, ignore_outgoing: bool) -> PacketSocket {
    let mut nl = Netlink::open().expect("rtnetlink");
    let l = nl.link_by_name(dev).expect("interface");
    PacketSocket::open(
        l.ifindex,
        &PacketOptions {
            vnet_hdr: false,
            promisc: true,
            slow_protocols: false,
            ignore_outgoing,
            rcvbuf: 4 << 20,
            sndbuf: 4 << 20,
        },
    )
    .expect("packet socket")
}

/// Up to `n` DT frames (EtherType 0x8952) arriving at `dev` of namespace `ns` (frames sent from
/// that namespace are not seen), waiting at most `patience`.
pub fn sniff(ns: &str, dev: &str, n: usize, patience: Duration) -> Vec<Vec<u8>> {
    let dev = dev.to_string();
    lagd_trafgen::netns::run_in(Some(ns), move || {
        let s = open(&dev, true);
        let mut batch = RecvBatch::with_slot_size(32, 2048);
        let mut out = Vec::new();
        let start = Instant::now();
        while out.len() < n && start.elapsed() < patience {
            match s.recv_batch(&mut batch) {
                Ok(k) if k > 0 => {
                    for i in 0..k {
                        if let Some(f) = batch.frame(i)
                            && DtFrame::is_dt(f.ethernet)
                            && out.len() < n
                        {
                            out.push(f.ethernet.to_vec());
                        }
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        Ok(out)
    })
    .expect("sniffing")
}

/// Sends `frames` out of `dev` of namespace `ns`, paced at `per_sec` frames a second (in
/// bursts every 10 ms); returns how many the kernel took. A full socket buffer is waited out,
/// so every frame is sent.
pub fn inject(ns: &str, dev: &str, frames: Vec<Vec<u8>>, per_sec: u32) -> usize {
    let dev = dev.to_string();
    lagd_trafgen::netns::run_in(Some(ns), move || {
        let s = open(&dev, true);
        let burst = (per_sec as usize / 100).max(1);
        let start = Instant::now();
        let mut sent = 0usize;
        for (i, chunk) in frames.chunks(burst).enumerate() {
            let due = start + Duration::from_millis(10 * i as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for f in chunk {
                let mut tries = 0;
                loop {
                    match s.send(f) {
                        Ok(()) => {
                            sent += 1;
                            break;
                        }
                        Err(_) if tries < 1000 => {
                            tries += 1;
                            let _ = s.wait_writable(10);
                        }
                        Err(e) => panic!("sending a frame on {dev}: {e}"),
                    }
                }
            }
        }
        Ok(sent)
    })
    .expect("injecting")
}

/// Counts the frames addressed to one MAC that an interface sends or receives, from
/// [`Counter::start`] (the socket is open when it returns) to [`Counter::stop`].
pub struct Counter {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<lagd_trafgen::Result<u64>>,
}

impl Counter {
    /// Starts counting the frames to `dst` seen on `dev` of namespace `ns`, both directions.
    pub fn start(ns: &str, dev: &str, dst: MacAddr) -> Counter {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (dev, done) = (dev.to_string(), stop.clone());
        let thread = lagd_trafgen::netns::spawn("dt-count", Some(ns), move || {
            let s = open(&dev, false);
            let _ = ready_tx.send(());
            let mut batch = RecvBatch::with_slot_size(32, 2048);
            let mut n = 0u64;
            loop {
                // Read to the end of what is queued once asked to stop.
                let stopping = done.load(Ordering::Acquire);
                match s.recv_batch(&mut batch) {
                    Ok(k) if k > 0 => {
                        n += (0..k)
                            .filter_map(|i| batch.frame(i))
                            .filter(|f| f.ethernet.get(..6) == Some(&dst.0[..]))
                            .count() as u64;
                    }
                    _ if stopping => return Ok(n),
                    _ => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        })
        .expect("counting thread");
        ready
            .recv_timeout(Duration::from_secs(30))
            .expect("counting socket open");
        Counter { stop, thread }
    }

    /// Stops counting; the frames to the address seen since [`Counter::start`].
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Release);
        lagd_trafgen::netns::join(self.thread).expect("counting")
    }
}

/// `n` frames from `src` to `dst`: EtherType 0x88B5 (local experimental), minimum size, the
/// frame's number in the payload.
pub fn frames_to(src: MacAddr, dst: MacAddr, n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut f = Vec::with_capacity(60);
            f.extend_from_slice(&dst.0);
            f.extend_from_slice(&src.0);
            f.extend_from_slice(&[0x88, 0xb5]);
            f.extend_from_slice(&i.to_be_bytes());
            f.resize(60, 0);
            f
        })
        .collect()
}
