//! A per-ingress egress filter: keeps frames that entered the host on one interface from
//! leaving through another.
//!
//! Distributed Trunking needs it on a switch's bridge: a frame that came over the peer link must
//! not leave through a DT aggregate whose peer half has already delivered it (what 802.1AX-2014 DRNI
//! achieves with its Gateway and Port Conversation filtering, and Cisco vPC calls peer-link
//! loop prevention). The
//! Linux bridge has no such rule: its `isolated` port flag is symmetric (two isolated aggregates
//! could not reach each other either), and tc actions, nftables and ebtables are missing from
//! some kernels.
//!
//! [`EgressFilter::drop_from`] attaches, at the device's **tcx egress** hook (Linux ≥ 6.6; on
//! older kernels a `cls_bpf` filter under `clsact`, see [`crate::attach`]), first in the chain,
//! a twenty-four-instruction eBPF program built here (no compiler, no
//! object file) that, while the filter is *on*, drops every frame whose `skb->ingress_ifindex`
//! is the given interface and counts it, and lets everything else continue (`TCX_NEXT`, so
//! other tc programs and qdiscs still run). The bridge forwards a frame without re-running
//! `netif_receive_skb`, so at the aggregate's egress `ingress_ifindex` still names the port it
//! entered on.
//!
//! On and off is a word in the program's array map ([`EgressFilter::set_on`]): one map write,
//! effective for the next frame. Loading and attaching a program takes the verifier's time
//! (16 ms per filter measured on a loaded machine), too long for a DT switch whose peer has
//! just started delivering to an aggregate: frames the peer floods over the peer link meanwhile
//! would be delivered twice. So a DT aggregate's filter stays attached and is only switched.
//!
//! The attachment is owned by the returned value: dropping it detaches the program (a tcx link
//! also goes when the process ends, however it ends; a clsact filter left by a crash is removed
//! when lagd next takes the aggregate, [`crate::netlink::Netlink::remove_lagd_filters`]).

use crate::attach::{AttachMode, Attachment, Place};
use crate::bpf::{Alu, ArrayMap, Asm, Insn, Jmp, Program, Size, TcxHook, helper, skb};
use crate::error::Result;
use crate::tx_program::count_and_drop;

/// The program's name (also its clsact filter's).
pub const PROG_NAME: &str = "lagd_peerfilt";

/// Map entry of the drop counter.
const KEY_DROPPED: i32 = 0;
/// Map entry of the on/off word (non-zero: on).
const KEY_ON: i32 = 1;

/// The program: `if (skb->ingress_ifindex == from && map[ON]) { map[DROPPED] += 1; return
/// TCX_DROP; } return TCX_NEXT;`.
fn program(from_ifindex: u32, map: &ArrayMap) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let pass = a.new_label();
    // The kernel compares the 32-bit ifindex with imm sign-extended; ifindexes are < 2^31.
    a.ldx(Size::W, 0, 1, skb::INGRESS_IFINDEX)
        .jmp_imm(Jmp::Ne, 0, from_ifindex as i32, pass)
        .st(Size::W, 10, -4, KEY_ON) // the key, on the stack
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .ld_map(1, map)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, pass)
        .ldx(Size::DW, 0, 0, 0)
        .jmp_imm(Jmp::Eq, 0, 0, pass);
    count_and_drop(&mut a, map, KEY_DROPPED, pass);
    a.finish()
}

/// An attached filter; dropping it detaches the program.
#[derive(Debug)]
pub struct EgressFilter {
    attachment: Attachment,
    _prog: Program,
    map: ArrayMap,
}

impl EgressFilter {
    /// Drops, at the egress of `ifindex`, every frame that entered the host on `from_ifindex`
    /// (both in the calling thread's network namespace) while it is on; attached on when `on`.
    pub fn drop_from(ifindex: u32, from_ifindex: u32, on: bool) -> Result<EgressFilter> {
        let map = ArrayMap::new(8, 2)?;
        map.set(KEY_ON as u32, &u64::from(on).to_ne_bytes())?;
        let insns = program(from_ifindex, &map).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        // First in the chain: a fast path attached earlier must not redirect a frame before
        // the filter has seen it.
        let attachment =
            Attachment::attach(&prog, PROG_NAME, ifindex, TcxHook::Egress, Place::FIRST)?;
        Ok(EgressFilter {
            attachment,
            _prog: prog,
            map,
        })
    }

    /// Switches the filter on (frames from the peer interface dropped) or off (all pass).
    pub fn set_on(&self, on: bool) -> Result<()> {
        self.map.set(KEY_ON as u32, &u64::from(on).to_ne_bytes())
    }

    /// Whether the filter is on.
    pub fn is_on(&self) -> Result<bool> {
        Ok(self.map.get_u64s::<1>(KEY_ON as u32)?[0] != 0)
    }

    /// The interface whose egress is filtered.
    pub fn ifindex(&self) -> u32 {
        self.attachment.ifindex()
    }

    /// The attach mode in use.
    pub fn attach_mode(&self) -> AttachMode {
        self.attachment.mode()
    }

    /// How many frames the filter has dropped.
    pub fn dropped(&self) -> Result<u64> {
        Ok(self.map.get_u64s::<1>(KEY_DROPPED as u32)?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{TCX_DROP, TCX_NEXT};

    #[test]
    fn program_shape() {
        let Ok(m) = ArrayMap::new(8, 1) else {
            return; // no bpf() here (not root): the namespace test covers the behaviour
        };
        let p = program(7, &m).expect("labels placed");
        assert_eq!(p.len(), 24);
        assert_eq!(p[1].imm, 7);
        // `if r0 != from goto pass`: pass is `r0 = TCX_NEXT`.
        let pass = 2 + p[1].off as usize;
        assert_eq!((p[pass].code, p[pass].imm), (0xb7, TCX_NEXT));
        // No on/off entry, or the word is 0 (off): pass as well.
        assert_eq!(9 + p[8].off as usize, pass);
        assert_eq!(11 + p[10].off as usize, pass);
        let drop = 18 + p[17].off as usize;
        assert_eq!((p[drop].code, p[drop].imm), (0xb7, TCX_DROP));
    }
}
