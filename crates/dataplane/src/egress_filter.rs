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
//! [`EgressFilter::drop_from`] attaches, with `bpf(BPF_LINK_CREATE)` at the device's **tcx
//! egress** hook (Linux ≥ 6.6), a fifteen-instruction eBPF program built here (no compiler, no
//! object file) that drops every frame whose `skb->ingress_ifindex` is the given interface and
//! counts it in a one-entry array map, and lets everything else continue (`TCX_NEXT`, so other
//! tc programs and qdiscs still run). The bridge forwards a frame without re-running
//! `netif_receive_skb`, so at the aggregate's egress `ingress_ifindex` still names the port it
//! entered on.
//!
//! The attachment is a BPF link owned by the returned value: dropping it (or the process
//! ending, however it ends) detaches the program, so lagd never leaves a filter behind.

use crate::error::{Error, Result};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

// bpf(2) commands, program/map/attach types and return codes (include/uapi/linux/bpf.h).
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
const BPF_TCX_EGRESS: u32 = 47;
const TCX_NEXT: i32 = -1;
const TCX_DROP: i32 = 2;
/// `offsetof(struct __sk_buff, ingress_ifindex)`.
const SKB_INGRESS_IFINDEX: i16 = 36;
const BPF_FUNC_MAP_LOOKUP_ELEM: i32 = 1;
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The program: `if (skb->ingress_ifindex == from) { counter[0] += 1; return TCX_DROP; }
/// return TCX_NEXT;`.
fn program(from_ifindex: u32, map_fd: RawFd) -> [Insn; 15] {
    // The kernel compares the 32-bit ifindex sign-extended from imm; ifindexes are < 2^31.
    let from = from_ifindex as i32;
    [
        insn(0x61, 0, 1, SKB_INGRESS_IFINDEX, 0), // r0 = *(u32 *)(r1 + 36)
        insn(0x55, 0, 0, 11, from),               // if r0 != from goto pass
        insn(0x62, 10, 0, -4, 0),                 // *(u32 *)(r10 - 4) = 0 (the key)
        insn(0xbf, 2, 10, 0, 0),                  // r2 = r10
        insn(0x07, 2, 0, 0, -4),                  // r2 += -4
        insn(0x18, 1, BPF_PSEUDO_MAP_FD, 0, map_fd), // r1 = map (ld_imm64, 2 slots)
        insn(0x00, 0, 0, 0, 0),
        insn(0x85, 0, 0, 0, BPF_FUNC_MAP_LOOKUP_ELEM), // r0 = bpf_map_lookup_elem(r1, r2)
        insn(0x15, 0, 0, 2, 0),                        // if r0 == NULL goto drop
        insn(0xb7, 1, 0, 0, 1),                        // r1 = 1
        insn(0xdb, 0, 1, 0, 0),                        // lock *(u64 *)(r0 + 0) += r1
        insn(0xb7, 0, 0, 0, TCX_DROP),                 // drop: r0 = TCX_DROP
        insn(0x95, 0, 0, 0, 0),                        // exit
        insn(0xb7, 0, 0, 0, TCX_NEXT),                 // pass: r0 = TCX_NEXT
        insn(0x95, 0, 0, 0, 0),                        // exit
    ]
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
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

/// `bpf(cmd, attr, sizeof attr)`, returning the new file descriptor or value.
fn sys_bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised `#[repr(C)]` bpf_attr prefix of the size passed; the
    // kernel reads (and for some commands writes) only that many bytes; the pointers inside it
    // point to buffers that outlive the call.
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

/// An attached filter; dropping it detaches the program.
#[derive(Debug)]
pub struct EgressFilter {
    link: OwnedFd,
    _prog: OwnedFd,
    map: OwnedFd,
    ifindex: u32,
    from_ifindex: u32,
}

impl EgressFilter {
    /// Drops, at the egress of `ifindex`, every frame that entered the host on `from_ifindex`
    /// (both in the calling thread's network namespace).
    pub fn drop_from(ifindex: u32, from_ifindex: u32) -> Result<EgressFilter> {
        let mut m = MapCreateAttr {
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            map_flags: 0,
        };
        let map = owned_fd(
            sys_bpf(BPF_MAP_CREATE, &mut m).map_err(|source| Error::Sys {
                op: "bpf(BPF_MAP_CREATE)",
                source,
            })?,
        );
        let insns = program(from_ifindex, map.as_raw_fd());
        let license = c"GPL";
        let mut log = vec![0u8; 16 * 1024];
        let mut name = [0u8; 16];
        name[..13].copy_from_slice(b"lagd_peerfilt");
        let mut p = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_SCHED_CLS,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: 1,
            log_size: log.len() as u32,
            log_buf: log.as_mut_ptr() as u64,
            prog_name: name,
            ..ProgLoadAttr::default()
        };
        let prog = match sys_bpf(BPF_PROG_LOAD, &mut p) {
            Ok(fd) => owned_fd(fd),
            Err(source) => {
                let text = String::from_utf8_lossy(&log);
                let text = text.trim_end_matches('\0').trim();
                return Err(Error::Bpf {
                    op: "bpf(BPF_PROG_LOAD)",
                    source,
                    log: text.lines().last().unwrap_or("").to_string(),
                });
            }
        };
        let mut l = LinkCreateAttr {
            prog_fd: prog.as_raw_fd() as u32,
            target_ifindex: ifindex,
            attach_type: BPF_TCX_EGRESS,
            ..LinkCreateAttr::default()
        };
        let link = owned_fd(
            sys_bpf(BPF_LINK_CREATE, &mut l).map_err(|source| Error::Bpf {
                op: "bpf(BPF_LINK_CREATE, tcx egress)",
                source,
                log: format!("ifindex {ifindex} (tcx needs Linux 6.6 or later)"),
            })?,
        );
        Ok(EgressFilter {
            link,
            _prog: prog,
            map,
            ifindex,
            from_ifindex,
        })
    }

    /// The interface whose egress is filtered.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface whose frames are dropped.
    pub fn from_ifindex(&self) -> u32 {
        self.from_ifindex
    }

    /// How many frames the filter has dropped.
    pub fn dropped(&self) -> Result<u64> {
        let key = 0u32;
        let mut value = 0u64;
        let mut a = MapElemAttr {
            map_fd: self.map.as_raw_fd() as u32,
            key: &key as *const u32 as u64,
            value: &mut value as *mut u64 as u64,
            ..MapElemAttr::default()
        };
        sys_bpf(BPF_MAP_LOOKUP_ELEM, &mut a).map_err(|source| Error::Sys {
            op: "bpf(BPF_MAP_LOOKUP_ELEM)",
            source,
        })?;
        Ok(value)
    }

    /// The BPF link's file descriptor (for diagnostics).
    pub fn link_fd(&self) -> RawFd {
        self.link.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_jumps_land_on_the_verdicts() {
        let p = program(7, 3);
        // `if r0 != from goto pass`: pass is `r0 = TCX_NEXT`.
        let pass = 1 + 1 + p[1].off as usize;
        assert_eq!(p[pass], insn(0xb7, 0, 0, 0, TCX_NEXT));
        assert_eq!(p[1].imm, 7);
        // `if r0 == NULL goto drop`: drop is `r0 = TCX_DROP`.
        let drop = 8 + 1 + p[8].off as usize;
        assert_eq!(p[drop], insn(0xb7, 0, 0, 0, TCX_DROP));
        assert_eq!(p[5].imm, 3, "the map fd is in the ld_imm64");
        assert_eq!(p[5].regs >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!(p.iter().filter(|i| i.code == 0x95).count(), 2);
    }

    #[test]
    fn insn_is_eight_bytes_like_the_kernels() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(insn(0xbf, 2, 10, 0, 0).regs, 0xa2);
    }
}
