//! State that must survive the process: files written atomically and durably (a record is
//! either the old one or the new one, never half of each, even across a crash or a power
//! cut), an exclusive lock that says a process owns a state directory, and the identity of the
//! network namespace the state belongs to.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

fn io_err(op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Sys { op, source }
}

/// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory
/// (mode 0600), written and `fsync`ed, renamed over `path`, then the directory `fsync`ed so
/// the rename itself is on disk. A reader sees the old content or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Sys {
            op: "write state file",
            source: std::io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        });
    }
    sync_dir(&dir)
}

/// Removes `path` durably (the directory is `fsync`ed); a missing file is not an error.
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(&parent_of(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove state file")(e)),
    }
}

/// `fsync`s directory `dir` (makes a rename or an unlink in it durable).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync state directory"))
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// An exclusive advisory lock (`flock`) on a file, held while this value lives (and by the
/// kernel until the process dies, however it dies).
#[derive(Debug)]
pub struct LockFile {
    _file: File,
    path: PathBuf,
}

/// What [`LockFile::try_lock`] found.
#[derive(Debug)]
pub enum Locked {
    /// The lock is ours.
    Acquired(LockFile),
    /// Another process holds it; the pid it wrote, if readable.
    Busy(Option<u32>),
}

impl LockFile {
    /// Takes the lock on `path` (created mode 0600) without waiting, and writes our pid in it.
    pub fn try_lock(path: &Path) -> Result<Locked> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(io_err("open lock file"))?;
        // SAFETY: flock on a descriptor we own; no pointers.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let pid = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Ok(Locked::Busy(pid));
            }
            return Err(io_err("flock")(e));
        }
        f.set_len(0).map_err(io_err("truncate lock file"))?;
        f.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(io_err("write lock file"))?;
        Ok(Locked::Acquired(LockFile {
            _file: f,
            path: path.to_path_buf(),
        }))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Sets or clears `FD_CLOEXEC` on `fd`. Cleared, the descriptor survives an `execve` of the
/// process (a restart that keeps the aggregation hands its TAP and sockets on that way).
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let v = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: F_SETFD with integer flags on a descriptor the caller holds.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, v) } < 0 {
        return Err(Error::last_os("fcntl(F_SETFD)"));
    }
    Ok(())
}

/// Takes ownership of descriptor `raw`, inherited across `execve` from the previous image of
/// this process, which recorded its number (see [`set_cloexec`]). Fails if no such descriptor
/// is open. It is made close-on-exec again.
pub fn claim_inherited(raw: i32) -> Result<OwnedFd> {
    // SAFETY: F_GETFD on a number; no memory is touched, a closed number gives EBADF.
    if raw < 3 || unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
        return Err(Error::Sys {
            op: "inherited descriptor",
            source: std::io::Error::from_raw_os_error(libc::EBADF),
        });
    }
    // SAFETY: `raw` is open (checked above) and was handed to this image by the previous one,
    // which recorded it for this purpose; nothing else in this process owns it, and it is
    // claimed once (the record of inherited descriptors is consumed as it is read).
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_cloexec(fd.as_fd(), true)?;
    Ok(fd)
}

/// The identity of the calling thread's network namespace: its cookie (`SO_NETNS_COOKIE`,
/// Linux 5.14+, unique for the life of the system and never reused), else the inode of
/// `/proc/thread-self/ns/net` (prefixed `i`). State recorded for interfaces is only valid in
/// the namespace that holds them.
pub fn netns_id() -> Result<String> {
    // SAFETY: plain system call without pointers.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd >= 0 {
        // SAFETY: `fd` is a fresh descriptor we own.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut cookie: u64 = 0;
        let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cookie`, which has that size.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NETNS_COOKIE,
                (&mut cookie as *mut u64).cast(),
                &mut len,
            )
        };
        if r == 0 && len as usize == std::mem::size_of::<u64>() {
            return Ok(cookie.to_string());
        }
    }
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(io_err("stat /proc/thread-self/ns/net"))?;
    Ok(format!("i{}", m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(crate::netns::unique_name(tag));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let d = scratch("durable");
        let p = d.join("rec.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let mode = std::fs::metadata(&p).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        remove(&p).unwrap();
        remove(&p).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn lock_is_exclusive_and_names_its_holder() {
        let d = scratch("lock");
        let p = d.join("lock");
        let Locked::Acquired(l) = LockFile::try_lock(&p).unwrap() else {
            panic!("first lock refused");
        };
        // flock locks belong to the open file description: a second open is refused.
        match LockFile::try_lock(&p).unwrap() {
            Locked::Busy(pid) => assert_eq!(pid, Some(std::process::id())),
            Locked::Acquired(_) => panic!("second lock granted"),
        }
        drop(l);
        assert!(matches!(
            LockFile::try_lock(&p).unwrap(),
            Locked::Acquired(_)
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn netns_id_is_stable() {
        let a = netns_id().unwrap();
        assert!(!a.is_empty());
        assert_eq!(a, netns_id().unwrap());
    }
}
