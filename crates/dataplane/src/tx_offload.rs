//! The kernel fast path for host → wire frames: an eBPF program at the aggregate's egress hook
//! (tcx, or `cls_bpf` under clsact: [`crate::attach`]) that sends each data frame straight to
//! its member's egress (through the member's qdisc), without the two copies of the user-space
//! path (TAP → lagd → member socket). The program is assembled from the aggregation's mode
//! (`crate::tx_program`):
//!
//! - **hash** (static and LACP): the distributor's own conversation hash of every frame class
//!   (tags, IPv4 options and fragments, IPv6 extension headers and fragments, TCP/UDP/SCTP/
//!   UDP-Lite ports, ESP/AH SPI, other IP protocols, non-IP), then the bucket's table entry;
//! - **active-backup**: every frame is bucket 0, which lagd points at the active member;
//! - **round-robin**: a per-CPU counter picks the member from a list lagd writes (frames of one
//!   flow may be reordered, as on the user-space path);
//! - **broadcast**: a copy to every member of the list;
//! - **switch-independent** (`transmit-lb`, `adaptive-lb`): hash, with ARP and Neighbour
//!   Discovery frames through user space and each member's own source MAC written into the
//!   frames the kernel sends on it ([`TxMode::SwitchIndependent`], [`TxOffload::set_srcmac`]).
//!
//! lagd stays in charge: it writes the table and the list from the distributor's decisions.
//! A bucket entry is 0 (the bucket's frames continue to the TAP and the user-space path), a
//! member's ifindex (sent by the kernel), or a member's ifindex with [`HAND_BACK`]: the bucket
//! returns to the kernel path as soon as no frame of it waits in user space. The program
//! counts, per bucket, the frames it passed to user space (`passed`, with the time of the
//! last); lagd counts the frames of each bucket it has sent (`consumed`) after they are on
//! the member; with both counts equal nothing is in between, and the next frame may take the
//! kernel path without overtaking any. Both counters live in maps mapped into lagd
//! ([`crate::bpf::MapMmap`]), so neither side makes a system call for them.
//!
//! A frame the program sends to a member has its flow hash cleared (`bpf_set_hash_invalid`):
//! the host's socket set it (`sk_txhash`, random, and TCP draws it anew after a timeout), and
//! frames lagd sends from user space have none. Left on, it travels with the frame (a veth
//! keeps it) and RPS on the receiver steers the conversation's frames to one CPU when the
//! kernel sent them and to another when lagd did: their backlogs reorder them at every change
//! of path. Cleared, the hash is computed from the headers on both paths.
//!
//! Frames lagd never dispatches (shorter than an Ethernet header; Slow Protocols the host
//! wrote) pass through uncounted. Per bucket (hash, active-backup) or per member
//! (round-robin, broadcast) the program counts bytes and wire segments (a GSO super-frame
//! counts as its segments), which lagd folds into its member counters and load measurements.

use std::path::Path;

use crate::attach::{AttachMode, Attachment, Place};
use crate::bpf::{ArrayMap, MapKind, MapMmap, Program, TcxHook};
use crate::error::{Error, Result};
pub use crate::tx_program::{HAND_BACK, HashPlan, MAX_MEMBERS, TxMode};
use crate::tx_program::{SRCMAC_ENTRIES, SRCMAC_VALUE};
use crate::tx_program::{TxMaps, program};

/// The program's name (also its clsact filter's).
pub const PROG_NAME: &str = "lagd_txoff";

