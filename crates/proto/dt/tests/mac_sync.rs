//! MAC address synchronisation between the two switches of a pair.

mod common;

use common::*;
use lagd_dt::testing::Pair;
use lagd_types::{Duration, MacAddr};

fn host(n: u16) -> MacAddr {
    let [a, b] = n.to_be_bytes();
    MacAddr([2, 0x11, 0, 0, a, b])
}

fn learn(p: &mut Pair, i: usize, n: u16, present: bool) {
    let now = p.now;
    p.sw[i].handle_local_mac(now, 1, 0, host(n), present);
    p.drain();
}

fn installed(p: &Pair, i: usize) -> usize {
    p.sw[i].installed_macs().len()
}

#[test]
fn learned_addresses_are_installed_on_the_peer_while_it_has_live_members() {
    let mut p = formed();
    for n in 1..=3 {
        learn(&mut p, 0, n, true);
    }
    p.run_for(Duration::from_millis(20));
    assert_eq!(
        p.sw[1].installed_macs(),
        (1..=3).map(|n| (1, 0, host(n))).collect::<Vec<_>>()
    );
    assert!(
        p.mac_log
            .iter()
            .any(|(i, m)| *i == 1 && m.install && m.mac == host(2))
    );
    assert!(p.sw[0].status().macs_synced);
    // Aged out on A: removed on B.
    learn(&mut p, 0, 2, false);
    p.run_for(Duration::from_millis(20));
    assert_eq!(installed(&p, 1), 2);
    assert!(
        p.mac_log
            .iter()
            .any(|(i, m)| *i == 1 && !m.install && m.mac == host(2))
    );
    // B loses its members: its entries would black-hole there; they move to the peer link.
    set_live(&mut p, 1, &[]);
    p.run_for(Duration::from_millis(20));
    assert_eq!(installed(&p, 1), 0);
    assert_eq!(p.sw[1].macs_via_peer_link().len(), 2);
    assert!(
        p.mac_log
            .iter()
            .any(|(i, m)| *i == 1 && m.install && m.target == lagd_dt::MacTarget::PeerLink)
    );
    set_live(&mut p, 1, &[1]);
    p.run_for(Duration::from_millis(20));
    assert_eq!(installed(&p, 1), 2);
    // Peer dead: forgotten.
    p.kill(0);
    p.run_for(Duration::from_secs(5));
    assert_eq!(installed(&p, 1), 0);
    assert!(p.sw[1].macs_via_peer_link().is_empty());
    assert_eq!(p.sw[1].status().macs_peer, 0);
}

#[test]
fn a_large_table_syncs_in_batches_despite_losses() {
    let mut p = formed();
    for n in 1..=600 {
        learn(&mut p, 0, n, true);
        learn(&mut p, 1, 1000 + n, true);
    }
    // Lose frames one way for a while (shorter than the peer timeout).
    p.run_for(Duration::from_millis(2));
    p.silence_peer_link(false, true);
    p.run_for(Duration::from_millis(1500));
    p.silence_peer_link(false, false);
    let t = p.run_until_cond(Duration::from_secs(30), |p| {
        installed(p, 0) == 600 && installed(p, 1) == 600
    });
    assert!(t.is_some(), "{} {}", installed(&p, 0), installed(&p, 1));
    assert!(both_up(&p));
    p.run_for(Duration::from_millis(100)); // the last acknowledgements
    assert!(p.sw[0].status().macs_synced && p.sw[1].status().macs_synced);
}

#[test]
fn a_restarted_peer_gets_the_whole_table_again() {
    let mut p = formed();
    for n in 1..=10 {
        learn(&mut p, 1, n, true);
    }
    p.run_for(Duration::from_millis(50));
    assert_eq!(installed(&p, 0), 10);
    // A restarts faster than any timeout: it must get B's table again.
    p.kill(0);
    p.restore_peer_link();
    p.revive(0);
    p.run_until_cond(Duration::from_secs(5), both_up).unwrap();
    set_live(&mut p, 0, &[1, 2]);
    p.run_for(Duration::from_secs(1));
    assert_eq!(installed(&p, 0), 10);
}

/// ARP / ND sync through the pair: what A resolved is installed at B (and the reverse), kept
/// when A dies (the hosts did not move), removed two passes after A's entry goes, and a
/// forged PDU's entries are never heard (they come only with an admitted PDU).
#[test]
fn neighbour_entries_reach_the_peer_and_outlive_the_switch_that_resolved_them() {
    let ip = |n: u8| std::net::IpAddr::from([198, 18, 0, n]);
    let ip6: std::net::IpAddr = "2001:2::10".parse().unwrap();
    let host = |n: u8| MacAddr([2, 0x68, 0, 0, 0, n]);
    let mut p = formed();
    let now = p.now;
    for n in 1..=40 {
        p.sw[0].handle_local_neighbour(now, ip(n), Some(host(n)));
    }
    p.sw[1].handle_local_neighbour(now, ip6, Some(host(99)));
    // 40 entries in slices of 32: two PDUs at most, then one more pass.
    p.run_for(Duration::from_secs(3));
    let at_b = p.sw[1].installed_neighbours();
    assert_eq!(at_b.len(), 40, "{at_b:?}");
    assert!(at_b.contains(&(ip(7), host(7))));
    assert_eq!(p.sw[0].installed_neighbours(), vec![(ip6, host(99))]);
    let installs: Vec<_> = std::iter::from_fn(|| p.sw[1].poll_neigh_update()).collect();
    assert_eq!(installs.len(), 40);
    assert!(installs.iter().all(|u| u.install));
    let st = p.sw[1].status().neighbours;
    assert_eq!((st.local, st.peer, st.installed), (1, 40, 40));
    // An entry gone at A goes at B a few passes later.
    p.sw[0].handle_local_neighbour(p.now, ip(7), None);
    p.run_for(Duration::from_secs(5));
    let removed: Vec<_> = std::iter::from_fn(|| p.sw[1].poll_neigh_update()).collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(!removed[0].install && removed[0].ip == ip(7));
    // A dies: B keeps what A announced.
    p.kill(0);
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.sw[1].state(), lagd_dt::PeerState::Alone);
    assert_eq!(p.sw[1].installed_neighbours().len(), 39);
    assert!(p.sw[1].poll_neigh_update().is_none());
    // DT stops at B: everything it installed is removed.
    p.sw[1].clear_neighbours();
    let removed: Vec<_> = std::iter::from_fn(|| p.sw[1].poll_neigh_update()).collect();
    assert_eq!(removed.len(), 39);
    assert!(removed.iter().all(|u| !u.install));
}
