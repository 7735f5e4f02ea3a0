//! The host → wire program of the kernel fast path, assembled from the aggregation's mode and
//! hash policy (see [`crate::tx_offload`] for what it does and how lagd drives it).
//!
//! The hash part is `lagd_distrib`'s `FlowKey::from_frame` followed by `HashPolicy::hash`,
//! instruction by instruction: the same tags skipped (up to 8, 802.1Q, 802.1ad and 0x9100, an
//! accelerated outer tag counting as the first), the same IPv4 (options skipped through IHL,
//! fragments keyed by their addresses) and IPv6 (up to 16 extension headers walked, a
//! fragment keyed by its addresses) parsing, the same L4 fields (TCP, UDP, SCTP and UDP-Lite
//! ports; ESP and AH SPI), the same truncation rules (what is cut off is zero, or not IP), and
//! the same hash domains. Header bytes are copied with `bpf_skb_load_bytes`, so frames whose
//! headers are not in the linear part (GSO super-frames, deep extension headers) need no pull
//! and no copy of the frame.
//!
//! Registers: r6 the context; while parsing r7 the frame length, r8 the offset, r9 the
//! EtherType or next header; while hashing r9 the state.

use crate::bpf::{Alu, ArrayMap, Asm, Insn, Jmp, Label, Size, TCX_DROP, TCX_NEXT, helper, skb};
use lagd_wire::ETHERTYPE_SLOW_PROTOCOLS;

/// The conversation hash to reproduce (`lagd_distrib::HashPolicy::hash`): the initial state is
/// `fmix64(seed ^ domain)` (domain: which layers are hashed, the IP version and protocol); one
/// 64-bit word per hashed layer is mixed in as `state = fmix64(state ^ word) + golden`, and
/// `fmix64(state)` is folded to 32 bits at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashPlan {
    /// Hash the MAC addresses and EtherType (any policy does for a frame that is not IP).
    pub l2: bool,
    /// Hash the IP addresses (an L4 policy does when the frame has no L4 fields).
    pub l3: bool,
    /// Hash the ports or SPI.
    pub l4: bool,
    /// The fixed seed.
    pub seed: u64,
    /// Added after each word.
    pub golden: u64,
    /// The two multipliers of `fmix64`.
    pub mul: [u64; 2],
}

/// What the program does with a frame it may send itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// Hash the frame (the plan), look its bucket up.
    Hash(HashPlan),
    /// Every frame is bucket 0 (active-backup: lagd points bucket 0 at the active member).
    Single,
    /// Rotate over the member list (a per-CPU counter).
    RoundRobin,
    /// A copy to every member of the list.
    Broadcast,
    /// `transmit-lb` and `adaptive-lb`: hashed as [`TxMode::Hash`], and further
    /// - ARP frames and IPv6 Neighbour Solicitations and Advertisements go to user space
    ///   (counted as their bucket's, like a user-space bucket's frames): lagd learns the
    ///   aggregate's addresses from them and, in `adaptive-lb`, sends each peer's answer from
    ///   its member's MAC and on that member;
    /// - a frame with the aggregate's MAC as source that the kernel sends to a member gets that
    ///   member's own MAC (from the `srcmac` map, keyed by the member's ifindex; a member
    ///   without an entry, or whose entry is off, sends it unchanged: the receive member), as
    ///   the user-space path does, so that the switch never learns the aggregate's MAC on a
    ///   second port.
    SwitchIndependent(HashPlan),
}

/// A `srcmac` map value: the member's own MAC in bytes 0..6, the aggregate's in 8..14, and
/// in 16..20 a native-endian `u32`, non-zero when the rewrite is on.
pub const SRCMAC_VALUE: usize = 24;
/// Entries of the `srcmac` map.
pub const SRCMAC_ENTRIES: u32 = 2 * MAX_MEMBERS as u32;

/// Most members the round-robin and broadcast programs know (more: user space carries them).
pub const MAX_MEMBERS: usize = 32;
/// A table entry with this bit set: hand the bucket back to the kernel path (its member in
/// the low bits) once no frame of it waits in user space.
pub const HAND_BACK: u32 = 0x8000_0000;

/// Protocols whose L4 fields are hashed (`FlowKey::has_l4`).
const L4_PROTOCOLS: [i32; 6] = [6, 17, 132, 136, 50, 51];
/// IPv6 headers walked like extension headers (hop-by-hop, routing, destination options,
/// mobility, HIP, shim6).
const EXT_HEADERS: [i32; 6] = [0, 43, 60, 135, 139, 140];
const MAX_TAGS: usize = 8;
const MAX_EXT_HEADERS: usize = 16;

