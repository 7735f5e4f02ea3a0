//! A steady LACPDU (one that changes nothing) allocates nothing, and neither do the periodic
//! transmissions when drained with `poll_transmit_into`; `poll_transmit_into` writes the very
//! frame `poll_transmit` would return.

use crate::common::*;
use lagd_lacp::testing::Harness;
use lagd_lacp::{Lacp, Transmit};
use lagd_types::{Duration, Instant, PortNumber};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations of the current thread (tests run on threads of their own).
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the counter is only bookkeeping (a const thread-local without destructor: no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: u16 = 16;

/// System A of an aggregated pair, the time, and the last LACPDU B sent on each port.
fn formed() -> (Instant, Lacp, Vec<Vec<u8>>) {
    let (mut h, a, b) = pair(sys(1), sys(2), N);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(3));
    let last = |h: &Harness, p: PortNumber| {
        h.sent
            .iter()
            .rev()
            .find(|s| s.system == 1 && s.transmit.port == p)
            .map(|s| s.transmit.frame.clone())
            .unwrap_or_else(|| panic!("B sent nothing on port {p}"))
    };
    let frames = (1..=N).map(|p| last(&h, p)).collect();
    (h.now, h.nodes[0].lacp.clone(), frames)
}

/// Feeds `rounds` rounds of steady LACPDUs (one per port, 10 ms apart), running the timers
/// when due and draining frames into a buffer; returns how many frames went out.
fn feed(l: &mut Lacp, now: &mut Instant, frames: &[Vec<u8>], rounds: usize) -> usize {
    let mut buf = [0u8; Transmit::MAX_LEN];
    let mut sent = 0;
    for _ in 0..rounds {
        for (i, f) in frames.iter().enumerate() {
            *now += Duration::from_millis(10);
            if l.poll_timeout().is_some_and(|t| t <= *now) {
                l.handle_timeout(*now);
            }
            let port = i as PortNumber + 1;
            assert_eq!(l.handle_frame(*now, port, f), Ok(()));
            while let Ok(Some((_, len))) = l.poll_transmit_into(*now, &mut buf) {
                assert!(len >= 60);
                sent += 1;
            }
            while l.poll_event().is_some() {}
        }
    }
    sent
}

#[test]
fn steady_lacpdus_and_periodic_transmissions_allocate_nothing() {
    let (mut now, mut l, frames) = formed();
    // Warm up: the queues and scratch buffers reach their working size.
    feed(&mut l, &mut now, &frames, 10);
    let before = allocs();
    let sent = feed(&mut l, &mut now, &frames, 50);
    let after = allocs();
    assert!(sent > 0, "periodic transmissions ran");
    assert!(l.is_up());
    assert_eq!(after - before, 0, "allocations in {} steady PDUs", 50 * N);
}

#[test]
fn poll_transmit_into_writes_the_frame_poll_transmit_would_return() {
    let (now, mut l, _) = formed();
    // A changed partner key makes every port reselect and transmit.
    let mut c = l.config().clone();
    c.key = 9;
    l.set_config(now, c).unwrap_or_else(|e| panic!("{e}"));
    let mut copy = l.clone();
    let mut small = [0u8; 10];
    assert!(l.poll_transmit_into(now, &mut small).is_err());
    let mut buf = [0u8; Transmit::MAX_LEN];
    let mut n = 0;
    while let Some(t) = copy.poll_transmit(now) {
        let got = l.poll_transmit_into(now, &mut buf);
        let Ok(Some((port, len))) = got else {
            panic!("poll_transmit_into: {got:?}")
        };
        assert_eq!((port, &buf[..len]), (t.port, t.frame.as_slice()));
        n += 1;
    }
    assert_eq!(n, usize::from(N), "a refused buffer left the frame queued");
    assert_eq!(l.poll_transmit_into(now, &mut buf), Ok(None));
}

/// A System of 1100 ports brought up at once: more than `QUEUE_KEEP` (1024) frames and
/// events queued.
fn burst() -> Lacp {
    let mut l = Lacp::new(sys(1));
    for p in 1..=1100u16 {
        l.add_port(Instant::ZERO, lagd_lacp::PortConfig::new(p, mac(1, p)))
            .unwrap();
        l.handle_link(Instant::ZERO, p, lagd_lacp::LinkStatus::up(1000));
    }
    l
}

/// A burst of more than `QUEUE_KEEP` (1024) frames grows the transmit queue; once drained the
/// queue gives that memory back, in one reallocation at the last frame (not one per frame, and
/// not never).
#[test]
fn a_drained_burst_gives_the_transmit_queue_back_once() {
    let mut l = burst();
    let now = Instant::ZERO;
    while l.poll_event().is_some() {}
    let mut buf = [0u8; Transmit::MAX_LEN];
    let mut n = 0;
    let before = allocs();
    while let Ok(Some(_)) = l.poll_transmit_into(now, &mut buf) {
        n += 1;
    }
    let after = allocs();
    assert!(n > 1024, "a burst of {n} frames");
    assert_eq!(after - before, 1, "reallocations while draining {n} frames");
}

/// The same for the event queue.
#[test]
fn a_drained_burst_gives_the_event_queue_back_once() {
    let mut l = burst();
    let mut buf = [0u8; Transmit::MAX_LEN];
    while let Ok(Some(_)) = l.poll_transmit_into(Instant::ZERO, &mut buf) {}
    let mut n = 0;
    let before = allocs();
    while let Some(e) = l.poll_event() {
        drop(e);
        n += 1;
    }
    let after = allocs();
    assert!(n > 1024, "a burst of {n} events");
    assert_eq!(after - before, 1, "reallocations while draining {n} events");
}
