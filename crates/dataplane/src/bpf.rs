//! A small eBPF toolkit: an assembler with labels, and the few `bpf(2)` calls lagd needs (array
//! maps, some mapped into the process; loading a `SCHED_CLS` program; attaching it at a
//! device's tcx hook and replacing it atomically; pinning and re-opening objects in a bpffs;
//! running a program on a test packet). The other attach mode, `cls_bpf` under `clsact`, is
//! in [`crate::tc`]; [`crate::attach`] chooses between them. lagd's programs are a few dozen instructions built at run time from the
//! configuration, so no compiler and no object files are involved.

use crate::error::{Error, Result};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_OBJ_PIN: libc::c_long = 6;
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_LINK_UPDATE: libc::c_long = 29;
const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `BPF_F_MMAPABLE`: the array can be mapped into the process.
const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_BEFORE` (tcx): attach before every program already there.
const BPF_F_BEFORE: u32 = 1 << 3;

/// tcx return codes (the same numbers as `cls_bpf` direct-action's `TC_ACT_UNSPEC`,
/// `TC_ACT_SHOT` and `TC_ACT_REDIRECT`, so one program serves both attach modes): continue
/// with the next program, or with the normal path.
pub const TCX_NEXT: i32 = -1;
/// tcx: drop the frame.
pub const TCX_DROP: i32 = 2;
/// tcx: the frame was redirected (`bpf_redirect`'s return value).
pub const TCX_REDIRECT: i32 = 7;

/// `struct __sk_buff` field offsets.
pub mod skb {
    /// `len`.
    pub const LEN: i16 = 0;
    /// `mark` (writable from tc programs).
    pub const MARK: i16 = 8;
    /// `queue_mapping` (writable from tc programs): the receive queue + 1, 0 for none.
    pub const QUEUE_MAPPING: i16 = 12;
    /// `protocol`: the EtherType, in network byte order in the low 16 bits.
    pub const PROTOCOL: i16 = 16;
    /// `vlan_present`: the frame carries its outer VLAN tag out of band (accelerated).
    pub const VLAN_PRESENT: i16 = 20;
    /// `vlan_tci` of that tag.
    pub const VLAN_TCI: i16 = 24;
    /// `vlan_proto` of that tag (network byte order in the low 16 bits).
    pub const VLAN_PROTO: i16 = 28;
    /// `ifindex`: the device the program runs on.
    pub const IFINDEX: i16 = 40;
    /// `ingress_ifindex`.
    pub const INGRESS_IFINDEX: i16 = 36;
    /// `hash`: the frame's flow hash as it is (0: none; reading it computes nothing).
    pub const HASH: i16 = 68;
    /// `data`.
    pub const DATA: i16 = 76;
    /// `data_end`.
    pub const DATA_END: i16 = 80;
    /// `gso_segs`.
    pub const GSO_SEGS: i16 = 164;
    /// `gso_size`.
    pub const GSO_SIZE: i16 = 176;
}

/// Helper function numbers.
pub mod helper {
    /// `bpf_map_lookup_elem(map, key)`.
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    /// `bpf_redirect(ifindex, flags)`.
    pub const REDIRECT: i32 = 23;
    /// `bpf_ktime_get_ns()`: `CLOCK_MONOTONIC`.
    pub const KTIME_GET_NS: i32 = 5;
    /// `bpf_skb_pull_data(skb, len)`: make `len` bytes linear.
    pub const SKB_PULL_DATA: i32 = 39;
    /// `bpf_skb_load_bytes(skb, offset, to, len)`: copy bytes of the frame (linear or not).
    pub const SKB_LOAD_BYTES: i32 = 26;
    /// `bpf_clone_redirect(skb, ifindex, flags)`: send a copy now.
    pub const CLONE_REDIRECT: i32 = 13;
    /// `bpf_skb_store_bytes(skb, offset, from, len, flags)`: write bytes of the frame.
    pub const SKB_STORE_BYTES: i32 = 9;
    /// `bpf_set_hash_invalid(skb)`: the frame's flow hash is computed anew when needed.
    pub const SET_HASH_INVALID: i32 = 41;
}

/// Where a tcx program is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcxHook {
    /// Frames the device receives.
    Ingress,
    /// Frames the device sends.
    Egress,
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    pub regs: u8,
    /// Offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

/// Memory access sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// 8 bits.
    B,
    /// 16 bits.
    H,
    /// 32 bits.
    W,
    /// 64 bits.
    DW,
}

impl Size {
    fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }
}

/// 64-bit ALU operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    /// `+=`.
    Add = 0x00,
    /// `-=`.
    Sub = 0x10,
    /// `*=`.
    Mul = 0x20,
    /// `/=` (unsigned; by zero gives zero).
    Div = 0x30,
    /// `|=`.
    Or = 0x40,
    /// `&=`.
    And = 0x50,
    /// `<<=`.
    Lsh = 0x60,
    /// `>>=` (logical).
    Rsh = 0x70,
    /// `%=` (unsigned; by zero leaves `dst`).
    Mod = 0x90,
    /// `^=`.
    Xor = 0xa0,
    /// `=`.
    Mov = 0xb0,
}

/// Jump conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jmp {
    /// Always.
    Ja = 0x00,
    /// `==`.
    Eq = 0x10,
    /// `>` (unsigned).
    Gt = 0x20,
    /// `>=` (unsigned).
    Ge = 0x30,
    /// `dst & src != 0`.
    Set = 0x40,
    /// `!=`.
    Ne = 0x50,
    /// `<` (unsigned).
    Lt = 0xa0,
    /// `<=` (unsigned).
    Le = 0xb0,
}

/// A label: a jump target placed with [`Asm::label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// An assembler: instructions plus forward and backward jumps to labels.
#[derive(Debug, Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

