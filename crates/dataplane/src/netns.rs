//! Network namespace helpers for tests, benchmarks and the demo: named namespaces
//! (`ip netns`), running code on a thread inside one, veth pairs, tc tbf shaping, and
//! [`TestNet`], a guard that deletes everything it created when dropped (also on panic).
//!
//! Setup goes through `ip`/`tc` commands (`std::process::Command`); only [`enter_fd`] makes a
//! system call itself (`setns`).

use crate::error::{Error, Result};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Moves the calling thread into the network namespace `fd` refers to.
pub fn enter_fd(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: setns on a descriptor we borrow; it only changes the calling thread's namespace.
    let r = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if r < 0 {
        return Err(Error::last_os("setns(CLONE_NEWNET)"));
    }
    Ok(())
}

/// Moves the calling thread into the named namespace (`/run/netns/NAME`).
pub fn enter(name: &str) -> Result<()> {
    crate::check_ifname(name)?;
    let f = std::fs::File::open(format!("/run/netns/{name}")).map_err(|source| Error::Sys {
        op: "open /run/netns/NAME",
        source,
    })?;
    enter_fd(f.as_fd())
}

/// Runs `f` on a new thread inside namespace `ns` and returns its result; a panic in `f` is
/// propagated to the caller.
pub fn run_in<T, F>(ns: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_string();
    let h = std::thread::spawn(move || -> Result<T> {
        enter(&ns)?;
        Ok(f())
    });
    match h.join() {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Spawns a thread that enters namespace `ns` and runs `f` (which keeps running concurrently).
pub fn spawn_in<T, F>(ns: &str, f: F) -> std::thread::JoinHandle<Result<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_string();
    std::thread::spawn(move || -> Result<T> {
        enter(&ns)?;
        Ok(f())
    })
}

/// Whether the process runs as root (effective uid 0), which the namespace tests need.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn base36(mut v: u64, width: usize) -> String {
    const D: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for c in out.iter_mut().rev() {
        *c = D.get((v % 36) as usize).copied().unwrap_or(b'0');
        v /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A name unique in this process and among processes: `prefix` (cut to 7 bytes) + the pid in 5
/// base-36 digits + a counter in 3: at most 15 bytes, a valid interface name.
pub fn unique_name(prefix: &str) -> String {
    let p: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(7)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{p}{}{}",
        base36(u64::from(std::process::id()), 5),
        base36(u64::from(n), 3)
    )
}

/// Runs a command; its standard output, or [`Error::Command`] with its status and stderr.
pub fn cmd(program: &str, args: &[&str]) -> Result<String> {
    cmd_env(program, args, &[])
}

/// [`cmd`] with extra environment variables.
pub fn cmd_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let line = || format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| Error::Command {
            cmd: line(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: line(),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command inside namespace `ns` (`ip netns exec NS ...`).
pub fn ns_cmd(ns: &str, args: &[&str]) -> Result<String> {
    let mut a = vec!["netns", "exec", ns];
    a.extend_from_slice(args);
    cmd("ip", &a)
}

/// Applies `tc qdisc replace dev DEV root tbf rate RATE burst BURST latency LATENCY` in `ns`.
pub fn tbf(ns: &str, dev: &str, rate: &str, burst: &str, latency: &str) -> Result<()> {
    ns_cmd(
        ns,
        &[
            "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", burst,
            "latency", latency,
        ],
    )
    .map(|_| ())
}

/// Namespaces and veth pairs created for a test; all deleted on drop, even when the test
/// panics. Use only addresses from 198.18.0.0/15 inside.
#[derive(Debug, Default)]
pub struct TestNet {
    namespaces: Vec<String>,
    veths: Vec<(Option<String>, String)>,
}

impl TestNet {
    /// An empty guard.
    pub fn new() -> TestNet {
        TestNet::default()
    }

    /// Creates a namespace with a unique name from `prefix`, loopback up; returns its name.
    pub fn netns(&mut self, prefix: &str) -> Result<String> {
        let name = unique_name(prefix);
        cmd("ip", &["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        ns_cmd(&name, &["ip", "link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// Creates a veth pair with unique names from `prefix`, end A in namespace `a_ns` and end B
    /// in `b_ns` (`None`: the caller's namespace), both administratively down; returns
    /// `(a, b)`.
    pub fn veth(
        &mut self,
        prefix: &str,
        a_ns: Option<&str>,
        b_ns: Option<&str>,
    ) -> Result<(String, String)> {
        self.veth_at(prefix, a_ns, b_ns, None)
    }

    /// As [`TestNet::veth`], end A with interface index `a_index` (`None`: the next free one).
    ///
    /// Between two fresh namespaces both ends of the first veth get index 2, so each end's
    /// `ifindex` equals its `iflink` (the peer's index), as on a physical NIC: the kernel then
    /// deems its carrier loss not urgent and may notify it up to 1 s late (linkwatch). An end
    /// whose index differs from its peer's is notified at once.
    pub fn veth_at(
        &mut self,
        prefix: &str,
        a_ns: Option<&str>,
        b_ns: Option<&str>,
        a_index: Option<u32>,
    ) -> Result<(String, String)> {
        let a = unique_name(prefix);
        let b = unique_name(prefix);
        let index = a_index.map(|i| i.to_string());
        let mut args = vec!["link", "add", a.as_str()];
        if let Some(ns) = a_ns {
            args.extend_from_slice(&["netns", ns]);
        }
        if let Some(i) = &index {
            args.extend_from_slice(&["index", i.as_str()]);
        }
        args.extend_from_slice(&["type", "veth", "peer", "name", b.as_str()]);
        if let Some(ns) = b_ns {
            args.extend_from_slice(&["netns", ns]);
        }
        cmd("ip", &args)?;
        self.veths.push((a_ns.map(str::to_string), a.clone()));
        Ok((a, b))
    }

    /// Runs a command in one of the namespaces.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String> {
        ns_cmd(ns, args)
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for (ns, name) in self.veths.drain(..).rev() {
            let r = match &ns {
                Some(ns) => cmd("ip", &["-n", ns, "link", "del", &name]),
                None => cmd("ip", &["link", "del", &name]),
            };
            if let Err(e) = r {
                tracing::debug!(veth = %name, error = %e, "veth already gone");
            }
        }
        for ns in self.namespaces.drain(..).rev() {
            if let Err(e) = cmd("ip", &["netns", "del", &ns]) {
                tracing::warn!(netns = %ns, error = %e, "could not delete namespace");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fit_interface_names() {
        let a = unique_name("forwarder-test");
        let b = unique_name("forwarder-test");
        assert_ne!(a, b);
        assert!(a.len() <= 15 && crate::check_ifname(&a).is_ok(), "{a}");
        assert!(a.starts_with("forward"));
        assert_eq!(base36(36 * 36 + 1, 3), "101");
    }
}
