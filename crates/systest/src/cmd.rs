//! Running external commands (`ip`, `tc`, `sysctl`, OVS tools, tshark), in a namespace or not.

use crate::error::{Error, Result};

/// Runs `program args...`; its standard output, or [`Error::Command`] with status and stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_env(program, args, &[])
}

/// [`run`] with extra environment variables (through the data plane's own command runner).
pub fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    lagd_dataplane::netns::cmd_env(program, args, env).map_err(|e| match e {
        lagd_dataplane::Error::Command { cmd, detail } => Error::Command { cmd, detail },
        other => Error::Command {
            cmd: format!("{program} {}", args.join(" ")),
            detail: other.to_string(),
        },
    })
}

/// Runs a command inside namespace `ns` (`ip netns exec NS ...`).
pub fn ns_run(ns: &str, args: &[&str]) -> Result<String> {
    let mut a = vec!["netns", "exec", ns];
    a.extend_from_slice(args);
    run("ip", &a)
}

/// Sets a sysctl inside namespace `ns` (`sysctl -qw key=value`).
pub fn sysctl(ns: &str, key: &str, value: &str) -> Result<()> {
    ns_run(ns, &["sysctl", "-qw", &format!("{key}={value}")]).map(|_| ())
}

/// Whether `program` is found in `PATH` (or is an existing path).
pub fn have(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Sends signal `sig` (e.g. `"TERM"`, `"INT"`) to process `pid` through `kill`.
pub fn signal(pid: u32, sig: &str) -> Result<()> {
    run("kill", &[&format!("-{sig}"), &pid.to_string()]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_output_and_failure() {
        assert_eq!(run("echo", &["hi"]).ok().as_deref(), Some("hi\n"));
        let e = run("sh", &["-c", "echo nope >&2; exit 3"]).err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("nope") && msg.contains("sh -c"), "{msg}");
        assert!(run("/nonexistent/tool", &[]).is_err());
    }

    #[test]
    fn have_finds_shell_tools_only() {
        assert!(have("sh"));
        assert!(!have("no-such-tool-for-lagd"));
    }
}
