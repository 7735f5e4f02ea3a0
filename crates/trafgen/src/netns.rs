//! Running traffic threads inside a named network namespace (`/run/netns/NAME`).

use crate::error::{Error, Result};
use std::thread::JoinHandle;

/// Spawns a thread named `name` that first enters namespace `ns` (when given) and then runs `f`.
/// A failure to enter the namespace is returned by the thread as [`Error::Netns`].
pub fn spawn<T, F>(name: &str, ns: Option<&str>, f: F) -> Result<JoinHandle<Result<T>>>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let ns = ns.map(str::to_string);
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Some(ns) = &ns {
                enter(ns)?;
            }
            f()
        })
        .map_err(|e| Error::io("spawn thread", e))
}

/// Moves the calling thread into namespace `ns`.
pub fn enter(ns: &str) -> Result<()> {
    lagd_dataplane::netns::enter(ns).map_err(|e| Error::Netns {
        ns: ns.to_string(),
        detail: e.to_string(),
    })
}

/// Runs `f` on a new thread inside namespace `ns` (the caller's namespace when `None`) and
/// waits for its result.
pub fn run_in<T, F>(ns: Option<&str>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    join(spawn("trafgen-netns", ns, f)?)
}

/// Joins a worker thread, turning a panic into [`Error::Panicked`].
pub fn join<T>(h: JoinHandle<Result<T>>) -> Result<T> {
    match h.join() {
        Ok(r) => r,
        Err(p) => Err(Error::from_panic(p.as_ref())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_in_own_namespace_returns_value() {
        assert_eq!(run_in(None, || Ok(41 + 1)).ok(), Some(42));
    }

    #[test]
    fn missing_namespace_is_an_error() {
        let r = run_in(Some("trafgen-no-such-ns"), || Ok(()));
        assert!(matches!(r, Err(Error::Netns { .. })), "{r:?}");
    }

    #[test]
    fn panic_becomes_error() {
        let r: Result<()> = run_in(None, || panic!("boom"));
        assert!(
            matches!(r, Err(Error::Panicked(ref m)) if m == "boom"),
            "{r:?}"
        );
    }
}
