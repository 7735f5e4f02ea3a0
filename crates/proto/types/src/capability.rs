//! Whether a process may use what a Linux capability guards, read from the text of its
//! `/proc/PID/status` (the caller reads the file: this crate does no I/O). lagd's data plane
//! asks before `mount(2)` and lagd-control before `fchown(2)`: under a unit's
//! `SystemCallFilter=~@privileged` such a call kills the process with SIGSYS rather than
//! failing, so "the capability is effective" is not enough.

/// `CAP_CHOWN` (capability.h), for [`status_allows`].
pub const CAP_CHOWN: u32 = 0;
/// `CAP_SYS_ADMIN` (capability.h), for [`status_allows`].
pub const CAP_SYS_ADMIN: u32 = 21;

/// Whether a process whose `/proc/PID/status` reads `status` may use the syscalls that
/// capability `cap` guards: `cap` is in its effective set (`CapEff`) and no seccomp filter
/// runs (`Seccomp: 0`). False when either field is missing.
pub fn status_allows(status: &str, cap: u32) -> bool {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let effective = field("CapEff:")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .is_some_and(|caps| cap < 64 && caps & (1 << cap) != 0);
    let filtered = field("Seccomp:").is_some_and(|m| m != "0");
    effective && !filtered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_is_usable_only_when_effective_and_unfiltered() {
        let status = |caps: &str, seccomp: &str| {
            format!("Name:\tlagd\nCapEff:\t{caps}\nSeccomp:\t{seccomp}\n")
        };
        assert!(status_allows(&status("0000000000200001", "0"), CAP_CHOWN));
        assert!(status_allows(
            &status("0000000000200001", "0"),
            CAP_SYS_ADMIN
        ));
        assert!(!status_allows(&status("0000000000200000", "0"), CAP_CHOWN));
        assert!(!status_allows(
            &status("0000000000200001", "2"),
            CAP_SYS_ADMIN
        ));
        assert!(!status_allows("Name:\tlagd\n", CAP_CHOWN));
        assert!(!status_allows(&status("ffffffffffffffff", "0"), 64));
    }
}
