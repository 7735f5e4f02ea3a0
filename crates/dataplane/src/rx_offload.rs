//! The optional kernel fast path for wire → host frames: an eBPF program at a member's tcx
//! ingress hook that hands every data frame straight to the aggregate, as if the aggregate had
//! received it (`bpf_redirect(tap, BPF_F_INGRESS)`), while the member is Collecting, and drops
//! it (counted) while it is not — the Frame Collector of §6.2.3 in the kernel, without the two
//! copies of the user-space path (member ring → lagd → TAP). Slow Protocols frames (EtherType
//! 0x8809) and micro-BFD frames (IPv4 without options, UDP to port 6784, RFC 7130) continue to
//! lagd's packet socket, whose filter then lets nothing else through
//! ([`crate::PacketSocket::set_slow_protocols_only`]).
//!
//! **Marker PDUs keep their place.** A redirected data frame reaches the aggregate through the
//! CPU's backlog queue, one pass later than a frame handed to a socket. A Marker PDU must not
//! overtake the data frames that preceded it on the link (the responder's answer tells the
//! generator that they were all delivered, §6.5.4), so the program sends each Marker PDU once
//! through the same backlog (a redirect to the member's own ingress, marked so that the second
//! pass lets it through; the socket's filter takes a Marker PDU only with that mark).
//!
//! lagd writes the member's Collecting state into the program's one-entry map
//! ([`RxOffload::set_collecting`]); the program counts bytes, wire segments and drops.

use std::path::Path;

use crate::attach::{AttachMode, Attachment, Place};
use crate::bpf::{
    Alu, ArrayMap, Asm, Insn, Jmp, MapKind, Program, Size, TCX_DROP, TCX_NEXT, TcxHook, helper, skb,
};
use crate::error::{Error, Result};

/// The program's name (also its clsact filter's).
pub const PROG_NAME: &str = "lagd_rxoff";

/// `BPF_F_INGRESS`: deliver the redirected frame as received by the target.
const BPF_F_INGRESS: i32 = 1;
/// `skb->mark` of a Marker PDU on its second pass ("lagd" in ASCII, high bit set).
pub const MARKER_PASS_MARK: u32 = 0xec61_6764;
/// Slow Protocols subtype of a Marker PDU.
const SUBTYPE_MARKER: i32 = 2;

fn program(state: &ArrayMap, counts: &ArrayMap) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let next = a.new_label();
    let drop = a.new_label();
    let count_drop = a.new_label();
    let no_counts = a.new_label();
    let redirect = a.new_label();
    let slow = a.new_label();
    let ipv4 = a.new_label();
    let data = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1)
        .ldx(Size::W, 2, 6, skb::DATA)
        .ldx(Size::W, 3, 6, skb::DATA_END)
        .alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 14)
        .jmp_reg(Jmp::Gt, 4, 3, next)
        // Slow Protocols (0x8809, loaded little-endian) go to lagd's socket.
        .ldx(Size::H, 4, 2, 12)
        .jmp_imm(Jmp::Eq, 4, 0x0988, slow)
        // IPv4 (0x0800): micro-BFD goes to lagd's socket too.
        .jmp_imm(Jmp::Eq, 4, 0x0008, ipv4);
    a.label(data);
    a.st(Size::W, 10, -4, 0)
        .ld_map(1, state)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, next)
        .ldx(Size::W, 7, 0, 0) // the aggregate's ifindex, 0 while not Collecting
        .ld_map(1, counts)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, no_counts)
        .jmp_imm(Jmp::Eq, 7, 0, count_drop);
    crate::tx_program::count_frame(&mut a);
    a.ja(redirect);
    a.label(count_drop);
    a.alu_imm(Alu::Mov, 1, 1).atomic_add64(0, 16, 1).ja(drop);
    a.label(no_counts);
    a.jmp_imm(Jmp::Eq, 7, 0, drop);
    a.label(redirect);
    a.alu_reg(Alu::Mov, 1, 7)
        .alu_imm(Alu::Mov, 2, BPF_F_INGRESS)
        .call(helper::REDIRECT)
        .exit();
    // Slow Protocols: a Marker PDU on its first pass goes once through the backlog.
    a.label(slow);
    a.alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 15)
        .jmp_reg(Jmp::Gt, 4, 3, next)
        .ldx(Size::B, 4, 2, 14)
        .jmp_imm(Jmp::Ne, 4, SUBTYPE_MARKER, next)
        .ldx(Size::W, 4, 6, skb::MARK)
        .ld_imm64(5, u64::from(MARKER_PASS_MARK))
        .jmp_reg(Jmp::Eq, 4, 5, next)
        .stx(Size::W, 6, skb::MARK, 5)
        .ldx(Size::W, 1, 6, skb::IFINDEX)
        .alu_imm(Alu::Mov, 2, BPF_F_INGRESS)
        .call(helper::REDIRECT)
        .exit();
    // Micro-BFD (RFC 7130): IPv4 without options, UDP, destination port 6784 (loaded
    // little-endian); anything else is data.
    a.label(ipv4);
    a.alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 42)
        .jmp_reg(Jmp::Gt, 4, 3, data)
        .ldx(Size::B, 4, 2, 14)
        .jmp_imm(Jmp::Ne, 4, 0x45, data)
        .ldx(Size::B, 4, 2, 23)
        .jmp_imm(Jmp::Ne, 4, 17, data)
        .ldx(Size::H, 4, 2, 36)
        .jmp_imm(Jmp::Eq, 4, 0x801a, next)
        .ja(data);
    a.label(drop);
    a.alu_imm(Alu::Mov, 0, TCX_DROP).exit();
    a.label(next);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
    a.finish()
}

