//! The optional kernel fast path for host → wire frames: an eBPF program at the aggregate's
//! tcx egress hook that computes the distributor's own conversation hash, looks up the bucket
//! and redirects the frame straight to the member's egress (through its qdisc), without the
//! two copies of the user-space path (TAP → lagd → member socket).
//!
//! lagd stays in charge: the bucket table the program reads is written by lagd from the
//! distributor's decisions ([`TxOffload::set_bucket`]); a bucket whose entry is 0 takes the
//! user-space path (the frame continues to the TAP, `TCX_NEXT`). lagd keeps a bucket in user
//! space while its conversations are being moved (Marker protocol) and until it has been idle
//! in user space for a while, so no frame of a conversation overtakes an earlier one.
//!
//! Frames the program handles: untagged IPv4 (header without options, unfragmented) or IPv6
//! (no extension header), TCP or UDP: the bulk of a host's traffic. Everything else (ARP,
//! VLAN, fragments, ICMP, IPv6 extension headers...) takes the user-space path, where the same
//! hash gives the same bucket. Per bucket, the
//! program counts bytes and wire segments (a GSO super-frame counts as its segments), which
//! lagd folds into its member counters and load measurements.

use crate::bpf::{
    Alu, ArrayMap, Asm, Insn, Jmp, Program, Size, TCX_NEXT, TcxHook, TcxLink, helper, skb,
};
use crate::error::{Error, Result};

/// The conversation hash to reproduce (see `lagd_distrib::HashPolicy::hash`): a seed that
/// depends on the protocol, then one 64-bit word per hashed layer, each mixed in as
/// `state = fmix64(state ^ word) + golden`, and `fmix64(state)` folded to 32 bits at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashPlan {
    /// Hash the MAC addresses and EtherType: words `dst_mac << 16 | ethertype`, `src_mac`.
    pub l2: bool,
    /// Hash the IP addresses: IPv4 word `src << 32 | dst`; IPv6 words: the source's two
    /// big-endian halves, then the destination's.
    pub l3: bool,
    /// Hash the ports: word `src_port << 16 | dst_port`.
    pub l4: bool,
    /// Initial state for TCP.
    pub init_tcp: u64,
    /// Initial state for UDP.
    pub init_udp: u64,
    /// Initial state for TCP over IPv6.
    pub init6_tcp: u64,
    /// Initial state for UDP over IPv6.
    pub init6_udp: u64,
    /// Added after each word.
    pub golden: u64,
    /// The two multipliers of `fmix64`.
    pub mul: [u64; 2],
    /// Number of buckets (a power of two): the bucket is `hash & (buckets - 1)`.
    pub buckets: u32,
}

