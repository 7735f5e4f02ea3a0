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
//! **Conversations keep their order.** `netif_rx` queues a redirected frame on one CPU's
//! backlog; two backlogs are emptied independently, and a member's receive path moves between
//! CPUs (a NIC's interrupt, a veth's NAPI). lagd turns on RPS on the aggregate ([`crate::rps`])
//! and the program clears each data frame's hash and receive queue before the redirect, so the
//! kernel's flow hash of the frame picks the backlog: one per conversation, on every member.
//!
//! lagd writes the member's Collecting state into the program's one-entry map
//! ([`RxOffload::set_collecting`]); the program counts bytes, wire segments and drops.
//!
//! **Switch-independent modes** (`transmit-lb`, `adaptive-lb`; [`RxOffload::set_balancer`]):
//! the kernel delivers what is plainly for the host: unicast frames for the member's own MAC
//! (their destination rewritten to the aggregate's, as user space does) and, on the receive
//! member, those for the aggregate's MAC. Everything else is lagd's to judge (broadcast and
//! multicast, ARP, Neighbour Discovery, learning frames, flooded copies, frames from the
//! aggregate's own MAC): the program sends it once more through the member's ingress marked
//! with [`MARKER_PASS_MARK`], the mark the socket's filter takes, so that it reaches lagd's
//! socket, and only then (each frame once: by the kernel or by lagd).
//!
//! **Per-peer receive load** (`adaptive-lb` spreads peers over members by it): what the
//! program delivers is also counted per source address (IPv4 or IPv6, after one 802.1Q tag) in
//! a hash map that only lagd fills, with the peers of its balancer
//! ([`RxOffload::add_peer`], read by [`RxOffload::peer_counts`]). The program never inserts:
//! frames from addresses lagd did not enter, however many of them an attacker invents, are
//! counted together under the unspecified address ([`RxOffload::untracked`]), so the map
//! never holds more than [`PEER_ENTRIES`] entries and a flood of new source addresses cannot
//! push a real peer's counter out.

use std::net::IpAddr;
use std::path::Path;

use crate::attach::{AttachMode, Attachment, Place};
use crate::bpf::{
    Alu, ArrayMap, Asm, Insn, Jmp, KeyMap, Label, MapKind, Program, Size, TCX_DROP, TCX_NEXT,
    TcxHook, helper, skb,
};
use crate::error::{Error, Result};
use lagd_wire::ETHERTYPE_SLOW_PROTOCOLS;

/// The program's name (also its clsact filter's).
pub const PROG_NAME: &str = "lagd_rxoff";

/// `BPF_F_INGRESS`: deliver the redirected frame as received by the target.
const BPF_F_INGRESS: i32 = 1;
/// `skb->mark` of a frame on its second pass, for lagd's socket: a Marker PDU, or a frame of a
/// switch-independent mode that lagd judges ("lagd" in ASCII, high bit set). The program lets
/// a frame with this mark through at once; the socket's filter accepts it.
pub const MARKER_PASS_MARK: u32 = 0xec61_6764;
/// Size of the balancer map's value: flags (`u32`: [`ALB_ON`], [`ALB_RECEIVE`]) at 0, the
/// aggregate's MAC at 8, the member's own MAC (as on the wire) at 16.
const ALB_VALUE: usize = 24;
/// Balancer flag: a switch-independent mode.
const ALB_ON: u32 = 1;
/// Balancer flag: this member answers to the aggregate's MAC.
const ALB_RECEIVE: u32 = 2;
/// Slow Protocols subtype of a Marker PDU.
const SUBTYPE_MARKER: i32 = 2;
/// Entries of the per-peer map: the balancer's most peers (1024 by default) and the entry
/// of untracked sources, with room to spare.
pub const PEER_ENTRIES: u32 = 2048;
/// Per-peer map: key an IPv6 address (IPv4 as `::ffff:a.b.c.d`), value bytes and wire frames
/// (`u64` each).
const PEER_KEY: usize = 16;
const PEER_VALUE: usize = 16;
/// Stack slot of the per-peer key.
const PEER_KEY_AT: i16 = -32;