/// A fingerprint of the program's shape (mode, plan, buckets), kept in a map so that an
/// adopting lagd reuses only maps of the same shape.
fn fingerprint(mode: &TxMode, buckets: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(u64::from(buckets));
    match mode {
        TxMode::Hash(p) => {
            eat(1);
            eat(u64::from(p.l2) | u64::from(p.l3) << 1 | u64::from(p.l4) << 2);
            eat(p.seed);
            eat(p.golden);
            eat(p.mul[0]);
            eat(p.mul[1]);
        }
        TxMode::Single => eat(2),
        TxMode::RoundRobin => eat(3),
        TxMode::Broadcast => eat(4),
        TxMode::SwitchIndependent(p) => {
            eat(5);
            eat(u64::from(p.l2) | u64::from(p.l3) << 1 | u64::from(p.l4) << 2);
            eat(p.seed);
            eat(p.golden);
            eat(p.mul[0]);
            eat(p.mul[1]);
        }
    }
    // Never 0 (the value of a fresh map).
    h | 1
}

/// The maps of one program, and their mappings.
#[derive(Debug)]
struct Maps {
    table: ArrayMap,
    passed: ArrayMap,
    consumed: ArrayMap,
    counts: ArrayMap,
    ctl: ArrayMap,
    members: ArrayMap,
    mcounts: ArrayMap,
    rr: ArrayMap,
    srcmac: ArrayMap,
    table_mm: MapMmap,
    passed_mm: MapMmap,
    consumed_mm: MapMmap,
    counts_mm: MapMmap,
    ctl_mm: MapMmap,
    members_mm: MapMmap,
    mcounts_mm: MapMmap,
}

