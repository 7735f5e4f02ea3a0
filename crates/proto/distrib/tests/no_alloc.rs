//! `handle_hashed` on a steady table (and `handle_frame`, and holding frames during a move)
//! allocates nothing: counted with a global allocator that counts this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use lagd_distrib::{Dispatch, Distributor, DistributorConfig, FlowKey, HashPolicy};
use lagd_types::Instant;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to the system allocator unchanged; only bumps a thread-local counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCS.with(Cell::get))
}

fn frame(i: u32) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&[10, 0, (i >> 8) as u8, i as u8, 10, 0, 1, 1]);
    f.extend_from_slice(&(i as u16).to_be_bytes());
    f.extend_from_slice(&[0, 80]);
    f.extend_from_slice(&[0; 30]);
    f
}

#[test]
fn steady_state_dispatch_does_not_allocate() {
    let config = DistributorConfig {
        max_held_frames: 1000,
        ..DistributorConfig::default()
    };
    let mut d: Distributor<u32> = Distributor::new(config);
    let t = Instant::from_secs(1);
    d.set_ports(t, &[1, 2, 3, 4]);
    while d.poll_event().is_some() {}
    // Schedules the first rebalance (outside the measured window).
    let _ = d.handle_hashed(t, 0, 64, 0);
    let frames: Vec<Vec<u8>> = (0..256).map(frame).collect();

    let (sent, allocs) = count(|| {
        let mut sent = 0u32;
        for i in 0..100_000u32 {
            if let Dispatch::Send(_, _) = d.handle_hashed(t, i.wrapping_mul(0x9e37_79b1), 128, i) {
                sent += 1;
            }
        }
        for (i, f) in frames.iter().enumerate() {
            let h = HashPolicy::L3_L4.hash(&FlowKey::from_frame(f));
            if let Dispatch::Send(_, _) = d.handle_hashed(t, h, f.len(), i as u32) {
                sent += 1;
            }
            if let Dispatch::Send(_, _) = d.handle_frame(t, f, i as u32) {
                sent += 1;
            }
        }
        sent
    });
    assert_eq!(sent, 100_000 + 512);
    assert_eq!(allocs, 0, "allocations on the steady path");

    // A move in progress: holding frames uses the preallocated queue.
    d.set_ports(t, &[1, 2, 3]);
    d.set_ports(t, &[1, 2, 3, 4]);
    let m = d.poll_marker_request().expect("a protected move");
    let moving: Vec<u32> = (0..256u32).filter(|b| d.is_moving(*b as usize)).collect();
    assert!(!moving.is_empty());
    let (held, allocs) = count(|| {
        let mut held = 0;
        for i in 0..900u32 {
            let b = moving[i as usize % moving.len()];
            if let Dispatch::Held = d.handle_hashed(t, b, 64, i) {
                held += 1;
            }
        }
        held
    });
    assert_eq!(held, 900);
    assert_eq!(allocs, 0, "allocations while holding");
    let _ = m;
}