/// Switch-independent modes, at `data` (r6 the context): unicast for the member's own MAC
/// (rewritten to the aggregate's) and, on the receive member, for the aggregate's continue to
/// `plain`; anything else goes once more through the member's ingress, marked for lagd's
/// socket. Other modes: straight to `plain`.
fn balancer(a: &mut Asm, alb: &ArrayMap, peers: &KeyMap, plain: Label) {
    let user = a.new_label();
    let count = a.new_label();
    let macs = a.new_label();
    let not_src_agg = a.new_label();
    let not_own = a.new_label();
    a.st(Size::W, 10, -8, 0)
        .ld_map(1, alb)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -8)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, plain)
        .alu_reg(Alu::Mov, 8, 0)
        .ldx(Size::W, 9, 8, 0)
        .alu_reg(Alu::Mov, 2, 9)
        .alu_imm(Alu::And, 2, ALB_ON as i32)
        .jmp_imm(Jmp::Eq, 2, 0, plain);
    l3_after_one_tag(a, user);
    // ARP (0x0806) and learning frames (0x9000) are lagd's.
    a.jmp_imm(Jmp::Eq, 4, 0x0608, user)
        .jmp_imm(Jmp::Eq, 4, 0x0090, user)
        .jmp_imm(Jmp::Ne, 4, 0xdd86, macs)
        // IPv6: ICMPv6 (next header 58) of types 133-137 (Neighbour Discovery) is lagd's.
        .alu_reg(Alu::Mov, 1, 5)
        .alu_imm(Alu::Add, 1, 41)
        .jmp_reg(Jmp::Gt, 1, 3, macs)
        .ldx(Size::B, 4, 5, 6)
        .jmp_imm(Jmp::Ne, 4, 58, macs)
        .ldx(Size::B, 4, 5, 40)
        .jmp_imm(Jmp::Lt, 4, 133, macs)
        .jmp_imm(Jmp::Le, 4, 137, user);
    a.label(macs);
    // Broadcast and multicast are lagd's (the receive member's only).
    a.ldx(Size::B, 4, 2, 0)
        .alu_imm(Alu::And, 4, 1)
        .jmp_imm(Jmp::Ne, 4, 0, user)
        // From the aggregate's MAC: our own frame back.
        .ldx(Size::W, 4, 2, 6)
        .ldx(Size::W, 5, 8, 8)
        .jmp_reg(Jmp::Ne, 4, 5, not_src_agg)
        .ldx(Size::H, 4, 2, 10)
        .ldx(Size::H, 5, 8, 12)
        .jmp_reg(Jmp::Eq, 4, 5, user);
    a.label(not_src_agg);
    // For the member's own MAC: delivered with the aggregate's.
    a.ldx(Size::W, 4, 2, 0)
        .ldx(Size::W, 5, 8, 16)
        .jmp_reg(Jmp::Ne, 4, 5, not_own)
        .ldx(Size::H, 4, 2, 4)
        .ldx(Size::H, 5, 8, 20)
        .jmp_reg(Jmp::Ne, 4, 5, not_own)
        .alu_reg(Alu::Mov, 1, 6)
        .alu_imm(Alu::Mov, 2, 0)
        .alu_reg(Alu::Mov, 3, 8)
        .alu_imm(Alu::Add, 3, 8)
        .alu_imm(Alu::Mov, 4, 6)
        .alu_imm(Alu::Mov, 5, 0)
        .call(helper::SKB_STORE_BYTES)
        .ja(count);
    // For the aggregate's MAC: delivered on the receive member.
    a.label(not_own);
    a.ldx(Size::W, 4, 2, 0)
        .ldx(Size::W, 5, 8, 8)
        .jmp_reg(Jmp::Ne, 4, 5, user)
        .ldx(Size::H, 4, 2, 4)
        .ldx(Size::H, 5, 8, 12)
        .jmp_reg(Jmp::Ne, 4, 5, user)
        .alu_imm(Alu::And, 9, ALB_RECEIVE as i32)
        .jmp_imm(Jmp::Ne, 9, 0, count);
    // Once more through the ingress, marked: then to lagd's socket.
    a.label(user);
    a.ld_imm64(5, u64::from(MARKER_PASS_MARK))
        .stx(Size::W, 6, skb::MARK, 5)
        .ldx(Size::W, 1, 6, skb::IFINDEX)
        .alu_imm(Alu::Mov, 2, BPF_F_INGRESS)
        .call(helper::REDIRECT)
        .exit();
    a.label(count);
    count_peer(a, peers, plain);
}

