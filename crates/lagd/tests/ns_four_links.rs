//! lagd to lagd over four veth links (two hosts in network namespaces): LACP forms on every
//! link, ping and TCP work both ways, and jumbo frames (MTU 9000) pass unfragmented.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). Bounds are generous; nothing
//! asserts on elapsed time.

mod common;

use common::*;

#[test]
fn four_links_lacp_ping_tcp_both_ways_and_jumbo() {
    if !root_or_skip("four_links_lacp_ping_tcp_both_ways_and_jumbo") {
        return;
    }
    let mut h = Hosts::start("ns4l", 4, |_, links| lacp_config(links, "mtu = 9000"));
    let (sa, sb) = h.wait_forwarding();
    for m in &sa.members {
        assert_eq!(m.partner.system.addr, sb.mac, "{m:?}");
        assert_eq!(m.mux, "COLLECTING_DISTRIBUTING");
        assert!(m.actor.state.synchronization() && m.partner.state.synchronization());
    }
    // All four members of A face the four of B, each with its own partner port.
    let mut partner_ports: Vec<u16> = sa.members.iter().map(|m| m.partner.port.number).collect();
    partner_ports.sort_unstable();
    partner_ports.dedup();
    assert_eq!(partner_ports.len(), 4, "{sa:?}");
    h.address();
    assert!(ping(&h.b, ADDR_A, &[]), "B -> A ping failed");
    // 8972 bytes of ICMP payload + 28 of headers = 9000: one unfragmented jumbo frame.
    assert!(
        ping(&h.a, ADDR_B, &["-M", "do", "-s", "8972"]),
        "jumbo ping A -> B failed"
    );
    assert!(
        ping(&h.b, ADDR_A, &["-M", "do", "-s", "8972"]),
        "jumbo ping B -> A failed"
    );

    for (from, to, dst, what) in [
        (h.a.clone(), h.b.clone(), [198, 18, 0, 2], "A -> B"),
        (h.b.clone(), h.a.clone(), [198, 18, 0, 1], "B -> A"),
    ] {
        let (sent, got) = tcp_flows(&from, &to, dst, 5301, 4, 2.0, Some(5_000_000));
        assert!(sent.all_ok(), "{what}: {sent:?}");
        assert!(got.all_intact(), "{what}: {got:?}");
        assert_eq!(got.flows.len(), 4, "{what}");
        assert_eq!(got.total_bytes(), sent.total_bytes(), "{what}");
        assert!(sent.total_bytes() > 1_000_000, "{what}: {sent:?}");
        eprintln!(
            "TCP {what}: 4 flows, {} bytes, all intact",
            got.total_bytes()
        );
    }
    let links = h.links_of_a();
    let agg = links.iter().find(|l| l.kind == "aggregate").unwrap();
    assert!(agg.ipackets > 0 && agg.opackets > 0, "{agg:?}");
}
