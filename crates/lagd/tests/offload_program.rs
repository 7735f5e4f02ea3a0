//! The kernel fast path's programs, run in the kernel (`BPF_PROG_TEST_RUN`): the TX program
//! computes the distributor's own bucket on random IPv4 and IPv6 TCP/UDP frames for every hash
//! policy,
//! and lets the frames it does not handle continue to user space; the RX program delivers data
//! frames only while Collecting, counts what it drops, and leaves Slow Protocols frames to
//! lagd (Marker PDUs after one pass through the backlog). Needs root (skips otherwise).

use lagd::offload::Offload;
use lagd_agg::lagd_distrib::{FlowKey, HashPolicy};

const BUCKETS: usize = 256;
const REDIRECT: i32 = 7;
const NEXT: i32 = -1;

fn root() -> bool {
    if lagd_dataplane::netns::is_root() {
        true
    } else {
        eprintln!("skipped: needs root");
        false
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in b.iter_mut() {
            *x = self.next() as u8;
        }
        b
    }
}

fn ipv4(macs: [u8; 12], proto: u8, ips: [u8; 8], ports: [u8; 4], payload: usize) -> Vec<u8> {
    let mut f = vec![0u8; 34 + 20 + payload];
    f[..12].copy_from_slice(&macs);
    f[0] &= 0xfe;
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    let total = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f[22] = 64;
    f[23] = proto;
    f[26..34].copy_from_slice(&ips);
    f[34..38].copy_from_slice(&ports);
    f
}

fn ipv6(macs: [u8; 12], next: u8, ips: [u8; 32], ports: [u8; 4], payload: usize) -> Vec<u8> {
    let mut f = vec![0u8; 54 + 20 + payload];
    f[..12].copy_from_slice(&macs);
    f[0] &= 0xfe;
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    let plen = (f.len() - 54) as u16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f[20] = next;
    f[21] = 64;
    f[22..54].copy_from_slice(&ips);
    f[54..58].copy_from_slice(&ports);
    f
}

fn bucket(policy: &HashPolicy, f: &[u8]) -> usize {
    policy.hash(&FlowKey::from_frame(f)) as usize & (BUCKETS - 1)
}

#[test]
fn the_kernel_program_picks_the_distributors_bucket() {
    if !root() {
        return;
    }
    let mut rng = Rng(0x6c61_6764);
    for policy in ["L3,L4", "L2", "L3", "L4", "L2,L3", "L2,L3,L4"] {
        let policy: HashPolicy = policy.parse().unwrap();
        let mut o = Offload::new(&policy, BUCKETS).expect("load the program");
        for b in 0..BUCKETS {
            o.force_bucket(b, 1).unwrap();
        }
        let mut hit = std::collections::BTreeSet::new();
        for i in 0..600 {
            let proto = if i % 2 == 0 { 6 } else { 17 };
            let f = if i % 3 == 2 {
                ipv6(rng.bytes(), proto, rng.bytes(), rng.bytes(), i % 64)
            } else {
                ipv4(rng.bytes(), proto, rng.bytes(), rng.bytes(), i % 64)
            };
            let b = bucket(&policy, &f);
            let before = o.counts(b).unwrap();
            let v = o
                .test_run(&f)
                .unwrap_or_else(|e| panic!("{policy}: frame {i} {f:02x?}: {e}"));
            assert_eq!(v, REDIRECT, "{policy}: frame {i}");
            let after = o.counts(b).unwrap();
            assert_eq!(
                (after.0 - before.0, after.1 - before.1),
                (f.len() as u64, 1),
                "{policy}: frame {i} counted in bucket {b}"
            );
            hit.insert(b);
        }
        assert!(hit.len() > 150, "{policy}: {} buckets hit", hit.len());
        // A bucket on the user-space path lets its frames through to the TAP.
        let f = ipv4(rng.bytes(), 6, rng.bytes(), rng.bytes(), 10);
        o.force_bucket(bucket(&policy, &f), 0).unwrap();
        assert_eq!(o.test_run(&f).unwrap(), NEXT, "{policy}");
    }
}