/// Reads the frame in r6: r2 its data, r3 its end, r4 its EtherType (loaded in host order,
/// so 0x0800 reads 0x0008), after one 802.1Q tag if it has one, r5 its L3 header; to `short`
/// when the frame ends before that.
fn l3_after_one_tag(a: &mut Asm, short: Label) {
    let untagged = a.new_label();
    let l3 = a.new_label();
    a.ldx(Size::W, 2, 6, skb::DATA)
        .ldx(Size::W, 3, 6, skb::DATA_END)
        .alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 14)
        .jmp_reg(Jmp::Gt, 4, 3, short)
        .ldx(Size::H, 4, 2, 12)
        .jmp_imm(Jmp::Ne, 4, 0x0081, untagged)
        .alu_reg(Alu::Mov, 5, 2)
        .alu_imm(Alu::Add, 5, 18)
        .jmp_reg(Jmp::Gt, 5, 3, short)
        .ldx(Size::H, 4, 2, 16)
        .ja(l3);
    a.label(untagged);
    a.alu_reg(Alu::Mov, 5, 2).alu_imm(Alu::Add, 5, 14);
    a.label(l3);
}

/// Counts the frame in r6 (delivered by the balancer) under its source address in `peers`,
/// or under the unspecified address if lagd did not enter that one; then to `plain`. The
/// frame's pointers are read afresh (a rewrite of its destination invalidated them).
fn count_peer(a: &mut Asm, peers: &KeyMap, plain: Label) {
    let v4 = a.new_label();
    let lookup = a.new_label();
    let add = a.new_label();
    let k = PEER_KEY_AT;
    l3_after_one_tag(a, plain);
    // IPv6 (0x86dd, loaded little-endian): the source address at 8.
    a.jmp_imm(Jmp::Eq, 4, 0x0008, v4)
        .jmp_imm(Jmp::Ne, 4, 0xdd86, plain)
        .alu_reg(Alu::Mov, 1, 5)
        .alu_imm(Alu::Add, 1, 24)
        .jmp_reg(Jmp::Gt, 1, 3, plain)
        .ldx(Size::DW, 1, 5, 8)
        .stx(Size::DW, 10, k, 1)
        .ldx(Size::DW, 1, 5, 16)
        .stx(Size::DW, 10, k + 8, 1)
        .ja(lookup);
    // IPv4: the source address at 12, as ::ffff:a.b.c.d.
    a.label(v4);
    a.alu_reg(Alu::Mov, 1, 5)
        .alu_imm(Alu::Add, 1, 16)
        .jmp_reg(Jmp::Gt, 1, 3, plain)
        .st(Size::DW, 10, k, 0)
        .st(Size::W, 10, k + 8, i32::from_le_bytes([0, 0, 0xff, 0xff]))
        .ldx(Size::W, 1, 5, 12)
        .stx(Size::W, 10, k + 12, 1);
    a.label(lookup);
    a.ld_map(1, peers)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, i32::from(k))
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Ne, 0, 0, add)
        // Not a peer lagd entered: counted under `::`.
        .st(Size::DW, 10, k, 0)
        .st(Size::DW, 10, k + 8, 0)
        .ld_map(1, peers)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, i32::from(k))
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, plain);
    a.label(add);
    crate::tx_program::count_frame(a);
    a.ja(plain);
}

