//! Shared helpers of the namespace tests: trivial protocols and a deterministic data stream.
#![allow(dead_code)]

use lagd_dataplane::{Protocol, Slot, TxDecision};
use lagd_types::{Instant, MacAddr, PortNumber};
use std::collections::VecDeque;

/// Skips (returns true) when not root: the namespace tests need root.
pub fn skip_unless_root() -> bool {
    if lagd_dataplane::netns::is_root() {
        false
    } else {
        eprintln!("skipped: needs root");
        true
    }
}

/// Turns IPv6 off in namespace `ns`: a host's own router solicitations and DAD probes would
/// otherwise send frames at moments of the kernel's choosing.
pub fn no_ipv6(net: &lagd_dataplane::netns::TestNet, ns: &str) {
    for key in ["all", "default"] {
        net.exec(
            ns,
            &[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ],
        )
        .expect("sysctl");
    }
}

/// A trivial protocol: every port always Collecting, frames sent to one fixed port or round
/// robin over all, control frames queued by the test and recorded when received.
#[derive(Debug, Default)]
pub struct TestProto {
    pub ports: Vec<PortNumber>,
    pub round_robin: bool,
    pub next: usize,
    pub collecting: bool,
    pub carrier: bool,
    pub to_send: VecDeque<(PortNumber, Vec<u8>)>,
    pub received: Vec<(PortNumber, Vec<u8>)>,
    pub dispatched: u64,
}

impl TestProto {
    /// Always Send(first port), collecting, carrier up.
    pub fn single(port: PortNumber) -> TestProto {
        TestProto {
            ports: vec![port],
            collecting: true,
            carrier: true,
            ..TestProto::default()
        }
    }
    /// Round robin over `ports`, collecting, carrier up.
    pub fn round_robin(ports: &[PortNumber]) -> TestProto {
        TestProto {
            ports: ports.to_vec(),
            round_robin: true,
            collecting: true,
            carrier: true,
            ..TestProto::default()
        }
    }
}

impl Protocol for TestProto {
    fn dispatch(&mut self, _now: Instant, _frame: &[u8], _slot: Slot) -> TxDecision {
        self.dispatched += 1;
        let Some(&first) = self.ports.first() else {
            return TxDecision::Drop;
        };
        if !self.round_robin {
            return TxDecision::Send(first);
        }
        let p = self
            .ports
            .get(self.next % self.ports.len())
            .copied()
            .unwrap_or(first);
        self.next = self.next.wrapping_add(1);
        TxDecision::Send(p)
    }
    fn poll_release(&mut self) -> Option<(PortNumber, Slot)> {
        None
    }
    fn broadcast_ports(&self) -> Vec<PortNumber> {
        self.ports.clone()
    }
    fn poll_control_frame(&mut self, _now: Instant) -> Option<(PortNumber, Vec<u8>)> {
        self.to_send.pop_front()
    }
    fn handle_control_frame(&mut self, _now: Instant, port: PortNumber, frame: &[u8]) {
        self.received.push((port, frame.to_vec()));
    }
    fn is_collecting(&self, _port: PortNumber) -> bool {
        self.collecting
    }
    fn carrier(&self) -> bool {
        self.carrier
    }
}

/// A slow-protocols frame (to 01-80-C2-00-00-02, EtherType 0x8809) carrying `tag`, padded to
/// 60 bytes.
pub fn slow_frame(src: MacAddr, tag: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&MacAddr::SLOW_PROTOCOLS.octets());
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&[0x88, 0x09, 0x01, 0x01, tag]);
    f.resize(60, 0);
    f
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub struct Stream(u64);

impl Stream {
    pub fn new(seed: u64) -> Stream {
        Stream(seed | 1)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(v) {
                *d = s;
            }
        }
    }
}

/// FNV-1a, 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Retries `f` until it returns true, up to `tries` times with a short sleep between: for
/// asynchronous kernel effects. Asserts nothing about how long it took.
pub fn eventually(tries: u32, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}
