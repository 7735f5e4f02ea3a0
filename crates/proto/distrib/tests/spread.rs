//! Hash spread: 10 000 random flows over 4 and 8 members through the bucket table.

mod common;

use common::Rng;
use lagd_distrib::{Distributor, DistributorConfig, FlowKey, HashPolicy};
use lagd_types::{Instant, MacAddr, PortNumber};

fn random_flow(rng: &mut Rng) -> FlowKey {
    let r = rng.next();
    let s = rng.next();
    let mut k = FlowKey {
        ethertype: 0x0800,
        ip_version: 4,
        protocol: if r & 1 == 0 { 6 } else { 17 },
        src_port: (r >> 8) as u16,
        dst_port: [80, 443, 53, 8080][(r >> 24) as usize % 4],
        ..FlowKey::default()
    };
    k.src_ip[10..].copy_from_slice(&[0xff, 0xff, 10, (s >> 8) as u8, (s >> 16) as u8, s as u8]);
    k.dst_ip[10..].copy_from_slice(&[0xff, 0xff, 192, 168, 0, (s >> 32) as u8 % 16]);
    k.src_mac = MacAddr([
        2,
        0,
        (s >> 40) as u8,
        (s >> 48) as u8,
        (r >> 40) as u8,
        (r >> 48) as u8,
    ]);
    k.dst_mac = MacAddr([2, 0, 0, 0, 0, 1]);
    k
}

const SEED: u64 = 0x5eed_0000_0000_0001;

/// max/mean member load (flows per member through the bucket table).
fn max_over_mean(policy: HashPolicy, members: u16, seed: u64) -> f64 {
    let mut d = Distributor::<()>::new(DistributorConfig::default());
    let ports: Vec<PortNumber> = (1..=members).collect();
    d.set_ports(Instant::ZERO, &ports);
    let mut load = vec![0u64; usize::from(members) + 1];
    let mut rng = Rng(seed);
    for _ in 0..10_000 {
        let k = random_flow(&mut rng);
        let b = d.bucket_of(policy.hash(&k));
        let p = d.bucket_table()[b].unwrap();
        load[usize::from(p)] += 1;
    }
    let max = *load.iter().max().unwrap() as f64;
    max / (10_000.0 / f64::from(members))
}

#[test]
fn ten_thousand_flows_spread_within_five_percent() {
    // The default policy, as required: max/mean <= 1.05 on 4 and 8 members.
    for members in [4u16, 8] {
        let r = max_over_mean(HashPolicy::L3_L4, members, SEED);
        println!("policy L3,L4, {members} members: max/mean = {r:.4}");
        assert!(r <= 1.05, "{members} members: max/mean = {r:.4}");
    }
}

#[test]
fn other_policies_spread_like_an_ideal_random_assignment() {
    // With 1 250 flows per member (8 members) the binomial standard deviation alone is 2.6 %,
    // so the largest of 8 members lands near +4 % even for a perfect hash; 1.05 would be a
    // coin toss on the seed. We assert 1.08 here, and uniformity per bucket below.
    for policy in [HashPolicy::L2_L3_L4, HashPolicy::L2, HashPolicy::L3] {
        for members in [4u16, 8] {
            let r = max_over_mean(policy, members, SEED);
            println!("policy {policy}, {members} members: max/mean = {r:.4}");
            assert!(
                r <= 1.08,
                "policy {policy}, {members} members: max/mean = {r:.4}"
            );
        }
    }
}

#[test]
fn buckets_are_uniform_by_chi_square() {
    // 10 000 flows into 256 buckets: chi-square has 255 degrees of freedom (mean 255, sd 22.6);
    // 340 is beyond p = 0.001 for a uniform hash.
    for policy in [
        HashPolicy::L3_L4,
        HashPolicy::L2_L3_L4,
        HashPolicy::L2,
        HashPolicy::L3,
    ] {
        let d = Distributor::<()>::new(DistributorConfig::default());
        let mut n = vec![0f64; 256];
        let mut rng = Rng(SEED);
        for _ in 0..10_000 {
            n[d.bucket_of(policy.hash(&random_flow(&mut rng)))] += 1.0;
        }
        let e = 10_000.0 / 256.0;
        let chi2: f64 = n.iter().map(|o| (o - e) * (o - e) / e).sum();
        println!("policy {policy}: chi2 = {chi2:.1}");
        assert!(chi2 < 340.0, "policy {policy}: chi2 = {chi2:.1}");
    }
}