fn program(
    state: &ArrayMap,
    counts: &ArrayMap,
    alb: &ArrayMap,
    peers: &KeyMap,
) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let next = a.new_label();
    let drop = a.new_label();
    let count_drop = a.new_label();
    let no_counts = a.new_label();
    let redirect = a.new_label();
    let slow = a.new_label();
    let ipv4 = a.new_label();
    let data = a.new_label();
    let plain = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1)
        // Second pass (a Marker PDU, a frame for lagd): to the socket.
        .ldx(Size::W, 4, 6, skb::MARK)
        .ld_imm64(5, u64::from(MARKER_PASS_MARK))
        .jmp_reg(Jmp::Eq, 4, 5, next)
        .ldx(Size::W, 2, 6, skb::DATA)
        .ldx(Size::W, 3, 6, skb::DATA_END)
        .alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 14)
        .jmp_reg(Jmp::Gt, 4, 3, next)
        // Slow Protocols (0x8809, loaded in host order) go to lagd's socket.
        .ldx(Size::H, 4, 2, 12)
        .jmp_imm(
            Jmp::Eq,
            4,
            i32::from(ETHERTYPE_SLOW_PROTOCOLS.to_be()),
            slow,
        )
        // IPv4 (0x0800): micro-BFD goes to lagd's socket too.
        .jmp_imm(Jmp::Eq, 4, 0x0008, ipv4);
    a.label(data);
    balancer(&mut a, alb, peers, plain);
    a.label(plain);
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
    // One backlog per conversation (RPS on the aggregate, `crate::rps`): the kernel's own flow
    // hash picks it, not the member's, nor the member's receive queue.
    a.label(redirect);
    a.alu_reg(Alu::Mov, 1, 6)
        .call(helper::SET_HASH_INVALID)
        .alu_imm(Alu::Mov, 2, 0)
        .stx(Size::W, 6, skb::QUEUE_MAPPING, 2)
        .alu_reg(Alu::Mov, 1, 7)
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

/// What the program delivered from one source address (see [`RxOffload::peer_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Bytes delivered.
    pub bytes: u64,
    /// Wire segments delivered.
    pub frames: u64,
}

/// The per-peer map's key of `ip`: IPv6 as it is, IPv4 as `::ffff:a.b.c.d`.
fn peer_key(ip: IpAddr) -> [u8; PEER_KEY] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// What the receive program of a switch-independent mode needs to know of its member
/// ([`RxOffload::set_balancer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxBalancer {
    /// The aggregate's MAC.
    pub aggregate: [u8; 6],
    /// The member's own MAC as peers use it (none: a member the balancer does not use).
    pub own: Option<[u8; 6]>,
    /// Whether the member answers to the aggregate's MAC (the receive member).
    pub receive: bool,
}

/// The fast path of one member.
#[derive(Debug)]
pub struct RxOffload {
    attachment: Option<Attachment>,
    prog: Program,
    state: ArrayMap,
    counts: ArrayMap,
    alb: ArrayMap,
    peers: KeyMap,
    collecting_into: u32,
    balancer: Option<RxBalancer>,
}

impl RxOffload {
    /// Loads the program and attaches it at the ingress of member `ifindex` (tcx, or clsact:
    /// [`crate::attach`]); it drops data frames until [`RxOffload::set_collecting`].
    pub fn attach(ifindex: u32) -> Result<RxOffload> {
        let (prog, state, counts, alb, peers) = Self::load(None)?;
        let a = Attachment::attach(&prog, PROG_NAME, ifindex, TcxHook::Ingress, Place::AFTER)?;
        Ok(RxOffload {
            attachment: Some(a),
            prog,
            state,
            counts,
            alb,
            peers,
            collecting_into: 0,
            balancer: None,
        })
    }

    /// Loads the program without attaching it (tests, with [`RxOffload::test_run`]).
    pub fn detached() -> Result<RxOffload> {
        let (prog, state, counts, alb, peers) = Self::load(None)?;
        Ok(RxOffload {
            attachment: None,
            prog,
            state,
            counts,
            alb,
            peers,
            collecting_into: 0,
            balancer: None,
        })
    }

    /// The program and its maps, new or (`pinned`) those pinned in a directory. A pin of a
    /// lagd that did not count per peer has no `peers`: a new one is made (and pinned).
    fn load(pinned: Option<&Path>) -> Result<(Program, ArrayMap, ArrayMap, ArrayMap, KeyMap)> {
        let (state, counts, alb) = match pinned {
            None => (
                ArrayMap::create(MapKind::Array, "lagd_rxstate", 4, 1)?,
                ArrayMap::create(MapKind::Array, "lagd_rxcounts", 24, 1)?,
                ArrayMap::create(MapKind::Array, "lagd_rxalb", ALB_VALUE, 1)?,
            ),
            Some(dir) => (
                ArrayMap::open_pinned(&dir.join("state"), MapKind::Array, 4, 1)?,
                ArrayMap::open_pinned(&dir.join("counts"), MapKind::Array, 24, 1)?,
                ArrayMap::open_pinned(&dir.join("alb"), MapKind::Array, ALB_VALUE, 1)?,
            ),
        };
        let new_peers = || -> Result<KeyMap> {
            let m = KeyMap::create("lagd_rxpeers", PEER_KEY, PEER_VALUE, PEER_ENTRIES)?;
            m.insert(&[0; PEER_KEY], &[0; PEER_VALUE])?;
            Ok(m)
        };
        let peers = match pinned.map(|d| d.join("peers")) {
            Some(p) if p.exists() => KeyMap::open_pinned(&p, PEER_KEY, PEER_VALUE, PEER_ENTRIES)?,
            Some(p) => {
                let m = new_peers()?;
                m.pin(&p)?;
                m
            }
            None => new_peers()?,
        };
        let insns = program(&state, &counts, &alb, &peers).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        Ok((prog, state, counts, alb, peers))
    }

