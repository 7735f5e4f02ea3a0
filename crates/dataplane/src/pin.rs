//! Where lagd pins its BPF objects so that the kernel fast path outlives the process (hitless
//! restart): a bpffs. `/sys/fs/bpf` when it is one (systemd mounts it); else lagd mounts a
//! bpffs of its own (at `/sys/fs/bpf` if that directory exists and is empty, or at a fallback
//! such as `/run/lagd/bpffs`). Mounting needs `CAP_SYS_ADMIN`; without it the caller learns why.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `BPF_FS_MAGIC` (`statfs`'s `f_type` of a bpffs).
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The conventional mount point.
pub const SYS_FS_BPF: &str = "/sys/fs/bpf";

/// Whether `path` is (the root of or inside) a mounted bpffs.
pub fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs is plain data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statfs for the call.
    let r = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    #[allow(clippy::useless_conversion)] // f_type is not i64 on every architecture
    let f_type = i64::from(st.f_type);
    r == 0 && f_type == BPF_FS_MAGIC
}

/// Mounts a bpffs at `dir` (created if missing).
pub fn mount_bpffs(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Sys {
        op: "creating a bpffs mount point",
        source,
    })?;
    let target = CString::new(dir.as_os_str().as_bytes()).map_err(|_| Error::Sys {
        op: "bpffs mount point",
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: valid C strings for the call; no data argument.
    let r = unsafe {
        libc::mount(
            c"bpf".as_ptr(),
            target.as_ptr(),
            c"bpf".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(Error::last_os("mount -t bpf"));
    }
    Ok(())
}

/// A bpffs already mounted: `/sys/fs/bpf`, else `fallback` (nothing is mounted).
pub fn mounted_bpffs(fallback: &Path) -> Option<PathBuf> {
    [Path::new(SYS_FS_BPF), fallback]
        .into_iter()
        .find(|p| is_bpffs(p))
        .map(Path::to_path_buf)
}

/// Whether this process may try `mount(2)`: `CAP_SYS_ADMIN` is effective and no seccomp
/// filter runs (a unit's `SystemCallFilter=~@privileged` kills the process with SIGSYS at the
/// first `mount(2)`, it does not fail it).
pub fn may_mount() -> bool {
    crate::process::capability_usable(crate::process::CAP_SYS_ADMIN)
}

/// A bpffs to pin in: `/sys/fs/bpf` if it is one, or `fallback` if it is one; else, when this
/// process may mount ([`may_mount`]), one mounted at `/sys/fs/bpf` (when that directory
/// exists and is empty) or at `fallback`.
pub fn bpffs(fallback: &Path) -> Result<PathBuf> {
    let sys = Path::new(SYS_FS_BPF);
    if let Some(p) = mounted_bpffs(fallback) {
        return Ok(p);
    }
    if !may_mount() {
        return Err(Error::Sys {
            op: "finding a mounted bpffs (none at /sys/fs/bpf, and lagd may not mount one without CAP_SYS_ADMIN or under a syscall filter: mount -t bpf bpf /sys/fs/bpf)",
            source: io::Error::from_raw_os_error(libc::ENOENT),
        });
    }
    let empty = |p: &Path| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none());
    if empty(sys) && mount_bpffs(sys).is_ok() {
        return Ok(sys.to_path_buf());
    }
    mount_bpffs(fallback)?;
    Ok(fallback.to_path_buf())
}
