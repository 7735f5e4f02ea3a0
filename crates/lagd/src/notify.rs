//! The systemd service-manager protocol (`sd_notify(3)`), without libsystemd: a datagram per
//! state change to the socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace). Without `$NOTIFY_SOCKET` (not started by systemd with `Type=notify`) every call
//! does nothing.
//!
//! lagd sends `READY=1` once every configured aggregate exists, `RELOADING=1` with
//! `MONOTONIC_USEC=` before a reload and `READY=1` after it, `STOPPING=1` on SIGTERM,
//! `WATCHDOG=1` while its threads run (see [`crate::supervise`]), and `STATUS=` with each.

use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;
use std::time::Duration;

/// The notification socket, if systemd gave one.
pub(crate) struct Notifier {
    sock: UnixDatagram,
    addr: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; `None` when unset, empty or unusable (logged).
    pub(crate) fn from_env() -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let path = path.to_string_lossy().into_owned();
        if path.is_empty() {
            return None;
        }
        match Notifier::open(&path) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET={path}: {e}; systemd will not be notified");
                None
            }
        }
    }

    fn open(path: &str) -> std::io::Result<Notifier> {
        let addr = match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?
            }
            None if path.starts_with('/') => std::os::unix::net::SocketAddr::from_pathname(path)?,
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "neither an absolute path nor an abstract name",
                ));
            }
        };
        let sock = UnixDatagram::unbound()?;
        sock.set_write_timeout(Some(Duration::from_secs(1)))?;
        Ok(Notifier { sock, addr })
    }

    /// Sends one notification (`KEY=value` lines).
    pub(crate) fn send(&self, msg: &str) -> std::io::Result<()> {
        self.sock
            .send_to_addr(msg.as_bytes(), &self.addr)
            .map(|_| ())
    }
}

fn global() -> Option<&'static Notifier> {
    static N: OnceLock<Option<Notifier>> = OnceLock::new();
    N.get_or_init(Notifier::from_env).as_ref()
}

/// Whether systemd listens (`$NOTIFY_SOCKET` set and usable).
pub(crate) fn enabled() -> bool {
    global().is_some()
}

fn send(msg: &str) {
    if let Some(n) = global()
        && let Err(e) = n.send(msg)
    {
        tracing::debug!("sd_notify {msg:?}: {e}");
    }
}

/// One line for `STATUS=`: newlines would end the field.
fn status_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// `READY=1`: start-up (or a reload) is complete.
pub(crate) fn ready(status: &str) {
    send(&format!("READY=1\nSTATUS={}", status_line(status)));
}

/// `RELOADING=1` with the monotonic time systemd expects with it.
pub(crate) fn reloading() {
    let usec = lagd_dataplane::monotonic_now().as_nanos() / 1_000;
    send(&format!(
        "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading the configuration"
    ));
}

/// `STOPPING=1`: shutting down (members being restored).
pub(crate) fn stopping() {
    send("STOPPING=1\nSTATUS=stopping: restoring the members");
}

/// `STATUS=` alone.
pub(crate) fn status(text: &str) {
    send(&format!("STATUS={}", status_line(text)));
}

/// `WATCHDOG=1`: still alive.
pub(crate) fn watchdog() {
    send("WATCHDOG=1");
}

/// The watchdog interval systemd asks for (`$WATCHDOG_USEC`, for this process when
/// `$WATCHDOG_PID` names it), as `sd_watchdog_enabled(3)` reads it.
pub(crate) fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    Some(Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("lagd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::open(path.to_str().unwrap()).unwrap();
        n.send("READY=1\nSTATUS=ok").unwrap();
        let mut buf = [0u8; 128];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=ok");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("lagd-notify-test-{}", std::process::id());
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx2 = UnixDatagram::bind_addr(&a).unwrap();
        let n2 = Notifier::open(&format!("@{name}")).unwrap();
        n2.send("WATCHDOG=1").unwrap();
        let len = rx2.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
        assert!(Notifier::open("relative/path").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(status_line("a\nb"), "a b");
    }
}