// Stack slots (offsets from r10).
const KEY: i16 = -4;
const SEL: i16 = -8;
const SLOT: i16 = -12;
/// The L4 header's offset (`u32`; 0: none), for the switch-independent modes' ND check.
const L4_OFF: i16 = -16;
const TMP: i16 = -24;
const K_W0: i16 = -32;
const K_W1: i16 = -40;
const K_ET: i16 = -48;
const K_IPV: i16 = -56;
const K_PROTO: i16 = -64;
const K_FRAG: i16 = -72;
const K_L4: i16 = -80;
const K_A: [i16; 4] = [-88, -96, -104, -112];
const U2: i16 = -120;
const U3: i16 = -128;
const U4: i16 = -136;
const BUF: i16 = -184;

/// The maps the program uses.
pub(crate) struct TxMaps<'a> {
    pub table: &'a ArrayMap,
    pub passed: &'a ArrayMap,
    pub consumed: &'a ArrayMap,
    pub counts: &'a ArrayMap,
    pub ctl: &'a ArrayMap,
    pub members: &'a ArrayMap,
    pub mcounts: &'a ArrayMap,
    pub rr: &'a ArrayMap,
    pub srcmac: &'a ArrayMap,
}

fn fmix64(a: &mut Asm, mul: [u64; 2]) {
    for (i, m) in mul.iter().enumerate() {
        a.alu_reg(Alu::Mov, 3, 9)
            .alu_imm(Alu::Rsh, 3, 33)
            .alu_reg(Alu::Xor, 9, 3)
            .ld_imm64(4, *m)
            .alu_reg(Alu::Mul, 9, 4);
        if i == 1 {
            a.alu_reg(Alu::Mov, 3, 9)
                .alu_imm(Alu::Rsh, 3, 33)
                .alu_reg(Alu::Xor, 9, 3);
        }
    }
}

/// Mixes the word in r2 into r9.
fn word(a: &mut Asm, p: &HashPlan) {
    a.alu_reg(Alu::Xor, 9, 2);
    fmix64(a, p.mul);
    a.ld_imm64(4, p.golden).alu_reg(Alu::Add, 9, 4);
}

/// `bpf_skb_load_bytes(ctx, r8 + extra, BUF, n)`; jumps to `fail` if it fails.
fn load(a: &mut Asm, extra: i32, n: i32, fail: Label) {
    a.alu_reg(Alu::Mov, 1, 6).alu_reg(Alu::Mov, 2, 8);
    if extra != 0 {
        a.alu_imm(Alu::Add, 2, extra);
    }
    a.alu_reg(Alu::Mov, 3, 10)
        .alu_imm(Alu::Add, 3, i32::from(BUF))
        .alu_imm(Alu::Mov, 4, n)
        .call(helper::SKB_LOAD_BYTES)
        .jmp_imm(Jmp::Ne, 0, 0, fail);
}

/// `if r8 + n > r7 goto short`.
fn need(a: &mut Asm, n: i32, short: Label) {
    a.alu_reg(Alu::Mov, 2, 8)
        .alu_imm(Alu::Add, 2, n)
        .jmp_reg(Jmp::Gt, 2, 7, short);
}

/// `r<dst> = big-endian u<bits> at BUF + off`.
fn buf_be(a: &mut Asm, dst: u8, off: i16, size: Size) {
    let bits = match size {
        Size::B => 0,
        Size::H => 16,
        Size::W => 32,
        Size::DW => 64,
    };
    a.ldx(size, dst, 10, BUF + off);
    if bits != 0 {
        a.to_be(dst, bits);
    }
}

/// `r0 = lookup(map, *(u32 *)(r10 + key))`, `null` if none.
fn lookup(a: &mut Asm, map: &ArrayMap, key: i16, null: Label) {
    a.ld_map(1, map)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, i32::from(key))
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, null);
}

