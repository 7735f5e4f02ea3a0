//! The DT key file (`[dt] key_file`): one line holding the shared key (at least 16 octets,
//! e.g. `openssl rand -hex 32`; surrounding whitespace ignored). Like ssh with a private key,
//! lagd refuses a file that others could read or replace: it must be a regular file (not a
//! symlink), owned by root or by lagd's user, and give no permission to group or others.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use lagd_dt::DtKey;

/// Reads and checks the key file at `path`.
pub fn load(path: &Path) -> Result<DtKey, String> {
    let shown = path.display();
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.file_type().is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown}: permissions {mode:04o} let group or others read or write the key; chmod 600 {shown}"
        ));
    }
    // lagd's effective uid: the owner of /proc/self.
    let euid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    if meta.uid() != 0 && meta.uid() != euid {
        return Err(format!(
            "{shown}: owned by uid {}, not by root or lagd's user (uid {euid})",
            meta.uid()
        ));
    }
    let text = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    let key = text.trim_ascii();
    if key.contains(&b'\n') {
        return Err(format!("{shown}: the key file must hold one line"));
    }
    DtKey::new(key).map_err(|e| format!("{shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn checks_like_ssh() {
        let dir = std::env::temp_dir().join(format!("lagd-dtkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("key");
        std::fs::write(&f, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&f).unwrap_err();
        assert!(e.contains("0644") && e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let k = load(&f).unwrap();
        assert_eq!(k, DtKey::new(b"0123456789abcdef0123456789abcdef").unwrap());
        std::fs::write(&f, "short").unwrap();
        assert!(load(&f).unwrap_err().contains("16"));
        std::fs::write(&f, "0123456789abcdef\n0123456789abcdef").unwrap();
        assert!(load(&f).unwrap_err().contains("one line"));
        let l = dir.join("link");
        let _ = std::fs::remove_file(&l);
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert!(load(&l).unwrap_err().contains("regular"));
        assert!(load(&dir.join("absent")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
