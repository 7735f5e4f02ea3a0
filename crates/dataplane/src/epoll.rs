//! A small safe wrapper over `epoll(7)` and `eventfd(2)`.

use crate::error::{Error, Result};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// What to wait for on a file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (`EPOLLIN`).
    Read,
    /// Writable (`EPOLLOUT`).
    Write,
    /// Nothing for now (the descriptor stays registered; errors and hang-ups still report).
    None,
}

impl Interest {
    fn bits(self) -> u32 {
        match self {
            Interest::Read => libc::EPOLLIN as u32,
            Interest::Write => libc::EPOLLOUT as u32,
            Interest::None => 0,
        }
    }
}

/// One readiness report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The token given to [`Epoll::add`].
    pub token: u64,
    /// Readable.
    pub readable: bool,
    /// Writable.
    pub writable: bool,
    /// Error or hang-up.
    pub error: bool,
}

/// Preallocated room for the reports of one [`Epoll::wait`].
pub struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    /// Room for `capacity` reports per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            len: 0,
        }
    }
    /// The reports of the last wait.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf.iter().take(self.len).map(|e| {
            let ev = e.events;
            Event {
                token: e.u64,
                readable: ev & libc::EPOLLIN as u32 != 0,
                writable: ev & libc::EPOLLOUT as u32 != 0,
                error: ev & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0,
            }
        })
    }
}

/// An epoll instance (level-triggered).
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> Result<Epoll> {
        // SAFETY: plain system call without pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last_os("epoll_create1"));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: interest.bits(),
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event that outlives the call; the kernel copies it.
        let r = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Registers `fd` with `token`.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_raw_fd(), token, interest)
            .map_err(|source| Error::Sys {
                op: "epoll_ctl(ADD)",
                source,
            })
    }

    /// Changes the interest of a registered `fd`.
    pub fn modify(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), token, interest)
            .map_err(|source| Error::Sys {
                op: "epoll_ctl(MOD)",
                source,
            })
    }

    /// Unregisters `fd`.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0, Interest::None)
            .map_err(|source| Error::Sys {
                op: "epoll_ctl(DEL)",
                source,
            })
    }

    /// Waits up to `timeout` (forever if `None`) for readiness; returns the number of reports
    /// (0 on timeout or on a signal interruption).
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let ms = match timeout {
            None => -1,
            Some(t) => i32::try_from(t.as_millis()).unwrap_or(i32::MAX),
        };
        let cap = i32::try_from(events.buf.len()).unwrap_or(i32::MAX);
        // SAFETY: the buffer holds `cap` initialised epoll_event entries the kernel may write.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.buf.as_mut_ptr(), cap, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            events.len = 0;
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(Error::Sys {
                op: "epoll_wait",
                source: e,
            });
        }
        events.len = usize::try_from(n).unwrap_or(0).min(events.buf.len());
        Ok(events.len)
    }
}

/// An `eventfd` used to wake a thread blocked in [`Epoll::wait`].
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// A nonblocking, close-on-exec eventfd with counter 0.
    pub fn new() -> Result<EventFd> {
        // SAFETY: plain system call without pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last_os("eventfd"));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Makes the eventfd readable (adds 1 to its counter). Never blocks.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN) means already readable.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// Resets the counter; returns whether it was signalled.
    pub fn drain(&self) -> bool {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut v as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        n == 8 && v > 0
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventfd_wakes_epoll() -> Result<()> {
        let ep = Epoll::new()?;
        let ev = EventFd::new()?;
        ep.add(ev.as_fd(), 7, Interest::Read)?;
        let mut events = Events::with_capacity(4);
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO))?, 0);
        ev.notify();
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO))?, 1);
        let e = events.iter().next();
        assert_eq!(e.map(|e| (e.token, e.readable)), Some((7, true)));
        assert!(ev.drain());
        assert!(!ev.drain());
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO))?, 0);
        // Interest None silences it while it stays registered.
        ev.notify();
        ep.modify(ev.as_fd(), 7, Interest::None)?;
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO))?, 0);
        ep.delete(ev.as_fd())?;
        Ok(())
    }
}
