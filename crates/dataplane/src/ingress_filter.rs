//! An ingress EtherType filter: drops, counted, the frames of one EtherType that a device
//! receives, before anything above the device (a bridge, a socket) sees them.
//!
//! Distributed Trunking needs it on a switch: DT PDUs (EtherType 0x8952) come from the peer
//! switch on the peer link and the keepalive path only. The same EtherType arriving from a host
//! on a DT aggregation's members is a forgery; the bridge would flood it onto the peer link
//! (where the peer's admission checks refuse it, at the cost of a parse each). Dropped at the
//! DT aggregate's ingress, it never reaches the bridge.
//!
//! [`IngressFilter::drop_ethertype`] attaches, at the device's **tcx ingress** hook (Linux ≥
//! 6.6; on older kernels a `cls_bpf` filter under `clsact`, see [`crate::attach`]), first in
//! the chain, a small eBPF program built here: it reads the frame's EtherType with
//! `bpf_skb_load_bytes` (so a non-linear frame is read too), looks through one 802.1Q or
//! 802.1ad tag, and drops and counts a frame of the given EtherType; anything else continues
//! (`TCX_NEXT`). On a lagd aggregate (a TAP) it sees both data paths: frames the user-space
//! forwarder writes into the TAP and frames the kernel fast path redirects to it
//! (`bpf_redirect(tap, BPF_F_INGRESS)` runs the target's ingress hooks).
//!
//! The attachment is owned by the returned value: dropping it detaches the program.

use crate::attach::{Attachment, Place};
use crate::bpf::{Alu, ArrayMap, Asm, Insn, Jmp, Program, Size, TcxHook, helper};
use crate::error::Result;
use crate::tx_program::count_and_drop;

/// The program's name (also its clsact filter's).
pub const PROG_NAME: &str = "lagd_ethdrop";

/// An EtherType as `bpf_skb_load_bytes` leaves it in a register after a 16-bit load on a
/// little-endian machine (network order bytes read as a little-endian word).
fn wire_u16(v: u16) -> i32 {
    i32::from(u16::from_le_bytes(v.to_be_bytes()))
}

/// The program: `t = ethertype(frame); if t is 802.1Q / 802.1ad: t = inner ethertype; if t ==
/// ethertype { counter[0] += 1; return TCX_DROP; } return TCX_NEXT;`.
fn program(ethertype: u16, counter: &ArrayMap) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let pass = a.new_label();
    let tagged = a.new_label();
    let compare = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1)
        // bpf_skb_load_bytes(skb, 12, fp - 8, 2)
        .alu_imm(Alu::Mov, 2, 12)
        .alu_reg(Alu::Mov, 3, 10)
        .alu_imm(Alu::Add, 3, -8)
        .alu_imm(Alu::Mov, 4, 2)
        .call(helper::SKB_LOAD_BYTES)
        .jmp_imm(Jmp::Ne, 0, 0, pass)
        .ldx(Size::H, 7, 10, -8)
        .jmp_imm(Jmp::Eq, 7, wire_u16(0x8100), tagged)
        .jmp_imm(Jmp::Eq, 7, wire_u16(0x88a8), tagged)
        .ja(compare);
    a.label(tagged);
    a.alu_reg(Alu::Mov, 1, 6)
        .alu_imm(Alu::Mov, 2, 16)
        .alu_reg(Alu::Mov, 3, 10)
        .alu_imm(Alu::Add, 3, -8)
        .alu_imm(Alu::Mov, 4, 2)
        .call(helper::SKB_LOAD_BYTES)
        .jmp_imm(Jmp::Ne, 0, 0, pass)
        .ldx(Size::H, 7, 10, -8);
    a.label(compare);
    a.jmp_imm(Jmp::Ne, 7, wire_u16(ethertype), pass);
    count_and_drop(&mut a, counter, 0, pass);
    a.finish()
}

/// An attached filter; dropping it detaches the program.
#[derive(Debug)]
pub struct IngressFilter {
    attachment: Option<Attachment>,
    prog: Program,
    counter: ArrayMap,
}

impl IngressFilter {
    /// Drops, at the ingress of `ifindex` (in the calling thread's network namespace), every
    /// frame of EtherType `ethertype`, untagged or behind one VLAN tag.
    pub fn drop_ethertype(ifindex: u32, ethertype: u16) -> Result<IngressFilter> {
        let mut f = Self::detached(ethertype)?;
        f.attachment = Some(Attachment::attach(
            &f.prog,
            PROG_NAME,
            ifindex,
            TcxHook::Ingress,
            Place::FIRST,
        )?);
        Ok(f)
    }

    /// Loads the program without attaching it (tests, with [`IngressFilter::test_run`]).
    pub fn detached(ethertype: u16) -> Result<IngressFilter> {
        let counter = ArrayMap::new(8, 1)?;
        let insns = program(ethertype, &counter).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        Ok(IngressFilter {
            attachment: None,
            prog,
            counter,
        })
    }

    /// The interface whose ingress is filtered (0: not attached).
    pub fn ifindex(&self) -> u32 {
        self.attachment.as_ref().map_or(0, Attachment::ifindex)
    }

    /// How many frames the filter has dropped.
    pub fn dropped(&self) -> Result<u64> {
        Ok(self.counter.get_u64s::<1>(0)?[0])
    }

    /// Runs the program on `frame` without a device (tests): its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.prog.test_run(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{TCX_DROP, TCX_NEXT};

    fn frame(tags: &[u16], ethertype: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend([2, 0, 0, 0, 0, 1]);
        for t in tags {
            f.extend(t.to_be_bytes());
            f.extend([0, 5]);
        }
        f.extend(ethertype.to_be_bytes());
        f.resize(64, 0);
        f
    }

    #[test]
    fn drops_and_counts_only_its_ethertype() {
        let Ok(f) = IngressFilter::detached(0x8952) else {
            return; // no bpf() here (not root): the namespace tests cover the behaviour
        };
        let verdict = |fr: &[u8]| f.test_run(fr).expect("test run");
        assert_eq!(verdict(&frame(&[], 0x8952)), TCX_DROP);
        assert_eq!(verdict(&frame(&[0x8100], 0x8952)), TCX_DROP);
        assert_eq!(verdict(&frame(&[0x88a8], 0x8952)), TCX_DROP);
        assert_eq!(f.dropped().expect("counter"), 3);
        for other in [
            frame(&[], 0x0800),
            frame(&[], 0x8809),
            frame(&[0x8100], 0x0800),
            frame(&[0x8100, 0x8100], 0x8952), // two tags: not looked through
            frame(&[], 0x5289),
        ] {
            assert_eq!(verdict(&other), TCX_NEXT, "{other:02x?}");
        }
        assert_eq!(f.dropped().expect("counter"), 3);
    }
}