/// What the program counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxCounts {
    /// Bytes delivered to the aggregate.
    pub bytes: u64,
    /// Wire segments delivered (a GSO super-frame counts as its segments).
    pub frames: u64,
    /// Data frames dropped because the member was not Collecting.
    pub not_collecting: u64,
}

impl std::ops::AddAssign for RxCounts {
    fn add_assign(&mut self, o: RxCounts) {
        self.bytes += o.bytes;
        self.frames += o.frames;
        self.not_collecting += o.not_collecting;
    }
}

/// The fast path of one member.
#[derive(Debug)]
pub struct RxOffload {
    attachment: Option<Attachment>,
    prog: Program,
    state: ArrayMap,
    counts: ArrayMap,
    collecting_into: u32,
}

impl RxOffload {
    /// Loads the program and attaches it at the ingress of member `ifindex` (tcx, or clsact:
    /// [`crate::attach`]); it drops data frames until [`RxOffload::set_collecting`].
    pub fn attach(ifindex: u32) -> Result<RxOffload> {
        let (prog, state, counts) = Self::load(None)?;
        let a = Attachment::attach(&prog, PROG_NAME, ifindex, TcxHook::Ingress, Place::AFTER)?;
        Ok(RxOffload {
            attachment: Some(a),
            prog,
            state,
            counts,
            collecting_into: 0,
        })
    }

    /// Loads the program without attaching it (tests, with [`RxOffload::test_run`]).
    pub fn detached() -> Result<RxOffload> {
        let (prog, state, counts) = Self::load(None)?;
        Ok(RxOffload {
            attachment: None,
            prog,
            state,
            counts,
            collecting_into: 0,
        })
    }

    fn load(pinned: Option<&Path>) -> Result<(Program, ArrayMap, ArrayMap)> {
        let (state, counts) = match pinned {
            None => (
                ArrayMap::create(MapKind::Array, "lagd_rxstate", 4, 1)?,
                ArrayMap::create(MapKind::Array, "lagd_rxcounts", 24, 1)?,
            ),
            Some(dir) => (
                ArrayMap::open_pinned(&dir.join("state"), MapKind::Array, 4, 1)?,
                ArrayMap::open_pinned(&dir.join("counts"), MapKind::Array, 24, 1)?,
            ),
        };
        let insns = program(&state, &counts).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        Ok((prog, state, counts))
    }

    /// The attach mode in use (`None`: not attached).
    pub fn attach_mode(&self) -> Option<AttachMode> {
        self.attachment.as_ref().map(Attachment::mode)
    }

    /// Delivers the member's data frames to the aggregate `tap` (Collecting), or drops them
    /// (`None`).
    pub fn set_collecting(&mut self, tap: Option<u32>) -> Result<()> {
        let v = tap.unwrap_or(0);
        if v != self.collecting_into {
            self.state.set(0, &v.to_ne_bytes())?;
            self.collecting_into = v;
        }
        Ok(())
    }

    /// Whether data frames go to the aggregate now.
    pub fn is_collecting(&self) -> bool {
        self.collecting_into != 0
    }

    /// The counters so far.
    pub fn counts(&self) -> Result<RxCounts> {
        let [bytes, frames, not_collecting] = self.counts.get_u64s::<3>(0)?;
        Ok(RxCounts {
            bytes,
            frames,
            not_collecting,
        })
    }

    /// Runs the program on `frame` without a device (tests): its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.prog.test_run(frame)
    }

    /// Pins the program, its maps and (tcx) its link in `dir` (created; inside a mounted
    /// bpffs): the member keeps delivering to the aggregate after this process ends, and a
    /// later lagd can [`RxOffload::adopt`] it.
    pub fn pin(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Sys {
            op: "creating a BPF pin directory",
            source,
        })?;
        let at = |n: &str| {
            let p = dir.join(n);
            let _ = std::fs::remove_file(&p);
            p
        };
        self.state.pin(&at("state"))?;
        self.counts.pin(&at("counts"))?;
        self.prog.pin(&at("prog"))?;
        if let Some(a) = &self.attachment {
            a.pin(&at("link"))?;
        }
        Ok(())
    }

    /// Takes over the receive program pinned in `dir` for member `ifindex`: the same maps (the
    /// Collecting state it was left in, the counters), a freshly built program replacing the
    /// old one atomically.
    pub fn adopt(dir: &Path, ifindex: u32) -> Result<RxOffload> {
        let (prog, state, counts) = Self::load(Some(dir))?;
        let a = Attachment::adopt(
            &prog,
            PROG_NAME,
            ifindex,
            TcxHook::Ingress,
            Place::AFTER,
            &dir.join("link"),
        )?;
        let mut v = [0u8; 4];
        state.get(0, &mut v)?;
        let _ = std::fs::remove_file(dir.join("prog"));
        prog.pin(&dir.join("prog"))?;
        Ok(RxOffload {
            attachment: Some(a),
            prog,
            state,
            counts,
            collecting_into: u32::from_ne_bytes(v),
        })
    }

    /// Removes the pins in `dir` (and the directory if then empty).
    pub fn unpin(dir: &Path) {
        for n in ["state", "counts", "prog", "link"] {
            let _ = std::fs::remove_file(dir.join(n));
        }
        let _ = std::fs::remove_dir(dir);
    }

    /// Leaves the program attached when this value is dropped (pinned: see
    /// [`RxOffload::pin`]).
    pub fn leave_attached(mut self) {
        if let Some(a) = self.attachment.take() {
            a.leave_attached();
        }
    }
}