// Registers: r6 context, r7 packet data then the chosen ifindex, r8 data end, r9 hash state.
fn fmix64(a: &mut Asm, plan: &HashPlan) {
    for (i, m) in plan.mul.iter().enumerate() {
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
fn word(a: &mut Asm, plan: &HashPlan) {
    a.alu_reg(Alu::Xor, 9, 2);
    fmix64(a, plan);
    a.ld_imm64(4, plan.golden).alu_reg(Alu::Add, 9, 4);
}

/// r2 = (BE32 at `hi` << shift) | BE(`lo_size`) at `lo`.
fn be_pair(a: &mut Asm, hi: i16, hi_size: Size, lo: i16, lo_size: Size, shift: i32) {
    let bits = |s: Size| if s == Size::W { 32 } else { 16 };
    a.ldx(hi_size, 2, 7, hi)
        .to_be(2, bits(hi_size))
        .alu_imm(Alu::Lsh, 2, shift)
        .ldx(lo_size, 3, 7, lo)
        .to_be(3, bits(lo_size))
        .alu_reg(Alu::Or, 2, 3);
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

/// The L2 words, then the L4 word (ports at `l4`), around the L3 words `l3` emits.
fn words(a: &mut Asm, plan: &HashPlan, ethertype: i32, l3: impl Fn(&mut Asm), l4: i16) {
    if plan.l2 {
        be_pair(a, 0, Size::W, 4, Size::H, 16);
        a.alu_imm(Alu::Lsh, 2, 16).alu_imm(Alu::Or, 2, ethertype);
        word(a, plan);
        be_pair(a, 6, Size::W, 10, Size::H, 16);
        word(a, plan);
    }
    if plan.l3 {
        l3(a);
    }
    if plan.l4 {
        be_pair(a, l4, Size::H, l4 + 2, Size::H, 16);
        word(a, plan);
    }
}

/// Makes `len` bytes linear and loads r7 = data, r8 = data end; `slow` if fewer are there.
fn pull(a: &mut Asm, len: i32, slow: crate::bpf::Label) {
    a.alu_reg(Alu::Mov, 1, 6)
        .alu_imm(Alu::Mov, 2, len)
        .call(helper::SKB_PULL_DATA)
        .ldx(Size::W, 7, 6, skb::DATA)
        .ldx(Size::W, 8, 6, skb::DATA_END)
        .alu_reg(Alu::Mov, 2, 7)
        .alu_imm(Alu::Add, 2, len)
        .jmp_reg(Jmp::Gt, 2, 8, slow);
}

fn program(
    plan: &HashPlan,
    buckets: &ArrayMap,
    counts: &ArrayMap,
    slow_ns: &ArrayMap,
) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    let slow = a.new_label();
    let bucket_slow = a.new_label();
    let seed4 = a.new_label();
    let v6 = a.new_label();
    let seed6 = a.new_label();
    let hashed = a.new_label();
    let redirect = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1);
    // Headers in the linear part (the stack's own frames have them there already).
    pull(&mut a, 38, slow);
    // EtherType (loaded little-endian): IPv6 or IPv4.
    a.ldx(Size::H, 2, 7, 12)
        .jmp_imm(Jmp::Eq, 2, 0xdd86, v6)
        .jmp_imm(Jmp::Ne, 2, 0x0008, slow)
        // IPv4: version 4 with a 20-byte header, not a fragment (MF clear, offset 0), TCP or
        // UDP.
        .ldx(Size::B, 2, 7, 14)
        .jmp_imm(Jmp::Ne, 2, 0x45, slow)
        .ldx(Size::H, 2, 7, 20)
        .alu_imm(Alu::And, 2, 0xff3f)
        .jmp_imm(Jmp::Ne, 2, 0, slow)
        .ldx(Size::B, 3, 7, 23)
        .ld_imm64(9, plan.init_tcp)
        .jmp_imm(Jmp::Eq, 3, 6, seed4)
        .ld_imm64(9, plan.init_udp)
        .jmp_imm(Jmp::Ne, 3, 17, slow);
    a.label(seed4);
    words(
        &mut a,
        plan,
        0x0800,
        |a| {
            be_pair(a, 26, Size::W, 30, Size::W, 32);
            word(a, plan);
        },
        34,
    );
    a.ja(hashed);
    // IPv6: version 6, next header TCP or UDP (no extension header).
    a.label(v6);
    pull(&mut a, 58, slow);
    a.ldx(Size::B, 2, 7, 14)
        .alu_imm(Alu::And, 2, 0xf0)
        .jmp_imm(Jmp::Ne, 2, 0x60, slow)
        .ldx(Size::B, 3, 7, 20)
        .ld_imm64(9, plan.init6_tcp)
        .jmp_imm(Jmp::Eq, 3, 6, seed6)
        .ld_imm64(9, plan.init6_udp)
        .jmp_imm(Jmp::Ne, 3, 17, slow);
    a.label(seed6);
    words(
        &mut a,
        plan,
        0x86dd,
        |a| {
            for off in [22, 30, 38, 46] {
                a.ldx(Size::DW, 2, 7, off).to_be(2, 64);
                word(a, plan);
            }
        },
        54,
    );
    a.label(hashed);
    fmix64(&mut a, plan);
    a.alu_reg(Alu::Mov, 2, 9)
        .alu_imm(Alu::Rsh, 2, 32)
        .alu_reg(Alu::Xor, 9, 2)
        .alu_imm(Alu::And, 9, (plan.buckets - 1) as i32)
        .stx(Size::W, 10, -4, 9)
        .ld_map(1, buckets)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, slow)
        .ldx(Size::W, 7, 0, 0)
        .jmp_imm(Jmp::Eq, 7, 0, bucket_slow)
        .ld_map(1, counts)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, redirect);
    count_frame(&mut a);
    a.label(redirect);
    a.alu_reg(Alu::Mov, 1, 7)
        .alu_imm(Alu::Mov, 2, 0)
        .call(helper::REDIRECT)
        .exit();
    // A bucket on the user-space path: note when (lagd promotes it only once this is old, so
    // a frame still waiting in the TAP's queue is never overtaken).
    a.label(bucket_slow);
    a.ld_map(1, slow_ns)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, slow)
        .alu_reg(Alu::Mov, 8, 0)
        .call(helper::KTIME_GET_NS)
        .stx(Size::DW, 8, 0, 0);
    a.label(slow);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
    a.finish()
}

