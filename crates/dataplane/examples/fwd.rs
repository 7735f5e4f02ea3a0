//! A stand-alone forwarder with a trivial protocol (every member always Collecting and
//! Distributing; one member: everything to it, several: round robin), for benchmarks and demos.
//!
//! ```text
//! fwd --tap NAME --mac 02:00:5e:00:00:01 [--mtu 1500] --member IF [--member IF ...] [--stats SECS]
//! ```
//! Runs in the caller's network namespace until killed. Members must have no global address.

use lagd_dataplane::{
    Forwarder, Member, PacketOptions, PacketSocket, Protocol, Slot, TakeOverOptions, Tap,
    TxDecision, monotonic_now,
};
use lagd_types::{Instant, MacAddr, PortNumber};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Trivial {
    ports: Vec<PortNumber>,
    next: usize,
}

impl Protocol for Trivial {
    fn dispatch(&mut self, _now: Instant, _frame: &[u8], _slot: Slot) -> TxDecision {
        let n = self.ports.len();
        match self.ports.get(self.next % n.max(1)) {
            Some(&p) => {
                self.next = self.next.wrapping_add(1);
                TxDecision::Send(p)
            }
            None => TxDecision::Drop,
        }
    }
    fn poll_release(&mut self) -> Option<(PortNumber, Slot)> {
        None
    }
    fn broadcast_ports(&self) -> Vec<PortNumber> {
        self.ports.clone()
    }
    fn poll_control_frame(&mut self, _now: Instant) -> Option<(PortNumber, Vec<u8>)> {
        None
    }
    fn handle_control_frame(&mut self, _now: Instant, _port: PortNumber, _frame: &[u8]) {}
    fn is_collecting(&self, _port: PortNumber) -> bool {
        true
    }
    fn carrier(&self) -> bool {
        true
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: fwd --tap NAME --mac MAC [--mtu N] --member IF [--member IF ...] [--stats SECS]"
    );
    std::process::exit(2)
}

fn main() {
    let mut tap = None;
    let mut mac = None;
    let mut mtu = 1500u32;
    let mut members = Vec::new();
    let mut stats = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--tap" => tap = Some(val()),
            "--mac" => mac = Some(val().parse::<MacAddr>().unwrap_or_else(|_| usage())),
            "--mtu" => mtu = val().parse().unwrap_or_else(|_| usage()),
            "--member" => members.push(val()),
            "--stats" => stats = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let (Some(tap), Some(mac)) = (tap, mac) else {
        usage()
    };
    if members.is_empty() {
        usage();
    }
    if let Err(e) = run(&tap, mac, mtu, &members, stats) {
        eprintln!("fwd: {e}");
        std::process::exit(1);
    }
}

fn run(
    tap: &str,
    mac: MacAddr,
    mtu: u32,
    members: &[String],
    stats: u64,
) -> lagd_dataplane::Result<()> {
    let t = Tap::create(tap, mac, mtu)?;
    let mut held = Vec::new();
    let mut socks = Vec::new();
    for (i, name) in members.iter().enumerate() {
        let m = Member::take_over(
            name,
            TakeOverOptions {
                force: false,
                mtu: Some(mtu),
            },
        )?;
        let port = PortNumber::try_from(i + 1).unwrap_or(PortNumber::MAX);
        socks.push((
            port,
            PacketSocket::open(m.ifindex(), &PacketOptions::default())?,
        ));
        held.push(m);
    }
    t.set_up(true)?;
    let ports = socks.iter().map(|(p, _)| *p).collect();
    let proto: Arc<Mutex<dyn Protocol>> = Arc::new(Mutex::new(Trivial { ports, next: 0 }));
    let fwd = Forwarder::start(t, socks, proto, monotonic_now)?;
    eprintln!("fwd: forwarding {tap} <-> {members:?}");
    loop {
        std::thread::sleep(Duration::from_secs(stats.max(1)));
        if stats > 0 {
            eprintln!("{:?}", fwd.stats());
        }
    }
}
