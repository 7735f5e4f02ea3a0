//! Harness-free benchmarks of the LACP engine, timed with `std::time::Instant` (benches may time
//! things, tests may not). Run with:
//!
//! ```text
//! cargo bench -p lagd-lacp --bench lacp
//! ```
//!
//! Sections (each prints its figures):
//! * (a) `handle_frame` (LACPDU decode + Receive machine + machines' update) + reply encode,
//!   draining `poll_transmit` / `poll_event`, on one System with 64 ports: steady, reply (every
//!   PDU sets NTT) and mixed streams, and steady again drained with `poll_transmit_into` (no
//!   allocation at all), in PDUs per second and allocations per PDU; then the steady stream
//!   with 8 to 10 000 ports (the cost per PDU must not grow with the port count).
//! * (b) `SlowFrame::parse` alone; `SlowFrame::emit` into a reused buffer and `to_vec` alone.
//! * (c) memory per port (counting global allocator).
//! * (d) two Systems back to back with many ports, short timers, 60 s of virtual time: CPU and
//!   wall time.
//!
//! The whole default run takes well under a minute of CPU.
//!
//! Environment knobs (to scale down on a busy machine): `LAGD_BENCH_PDUS` (PDUs per stream in
//! (a), default 500 000), `LAGD_BENCH_PORTS` (ports in (c)/(d), default 10 000),
//! `LAGD_BENCH_SECS` (virtual seconds in (d), default 60), `LAGD_BENCH_C_AGG_PORTS` (ports of
//! the aggregated memory figure of (c), default 1000), `LAGD_BENCH_SCALING=0` (skip the
//! port-count scaling runs of (a)), `LAGD_BENCH_SCALING_MAX` (largest port count of the
//! scaling runs, default 10 000), `LAGD_BENCH_ONLY` (a letter: run
//! only that section), `LAGD_BENCH_HARNESS_PORTS` (also time `testing::Harness` in (d) with
//! this many ports; default 0 = skip).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant as WallClock;

use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{Lacp, LinkStatus, PortConfig, SystemConfig, Transmit};
use lagd_types::{Duration, Instant, MacAddr, PortNumber, PortState};
use lagd_wire::{SlowFrame, SlowPdu};

// ---------------------------------------------------------------------------------------------
// Counting allocator: live bytes and number of allocations of the whole bench process.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// CPU time this thread has run, in seconds (Linux `schedstat`; 0 elsewhere): the machine is
/// shared, so wall time alone can mislead.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn allocs() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Set-up helpers.

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The MAC of port `port` of system `sys` (port 0: the system's own).
fn mac(sys: u8, port: u16) -> MacAddr {
    let [hi, lo] = port.to_be_bytes();
    MacAddr([2, 0, 0, sys, hi, lo])
}

/// A System numbered `sys` (active, short timers, the defaults) with ports 1..=n, link down.
fn system(sys: u8, n: u16) -> Lacp {
    let mut l = Lacp::new(SystemConfig::new(mac(sys, 0)));
    for p in 1..=n {
        if let Err(e) = l.add_port(Instant::ZERO, PortConfig::new(p, mac(sys, p))) {
            panic!("add_port: {e}");
        }
    }
    l
}

/// Two Systems back to back, port i of A cabled to port i of B, with a 1 ms one-way delay:
/// a minimal driving loop (frames in flight are a FIFO since the delay is constant).
struct Pair {
    now: Instant,
    sys: [Lacp; 2],
    /// (delivery time, receiving System, port, frame)
    in_flight: VecDeque<(Instant, usize, PortNumber, Vec<u8>)>,
    frames: u64,
    events: u64,
    /// The last frame System B (index 1) sent on each port, when capturing.
    last_from_b: Option<Vec<Option<Vec<u8>>>>,
}

const DELAY: Duration = Duration::from_millis(1);

impl Pair {
    fn new(n: u16) -> Pair {
        let mut pair = Pair {
            now: Instant::ZERO,
            sys: [system(1, n), system(2, n)],
            in_flight: VecDeque::new(),
            frames: 0,
            events: 0,
            last_from_b: None,
        };
        for s in &mut pair.sys {
            for p in 1..=n {
                s.handle_link(Instant::ZERO, p, LinkStatus::up(10_000));
            }
        }
        pair.drain();
        pair
    }

    fn drain(&mut self) {
        let now = self.now;
        for (i, s) in self.sys.iter_mut().enumerate() {
            while let Some(t) = s.poll_transmit(now) {
                self.frames += 1;
                if i == 1
                    && let Some(slot) = self
                        .last_from_b
                        .as_mut()
                        .and_then(|v| v.get_mut(usize::from(t.port).wrapping_sub(1)))
                {
                    *slot = Some(t.frame.clone());
                }
                self.in_flight
                    .push_back((now + DELAY, 1 - i, t.port, t.frame));
            }
            while s.poll_event().is_some() {
                self.events += 1;
            }
        }
    }

    /// Runs deadline to deadline until `until`.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.drain();
            let next = self
                .sys
                .iter()
                .filter_map(Lacp::poll_timeout)
                .chain(self.in_flight.front().map(|f| f.0))
                .min();
            let Some(next) = next.filter(|t| *t <= until) else {
                break;
            };
            self.now = self.now.max(next);
            let now = self.now;
            while self.in_flight.front().is_some_and(|f| f.0 <= now) {
                if let Some((_, to, port, frame)) = self.in_flight.pop_front() {
                    let _ = self.sys[to].handle_frame(now, port, &frame);
                }
            }
            for s in &mut self.sys {
                if s.poll_timeout().is_some_and(|t| t <= now) {
                    s.handle_timeout(now);
                }
            }
        }
        self.now = self.now.max(until);
        self.drain();
    }

    fn distributing(&self, n: u16) -> usize {
        self.sys
            .iter()
            .map(|s| (1..=n).filter(|p| s.is_distributing(*p)).count())
            .sum()
    }
}