/// The loaded fast path of one aggregate: program, bucket table, per-bucket counters.
#[derive(Debug)]
pub struct TxOffload {
    prog: Program,
    link: Option<TcxLink>,
    buckets: ArrayMap,
    counts: ArrayMap,
    slow_ns: ArrayMap,
    table: Vec<u32>,
}

impl TxOffload {
    /// Builds and loads the program for `plan` (not attached; every bucket in user space).
    pub fn new(plan: &HashPlan) -> Result<TxOffload> {
        if !plan.buckets.is_power_of_two() || plan.buckets > 1 << 16 {
            return Err(Error::Bpf {
                op: "TX offload",
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
                log: format!("{} buckets: not a power of two up to 65536", plan.buckets),
            });
        }
        let buckets = ArrayMap::new(4, plan.buckets)?;
        let counts = ArrayMap::new(16, plan.buckets)?;
        let slow_ns = ArrayMap::new(8, plan.buckets)?;
        let insns = program(plan, &buckets, &counts, &slow_ns).unwrap_or_default();
        let prog = Program::load("lagd_txoff", &insns)?;
        Ok(TxOffload {
            prog,
            link: None,
            buckets,
            counts,
            slow_ns,
            table: vec![0; plan.buckets as usize],
        })
    }

    /// Attaches at the tcx egress of the aggregate `ifindex` (replacing an earlier attachment).
    pub fn attach(&mut self, ifindex: u32) -> Result<()> {
        self.link = None;
        self.link = Some(self.prog.attach_tcx(ifindex, TcxHook::Egress)?);
        Ok(())
    }

    /// Sends bucket `bucket`'s frames to `ifindex` (0: the user-space path). Writes the map
    /// only when the entry changes.
    pub fn set_bucket(&mut self, bucket: usize, ifindex: u32) -> Result<()> {
        let Some(cur) = self.table.get_mut(bucket) else {
            return Ok(());
        };
        if *cur != ifindex {
            self.buckets.set(bucket as u32, &ifindex.to_ne_bytes())?;
            *cur = ifindex;
        }
        Ok(())
    }

    /// When (`CLOCK_MONOTONIC` ns) the program last passed a frame of `bucket` to user space
    /// because the bucket was off the fast path (0: never).
    pub fn last_slow_ns(&self, bucket: usize) -> Result<u64> {
        Ok(self.slow_ns.get_u64s::<1>(bucket as u32)?[0])
    }

    /// The entry of `bucket` as last written.
    pub fn bucket(&self, bucket: usize) -> u32 {
        self.table.get(bucket).copied().unwrap_or(0)
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    /// Bytes and wire segments the program redirected for `bucket` since it was loaded.
    pub fn counts(&self, bucket: usize) -> Result<(u64, u64)> {
        let [bytes, segs] = self.counts.get_u64s::<2>(bucket as u32)?;
        Ok((bytes, segs))
    }

    /// Runs the program on `frame` without attaching it (tests): its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.prog.test_run(frame)
    }
}
