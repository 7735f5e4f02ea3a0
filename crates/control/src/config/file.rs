//! The configuration file on disk: read as it is, and written back so that nothing but its
//! content changes (mode, owner, symlink) and a crash or a power cut leaves either the old file
//! or the new one.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many symbolic links [`write_back`] follows before it gives up (as the kernel's
/// `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// The file's text as it is now (`None`: there is no file). A symlink is read through.
pub fn read(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The file `path` names once every symlink is followed (each hop relative to its own
/// directory); a dangling link names the file it points to, which a write creates.
pub fn target(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = parent_of(&p).join(to);
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "{}: more than {MAX_SYMLINKS} symbolic links (a loop?)",
        path.display()
    )))
}

fn parent_of(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Writes `text` as the file `path` names, changing nothing but its content:
/// - a symlink stays a symlink: the file it points to is replaced, not the link;
/// - the file keeps its mode and its owner and group (a new file is created `0644`, less what
///   the umask takes away);
/// - atomically and durably: a temporary file beside the target, written, `fsync`ed, renamed
///   over the target, then the directory `fsync`ed so the rename survives a power cut.
///
/// An owner other than lagd's own can be kept only with `CAP_CHOWN` and no syscall filter
/// (the unit's `~@privileged` filter kills a process that calls `fchown`): without them the
/// write is refused (`PermissionDenied`), the file untouched.
pub fn write_back(path: &Path, text: &str) -> std::io::Result<()> {
    write_back_with(path, text, may_chown())
}

fn write_back_with(path: &Path, text: &str, chown_allowed: bool) -> std::io::Result<()> {
    let target = target(path)?;
    let dir = parent_of(&target);
    std::fs::create_dir_all(&dir)?;
    let old = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lagd.toml".into());
    let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    let result = (|| {
        // A leftover of a lagd of the same pid goes; `create_new` follows no symlink.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        if let Some(m) = &old {
            let mine = f.metadata()?;
            if (mine.uid(), mine.gid()) != (m.uid(), m.gid()) {
                if !chown_allowed {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "it belongs to {}:{} and lagd may not give a file another owner (no CAP_CHOWN, or a syscall filter): it would lose its owner; give it to lagd's user ({}:{}), or make changes temporary (-t)",
                            m.uid(),
                            m.gid(),
                            mine.uid(),
                            mine.gid()
                        ),
                    ));
                }
                // Owner first: chown clears the set-id bits, the mode then restores them.
                std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()))?;
            }
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `CAP_CHOWN` in effect and no seccomp filter (under one, `fchown` may kill the process).
fn may_chown() -> bool {
    use lagd_types::capability::{CAP_CHOWN, status_allows};
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| status_allows(&s, CAP_CHOWN))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn scratch(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("lagd-wb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("etc")).unwrap();
        Dir(d)
    }

    #[test]
    fn write_back_keeps_mode_owner_and_symlink() {
        let dir = scratch("keep");
        let real = dir.0.join("etc/lagd.toml");
        std::fs::write(&real, "# old\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Another owner than the writer's, when this test may give one (root with CAP_CHOWN).
        if may_chown() {
            std::os::unix::fs::chown(&real, Some(4242), Some(4343)).unwrap();
        }
        let before = std::fs::metadata(&real).unwrap();
        // A relative symlink, through a second one.
        let link = dir.0.join("lagd.toml");
        std::os::unix::fs::symlink("etc/lagd.toml", &link).unwrap();
        let link2 = dir.0.join("current.toml");
        std::os::unix::fs::symlink("lagd.toml", &link2).unwrap();
        write_back(&link2, "# new\n").unwrap();
        for l in [&link, &link2] {
            assert!(
                std::fs::symlink_metadata(l)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "# new\n");
        let after = std::fs::metadata(&real).unwrap();
        assert_eq!(after.mode() & 0o7777, 0o640);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        if may_chown() {
            assert_eq!((after.uid(), after.gid()), (4242, 4343));
        }
        // A new inode (renamed over), and no temporary file left beside it.
        assert_ne!(after.ino(), before.ino());
        assert_eq!(std::fs::read_dir(dir.0.join("etc")).unwrap().count(), 1);
    }

    #[test]
    fn a_dangling_symlink_creates_its_target_and_a_new_file_is_0644_at_most() {
        let dir = scratch("dangling");
        let link = dir.0.join("lagd.toml");
        std::os::unix::fs::symlink("etc/new.toml", &link).unwrap();
        assert_eq!(read(&link).unwrap(), None);
        write_back(&link, "x = 1\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let real = dir.0.join("etc/new.toml");
        assert_eq!(read(&link).unwrap().as_deref(), Some("x = 1\n"));
        let mode = std::fs::metadata(&real).unwrap().mode() & 0o7777;
        assert_eq!(mode & !0o644, 0, "{mode:o}");
    }

    #[test]
    fn another_owner_that_cannot_be_kept_is_refused_and_the_file_untouched() {
        if !may_chown() {
            return; // cannot make a file of another owner here
        }
        let dir = scratch("owner");
        let real = dir.0.join("etc/lagd.toml");
        std::fs::write(&real, "# old\n").unwrap();
        std::os::unix::fs::chown(&real, Some(4242), Some(4343)).unwrap();
        let e = write_back_with(&real, "# new\n", false).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("4242:4343"), "{e}");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "# old\n");
        assert_eq!(std::fs::read_dir(dir.0.join("etc")).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_loop_is_an_error_and_writes_nothing() {
        let dir = scratch("loop");
        let a = dir.0.join("a.toml");
        let b = dir.0.join("b.toml");
        std::os::unix::fs::symlink("b.toml", &a).unwrap();
        std::os::unix::fs::symlink("a.toml", &b).unwrap();
        let e = write_back(&a, "x = 1\n").unwrap_err();
        assert!(e.to_string().contains("symbolic links"), "{e}");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 3);
    }
}
