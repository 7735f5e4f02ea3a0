//! The data plane's error type.

use std::io;

/// Everything that can go wrong while talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed.
    #[error("{op} failed: {source}")]
    Sys {
        /// The operation, e.g. `"open /dev/net/tun"`.
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// A system call about one interface failed.
    #[error("{op} on interface {ifname}: {source}")]
    Link {
        /// The operation, e.g. `"set MTU"`.
        op: &'static str,
        /// The interface.
        ifname: String,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// A `bpf()` call failed.
    #[error("{op} failed: {source} ({log})")]
    Bpf {
        /// The call, e.g. `"bpf(BPF_PROG_LOAD)"`.
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
        /// The verifier's last line, or a hint.
        log: String,
    },
    /// No interface by that name or index exists (in the caller's network namespace).
    #[error("no such interface: {0}")]
    NoSuchInterface(String),
    /// The name cannot be an interface name (empty, longer than 15 bytes, `/`, NUL, `.`, `..`).
    #[error("invalid interface name {0:?}")]
    InvalidName(String),
    /// A netlink request was answered with an error.
    #[error("netlink {op}: {source}")]
    Netlink {
        /// The request, e.g. `"RTM_NEWADDR"`.
        op: &'static str,
        /// The error number the kernel returned.
        #[source]
        source: io::Error,
    },
    /// The kernel sent a netlink message we could not parse.
    #[error("malformed netlink message: {0}")]
    MalformedNetlink(&'static str),
    /// The link monitor's socket overflowed: events were lost, re-read the links.
    #[error("link monitor overrun: events were lost, re-read the links")]
    MonitorOverrun,
    /// A member candidate carries a global address and `force` was not given.
    #[error(
        "interface {ifname} has the global address {addr}: refusing to take it over \
         (remove the address, or force: lagd then removes it and restores it on exit)"
    )]
    MemberHasAddress {
        /// The interface.
        ifname: String,
        /// The address, as `address/prefix`.
        addr: String,
    },
    /// A sysctl could not be read or written.
    #[error("sysctl {path}: {source}")]
    Sysctl {
        /// The `/proc/sys/...` path.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A sysctl held something that is not an integer.
    #[error("sysctl {path}: unexpected value {value:?}")]
    SysctlValue {
        /// The `/proc/sys/...` path.
        path: String,
        /// What it held.
        value: String,
    },
    /// A port number is already a member of the forwarder.
    #[error("port {0} is already a member")]
    DuplicatePort(u16),
    /// A port number is not a member of the forwarder.
    #[error("port {0} is not a member")]
    UnknownPort(u16),
    /// The forwarder's threads have stopped.
    #[error("the forwarder is stopped")]
    Stopped,
    /// An external command (test helpers only) failed.
    #[error("command `{cmd}` failed: {detail}")]
    Command {
        /// The command line.
        cmd: String,
        /// Exit status and standard error.
        detail: String,
    },
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failed system call: `errno` is read now.
    pub(crate) fn last_os(op: &'static str) -> Error {
        Error::Sys {
            op,
            source: io::Error::last_os_error(),
        }
    }
    /// A failed system call about interface `ifname`.
    pub(crate) fn link(op: &'static str, ifname: &str, source: io::Error) -> Error {
        Error::Link {
            op,
            ifname: ifname.to_string(),
            source,
        }
    }
}

/// Checks that `name` can be a Linux interface name (`dev_valid_name`): 1–15 bytes, no `/`,
/// no whitespace, no NUL, not `.` or `..`.
pub fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("a23456789012345").is_ok());
        assert!(check_ifname("a234567890123456").is_err());
        assert!(check_ifname("").is_err());
        assert!(check_ifname("..").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("a b").is_err());
    }

    #[test]
    fn member_refusal_names_interface_and_address() {
        let e = Error::MemberHasAddress {
            ifname: "veth1".into(),
            addr: "198.18.0.1/24".into(),
        };
        let s = e.to_string();
        assert!(s.contains("veth1") && s.contains("198.18.0.1/24"), "{s}");
    }
}