    /// Switch-independent modes: which frames the kernel delivers (see the module docs);
    /// `None`: every data frame while Collecting (the other modes). Written only on change.
    pub fn set_balancer(&mut self, b: Option<RxBalancer>) -> Result<()> {
        if b == self.balancer {
            return Ok(());
        }
        let mut v = [0u8; ALB_VALUE];
        if let Some(b) = b {
            let flags = ALB_ON | if b.receive { ALB_RECEIVE } else { 0 };
            v[..4].copy_from_slice(&flags.to_ne_bytes());
            v[8..14].copy_from_slice(&b.aggregate);
            v[16..22].copy_from_slice(&b.own.unwrap_or([0; 6]));
        }
        self.alb.set(0, &v)?;
        self.balancer = b;
        Ok(())
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

    /// Counts what the program delivers from `ip` from now on (a peer of the balancer);
    /// returns what it counted so far (zero for a new entry). Fails when the map is full
    /// ([`PEER_ENTRIES`]).
    pub fn add_peer(&self, ip: IpAddr) -> Result<PeerCounts> {
        if let Some(c) = self.peer_counts(ip)? {
            return Ok(c);
        }
        self.peers.insert(&peer_key(ip), &[0; PEER_VALUE])?;
        Ok(PeerCounts::default())
    }

    /// No longer counts `ip` apart (its frames count as untracked).
    pub fn remove_peer(&self, ip: IpAddr) -> Result<()> {
        if ip.is_unspecified() {
            return Ok(());
        }
        self.peers.delete(&peer_key(ip))
    }

    /// What the program delivered from `ip` since it was added (`None`: not added).
    pub fn peer_counts(&self, ip: IpAddr) -> Result<Option<PeerCounts>> {
        let mut v = [0u8; PEER_VALUE];
        if !self.peers.get(&peer_key(ip), &mut v)? {
            return Ok(None);
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&v[i..i + 8]);
            u64::from_ne_bytes(w)
        };
        Ok(Some(PeerCounts {
            bytes: word(0),
            frames: word(8),
        }))
    }

    /// What the program delivered from addresses that were not added (IPv4 and IPv6 only).
    pub fn untracked(&self) -> Result<PeerCounts> {
        Ok(self
            .peer_counts(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))?
            .unwrap_or_default())
    }

    /// Runs the program on `frame` without a device (tests): its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.prog.test_run(frame)
    }

    /// Runs the program on `frame` (tests): its verdict and the frame as the program left it.
    pub fn test_run_out(&self, frame: &[u8]) -> Result<(i32, Vec<u8>)> {
        self.prog.test_run_out(frame)
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
        self.alb.pin(&at("alb"))?;
        self.peers.pin(&at("peers"))?;
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
        let (prog, state, counts, alb, peers) = Self::load(Some(dir))?;
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
        let mut b = [0u8; ALB_VALUE];
        alb.get(0, &mut b)?;
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mac = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5]];
        let balancer = (word(0) & ALB_ON != 0).then(|| RxBalancer {
            aggregate: mac(8),
            own: Some(mac(16)).filter(|m| *m != [0; 6]),
            receive: word(0) & ALB_RECEIVE != 0,
        });
        let _ = std::fs::remove_file(dir.join("prog"));
        prog.pin(&dir.join("prog"))?;
        Ok(RxOffload {
            attachment: Some(a),
            prog,
            state,
            counts,
            alb,
            peers,
            collecting_into: u32::from_ne_bytes(v),
            balancer,
        })
    }

    /// Removes the pins in `dir` (and the directory if then empty).
    pub fn unpin(dir: &Path) {
        for n in ["state", "counts", "alb", "peers", "prog", "link"] {
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
