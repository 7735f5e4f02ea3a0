//! Harness-free throughput bench: `FlowKey::from_frame` + `HashPolicy::hash` +
//! `Distributor::handle_hashed`, and `handle_hashed` alone, on a steady 4-port table.
//!
//! Run with `cargo bench -p lagd-distrib`. Prints frames per second (wall clock; benches may
//! time things, tests may not).

use std::hint::black_box;
use std::time::Instant as WallClock;

use lagd_distrib::{Dispatch, Distributor, DistributorConfig, FlowKey};
use lagd_types::Instant;

/// An Ethernet + VLAN + IPv4 + UDP frame for flow `i`.
fn frame(i: u32) -> Vec<u8> {
    let mut f = vec![
        0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
    ];
    f.extend_from_slice(&[0x45, 0, 0, 100, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
    f.extend_from_slice(&[10, 1, 0, 1]);
    f.extend_from_slice(&((i % 50_000) as u16 + 1024).to_be_bytes());
    f.extend_from_slice(&4789u16.to_be_bytes());
    f.extend_from_slice(&[0; 60]);
    f
}

fn main() {
    let frames: Vec<Vec<u8>> = (0..4096).map(frame).collect();
    let config = DistributorConfig {
        rebalance_interval: None,
        ..DistributorConfig::default()
    };
    let mut d: Distributor<u32> = Distributor::new(config.clone());
    let now = Instant::from_secs(1);
    d.set_ports(now, &[1, 2, 3, 4]);
    while d.poll_event().is_some() {}

    let n: u32 = 5_000_000;
    let start = WallClock::now();
    let mut sent = 0u64;
    for i in 0..n {
        let f = &frames[(i as usize) & 4095];
        let key = FlowKey::from_frame(black_box(f));
        let hash = config.policy.hash(&key);
        if let Dispatch::Send(p, _) = d.handle_hashed(now, hash, f.len(), i) {
            sent += u64::from(p);
        }
    }
    let dt = start.elapsed().as_secs_f64();
    println!(
        "from_frame + hash + handle_hashed: {:.1} Mframes/s ({:.1} ns/frame) [{}]",
        f64::from(n) / dt / 1e6,
        dt * 1e9 / f64::from(n),
        black_box(sent) % 7
    );

    let start = WallClock::now();
    for i in 0..n {
        if let Dispatch::Send(p, _) =
            d.handle_hashed(now, black_box(i.wrapping_mul(0x9e37_79b9)), 128, i)
        {
            sent += u64::from(p);
        }
    }
    let dt = start.elapsed().as_secs_f64();
    println!(
        "handle_hashed alone:               {:.1} Mframes/s ({:.1} ns/frame) [{}]",
        f64::from(n) / dt / 1e6,
        dt * 1e9 / f64::from(n),
        black_box(sent) % 7
    );
}