// ---------------------------------------------------------------------------------------------
// (a) LACPDU decode + Receive machine + reply encode.

/// Rewrites the LACPDU in `frame` with `f`.
fn patch(frame: &[u8], f: impl Fn(&mut lagd_wire::LacpduRepr)) -> Vec<u8> {
    let Ok(mut parsed) = SlowFrame::parse(frame) else {
        panic!("not a slow-protocols frame")
    };
    let SlowPdu::Lacp(pdu) = &mut parsed.pdu else {
        panic!("not a LACPDU")
    };
    f(pdu);
    parsed.to_vec()
}

/// What one stream did.
struct StreamResult {
    pdus: u64,
    secs: f64,
    cpu: f64,
    tx: u64,
    events: u64,
    allocs: u64,
}

/// Feeds `lacp` the frames of `per_port` round robin over its ports (port p gets
/// `per_port[p-1][k % len]` at its k-th turn), virtual time advancing `step` per PDU, with
/// `handle_timeout` when due, draining transmits and events after every input.
/// With `into_buffer`, frames are drained with `poll_transmit_into` into a reused buffer.
fn stream(
    mut lacp: Lacp,
    start: Instant,
    per_port: &[Vec<Vec<u8>>],
    pdus: u64,
    step: Duration,
    into_buffer: bool,
) -> StreamResult {
    let n = per_port.len() as u64;
    let mut now = start;
    let (mut tx, mut events) = (0u64, 0u64);
    let mut buf = [0u8; Transmit::MAX_LEN];
    let a0 = allocs();
    let c0 = cpu_secs();
    let t0 = WallClock::now();
    for i in 0..pdus {
        let port = (i % n) as usize;
        let frames = &per_port[port];
        let frame = &frames[((i / n) as usize) % frames.len()];
        now += step;
        if lacp.poll_timeout().is_some_and(|t| t <= now) {
            lacp.handle_timeout(now);
        }
        let _ = black_box(lacp.handle_frame(now, port as PortNumber + 1, black_box(frame)));
        if into_buffer {
            while let Ok(Some(t)) = lacp.poll_transmit_into(now, &mut buf) {
                black_box((&t, &buf));
                tx += 1;
            }
        } else {
            while let Some(t) = lacp.poll_transmit(now) {
                black_box(&t);
                tx += 1;
            }
        }
        while let Some(e) = lacp.poll_event() {
            black_box(&e);
            events += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - c0;
    let allocs = allocs() - a0;
    // Sanity: the aggregation must still be up (the stream was valid).
    assert!(lacp.is_up(), "the stream broke the aggregation");
    StreamResult {
        pdus,
        secs,
        cpu,
        tx,
        events,
        allocs,
    }
}

/// Two Systems with `n` ports each, aggregated and steady: the time, System A, and the last
/// LACPDU System B sent on each port (which A has processed).
fn formed(n: u16) -> (Instant, Lacp, Vec<Vec<u8>>) {
    let mut pair = Pair::new(n);
    pair.last_from_b = Some(vec![None; usize::from(n)]);
    pair.run_until(Instant::from_millis(10_500));
    assert_eq!(pair.distributing(n), 2 * usize::from(n), "no aggregation");
    assert!(pair.in_flight.is_empty(), "frames still in flight");
    let steady = pair
        .last_from_b
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.unwrap_or_else(|| panic!("no LACPDU captured")))
        .collect();
    let [a, _] = pair.sys;
    (pair.now, a, steady)
}

fn bench_a() {
    const N: u16 = 64;
    let pdus = env_usize("LAGD_BENCH_PDUS", 500_000) as u64;
    println!("== (a) handle_frame + machines + reply encode, 1 System, {N} ports, 1 core ==");
    // Form a real aggregation and capture B's latest LACPDU on every port: a steady PDU.
    let (start, a, steady) = formed(N);
    // Stale: the partner's view of us lacks Synchronization → update_NTT → a reply.
    let stale: Vec<Vec<u8>> = steady
        .iter()
        .map(|f| {
            patch(f, |p| {
                p.partner.state.set(PortState::SYNCHRONIZATION, false);
            })
        })
        .collect();
    // Toggle: the partner's own state changes (Collecting off; coupled control ignores it
    // for the Mux) → a PartnerChanged event, no reply.
    let toggle: Vec<Vec<u8>> = steady
        .iter()
        .map(|f| {
            patch(f, |p| {
                p.actor.state.set(PortState::COLLECTING, false);
            })
        })
        .collect();
    let one =
        |v: &Vec<Vec<u8>>| -> Vec<Vec<Vec<u8>>> { v.iter().map(|f| vec![f.clone()]).collect() };
    let mixed: Vec<Vec<Vec<u8>>> = (0..usize::from(N))
        .map(|i| {
            vec![
                steady[i].clone(),
                stale[i].clone(),
                steady[i].clone(),
                toggle[i].clone(),
            ]
        })
        .collect();
    // 10 ms of virtual time per PDU: each port gets a PDU every 640 ms, so replies (≤ 3 per
    // Fast_Periodic_Time) are never deferred; periodic transmissions (1/s) run as usual.
    let step = Duration::from_millis(10);
    // (name, frames of each port, drain with poll_transmit_into)
    type Case<'a> = (&'a str, Vec<Vec<Vec<u8>>>, bool);
    let cases: [Case; 4] = [
        ("steady (no reply but periodic)", one(&steady), false),
        ("reply (every PDU sets NTT)", one(&stale), false),
        ("mixed steady/stale/steady/toggle", mixed, false),
        ("steady, poll_transmit_into", one(&steady), true),
    ];
    for (name, frames, into_buffer) in &cases {
        let mut best: Option<StreamResult> = None;
        for _ in 0..3 {
            let r = stream(a.clone(), start, frames, pdus, step, *into_buffer);
            if best.as_ref().is_none_or(|b| r.cpu < b.cpu) {
                best = Some(r);
            }
        }
        let Some(r) = best else { continue };
        println!(
            "  {name:34}: {:6.3} M PDU/s wall, {:6.3} M PDU/s CPU ({:6.0} ns/PDU CPU), {:.3} tx/PDU, {:.3} events/PDU, {:.2} allocs/PDU  [best of 3, {} PDUs]",
            r.pdus as f64 / r.secs / 1e6,
            r.pdus as f64 / r.cpu.max(1e-9) / 1e6,
            r.cpu * 1e9 / r.pdus as f64,
            r.tx as f64 / r.pdus as f64,
            r.events as f64 / r.pdus as f64,
            r.allocs as f64 / r.pdus as f64,
            r.pdus
        );
    }
    // Scaling with the number of ports (steady stream): the per-PDU cost must not grow with
    // the System's port count.
    let max = env_usize("LAGD_BENCH_SCALING_MAX", 10_000);
    let scaling: Vec<u16> = if env_usize("LAGD_BENCH_SCALING", 1) == 0 {
        Vec::new()
    } else {
        [8, 64, 256, 1024, 10_000]
            .into_iter()
            .filter(|n| usize::from(*n) <= max)
            .collect()
    };
    for n in scaling {
        let (start, a, steady) = formed(n);
        let frames: Vec<Vec<Vec<u8>>> = steady.into_iter().map(|f| vec![f]).collect();
        // The same number of PDUs whatever n, every port served at least 4 times.
        let count = pdus.max(u64::from(n) * 4);
        // Keep each port at one PDU per 640 ms of virtual time, whatever n.
        let step = Duration::from_micros(640_000 / u64::from(n));
        let mut best: Option<StreamResult> = None;
        for _ in 0..3 {
            let r = stream(a.clone(), start, &frames, count, step, false);
            if best.as_ref().is_none_or(|b| r.cpu < b.cpu) {
                best = Some(r);
            }
        }
        let Some(r) = best else { continue };
        println!(
            "  steady, {n:5} ports                : {:6.3} M PDU/s wall, {:6.3} M PDU/s CPU ({:6.0} ns/PDU CPU), {:.2} allocs/PDU  [best of 3]",
            r.pdus as f64 / r.secs / 1e6,
            r.pdus as f64 / r.cpu.max(1e-9) / 1e6,
            r.cpu * 1e9 / r.pdus as f64,
            r.allocs as f64 / r.pdus as f64,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (b) decode only, encode only.

fn bench_b() {
    println!("== (b) wire: decode only, encode only ==");
    let mut pair = Pair::new(1);
    pair.run_until(Instant::from_secs(5));
    pair.drain();
    let Some((_, _, _, frame)) = pair.in_flight.front().cloned() else {
        panic!("no frame")
    };
    let Ok(parsed) = SlowFrame::parse(&frame) else {
        panic!("bad frame")
    };
    let n = 10_000_000u64;
    let a0 = allocs();
    let t0 = WallClock::now();
    let c0 = cpu_secs();
    let mut acc = 0u64;
    for _ in 0..n {
        if let Ok(f) = SlowFrame::parse(black_box(&frame)) {
            acc += u64::from(f.src.0[5]);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let dt = cpu_secs() - c0;
    println!(
        "  SlowFrame::parse (LACPDU, 124 B) : {:7.2} M/s CPU ({:5.1} ns), {:7.2} M/s wall, {:.2} allocs [{}]",
        n as f64 / dt / 1e6,
        dt * 1e9 / n as f64,
        n as f64 / wall / 1e6,
        (allocs() - a0) as f64 / n as f64,
        black_box(acc) % 7
    );
    let mut buf = [0u8; 128];
    let a0 = allocs();
    let t0 = WallClock::now();
    let c0 = cpu_secs();
    for _ in 0..n {
        let len = black_box(&parsed).emit(&mut buf).unwrap_or(0);
        acc += black_box(&buf)[len - 1] as u64;
    }
    let wall = t0.elapsed().as_secs_f64();
    let dt = cpu_secs() - c0;
    println!(
        "  SlowFrame::emit into a buffer    : {:7.2} M/s CPU ({:5.1} ns), {:7.2} M/s wall, {:.2} allocs [{}]",
        n as f64 / dt / 1e6,
        dt * 1e9 / n as f64,
        n as f64 / wall / 1e6,
        (allocs() - a0) as f64 / n as f64,
        black_box(acc) % 7
    );
    let a0 = allocs();
    let t0 = WallClock::now();
    let c0 = cpu_secs();
    for _ in 0..n {
        let v = black_box(&parsed).to_vec();
        acc += u64::from(black_box(v)[0]);
    }
    let wall = t0.elapsed().as_secs_f64();
    let dt = cpu_secs() - c0;
    println!(
        "  SlowFrame::to_vec (as Transmit)  : {:7.2} M/s CPU ({:5.1} ns), {:7.2} M/s wall, {:.2} allocs [{}]",
        n as f64 / dt / 1e6,
        dt * 1e9 / n as f64,
        n as f64 / wall / 1e6,
        (allocs() - a0) as f64 / n as f64,
        black_box(acc) % 7
    );
}

// ---------------------------------------------------------------------------------------------
// (c) memory per port, (d) many ports back to back.

fn bench_c() {
    let n = env_usize("LAGD_BENCH_PORTS", 10_000).min(usize::from(u16::MAX)) as u16;
    println!("== (c) memory per port ({n} ports) ==");
    println!(
        "  size_of: Lacp {} B, PortStatus {} B, PortConfig {} B, Event {} B, Transmit {} B",
        std::mem::size_of::<Lacp>(),
        std::mem::size_of::<lagd_lacp::PortStatus>(),
        std::mem::size_of::<PortConfig>(),
        std::mem::size_of::<lagd_lacp::Event>(),
        std::mem::size_of::<lagd_lacp::Transmit>(),
    );
    let b0 = live();
    let l = system(1, n);
    let idle = live() - b0;
    println!(
        "  {n} ports added, links down      : {:9} B heap, {:6.1} B/port",
        idle,
        idle as f64 / f64::from(n)
    );
    drop(l);
    // Aggregated: fewer ports by default, the per-port figure hardly depends on the count
    // (and (d) prints it for its own port count).
    let m = env_usize("LAGD_BENCH_C_AGG_PORTS", 1000).min(usize::from(u16::MAX)) as u16;
    let b0 = live();
    let mut pair = Pair::new(m);
    pair.run_until(Instant::from_secs(10));
    pair.drain();
    let at = pair.now;
    // Flush the frames in flight so only the engines remain.
    pair.in_flight = VecDeque::new();
    let both = live() - b0;
    println!(
        "  2 Systems x {m} ports, aggregated : {:9} B heap, {:6.1} B/port ({} distributing at {at})",
        both,
        both as f64 / (2.0 * f64::from(m)),
        pair.distributing(m)
    );
}

fn bench_d() {
    let n = env_usize("LAGD_BENCH_PORTS", 10_000).min(usize::from(u16::MAX)) as u16;
    let secs = env_usize("LAGD_BENCH_SECS", 60) as u64;
    println!("== (d) 2 Systems x {n} ports back to back, short timers, {secs} s virtual ==");
    let b0 = live();
    let t0 = WallClock::now();
    let c0 = cpu_secs();
    let mut pair = Pair::new(n);
    println!(
        "  set-up (add_port + link up)      : {:8.2} s wall, {:8.2} s CPU",
        t0.elapsed().as_secs_f64(),
        cpu_secs() - c0
    );
    let t1 = WallClock::now();
    let c1 = cpu_secs();
    let mut formed = None;
    // Formation, watched each 100 ms of virtual time.
    while pair.now < Instant::from_secs(secs) {
        let next = pair.now + Duration::from_millis(100);
        pair.run_until(next);
        if pair.distributing(n) == 2 * usize::from(n) {
            formed = Some(pair.now);
            break;
        }
    }
    println!(
        "  formation (all distributing at {}): {:8.2} s wall, {:8.2} s CPU",
        formed.map_or("never".to_string(), |t| t.to_string()),
        t1.elapsed().as_secs_f64(),
        cpu_secs() - c1
    );
    let (f0, e0) = (pair.frames, pair.events);
    let t2 = WallClock::now();
    let c2 = cpu_secs();
    pair.run_until(Instant::from_secs(secs));
    let steady_cpu = cpu_secs() - c2;
    let vsteady = Instant::from_secs(secs)
        .saturating_since(formed.unwrap_or(Instant::from_secs(secs)))
        .as_secs_f64();
    let frames = pair.frames - f0;
    println!(
        "  steady state ({vsteady:.1} s virtual)     : {:8.2} s wall, {steady_cpu:8.2} s CPU, {frames} frames ({:.0} frames/s CPU), {} events",
        t2.elapsed().as_secs_f64(),
        frames as f64 / steady_cpu.max(1e-9),
        pair.events - e0,
    );
    println!(
        "  total                            : {:8.2} s wall, {:8.2} s CPU for {secs} s virtual ({} of {} ports distributing)",
        t0.elapsed().as_secs_f64(),
        cpu_secs() - c0,
        pair.distributing(n),
        2 * usize::from(n),
    );
    pair.in_flight = VecDeque::new();
    let heap = live() - b0;
    println!(
        "  heap of the 2 engines at the end : {heap:9} B, {:6.1} B/port",
        heap as f64 / (2.0 * f64::from(n))
    );
    let hn = env_usize("LAGD_BENCH_HARNESS_PORTS", 0).min(usize::from(u16::MAX)) as u16;
    if hn > 0 {
        let t0 = WallClock::now();
        let c0 = cpu_secs();
        let mut h = Harness::new();
        let a = h.add_system(SystemConfig::new(mac(1, 0)));
        let b = h.add_system(SystemConfig::new(mac(2, 0)));
        for p in 1..=hn {
            h.add_port(a, PortConfig::new(p, mac(1, p)));
            h.add_port(b, PortConfig::new(p, mac(2, p)));
        }
        for p in 1..=hn {
            h.connect(end(a, p), end(b, p));
        }
        h.run_until(Instant::from_secs(secs));
        let up = (1..=hn)
            .filter(|p| h.lacp(a).is_distributing(*p) && h.lacp(b).is_distributing(*p))
            .count();
        println!(
            "  testing::Harness, {hn} ports     : {:8.2} s wall, {:8.2} s CPU for {secs} s virtual ({up} of {hn} links distributing, {} frames logged)",
            t0.elapsed().as_secs_f64(),
            cpu_secs() - c0,
            h.sent.len()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let only = std::env::var("LAGD_BENCH_ONLY").unwrap_or_default();
    let run = |s: &str| only.is_empty() || only == s;
    if run("a") {
        bench_a();
    }
    if run("b") {
        bench_b();
    }
    if run("c") {
        bench_c();
    }
    if run("d") {
        bench_d();
    }
}