/// (file name in a pin directory, kind, value size, entries) of each map.
fn map_shapes(buckets: u32) -> [(&'static str, MapKind, usize, u32); 9] {
    [
        ("table", MapKind::Mmapable, 8, buckets),
        // Frames passed to user space, when the last one was, when the bucket was last taken
        // back by the program (handing back).
        ("passed", MapKind::Mmapable, 24, buckets),
        ("consumed", MapKind::Mmapable, 8, buckets),
        ("counts", MapKind::Mmapable, 16, buckets),
        // Word 0: which of the two member lists is in use; word 1: the fingerprint.
        ("ctl", MapKind::Mmapable, 16, 1),
        ("members", MapKind::Mmapable, 8 + 4 * MAX_MEMBERS, 2),
        ("mcounts", MapKind::Mmapable, 16, MAX_MEMBERS as u32),
        ("rr", MapKind::PerCpu, 8, 1),
        // Switch-independent modes: each member's source MAC, by ifindex.
        ("srcmac", MapKind::Hash, SRCMAC_VALUE, SRCMAC_ENTRIES),
    ]
}

impl Maps {
    fn build(
        mut get: impl FnMut(&str, MapKind, usize, u32) -> Result<ArrayMap>,
        buckets: u32,
    ) -> Result<Maps> {
        let mut it = map_shapes(buckets).into_iter();
        let mut next = || -> Result<ArrayMap> {
            let (name, kind, size, n) = it.next().ok_or(Error::Sys {
                op: "TX offload maps",
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
            })?;
            get(name, kind, size, n)
        };
        let (table, passed, consumed, counts) = (next()?, next()?, next()?, next()?);
        let (ctl, members, mcounts, rr) = (next()?, next()?, next()?, next()?);
        let srcmac = next()?;
        Ok(Maps {
            table_mm: table.mmap()?,
            passed_mm: passed.mmap()?,
            consumed_mm: consumed.mmap()?,
            counts_mm: counts.mmap()?,
            ctl_mm: ctl.mmap()?,
            members_mm: members.mmap()?,
            mcounts_mm: mcounts.mmap()?,
            table,
            passed,
            consumed,
            counts,
            ctl,
            members,
            mcounts,
            rr,
            srcmac,
        })
    }

    fn as_tx(&self) -> TxMaps<'_> {
        TxMaps {
            table: &self.table,
            passed: &self.passed,
            consumed: &self.consumed,
            counts: &self.counts,
            ctl: &self.ctl,
            members: &self.members,
            mcounts: &self.mcounts,
            rr: &self.rr,
            srcmac: &self.srcmac,
        }
    }

    fn all(&self) -> [(&'static str, &ArrayMap); 9] {
        [
            ("table", &self.table),
            ("passed", &self.passed),
            ("consumed", &self.consumed),
            ("counts", &self.counts),
            ("ctl", &self.ctl),
            ("members", &self.members),
            ("mcounts", &self.mcounts),
            ("rr", &self.rr),
            ("srcmac", &self.srcmac),
        ]
    }
}

/// The fast path of one aggregate: program, attachment, maps.
#[derive(Debug)]
pub struct TxOffload {
    mode: TxMode,
    buckets: u32,
    prog: Program,
    attachment: Option<Attachment>,
    maps: Maps,
    /// Table entries as last written.
    table: Vec<u32>,
    /// The member list as last written.
    members: Vec<u32>,
}

fn check_buckets(buckets: u32) -> Result<()> {
    if !buckets.is_power_of_two() || buckets > 1 << 16 {
        return Err(Error::Bpf {
            op: "TX offload",
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
            log: format!("{buckets} buckets: not a power of two up to 65536"),
        });
    }
    Ok(())
}

impl TxOffload {
    /// Builds and loads the program for `mode` (not attached; every bucket in user space, no
    /// member in the list).
    pub fn new(mode: TxMode, buckets: u32) -> Result<TxOffload> {
        check_buckets(buckets)?;
        let maps = Maps::build(
            |name, kind, size, n| ArrayMap::create(kind, &format!("lagd_{name}"), size, n),
            buckets,
        )?;
        maps.ctl_mm.store(0, 1, fingerprint(&mode, buckets));
        let insns = program(&mode, buckets, &maps.as_tx()).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        Ok(TxOffload {
            mode,
            buckets,
            prog,
            attachment: None,
            maps,
            table: vec![0; buckets as usize],
            members: Vec::new(),
        })
    }

    /// Attaches at the egress of the aggregate `ifindex` (after a DT filter already there);
    /// returns the attach mode used.
    pub fn attach(&mut self, ifindex: u32) -> Result<AttachMode> {
        self.attachment = None;
        let a = Attachment::attach(
            &self.prog,
            PROG_NAME,
            ifindex,
            TcxHook::Egress,
            Place::AFTER,
        )?;
        let mode = a.mode();
        self.attachment = Some(a);
        Ok(mode)
    }

    /// Takes `old`'s attachment and replaces its program with this one atomically (every frame
    /// sees one of the two programs); attaches afresh at `ifindex` if `old` had none.
    pub fn attach_replacing(&mut self, old: &mut TxOffload, ifindex: u32) -> Result<AttachMode> {
        match old.attachment.take() {
            Some(a) => {
                if let Err(e) = a.replace(&self.prog, PROG_NAME) {
                    old.attachment = Some(a);
                    return Err(e);
                }
                let mode = a.mode();
                self.attachment = Some(a);
                Ok(mode)
            }
            None => self.attach(ifindex),
        }
    }

    /// The attach mode in use (`None`: not attached).
    pub fn attach_mode(&self) -> Option<AttachMode> {
        self.attachment.as_ref().map(Attachment::mode)
    }

    /// The mode the program was built for.
    pub fn mode(&self) -> &TxMode {
        &self.mode
    }

    /// Sets bucket `bucket`'s entry: 0 (user space), a member's ifindex (kernel), or a
    /// member's ifindex with [`HAND_BACK`].
    pub fn set_bucket(&mut self, bucket: usize, entry: u32) {
        let Some(cur) = self.table.get_mut(bucket) else {
            return;
        };
        if *cur != entry {
            self.maps.table_mm.store(bucket as u32, 0, u64::from(entry));
            *cur = entry;
        }
    }

    /// The entry of `bucket` as last written.
    pub fn bucket(&self, bucket: usize) -> u32 {
        self.table.get(bucket).copied().unwrap_or(0)
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    /// Frames of `bucket` the program passed to user space so far, and when it last did
    /// (`CLOCK_MONOTONIC` ns, 0: never).
    pub fn passed(&self, bucket: usize) -> (u64, u64) {
        let b = bucket as u32;
        (
            self.maps.passed_mm.load(b, 0),
            self.maps.passed_mm.load(b, 1),
        )
    }

    /// Frames of `bucket` lagd has sent, as last published.
    pub fn consumed(&self, bucket: usize) -> u64 {
        self.maps.consumed_mm.load(bucket as u32, 0)
    }

    /// When (`CLOCK_MONOTONIC` ns) the program last sent a frame of `bucket` itself while the
    /// bucket was handing back (0: never): the moment it took the bucket back.
    pub fn handed_back_ns(&self, bucket: usize) -> u64 {
        self.maps.passed_mm.load(bucket as u32, 2)
    }

    /// Publishes how many frames of `bucket` lagd has sent: call only once they are on their
    /// member (after the send).
    pub fn set_consumed(&self, bucket: usize, n: u64) {
        self.maps.consumed_mm.store(bucket as u32, 0, n);
    }

    /// Bytes and wire segments the program sent for `bucket` since it was loaded.
    pub fn counts(&self, bucket: usize) -> (u64, u64) {
        let b = bucket as u32;
        (
            self.maps.counts_mm.load(b, 0),
            self.maps.counts_mm.load(b, 1),
        )
    }

    /// Sets the member list of round-robin and broadcast (ifindexes). A list longer than
    /// [`MAX_MEMBERS`] is not given to the program (user space carries the frames); returns
    /// whether the program has the list.
    pub fn set_members(&mut self, list: &[u32]) -> bool {
        let fits = list.len() <= MAX_MEMBERS;
        let list: &[u32] = if fits { list } else { &[] };
        if list == self.members.as_slice() {
            return fits;
        }
        // Written into the list not in use, then switched to: the program never reads a list
        // being written.
        let next = (self.maps.ctl_mm.load(0, 0) & 1) ^ 1;
        let idx = next as u32;
        let mut words = [0u64; 1 + MAX_MEMBERS / 2];
        words[0] = list.len() as u64;
        for (i, ifi) in list.iter().enumerate() {
            let w = 1 + i / 2;
            if let Some(slot) = words.get_mut(w) {
                *slot |= u64::from(*ifi) << (32 * (i % 2));
            }
        }
        for (w, v) in words.iter().enumerate() {
            self.maps.members_mm.store(idx, w, *v);
        }
        self.maps.ctl_mm.store(0, 0, next);
        self.members = list.to_vec();
        fits
    }

    /// Switch-independent modes: frames with the aggregate's MAC `aggregate` as source that
    /// the kernel sends to member `ifindex` get `own` instead (`Some`), or leave unchanged
    /// (`None`: the receive member, which answers to the aggregate's MAC). A member never set
    /// sends them unchanged; [`TxOffload::forget_srcmac`] removes a member's entry.
    pub fn set_srcmac(&self, ifindex: u32, aggregate: [u8; 6], own: Option<[u8; 6]>) -> Result<()> {
        let mut v = [0u8; SRCMAC_VALUE];
        if let Some(own) = own {
            v[..6].copy_from_slice(&own);
            v[8..14].copy_from_slice(&aggregate);
            v[16..20].copy_from_slice(&1u32.to_ne_bytes());
        }
        self.maps.srcmac.set(ifindex, &v)
    }

    /// Removes member `ifindex`'s source MAC entry.
    pub fn forget_srcmac(&self, ifindex: u32) -> Result<()> {
        self.maps.srcmac.delete(ifindex)
    }

    /// The member list as last written.
    pub fn members(&self) -> &[u32] {
        &self.members
    }

    /// Bytes and wire segments the program sent to member slot `slot` of the list (round-robin,
    /// broadcast).
    pub fn member_counts(&self, slot: usize) -> (u64, u64) {
        let s = slot as u32;
        (
            self.maps.mcounts_mm.load(s, 0),
            self.maps.mcounts_mm.load(s, 1),
        )
    }

    /// Runs the program on `frame` without attaching it (tests): its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.prog.test_run(frame)
    }

    /// Runs the program on `frame` (tests): its verdict and the frame as the program left it.
    pub fn test_run_out(&self, frame: &[u8]) -> Result<(i32, Vec<u8>)> {
        self.prog.test_run_out(frame)
    }

    /// Pins the program, its maps and (tcx) its link in `dir` (created; inside a mounted
    /// bpffs): the kernel path then outlives this process, and a later lagd can
    /// [`TxOffload::adopt`] it. Replaces what an earlier pin there held.
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
        for (name, m) in self.maps.all() {
            m.pin(&at(name))?;
        }
        self.prog.pin(&at("prog"))?;
        if let Some(a) = &self.attachment {
            a.pin(&at("link"))?;
        }
        Ok(())
    }

    /// Takes over the fast path pinned in `dir` by an earlier lagd for the aggregate
    /// `ifindex`: the same maps (table, counters: the kernel path went on forwarding while no
    /// lagd ran), a freshly built program for `mode` that replaces the old one atomically in
    /// the same attachment. Fails (changing nothing) if the maps are of another shape or mode,
    /// or if nothing is attached.
    pub fn adopt(dir: &Path, mode: TxMode, buckets: u32, ifindex: u32) -> Result<TxOffload> {
        check_buckets(buckets)?;
        let maps = Maps::build(
            |name, kind, size, n| ArrayMap::open_pinned(&dir.join(name), kind, size, n),
            buckets,
        )?;
        if maps.ctl_mm.load(0, 1) != fingerprint(&mode, buckets) {
            return Err(Error::Bpf {
                op: "adopting a pinned fast path",
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
                log: format!("{}: built for another mode or hash policy", dir.display()),
            });
        }
        let insns = program(&mode, buckets, &maps.as_tx()).unwrap_or_default();
        let prog = Program::load(PROG_NAME, &insns)?;
        let attachment = Attachment::adopt(
            &prog,
            PROG_NAME,
            ifindex,
            TcxHook::Egress,
            Place::AFTER,
            &dir.join("link"),
        )?;
        let table = (0..buckets)
            .map(|b| maps.table_mm.load(b, 0) as u32)
            .collect();
        let sel = (maps.ctl_mm.load(0, 0) & 1) as u32;
        let n = (maps.members_mm.load(sel, 0) as usize).min(MAX_MEMBERS);
        let members = (0..n)
            .map(|i| (maps.members_mm.load(sel, 1 + i / 2) >> (32 * (i % 2))) as u32)
            .collect();
        let _ = std::fs::remove_file(dir.join("prog"));
        prog.pin(&dir.join("prog"))?;
        Ok(TxOffload {
            mode,
            buckets,
            prog,
            attachment: Some(attachment),
            maps,
            table,
            members,
        })
    }

    /// Removes the pins in `dir` (and the directory if then empty): the kernel path ends with
    /// this value (or with the process).
    pub fn unpin(dir: &Path) {
        for n in [
            "table", "passed", "consumed", "counts", "ctl", "members", "mcounts", "rr", "srcmac",
            "prog", "link",
        ] {
            let _ = std::fs::remove_file(dir.join(n));
        }
        let _ = std::fs::remove_dir(dir);
    }

    /// Leaves the program attached when this value is dropped (pinned: see
    /// [`TxOffload::pin`]).
    pub fn leave_attached(mut self) {
        if let Some(a) = self.attachment.take() {
            a.leave_attached();
        }
    }

    /// The number of buckets the program was built for.
    pub fn bucket_count(&self) -> u32 {
        self.buckets
    }
}