/// Parses the frame into the key slots (the flow key), then hashes it: r9 = the bucket.
/// `pass` is taken for frames lagd does not dispatch (shorter than an Ethernet header; Slow
/// Protocols the host wrote).
fn parse_and_hash(a: &mut Asm, p: &HashPlan, buckets: u32, pass: Label) {
    let tags_done = a.new_label();
    let v4 = a.new_label();
    let v6 = a.new_label();
    let l4 = a.new_label();
    let hash = a.new_label();
    let proto_hash = a.new_label();
    let frag_hash = a.new_label();
    let notag = a.new_label();
    let tag_loop = a.new_label();

    for slot in [K_IPV, K_PROTO, K_FRAG, K_L4, K_A[0], K_A[1], K_A[2], K_A[3]] {
        a.st(Size::DW, 10, slot, 0);
    }
    a.ldx(Size::W, 7, 6, skb::LEN)
        .jmp_imm(Jmp::Lt, 7, 14, pass)
        .alu_imm(Alu::Mov, 8, 0);
    load(a, 0, 14, pass);
    // dst_mac << 16 (the EtherType is or-ed in when hashing), src_mac.
    buf_be(a, 2, 0, Size::W);
    a.alu_imm(Alu::Lsh, 2, 16);
    buf_be(a, 3, 4, Size::H);
    a.alu_reg(Alu::Or, 2, 3)
        .alu_imm(Alu::Lsh, 2, 16)
        .stx(Size::DW, 10, K_W0, 2);
    // (Stack reads must be aligned: the source MAC as 2 + 4 bytes.)
    buf_be(a, 2, 6, Size::H);
    a.alu_imm(Alu::Lsh, 2, 32);
    buf_be(a, 3, 8, Size::W);
    a.alu_reg(Alu::Or, 2, 3).stx(Size::DW, 10, K_W1, 2);
    buf_be(a, 9, 12, Size::H);
    a.alu_imm(Alu::Mov, 8, 12);
    // An accelerated outer tag (from a VLAN device or bridge above the aggregate) is the first
    // tag: user space reads it in line, before the EtherType at offset 12.
    a.ldx(Size::W, 2, 6, skb::VLAN_PRESENT)
        .jmp_imm(Jmp::Eq, 2, 0, notag)
        .ldx(Size::W, 9, 6, skb::VLAN_PROTO)
        .to_be(9, 16)
        .alu_imm(Alu::Mov, 8, 8)
        .ja(tag_loop);
    a.label(notag);
    a.jmp_imm(Jmp::Eq, 9, i32::from(ETHERTYPE_SLOW_PROTOCOLS), pass);
    a.label(tag_loop);
    for _ in 0..MAX_TAGS {
        let is_tag = a.new_label();
        a.jmp_imm(Jmp::Eq, 9, 0x8100, is_tag)
            .jmp_imm(Jmp::Eq, 9, 0x88a8, is_tag)
            .jmp_imm(Jmp::Ne, 9, 0x9100, tags_done);
        a.label(is_tag);
        a.alu_imm(Alu::Add, 8, 4);
        // The inner EtherType cut off: the frame's EtherType is the tag's (not IP).
        need(a, 2, tags_done);
        load(a, 0, 2, tags_done);
        buf_be(a, 9, 0, Size::H);
    }
    a.label(tags_done);
    a.stx(Size::DW, 10, K_ET, 9)
        .alu_imm(Alu::Add, 8, 2)
        .jmp_imm(Jmp::Eq, 9, 0x0800, v4)
        .jmp_imm(Jmp::Eq, 9, 0x86dd, v6)
        .ja(hash);

    // IPv4: a 20-byte header (else not IP), version 4.
    a.label(v4);
    need(a, 20, hash);
    load(a, 0, 20, hash);
    a.ldx(Size::B, 2, 10, BUF)
        .alu_imm(Alu::Rsh, 2, 4)
        .jmp_imm(Jmp::Ne, 2, 4, hash)
        .st(Size::DW, 10, K_IPV, 4)
        .ldx(Size::B, 9, 10, BUF + 9)
        .stx(Size::DW, 10, K_PROTO, 9);
    buf_be(a, 2, 12, Size::W);
    a.alu_imm(Alu::Lsh, 2, 32);
    buf_be(a, 3, 16, Size::W);
    a.alu_reg(Alu::Or, 2, 3).stx(Size::DW, 10, K_A[0], 2);
    // More Fragments or an offset: a fragment, keyed by its addresses.
    buf_be(a, 3, 6, Size::H);
    a.alu_imm(Alu::And, 3, 0x3fff)
        .jmp_imm(Jmp::Ne, 3, 0, frag_hash)
        .ldx(Size::B, 2, 10, BUF)
        .alu_imm(Alu::And, 2, 0x0f)
        .alu_imm(Alu::Lsh, 2, 2)
        .jmp_imm(Jmp::Lt, 2, 20, hash)
        .alu_reg(Alu::Add, 8, 2)
        .ja(l4);

    // IPv6: a 40-byte header (else not IP), version 6, then the extension headers.
    a.label(v6);
    need(a, 40, hash);
    load(a, 0, 40, hash);
    a.ldx(Size::B, 2, 10, BUF)
        .alu_imm(Alu::Rsh, 2, 4)
        .jmp_imm(Jmp::Ne, 2, 6, hash)
        .st(Size::DW, 10, K_IPV, 6);
    for (i, slot) in K_A.iter().enumerate() {
        buf_be(a, 2, 8 + 8 * i as i16, Size::DW);
        a.stx(Size::DW, 10, *slot, 2);
    }
    a.ldx(Size::B, 9, 10, BUF + 6).alu_imm(Alu::Add, 8, 40);
    for _ in 0..MAX_EXT_HEADERS {
        let ext = a.new_label();
        let frag = a.new_label();
        let next = a.new_label();
        for h in EXT_HEADERS {
            a.jmp_imm(Jmp::Eq, 9, h, ext);
        }
        a.jmp_imm(Jmp::Eq, 9, 44, frag).ja(l4);
        // An extension header: next header and length (cut off: the protocol is its type).
        a.label(ext);
        need(a, 2, proto_hash);
        load(a, 0, 2, proto_hash);
        a.ldx(Size::B, 9, 10, BUF)
            .ldx(Size::B, 2, 10, BUF + 1)
            .alu_imm(Alu::Add, 2, 1)
            .alu_imm(Alu::Lsh, 2, 3)
            .alu_reg(Alu::Add, 8, 2)
            .ja(next);
        // A Fragment header (even cut off: a fragment), unless an atomic fragment.
        a.label(frag);
        need(a, 4, frag_hash);
        load(a, 0, 4, frag_hash);
        a.ldx(Size::B, 9, 10, BUF);
        buf_be(a, 2, 2, Size::H);
        a.alu_imm(Alu::Add, 8, 8)
            .alu_reg(Alu::Mov, 3, 2)
            .alu_imm(Alu::Rsh, 3, 3)
            .jmp_imm(Jmp::Ne, 3, 0, frag_hash)
            .alu_imm(Alu::And, 2, 1)
            .jmp_imm(Jmp::Ne, 2, 0, frag_hash);
        a.label(next);
    }

    // L4: ports (TCP, UDP, SCTP, UDP-Lite) or SPI (ESP, AH at offset 4), when all there.
    a.label(l4);
    a.stx(Size::W, 10, L4_OFF, 8)
        .stx(Size::DW, 10, K_PROTO, 9)
        .jmp_reg(Jmp::Gt, 8, 7, hash);
    let ports = a.new_label();
    let esp = a.new_label();
    let ah = a.new_label();
    for proto in [6, 17, 132, 136] {
        a.jmp_imm(Jmp::Eq, 9, proto, ports);
    }
    a.jmp_imm(Jmp::Eq, 9, 50, esp)
        .jmp_imm(Jmp::Eq, 9, 51, ah)
        .ja(hash);
    a.label(ports);
    need(a, 4, hash);
    load(a, 0, 4, hash);
    buf_be(a, 2, 0, Size::W);
    a.stx(Size::DW, 10, K_L4, 2).ja(hash);
    a.label(esp);
    need(a, 4, hash);
    load(a, 0, 4, hash);
    buf_be(a, 2, 0, Size::W);
    a.alu_imm(Alu::Lsh, 2, 32)
        .stx(Size::DW, 10, K_L4, 2)
        .ja(hash);
    a.label(ah);
    need(a, 8, hash);
    load(a, 4, 4, hash);
    buf_be(a, 2, 0, Size::W);
    a.alu_imm(Alu::Lsh, 2, 32)
        .stx(Size::DW, 10, K_L4, 2)
        .ja(hash);

    a.label(proto_hash);
    a.stx(Size::DW, 10, K_PROTO, 9).ja(hash);
    a.label(frag_hash);
    a.stx(Size::DW, 10, K_PROTO, 9).st(Size::DW, 10, K_FRAG, 1);

    // The hash: which layers (use_l2, use_l3, use_l4) and the domain, as HashPolicy::hash.
    a.label(hash);
    let nonip = a.new_label();
    let mix = a.new_label();
    a.ldx(Size::DW, 1, 10, K_IPV)
        .jmp_imm(Jmp::Eq, 1, 0, nonip)
        .alu_imm(Alu::Mov, 3, 0);
    if p.l4 {
        let no_l4 = a.new_label();
        let yes = a.new_label();
        a.ldx(Size::DW, 2, 10, K_FRAG)
            .jmp_imm(Jmp::Ne, 2, 0, no_l4)
            .ldx(Size::DW, 2, 10, K_PROTO);
        for proto in L4_PROTOCOLS {
            a.jmp_imm(Jmp::Eq, 2, proto, yes);
        }
        a.ja(no_l4);
        a.label(yes);
        a.alu_imm(Alu::Mov, 3, 1);
        a.label(no_l4);
    }
    // r3 = use_l4; r4 = use_l3.
    if p.l3 {
        a.alu_imm(Alu::Mov, 4, 1);
    } else if p.l4 {
        a.alu_imm(Alu::Mov, 4, 1).alu_reg(Alu::Sub, 4, 3);
    } else {
        a.alu_imm(Alu::Mov, 4, 0);
    }
    a.st(Size::DW, 10, U2, i32::from(p.l2))
        .stx(Size::DW, 10, U3, 4)
        .stx(Size::DW, 10, U4, 3)
        // domain = use_l2 | use_l3 << 1 | use_l4 << 2 | use_l3 * version << 8
        //          | use_l4 * protocol << 16
        .alu_imm(Alu::Mov, 5, i32::from(p.l2))
        .alu_reg(Alu::Mov, 2, 4)
        .alu_imm(Alu::Lsh, 2, 1)
        .alu_reg(Alu::Or, 5, 2)
        .alu_reg(Alu::Mov, 2, 3)
        .alu_imm(Alu::Lsh, 2, 2)
        .alu_reg(Alu::Or, 5, 2)
        .alu_reg(Alu::Mov, 2, 1)
        .alu_reg(Alu::Mul, 2, 4)
        .alu_imm(Alu::Lsh, 2, 8)
        .alu_reg(Alu::Or, 5, 2)
        .ldx(Size::DW, 2, 10, K_PROTO)
        .alu_reg(Alu::Mul, 2, 3)
        .alu_imm(Alu::Lsh, 2, 16)
        .alu_reg(Alu::Or, 5, 2)
        .ja(mix);
    a.label(nonip);
    a.st(Size::DW, 10, U2, 1)
        .st(Size::DW, 10, U3, 0)
        .st(Size::DW, 10, U4, 0)
        .alu_imm(Alu::Mov, 5, 1);
    a.label(mix);
    a.ld_imm64(9, p.seed).alu_reg(Alu::Xor, 9, 5);
    fmix64(a, p.mul);
    let no_l2 = a.new_label();
    let no_l3 = a.new_label();
    let v4_word = a.new_label();
    let no_l4 = a.new_label();
    a.ldx(Size::DW, 2, 10, U2).jmp_imm(Jmp::Eq, 2, 0, no_l2);
    a.ldx(Size::DW, 2, 10, K_W0)
        .ldx(Size::DW, 3, 10, K_ET)
        .alu_reg(Alu::Or, 2, 3);
    word(a, p);
    a.ldx(Size::DW, 2, 10, K_W1);
    word(a, p);
    a.label(no_l2);
    a.ldx(Size::DW, 2, 10, U3)
        .jmp_imm(Jmp::Eq, 2, 0, no_l3)
        .ldx(Size::DW, 2, 10, K_IPV)
        .jmp_imm(Jmp::Eq, 2, 4, v4_word);
    for slot in K_A {
        a.ldx(Size::DW, 2, 10, slot);
        word(a, p);
    }
    a.ja(no_l3);
    a.label(v4_word);
    a.ldx(Size::DW, 2, 10, K_A[0]);
    word(a, p);
    a.label(no_l3);
    a.ldx(Size::DW, 2, 10, U4).jmp_imm(Jmp::Eq, 2, 0, no_l4);
    a.ldx(Size::DW, 2, 10, K_L4);
    word(a, p);
    a.label(no_l4);
    fmix64(a, p.mul);
    a.alu_reg(Alu::Mov, 2, 9)
        .alu_imm(Alu::Rsh, 2, 32)
        .alu_reg(Alu::Xor, 9, 2)
        .alu_imm(Alu::And, 9, buckets.wrapping_sub(1) as i32);
}

