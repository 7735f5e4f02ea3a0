//! Tags a device's traffic with an 802.1Q VLAN without the 8021q module (or `act_vlan`), for
//! benchmarks: a tc program at the device's egress pushes the tag (`bpf_skb_vlan_push`, the
//! tag travels as the kernel's out-of-band VLAN tag, as from a VLAN device on a NIC that
//! inserts it) and one at its ingress pops it (`bpf_skb_vlan_pop`), so that the host on the
//! device sends and receives plain frames while everything past it (a veth, lagd's members)
//! carries tagged ones. Both run first in their hook (before lagd's fast-path programs).
//!
//! ```text
//! vlan_tag IFNAME VID
//! ```
//! Runs in the caller's network namespace until killed (tcx links detach when it ends).

use lagd_dataplane::attach::{Attachment, Place};
use lagd_dataplane::bpf::{Alu, Asm, Insn, Jmp, Program, Size, TCX_NEXT, TcxHook, skb};

/// `bpf_skb_vlan_push(skb, proto, tci)`.
const SKB_VLAN_PUSH: i32 = 18;
/// `bpf_skb_vlan_pop(skb)`.
const SKB_VLAN_POP: i32 = 19;

fn push(vid: u16) -> Vec<Insn> {
    let mut a = Asm::new();
    // ETH_P_8021Q in network order, as the helper takes it.
    a.alu_imm(Alu::Mov, 2, i32::from(0x8100u16.to_be()))
        .alu_imm(Alu::Mov, 3, i32::from(vid))
        .call(SKB_VLAN_PUSH)
        .alu_imm(Alu::Mov, 0, TCX_NEXT)
        .exit();
    a.finish().unwrap_or_default()
}

fn pop() -> Vec<Insn> {
    let mut a = Asm::new();
    let done = a.new_label();
    a.ldx(Size::W, 2, 1, skb::VLAN_PRESENT)
        .jmp_imm(Jmp::Eq, 2, 0, done)
        .call(SKB_VLAN_POP);
    a.label(done);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
    a.finish().unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(ifname), Some(vid)) = (args.get(1), args.get(2).and_then(|v| v.parse::<u16>().ok()))
    else {
        eprintln!("usage: vlan_tag IFNAME VID");
        std::process::exit(2);
    };
    let ifindex: u32 = std::fs::read_to_string(format!("/sys/class/net/{ifname}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if ifindex == 0 || vid == 0 || vid > 4094 {
        eprintln!("vlan_tag: no device {ifname}, or VID {vid} not in 1-4094");
        std::process::exit(2);
    }
    let first = Place {
        pref: 0x4b00,
        first: true,
    };
    let attach = |name: &str, insns: &[Insn], hook| {
        Program::load(name, insns)
            .and_then(|p| Attachment::attach(&p, name, ifindex, hook, first).map(|a| (p, a)))
            .unwrap_or_else(|e| {
                eprintln!("vlan_tag: {name} on {ifname}: {e}");
                std::process::exit(1);
            })
    };
    let _tx = attach("lagd_vlanpush", &push(vid), TcxHook::Egress);
    let _rx = attach("lagd_vlanpop", &pop(), TcxHook::Ingress);
    eprintln!("vlan_tag: {ifname} tagged with VLAN {vid}");
    loop {
        std::thread::park();
    }
}
