//! `lagctl demo` needs nothing but what `cargo build` gives plus iproute2 (`ip`, `tc`): run with
//! `ping`, `iperf3`, `tshark`, `tcpdump`, the Open vSwitch tools, `ethtool`, `socat`, `nc` (and
//! `kill`) shadowed on `PATH` by stubs that fail, it must exit 0 with every check ok and never
//! run a stub. Without `tc`, it must name it and its package at once.
//!
//! Needs root (skipped otherwise, failed when `CI` is set) and the `lagd` binary built next to
//! `lagctl` (`cargo build --workspace`, as `scripts/test-all.sh` does).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Programs the demo used to need, or that a careless change might bring back.
const SHADOWED: &[&str] = &[
    "ping",
    "ping6",
    "iperf",
    "iperf3",
    "tshark",
    "tcpdump",
    "dumpcap",
    "ovs-vsctl",
    "ovs-vswitchd",
    "ovs-ofctl",
    "ovs-appctl",
    "ovsdb-server",
    "ovsdb-tool",
    "ethtool",
    "socat",
    "nc",
    "ncat",
    "netcat",
    "kill",
    "pkill",
    "sysctl",
];

fn root_or_skip(test: &str) -> bool {
    if lagd_dataplane::netns::is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: the demo needs root, and CI is set"
    );
    eprintln!("skipped: {test}: the demo needs root");
    false
}

/// A directory of failing stubs; every run of one is recorded in `used`.
struct Stubs {
    dir: PathBuf,
    used: PathBuf,
}

impl Stubs {
    fn new(tag: &str, names: &[&str]) -> Stubs {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lagctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let used = dir.join("used.log");
        for n in names {
            let p = dir.join(n);
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\necho \"$0 $*\" >> '{}'\necho \"stub: $0 is not installed\" >&2\nexit 127\n",
                    used.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Stubs { dir, used }
    }

    fn used(&self) -> String {
        std::fs::read_to_string(&self.used).unwrap_or_default()
    }
}

impl Drop for Stubs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn lagctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lagctl"))
}

#[test]
fn demo_runs_without_external_tools() {
    if !root_or_skip("demo_runs_without_external_tools") {
        return;
    }
    let lagd = lagctl().with_file_name("lagd");
    assert!(
        lagd.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        lagd.display()
    );
    let stubs = Stubs::new("demo-stubs", SHADOWED);
    let path = format!(
        "{}:{}",
        stubs.dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let svg = stubs.dir.join("demo.svg");
    let out = Command::new(lagctl())
        .args(["demo", "--svg"])
        .arg(&svg)
        .env("PATH", &path)
        .output()
        .expect("run lagctl demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = format!(
        "stdout:\n{stdout}\nstderr:\n{stderr}\nstubs run:\n{}",
        stubs.used()
    );
    assert!(
        out.status.success(),
        "demo exited with {}\n{ctx}",
        out.status
    );
    assert!(
        !stderr.contains("simulator version"),
        "the real demo did not run\n{ctx}"
    );
    let checks: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("[ ok ]") || l.starts_with("[FAIL]"))
        .collect();
    println!("{}", checks.join("\n"));
    assert!(checks.len() >= 6, "checks missing\n{ctx}");
    assert!(
        checks.iter().all(|l| l.starts_with("[ ok ]")),
        "a check failed\n{ctx}"
    );
    assert_eq!(stubs.used(), "", "the demo ran a shadowed tool\n{ctx}");
    assert!(svg.is_file(), "no plot written\n{ctx}");
}

#[test]
fn demo_names_a_missing_tool_at_once() {
    if !root_or_skip("demo_names_a_missing_tool_at_once") {
        return;
    }
    // A PATH with `ip` but without `tc`: the demo says so before building anything and runs
    // the simulator instead.
    let stubs = Stubs::new("demo-notc", &[]);
    let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("ip installed");
    std::os::unix::fs::symlink(ip, stubs.dir.join("ip")).unwrap();
    let out = Command::new(lagctl())
        .args(["demo", "--svg"])
        .arg(stubs.dir.join("x.svg"))
        .env("PATH", &stubs.dir)
        .output()
        .expect("run lagctl demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`tc`")
            && stderr.contains("iproute2")
            && stderr.contains("apt-get install"),
        "missing tc not named with its package:\n{stderr}"
    );
    assert!(
        stderr.contains("simulator version"),
        "no fallback announced:\n{stderr}"
    );
    // Not a timed assertion on the machine's speed: the message must come before any
    // namespace is built, which the absence of "hosts:" in the output shows.
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("hosts: "),
        "namespaces were built before the check"
    );
}