/// Switch-independent modes: frames lagd must see (ARP; IPv6 Neighbour Solicitations and
/// Advertisements) jump to `slow`, from the key slots [`parse_and_hash`] filled. Clobbers
/// r0-r5, r7-r9.
fn must_see(a: &mut Asm, slow: Label) {
    let done = a.new_label();
    a.ldx(Size::DW, 2, 10, K_ET)
        .jmp_imm(Jmp::Eq, 2, 0x0806, slow)
        .ldx(Size::DW, 2, 10, K_IPV)
        .jmp_imm(Jmp::Ne, 2, 6, done)
        .ldx(Size::DW, 2, 10, K_FRAG)
        .jmp_imm(Jmp::Ne, 2, 0, done)
        .ldx(Size::DW, 2, 10, K_PROTO)
        .jmp_imm(Jmp::Ne, 2, 58, done)
        .ldx(Size::W, 8, 10, L4_OFF)
        .jmp_imm(Jmp::Eq, 8, 0, done);
    load(a, 0, 1, done);
    a.ldx(Size::B, 2, 10, BUF)
        .jmp_imm(Jmp::Eq, 2, 135, slow)
        .jmp_imm(Jmp::Eq, 2, 136, slow);
    a.label(done);
}

/// Switch-independent modes: a frame with the aggregate's MAC as source, about to be sent to
/// member r7, gets the member's own MAC if its `srcmac` entry says so. Keeps r6 and r7.
fn rewrite_src(a: &mut Asm, m: &TxMaps<'_>) {
    let done = a.new_label();
    // The frame's source MAC into BUF (`load` reads at r8 + 6), then the member's entry.
    a.alu_imm(Alu::Mov, 8, 0);
    load(a, 6, 6, done);
    a.stx(Size::W, 10, TMP, 7);
    lookup(a, m.srcmac, TMP, done);
    a.ldx(Size::W, 2, 0, 16)
        .jmp_imm(Jmp::Eq, 2, 0, done)
        .ldx(Size::W, 2, 10, BUF)
        .ldx(Size::W, 3, 0, 8)
        .jmp_reg(Jmp::Ne, 2, 3, done)
        .ldx(Size::H, 2, 10, BUF + 4)
        .ldx(Size::H, 3, 0, 12)
        .jmp_reg(Jmp::Ne, 2, 3, done)
        .alu_reg(Alu::Mov, 3, 0)
        .alu_reg(Alu::Mov, 1, 6)
        .alu_imm(Alu::Mov, 2, 6)
        .alu_imm(Alu::Mov, 4, 6)
        .alu_imm(Alu::Mov, 5, 0)
        .call(helper::SKB_STORE_BYTES);
    a.label(done);
}