#[test]
fn frames_the_program_does_not_handle_go_to_user_space() {
    if !root() {
        return;
    }
    let policy: HashPolicy = "L3,L4".parse().unwrap();
    let mut o = Offload::new(&policy, BUCKETS).expect("load the program");
    for b in 0..BUCKETS {
        o.force_bucket(b, 1).unwrap();
    }
    let macs = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let ips = [198, 18, 0, 1, 198, 18, 0, 2];
    let tcp = ipv4(macs, 6, ips, [0, 80, 0, 81], 20);
    assert_eq!(o.test_run(&tcp).unwrap(), REDIRECT);
    let icmp = ipv4(macs, 1, ips, [8, 0, 0, 0], 20);
    let mut fragment = tcp.clone();
    fragment[20] = 0x20; // More Fragments
    let mut later_fragment = tcp.clone();
    later_fragment[21] = 0x10; // offset 16
    let mut options = tcp.clone();
    options[14] = 0x46;
    let mut arp = tcp.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let mut v4_as_v6 = tcp.clone();
    v4_as_v6[12..14].copy_from_slice(&[0x86, 0xdd]);
    let mut vlan = tcp.clone();
    vlan[12..14].copy_from_slice(&[0x81, 0x00]);
    let truncated = tcp[..37].to_vec();
    let v6 = ipv6(macs, 6, [7; 32], [0, 80, 0, 81], 20);
    assert_eq!(o.test_run(&v6).unwrap(), REDIRECT, "IPv6 TCP");
    let v6_ext = ipv6(macs, 0, [7; 32], [0, 80, 0, 81], 20); // hop-by-hop options first
    let v6_short = v6[..57].to_vec();
    for (what, f) in [
        ("icmp", icmp),
        ("fragment", fragment),
        ("later fragment", later_fragment),
        ("options", options),
        ("arp", arp),
        ("IPv4 header under the IPv6 EtherType", v4_as_v6),
        ("vlan", vlan),
        ("truncated", truncated),
        ("ipv6 extension header", v6_ext),
        ("ipv6 truncated", v6_short),
    ] {
        assert_eq!(o.test_run(&f).unwrap(), NEXT, "{what}");
    }
}

#[test]
fn the_receive_program_collects_only_while_collecting() {
    if !root() {
        return;
    }
    use lagd_dataplane::rx_offload::RxOffload;
    let mut rx = RxOffload::detached().expect("load the program");
    let macs = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let data = ipv4(macs, 17, [198, 18, 0, 1, 198, 18, 0, 2], [0, 80, 0, 81], 20);
    let slow = |subtype: u8| {
        let mut f = vec![0u8; 124];
        f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 2]);
        f[6..12].copy_from_slice(&macs[6..]);
        f[12..14].copy_from_slice(&[0x88, 0x09]);
        f[14] = subtype;
        f[15] = 1;
        f
    };
    // Not Collecting: data dropped and counted; LACPDUs to lagd.
    assert_eq!(rx.test_run(&data).unwrap(), 2, "TCX_DROP");
    assert_eq!(rx.counts().unwrap().not_collecting, 1);
    assert_eq!(rx.test_run(&slow(1)).unwrap(), NEXT, "LACPDU");
    // Collecting: data redirected to the aggregate and counted.
    rx.set_collecting(Some(1)).unwrap();
    assert!(rx.is_collecting());
    for _ in 0..3 {
        assert_eq!(rx.test_run(&data).unwrap(), REDIRECT);
    }
    let c = rx.counts().unwrap();
    assert_eq!(
        (c.frames, c.bytes, c.not_collecting),
        (3, 3 * data.len() as u64, 1)
    );
    assert_eq!(rx.test_run(&slow(1)).unwrap(), NEXT, "LACPDU");
    // A Marker PDU takes one more pass (redirected to its own device's ingress).
    assert_eq!(rx.test_run(&slow(2)).unwrap(), REDIRECT, "Marker PDU");
    assert_eq!(
        rx.counts().unwrap().frames,
        3,
        "control frames are not data"
    );
    rx.set_collecting(None).unwrap();
    assert_eq!(rx.test_run(&data).unwrap(), 2);
}
