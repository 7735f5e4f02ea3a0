//! A scratch directory for test files (captures, logs), removed on drop unless kept.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A directory under the system temp dir with a unique name.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    /// Creates `TMP/lagd-<tag><pid><n>`.
    pub fn new(tag: &str) -> Result<ScratchDir> {
        let path =
            std::env::temp_dir().join(format!("lagd-{}", lagd_dataplane::netns::unique_name(tag)));
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io(format!("mkdir {}", path.display()), e))?;
        Ok(ScratchDir { path, keep: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory after drop (post-mortem).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A test's scratch directory `TMP/<unique name from tag>` (created; panics if it cannot be),
/// removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates the directory.
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(lagd_dataplane::netns::unique_name(tag));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The path of `name` in it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_dir_is_removed_on_drop() {
        let d = ScratchDir::new("scr").expect("mkdir");
        let p = d.path().to_path_buf();
        assert!(p.is_dir());
        drop(d);
        assert!(!p.exists());
        let t = TempDir::new("scr");
        let p = t.path("x");
        assert!(t.0.is_dir());
        drop(t);
        assert!(!p.parent().unwrap().exists());
    }
}