/// Frames of the bucket in r9: its table entry decides (see [`crate::tx_offload`]).
/// `switch_independent`: [`must_see`] frames take the user-space path, and frames the kernel
/// sends get their member's source MAC ([`rewrite_src`]).
fn bucket_path(a: &mut Asm, m: &TxMaps<'_>, pass: Label, switch_independent: bool) {
    let slow = a.new_label();
    let fast = a.new_label();
    let hand_back = a.new_label();
    let redirect = a.new_label();
    a.stx(Size::W, 10, KEY, 9);
    if switch_independent {
        must_see(a, slow);
    }
    lookup(a, m.table, KEY, slow);
    a.ldx(Size::W, 7, 0, 0)
        .jmp_imm(Jmp::Eq, 7, 0, slow)
        .ld_imm64(2, u64::from(HAND_BACK))
        .jmp_reg(Jmp::Set, 7, 2, hand_back);
    a.label(fast);
    if switch_independent {
        rewrite_src(a, m);
    }
    lookup(a, m.counts, KEY, redirect);
    count_frame(a);
    a.label(redirect);
    redirect_r7(a);
    // Handing back: straight to the member once every frame passed to user space has been
    // sent by lagd (passed == consumed), else on through user space like a slow bucket.
    a.label(hand_back);
    a.ld_imm64(2, u64::from(!HAND_BACK)).alu_reg(Alu::And, 7, 2);
    let taken = a.new_label();
    lookup(a, m.passed, KEY, slow);
    a.ldx(Size::DW, 8, 0, 0);
    lookup(a, m.consumed, KEY, slow);
    a.ldx(Size::DW, 2, 0, 0)
        .jmp_reg(Jmp::Eq, 8, 2, taken)
        .ja(slow);
    // Taken back: noted (when), then sent like a fast bucket's frame.
    a.label(taken);
    lookup(a, m.passed, KEY, fast);
    a.alu_reg(Alu::Mov, 8, 0)
        .call(helper::KTIME_GET_NS)
        .stx(Size::DW, 8, 16, 0)
        .ja(fast);
    // User space: counted (passed) and noted (when), for the hand-back.
    a.label(slow);
    lookup(a, m.passed, KEY, pass);
    a.alu_imm(Alu::Mov, 1, 1)
        .atomic_add64(0, 0, 1)
        .alu_reg(Alu::Mov, 8, 0)
        .call(helper::KTIME_GET_NS)
        .stx(Size::DW, 8, 8, 0)
        .ja(pass);
}