const fn raw(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

impl Asm {
    /// An empty program.
    pub fn new() -> Asm {
        Asm::default()
    }

    /// A new label, placed later.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `l` at the next instruction.
    pub fn label(&mut self, l: Label) {
        if let Some(slot) = self.labels.get_mut(l.0) {
            *slot = Some(self.insns.len());
        }
    }

    fn push(&mut self, i: Insn) -> &mut Asm {
        self.insns.push(i);
        self
    }

    /// `dst = *(size *)(src + off)`.
    pub fn ldx(&mut self, size: Size, dst: u8, src: u8, off: i16) -> &mut Asm {
        self.push(raw(0x61 | size.bits(), dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = src`.
    pub fn stx(&mut self, size: Size, dst: u8, off: i16, src: u8) -> &mut Asm {
        self.push(raw(0x63 | size.bits(), dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn st(&mut self, size: Size, dst: u8, off: i16, imm: i32) -> &mut Asm {
        self.push(raw(0x62 | size.bits(), dst, 0, off, imm))
    }

    /// `lock *(u64 *)(dst + off) += src`.
    pub fn atomic_add64(&mut self, dst: u8, off: i16, src: u8) -> &mut Asm {
        self.push(raw(0xdb, dst, src, off, 0))
    }

    /// `dst op= imm` (64-bit; `imm` sign-extended).
    pub fn alu_imm(&mut self, op: Alu, dst: u8, imm: i32) -> &mut Asm {
        self.push(raw(0x07 | op as u8, dst, 0, 0, imm))
    }

    /// `dst op= src` (64-bit).
    pub fn alu_reg(&mut self, op: Alu, dst: u8, src: u8) -> &mut Asm {
        self.push(raw(0x0f | op as u8, dst, src, 0, 0))
    }

    /// `dst = imm` (64-bit immediate, two slots).
    pub fn ld_imm64(&mut self, dst: u8, imm: u64) -> &mut Asm {
        self.push(raw(0x18, dst, 0, 0, imm as u32 as i32));
        self.push(raw(0, 0, 0, 0, (imm >> 32) as u32 as i32))
    }

    /// `dst = map` (the map's file descriptor, resolved by the kernel).
    pub fn ld_map(&mut self, dst: u8, map: &impl AsRawFd) -> &mut Asm {
        self.push(raw(0x18, dst, BPF_PSEUDO_MAP_FD, 0, map.as_raw_fd()));
        self.push(raw(0, 0, 0, 0, 0))
    }

    /// `dst = htobe(dst)` on its low `bits` (16, 32 or 64) bits, upper bits cleared.
    pub fn to_be(&mut self, dst: u8, bits: i32) -> &mut Asm {
        self.push(raw(0xdc, dst, 0, 0, bits))
    }

    /// `if dst op imm goto l`.
    pub fn jmp_imm(&mut self, op: Jmp, dst: u8, imm: i32, l: Label) -> &mut Asm {
        self.fixups.push((self.insns.len(), l));
        self.push(raw(0x05 | op as u8, dst, 0, 0, imm))
    }

    /// `if dst op src goto l`.
    pub fn jmp_reg(&mut self, op: Jmp, dst: u8, src: u8, l: Label) -> &mut Asm {
        self.fixups.push((self.insns.len(), l));
        self.push(raw(0x0d | op as u8, dst, src, 0, 0))
    }

    /// `goto l`.
    pub fn ja(&mut self, l: Label) -> &mut Asm {
        self.jmp_imm(Jmp::Ja, 0, 0, l)
    }

    /// `r0 = helper(r1, ..., r5)`.
    pub fn call(&mut self, helper: i32) -> &mut Asm {
        self.push(raw(0x85, 0, 0, 0, helper))
    }

    /// `return r0`.
    pub fn exit(&mut self) -> &mut Asm {
        self.push(raw(0x95, 0, 0, 0, 0))
    }

    /// The instructions, jumps resolved. `None` if a label was never placed or a jump is out
    /// of range.
    pub fn finish(mut self) -> Option<Vec<Insn>> {
        for (at, l) in std::mem::take(&mut self.fixups) {
            let target = (*self.labels.get(l.0)?)?;
            let off = i16::try_from(target as i64 - at as i64 - 1).ok()?;
            self.insns.get_mut(at)?.off = off;
        }
        Some(self.insns)
    }
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
    relative_fd: u32,
    _pad: u32,
    expected_revision: u64,
}

#[repr(C)]
#[derive(Default)]
struct LinkUpdateAttr {
    link_fd: u32,
    new_prog_fd: u32,
    flags: u32,
    old_prog_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The head of `struct bpf_map_info`.
#[repr(C)]
#[derive(Default)]
struct MapInfo {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; 16],
}

/// The head of `struct bpf_prog_info`.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

/// `struct bpf_link_info` up to its tcx member.
#[repr(C)]
#[derive(Default)]
struct LinkInfo {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
    /// tcx: `ifindex`, `attach_type`.
    tcx: [u32; 2],
    _rest: [u64; 3],
}

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    /// Explicit, so the tail the kernel checks for zero is initialised.
    _pad: u32,
}

/// `bpf(cmd, attr, sizeof attr)`.
fn sys_bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised `#[repr(C)]` prefix of `union bpf_attr` of the size
    // passed; the kernel reads (and for some commands writes) only that many bytes; the pointers
    // inside it point to buffers that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(r: libc::c_long) -> OwnedFd {
    // SAFETY: `r` is a file descriptor the kernel just created for us, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

fn name16(name: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    for (d, s) in n.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    n
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::Sys {
        op: "BPF pin path",
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })
}

/// `BPF_OBJ_PIN`: `fd` (a map, program or link) at `path` in a bpffs.
fn pin_fd(fd: RawFd, path: &Path) -> Result<()> {
    let p = c_path(path)?;
    let mut a = ObjAttr {
        pathname: p.as_ptr() as u64,
        bpf_fd: fd as u32,
        ..ObjAttr::default()
    };
    sys_bpf(BPF_OBJ_PIN, &mut a).map_err(|source| Error::Bpf {
        op: "bpf(BPF_OBJ_PIN)",
        source,
        log: path.display().to_string(),
    })?;
    Ok(())
}

/// `BPF_OBJ_GET`: the object pinned at `path`.
fn get_pinned(path: &Path) -> Result<OwnedFd> {
    let p = c_path(path)?;
    let mut a = ObjAttr {
        pathname: p.as_ptr() as u64,
        ..ObjAttr::default()
    };
    let fd = sys_bpf(BPF_OBJ_GET, &mut a).map_err(|source| Error::Bpf {
        op: "bpf(BPF_OBJ_GET)",
        source,
        log: path.display().to_string(),
    })?;
    Ok(owned_fd(fd))
}

fn obj_info<T: Default>(fd: RawFd, op: &'static str) -> Result<T> {
    let mut info = T::default();
    let mut a = InfoAttr {
        bpf_fd: fd as u32,
        info_len: std::mem::size_of::<T>() as u32,
        info: &mut info as *mut T as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).map_err(|source| Error::Sys { op, source })?;
    Ok(info)
}

/// The kind of a [`ArrayMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_ARRAY` with `BPF_F_MMAPABLE`: also readable and writable through
    /// [`ArrayMap::mmap`], without a system call per access.
    Mmapable,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`: one copy of each value per CPU.
    PerCpu,
    /// `BPF_MAP_TYPE_HASH` with `u32` keys (e.g. ifindexes): entries exist once written
    /// ([`ArrayMap::set`]) until deleted ([`ArrayMap::delete`]).
    Hash,
}

impl MapKind {
    fn type_and_flags(self) -> (u32, u32) {
        match self {
            MapKind::Array => (BPF_MAP_TYPE_ARRAY, 0),
            MapKind::Mmapable => (BPF_MAP_TYPE_ARRAY, BPF_F_MMAPABLE),
            MapKind::PerCpu => (BPF_MAP_TYPE_PERCPU_ARRAY, 0),
            MapKind::Hash => (BPF_MAP_TYPE_HASH, 0),
        }
    }
}

/// What [`ArrayMap`] and [`KeyMap`] share: the map's descriptor, its shape, and the element
/// calls (lengths checked against the shape before the kernel is asked).
#[derive(Debug)]
struct MapFd {
    fd: OwnedFd,
    key_size: usize,
    value_size: usize,
    entries: u32,
}

impl MapFd {
    fn create(
        (map_type, map_flags): (u32, u32),
        name: &str,
        key_size: usize,
        value_size: usize,
        entries: u32,
    ) -> Result<MapFd> {
        let mut a = MapCreateAttr {
            map_type,
            key_size: key_size as u32,
            value_size: value_size as u32,
            max_entries: entries,
            map_flags,
            map_name: name16(name),
            ..MapCreateAttr::default()
        };
        let fd = owned_fd(
            sys_bpf(BPF_MAP_CREATE, &mut a).map_err(|source| Error::Sys {
                op: "bpf(BPF_MAP_CREATE)",
                source,
            })?,
        );
        Ok(MapFd {
            fd,
            key_size,
            value_size,
            entries,
        })
    }

    fn open_pinned(
        path: &Path,
        (map_type, flags): (u32, u32),
        key_size: usize,
        value_size: usize,
        entries: u32,
    ) -> Result<MapFd> {
        let fd = open_pinned_map(path, map_type, flags, key_size, value_size, entries)?;
        Ok(MapFd {
            fd,
            key_size,
            value_size,
            entries,
        })
    }

    /// `cmd` on the element `key` (`key_size` bytes) with the value buffer at `value`, of
    /// `value_len` bytes (`None`: no value, as for a delete).
    fn elem(
        &self,
        cmd: libc::c_long,
        key: &[u8],
        value: u64,
        value_len: Option<usize>,
    ) -> io::Result<()> {
        if key.len() != self.key_size || value_len.is_some_and(|l| l != self.value_size) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut a = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: key.as_ptr() as u64,
            value,
            ..MapElemAttr::default()
        };
        sys_bpf(cmd, &mut a).map(drop)
    }

    /// Reads entry `key` into `value`; `ENOENT` when a hash map has no such entry.
    fn get(&self, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let len = value.len();
        self.elem(
            BPF_MAP_LOOKUP_ELEM,
            key,
            value.as_mut_ptr() as u64,
            Some(len),
        )
    }

    fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let op = "bpf(BPF_MAP_UPDATE_ELEM)";
        self.elem(
            BPF_MAP_UPDATE_ELEM,
            key,
            value.as_ptr() as u64,
            Some(value.len()),
        )
        .map_err(|source| Error::Sys { op, source })
    }

    /// Deletes entry `key` (absent: not an error).
    fn delete(&self, key: &[u8]) -> Result<()> {
        match self.elem(BPF_MAP_DELETE_ELEM, key, 0, None) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            r => r.map_err(|source| Error::Sys {
                op: "bpf(BPF_MAP_DELETE_ELEM)",
                source,
            }),
        }
    }

    fn pin(&self, path: &Path) -> Result<()> {
        pin_fd(self.fd.as_raw_fd(), path)
    }
}

/// An array map with `u32` keys (or a hash map with `u32` keys: [`MapKind::Hash`]).
#[derive(Debug)]
pub struct ArrayMap {
    map: MapFd,
}

impl ArrayMap {
    /// A zeroed array of `entries` values of `value_size` bytes.
    pub fn new(value_size: usize, entries: u32) -> Result<ArrayMap> {
        ArrayMap::create(MapKind::Array, "", value_size, entries)
    }

    /// A zeroed array of the given kind, named `name` (shown by `bpftool map`; at most 15
    /// bytes are kept).
    pub fn create(kind: MapKind, name: &str, value_size: usize, entries: u32) -> Result<ArrayMap> {
        let map = MapFd::create(kind.type_and_flags(), name, 4, value_size, entries)?;
        Ok(ArrayMap { map })
    }

    /// The map pinned at `path`, if it is an array of this kind and shape (else an error: a
    /// map of another program version is never reused).
    pub fn open_pinned(
        path: &Path,
        kind: MapKind,
        value_size: usize,
        entries: u32,
    ) -> Result<ArrayMap> {
        let map = MapFd::open_pinned(path, kind.type_and_flags(), 4, value_size, entries)?;
        Ok(ArrayMap { map })
    }

    /// Pins the map at `path` (in a mounted bpffs).
    pub fn pin(&self, path: &Path) -> Result<()> {
        self.map.pin(path)
    }

    /// Number of entries.
    pub fn entries(&self) -> u32 {
        self.map.entries
    }

    /// The map's file descriptor.
    pub fn fd(&self) -> RawFd {
        self.map.fd.as_raw_fd()
    }

    /// Reads entry `key` into `value` (`value_size` bytes).
    pub fn get(&self, key: u32, value: &mut [u8]) -> Result<()> {
        self.map
            .get(&key.to_ne_bytes(), value)
            .map_err(|source| Error::Sys {
                op: "bpf(BPF_MAP_LOOKUP_ELEM)",
                source,
            })
    }

    /// Writes entry `key`.
    pub fn set(&self, key: u32, value: &[u8]) -> Result<()> {
        self.map.set(&key.to_ne_bytes(), value)
    }

    /// Deletes entry `key` of a [`MapKind::Hash`] map (absent: not an error).
    pub fn delete(&self, key: u32) -> Result<()> {
        self.map.delete(&key.to_ne_bytes())
    }

    /// Entry `key` as a `u64` array of `N` (the value must be `8 * N` bytes).
    pub fn get_u64s<const N: usize>(&self, key: u32) -> Result<[u64; N]> {
        let mut b = vec![0u8; self.map.value_size];
        self.get(key, &mut b)?;
        let mut out = [0u64; N];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            *o = u64::from_ne_bytes(w);
        }
        Ok(out)
    }

    /// Maps a [`MapKind::Mmapable`] array into the process: its values are then read and
    /// written with atomic loads and stores, shared with the programs that use the map.
    pub fn mmap(&self) -> Result<MapMmap> {
        if !self.map.value_size.is_multiple_of(8) {
            return Err(Error::Sys {
                op: "mmap of a BPF map (values must be multiples of 8 bytes)",
                source: io::Error::from_raw_os_error(libc::EINVAL),
            });
        }
        // SAFETY: plain system call without pointers.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let bytes = self.map.value_size * self.map.entries as usize;
        let len = bytes.div_ceil(page).max(1) * page;
        // SAFETY: a fresh shared mapping of the map's fd; the kernel checks the map allows it
        // (BPF_F_MMAPABLE) and the length; nothing else refers to the address range yet.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.map.fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap of a BPF map"));
        }
        Ok(MapMmap {
            ptr: ptr.cast(),
            len,
            words: bytes / 8,
            words_per_value: self.map.value_size / 8,
        })
    }
}

impl AsRawFd for ArrayMap {
    fn as_raw_fd(&self) -> RawFd {
        self.map.fd.as_raw_fd()
    }
}

/// The map pinned at `path`, if it has this type, flags and shape (else an error: a map of
/// another program version is never reused).
fn open_pinned_map(
    path: &Path,
    map_type: u32,
    flags: u32,
    key_size: usize,
    value_size: usize,
    entries: u32,
) -> Result<OwnedFd> {
    let fd = get_pinned(path)?;
    let info: MapInfo = obj_info(fd.as_raw_fd(), "bpf(BPF_OBJ_GET_INFO_BY_FD, map)")?;
    if info.map_type != map_type
        || info.map_flags & BPF_F_MMAPABLE != flags
        || info.key_size as usize != key_size
        || info.value_size as usize != value_size
        || info.max_entries != entries
    {
        return Err(Error::Bpf {
            op: "adopting a pinned map",
            source: io::Error::from_raw_os_error(libc::EINVAL),
            log: format!(
                "{}: type {} key {} value {} entries {}, expected type {map_type} key {key_size} value {value_size} entries {entries}",
                path.display(),
                info.map_type,
                info.key_size,
                info.value_size,
                info.max_entries
            ),
        });
    }
    Ok(fd)
}

/// A `BPF_MAP_TYPE_HASH` with keys of a fixed number of bytes (e.g. IPv6 addresses), filled
/// by user space: entries exist once inserted until deleted, and a program that only looks
/// them up cannot make the map grow. At most `entries` entries (an insert beyond fails).
#[derive(Debug)]
pub struct KeyMap {
    map: MapFd,
}

impl KeyMap {
    /// An empty map, named `name` (at most 15 bytes are kept).
    pub fn create(name: &str, key_size: usize, value_size: usize, entries: u32) -> Result<KeyMap> {
        let map = MapFd::create((BPF_MAP_TYPE_HASH, 0), name, key_size, value_size, entries)?;
        Ok(KeyMap { map })
    }

    /// The map pinned at `path`, if it is a hash map of this shape (else an error).
    pub fn open_pinned(
        path: &Path,
        key_size: usize,
        value_size: usize,
        entries: u32,
    ) -> Result<KeyMap> {
        let map = MapFd::open_pinned(path, (BPF_MAP_TYPE_HASH, 0), key_size, value_size, entries)?;
        Ok(KeyMap { map })
    }

    /// Pins the map at `path` (in a mounted bpffs).
    pub fn pin(&self, path: &Path) -> Result<()> {
        self.map.pin(path)
    }

    /// The most entries it holds.
    pub fn entries(&self) -> u32 {
        self.map.entries
    }

    /// Writes entry `key` (created if absent; fails with `E2BIG` when the map is full).
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.map.set(key, value)
    }

    /// Reads entry `key` into `value` (`value_size` bytes): whether it exists.
    pub fn get(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        match self.map.get(key, value) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(source) => Err(Error::Sys {
                op: "bpf(BPF_MAP_LOOKUP_ELEM)",
                source,
            }),
        }
    }

    /// Deletes entry `key` (absent: not an error).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.map.delete(key)
    }
}

impl AsRawFd for KeyMap {
    fn as_raw_fd(&self) -> RawFd {
        self.map.fd.as_raw_fd()
    }
}

/// An mmapped [`MapKind::Mmapable`] array: each value as `u64` words accessed atomically (the
/// kernel programs update the same memory with atomic instructions or plain stores).
#[derive(Debug)]
pub struct MapMmap {
    ptr: *mut AtomicU64,
    len: usize,
    words: usize,
    words_per_value: usize,
}

// SAFETY: the mapping is plain shared memory, only ever accessed through `AtomicU64`.
unsafe impl Send for MapMmap {}
// SAFETY: as above; every access is atomic.
unsafe impl Sync for MapMmap {}

impl MapMmap {
    /// Word `word` of value `index` (`None` out of range).
    pub fn word(&self, index: u32, word: usize) -> Option<&AtomicU64> {
        if word >= self.words_per_value {
            return None;
        }
        let i = (index as usize)
            .checked_mul(self.words_per_value)?
            .checked_add(word)?;
        if i >= self.words {
            return None;
        }
        // SAFETY: `i` is within the mapping (checked above), 8-byte aligned (the mapping is
        // page aligned, values are multiples of 8 bytes), and the mapping lives as long as
        // `self`.
        Some(unsafe { &*self.ptr.add(i) })
    }

    /// Reads word `word` of value `index` (0 out of range).
    pub fn load(&self, index: u32, word: usize) -> u64 {
        self.word(index, word)
            .map_or(0, |w| w.load(Ordering::Acquire))
    }

    /// Writes word `word` of value `index` (nothing out of range).
    pub fn store(&self, index: u32, word: usize, v: u64) {
        if let Some(w) = self.word(index, word) {
            w.store(v, Ordering::Release);
        }
    }
}

impl Drop for MapMmap {
    fn drop(&mut self) {
        // SAFETY: the range was mapped by `ArrayMap::mmap` with this length and is not used
        // after this (references to it borrow `self`).
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// A loaded `SCHED_CLS` program.
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
}

impl Program {
    /// Loads `insns` (verified by the kernel; its last log line is in the error).
    pub fn load(name: &str, insns: &[Insn]) -> Result<Program> {
        let license = c"GPL";
        let mut log = vec![0u8; 256 * 1024];
        let mut p = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_SCHED_CLS,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name16(name),
            ..ProgLoadAttr::default()
        };
        // Without a verifier log first (cheaper); with one only to explain a refusal.
        if let Ok(fd) = sys_bpf(BPF_PROG_LOAD, &mut p) {
            return Ok(Program { fd: owned_fd(fd) });
        }
        p.log_level = 1;
        p.log_size = log.len() as u32;
        p.log_buf = log.as_mut_ptr() as u64;
        match sys_bpf(BPF_PROG_LOAD, &mut p) {
            Ok(fd) => Ok(Program { fd: owned_fd(fd) }),
            Err(source) => {
                let text = String::from_utf8_lossy(&log);
                let text = text.trim_end_matches('\0').trim();
                let tail: Vec<&str> = text.lines().rev().take(3).collect();
                Err(Error::Bpf {
                    op: "bpf(BPF_PROG_LOAD)",
                    source,
                    log: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
                })
            }
        }
    }

    /// The program pinned at `path`.
    pub fn open_pinned(path: &Path) -> Result<Program> {
        Ok(Program {
            fd: get_pinned(path)?,
        })
    }

    /// Pins the program at `path` (in a mounted bpffs).
    pub fn pin(&self, path: &Path) -> Result<()> {
        pin_fd(self.fd.as_raw_fd(), path)
    }

    /// The program's file descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The kernel's id of the program and its name.
    pub fn id_and_name(&self) -> Result<(u32, String)> {
        let info: ProgInfo = obj_info(self.fd.as_raw_fd(), "bpf(BPF_OBJ_GET_INFO_BY_FD, prog)")?;
        let end = info.name.iter().position(|b| *b == 0).unwrap_or(16);
        let name = String::from_utf8_lossy(info.name.get(..end).unwrap_or(&[])).into_owned();
        Ok((info.id, name))
    }

    /// Attaches the program at `hook` of `ifindex`, after the programs already there;
    /// dropping the returned link detaches it.
    pub fn attach_tcx(&self, ifindex: u32, hook: TcxHook) -> Result<TcxLink> {
        self.attach_tcx_at(ifindex, hook, false)
    }

    /// As [`Program::attach_tcx`], before every program already there when `first`
    /// (`BPF_F_BEFORE`).
    pub fn attach_tcx_at(&self, ifindex: u32, hook: TcxHook, first: bool) -> Result<TcxLink> {
        let mut l = LinkCreateAttr {
            flags: if first { BPF_F_BEFORE } else { 0 },
            prog_fd: self.fd.as_raw_fd() as u32,
            target_ifindex: ifindex,
            // BPF_TCX_INGRESS, BPF_TCX_EGRESS.
            attach_type: match hook {
                TcxHook::Ingress => 46,
                TcxHook::Egress => 47,
            },
            ..LinkCreateAttr::default()
        };
        let fd = sys_bpf(BPF_LINK_CREATE, &mut l).map_err(|source| Error::Bpf {
            op: "bpf(BPF_LINK_CREATE, tcx)",
            source,
            log: format!("ifindex {ifindex} (tcx needs Linux 6.6 or later)"),
        })?;
        Ok(TcxLink {
            fd: owned_fd(fd),
            ifindex,
        })
    }

    /// Runs the program once on `frame` (`BPF_PROG_TEST_RUN`); returns its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<i32> {
        self.test_run_out(frame).map(|(v, _)| v)
    }

    /// Runs the program once on `frame`; returns its verdict and the frame as the program left
    /// it (rewritten bytes).
    pub fn test_run_out(&self, frame: &[u8]) -> Result<(i32, Vec<u8>)> {
        let mut out = vec![0u8; frame.len() + 256];
        let mut a = TestRunAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            data_size_in: frame.len() as u32,
            data_size_out: out.len() as u32,
            data_in: frame.as_ptr() as u64,
            data_out: out.as_mut_ptr() as u64,
            repeat: 1,
            ..TestRunAttr::default()
        };
        sys_bpf(BPF_PROG_TEST_RUN, &mut a).map_err(|source| Error::Sys {
            op: "bpf(BPF_PROG_TEST_RUN)",
            source,
        })?;
        out.truncate(a.data_size_out as usize);
        Ok((a.retval as i32, out))
    }
}

/// An attachment at a tcx hook; dropping it (or the process ending, however it ends) detaches
/// the program, unless the link is pinned ([`TcxLink::pin`]).
#[derive(Debug)]
pub struct TcxLink {
    fd: OwnedFd,
    ifindex: u32,
}

impl TcxLink {
    /// The device.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The link's file descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Replaces the link's program atomically (`BPF_LINK_UPDATE`): every frame sees either the
    /// old program or the new one.
    pub fn update(&self, prog: &Program) -> Result<()> {
        let mut a = LinkUpdateAttr {
            link_fd: self.fd.as_raw_fd() as u32,
            new_prog_fd: prog.fd() as u32,
            ..LinkUpdateAttr::default()
        };
        sys_bpf(BPF_LINK_UPDATE, &mut a).map_err(|source| Error::Bpf {
            op: "bpf(BPF_LINK_UPDATE)",
            source,
            log: format!("tcx link on ifindex {}", self.ifindex),
        })?;
        Ok(())
    }

    /// Pins the link at `path`: the program stays attached after the process ends, until the
    /// pin is removed.
    pub fn pin(&self, path: &Path) -> Result<()> {
        pin_fd(self.fd.as_raw_fd(), path)
    }

    /// The tcx link pinned at `path` (and the interface it is attached to).
    pub fn open_pinned(path: &Path) -> Result<TcxLink> {
        let fd = get_pinned(path)?;
        let info: LinkInfo = obj_info(fd.as_raw_fd(), "bpf(BPF_OBJ_GET_INFO_BY_FD, link)")?;
        Ok(TcxLink {
            fd,
            ifindex: info.tcx[0],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insn_is_eight_bytes_like_the_kernels() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(raw(0xbf, 2, 10, 0, 0).regs, 0xa2);
    }

    #[test]
    fn encodings_match_the_kernel_opcodes() {
        let mut a = Asm::new();
        a.ldx(Size::W, 0, 1, 36)
            .ldx(Size::H, 2, 7, 12)
            .ldx(Size::B, 2, 7, 14)
            .ldx(Size::DW, 2, 7, 0)
            .st(Size::W, 10, -4, 0)
            .alu_imm(Alu::Mov, 0, 2)
            .alu_reg(Alu::Mov, 2, 10)
            .alu_reg(Alu::Xor, 9, 2)
            .to_be(2, 32)
            .atomic_add64(0, 0, 1)
            .call(helper::REDIRECT)
            .exit();
        let p = a.finish().unwrap();
        let codes: Vec<u8> = p.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            vec![
                0x61, 0x69, 0x71, 0x79, 0x62, 0xb7, 0xbf, 0xaf, 0xdc, 0xdb, 0x85, 0x95
            ]
        );
    }

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut a = Asm::new();
        let fwd = a.new_label();
        let back = a.new_label();
        a.label(back);
        a.jmp_imm(Jmp::Ne, 0, 5, fwd); // 0
        a.alu_imm(Alu::Mov, 0, 1); // 1
        a.ja(back); // 2
        a.label(fwd);
        a.exit(); // 3
        let p = a.finish().unwrap();
        assert_eq!(p[0].off, 2);
        assert_eq!(p[2].off, -3);
        let mut b = Asm::new();
        let never = b.new_label();
        b.ja(never);
        assert!(b.finish().is_none(), "an unplaced label is refused");
    }

    #[test]
    fn ld_imm64_splits_the_immediate() {
        let mut a = Asm::new();
        a.ld_imm64(3, 0x0123_4567_89ab_cdef);
        let p = a.finish().unwrap();
        assert_eq!(p[0].imm as u32, 0x89ab_cdef);
        assert_eq!(p[1].imm as u32, 0x0123_4567);
        assert_eq!(p[0].regs & 0xf, 3);
    }
}