/// r8 = the member list in use, r7 = its length (`pass` if empty or too long).
fn member_list(a: &mut Asm, m: &TxMaps<'_>, pass: Label) {
    a.st(Size::W, 10, SEL, 0);
    lookup(a, m.ctl, SEL, pass);
    a.ldx(Size::DW, 2, 0, 0)
        .alu_imm(Alu::And, 2, 1)
        .stx(Size::W, 10, SEL, 2);
    lookup(a, m.members, SEL, pass);
    a.alu_reg(Alu::Mov, 8, 0)
        .ldx(Size::W, 7, 8, 0)
        .jmp_imm(Jmp::Eq, 7, 0, pass)
        .jmp_imm(Jmp::Gt, 7, MAX_MEMBERS as i32, pass);
}

/// Counts the frame for member slot `*(u32 *)(r10 + SLOT)`.
fn count_member(a: &mut Asm, m: &TxMaps<'_>) {
    let done = a.new_label();
    lookup(a, m.mcounts, SLOT, done);
    count_frame(a);
    a.label(done);
}

/// r7 = member `r1` (bounded by the caller) of the list at r8, slot noted.
fn member_at(a: &mut Asm) {
    a.stx(Size::W, 10, SLOT, 1)
        .alu_imm(Alu::Lsh, 1, 2)
        .alu_reg(Alu::Mov, 2, 8)
        .alu_reg(Alu::Add, 2, 1)
        .ldx(Size::W, 7, 2, 8);
}

/// Clears the frame's flow hash (`bpf_set_hash_invalid`). A frame the kernel sends carries
/// its socket's random hash (`sk_txhash`, which TCP also changes after a timeout), a frame lagd
/// sends carries none; whatever picks a CPU or a queue by it after the member (RPS on the
/// member's peer, a veth crossing keeps it) would put one conversation's frames on two CPUs
/// whenever it changes path (a hand-back, a move), and their backlogs reorder them. Without
/// it, the hash is computed from the headers, as for lagd's frames. Clobbers r0-r5.
fn clear_hash(a: &mut Asm) {
    a.alu_reg(Alu::Mov, 1, 6).call(helper::SET_HASH_INVALID);
}

/// Sends the frame to member r7, its flow hash cleared ([`clear_hash`]).
fn redirect_r7(a: &mut Asm) {
    clear_hash(a);
    a.alu_reg(Alu::Mov, 1, 7)
        .alu_imm(Alu::Mov, 2, 0)
        .call(helper::REDIRECT)
        .exit();
}

/// Frames not dispatched by lagd (too short, Slow Protocols from the host) go on untouched.
fn not_dispatched(a: &mut Asm, pass: Label) {
    let ok = a.new_label();
    a.ldx(Size::W, 2, 6, skb::LEN)
        .jmp_imm(Jmp::Lt, 2, 14, pass)
        .ldx(Size::W, 2, 6, skb::VLAN_PRESENT)
        .jmp_imm(Jmp::Ne, 2, 0, ok)
        .ldx(Size::W, 2, 6, skb::DATA)
        .ldx(Size::W, 3, 6, skb::DATA_END)
        .alu_reg(Alu::Mov, 4, 2)
        .alu_imm(Alu::Add, 4, 14)
        .jmp_reg(Jmp::Gt, 4, 3, pass)
        .ldx(Size::H, 4, 2, 12)
        .jmp_imm(Jmp::Eq, 4, 0x0988, pass);
    a.label(ok);
}

/// The program for `mode` over `buckets` buckets.
pub(crate) fn program(mode: &TxMode, buckets: u32, m: &TxMaps<'_>) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let pass = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1);
    match mode {
        TxMode::Hash(p) => {
            parse_and_hash(&mut a, p, buckets, pass);
            bucket_path(&mut a, m, pass, false);
        }
        TxMode::SwitchIndependent(p) => {
            a.st(Size::W, 10, L4_OFF, 0);
            parse_and_hash(&mut a, p, buckets, pass);
            bucket_path(&mut a, m, pass, true);
        }
        TxMode::Single => {
            not_dispatched(&mut a, pass);
            a.alu_imm(Alu::Mov, 9, 0);
            bucket_path(&mut a, m, pass, false);
        }
        TxMode::RoundRobin => {
            not_dispatched(&mut a, pass);
            member_list(&mut a, m, pass);
            a.st(Size::W, 10, TMP, 0);
            lookup(&mut a, m.rr, TMP, pass);
            a.ldx(Size::DW, 1, 0, 0)
                .alu_reg(Alu::Mov, 2, 1)
                .alu_imm(Alu::Add, 2, 1)
                .stx(Size::DW, 0, 0, 2)
                .alu_reg(Alu::Mod, 1, 7)
                .jmp_imm(Jmp::Ge, 1, MAX_MEMBERS as i32, pass);
            member_at(&mut a);
            count_member(&mut a, m);
            redirect_r7(&mut a);
        }
        TxMode::Broadcast => {
            not_dispatched(&mut a, pass);
            member_list(&mut a, m, pass);
            clear_hash(&mut a);
            let last = a.new_label();
            for k in 0..MAX_MEMBERS - 1 {
                // A copy to member k unless it is the last one.
                a.jmp_imm(Jmp::Le, 7, k as i32 + 1, last)
                    .st(Size::W, 10, SLOT, k as i32)
                    .ldx(Size::W, 2, 8, 8 + 4 * k as i16)
                    .alu_reg(Alu::Mov, 1, 6)
                    .alu_imm(Alu::Mov, 3, 0)
                    .call(helper::CLONE_REDIRECT);
                count_member(&mut a, m);
            }
            a.label(last);
            a.alu_reg(Alu::Mov, 1, 7).alu_imm(Alu::Sub, 1, 1).jmp_imm(
                Jmp::Ge,
                1,
                MAX_MEMBERS as i32,
                pass,
            );
            member_at(&mut a);
            count_member(&mut a, m);
            redirect_r7(&mut a);
        }
    }
    a.label(pass);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
    a.finish()
}

/// The tail of a filter that drops what it matched: `counter[key] += 1; return TCX_DROP;`
/// (the count skipped if the lookup fails), then `pass: return TCX_NEXT;` for the frames it
/// lets through.
pub(crate) fn count_and_drop(a: &mut Asm, counter: &ArrayMap, key: i32, pass: Label) {
    let drop = a.new_label();
    a.st(Size::W, 10, -4, key) // the counter's key, on the stack
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .ld_map(1, counter)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, drop)
        .alu_imm(Alu::Mov, 1, 1)
        .atomic_add64(0, 0, 1);
    a.label(drop);
    a.alu_imm(Alu::Mov, 0, TCX_DROP).exit();
    a.label(pass);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
}

/// Counts the frame in r6 into the counters at r0 (`bytes` at 0, `segs` at 8): a GSO
/// super-frame as its segments (from `gso_size` when the stack left `gso_segs` unset).
pub(crate) fn count_frame(a: &mut Asm) {
    let one_seg = a.new_label();
    let add_segs = a.new_label();
    a.ldx(Size::W, 1, 6, skb::LEN)
        .atomic_add64(0, 0, 1)
        .ldx(Size::W, 1, 6, skb::GSO_SEGS)
        .jmp_imm(Jmp::Ne, 1, 0, add_segs)
        .ldx(Size::W, 2, 6, skb::GSO_SIZE)
        .jmp_imm(Jmp::Eq, 2, 0, one_seg)
        .ldx(Size::W, 1, 6, skb::LEN)
        .alu_reg(Alu::Add, 1, 2)
        .alu_imm(Alu::Sub, 1, 1)
        .alu_reg(Alu::Div, 1, 2)
        .ja(add_segs);
    a.label(one_seg);
    a.alu_imm(Alu::Mov, 1, 1);
    a.label(add_segs);
    a.atomic_add64(0, 8, 1);
}
