//! Where lagd's programs hook into a device, in one of two ways with the same programs:
//!
//! - **tcx** (Linux ≥ 6.6): a BPF link (`BPF_LINK_CREATE`), owned by the process: it detaches
//!   when the process ends, however it ends, unless pinned;
//! - **clsact** (older kernels): a `cls_bpf` direct-action filter under a `clsact` qdisc
//!   ([`crate::tc`]); it stays until removed, so [`Attachment`] removes it when dropped.
//!
//! By default tcx is tried first and clsact used when it fails. `LAGD_BPF_ATTACH=tcx` or
//! `=clsact` in lagd's environment (or [`force_mode`]) forces one, so that tests run each mode
//! on a kernel that has both.

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::bpf::{Program, TcxHook, TcxLink};
use crate::error::{Error, Result};
use crate::netlink::Netlink;

/// How a program is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// A tcx BPF link.
    Tcx,
    /// A `cls_bpf` filter under `clsact`.
    Clsact,
}

impl AttachMode {
    /// `"tcx"` or `"clsact"`.
    pub const fn name(self) -> &'static str {
        match self {
            AttachMode::Tcx => "tcx",
            AttachMode::Clsact => "clsact",
        }
    }
}

impl std::fmt::Display for AttachMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The environment variable that forces an attach mode (`tcx`, `clsact`; `auto` or unset:
/// tcx, then clsact; `none`: every attach fails, to test the user-space fallback).
pub const ATTACH_ENV: &str = "LAGD_BPF_ATTACH";

const UNREAD: u8 = 0;
const AUTO: u8 = 1;
const TCX: u8 = 2;
const CLSACT: u8 = 3;
const NONE: u8 = 4;
static FORCED: AtomicU8 = AtomicU8::new(UNREAD);

/// Forces an attach mode for this process (`None`: automatic).
pub fn force_mode(mode: Option<AttachMode>) {
    let v = match mode {
        None => AUTO,
        Some(AttachMode::Tcx) => TCX,
        Some(AttachMode::Clsact) => CLSACT,
    };
    FORCED.store(v, Ordering::Relaxed);
}

/// The attach mode forced by [`force_mode`] or [`ATTACH_ENV`], if any.
pub fn forced_mode() -> Option<AttachMode> {
    match setting() {
        TCX => Some(AttachMode::Tcx),
        CLSACT => Some(AttachMode::Clsact),
        _ => None,
    }
}

fn setting() -> u8 {
    let mut v = FORCED.load(Ordering::Relaxed);
    if v == UNREAD {
        v = match std::env::var(ATTACH_ENV).as_deref() {
            Ok("tcx") => TCX,
            Ok("clsact") => CLSACT,
            Ok("none") => NONE,
            Ok("auto") | Err(_) => AUTO,
            Ok(other) => {
                tracing::warn!("{ATTACH_ENV}={other}: expected tcx, clsact or auto; using auto");
                AUTO
            }
        };
        FORCED.store(v, Ordering::Relaxed);
    }
    v
}

/// Where in a hook's chain a program goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// clsact: the filter's priority (lower runs first); lagd's are 0x4c00 and up.
    pub pref: u16,
    /// tcx: before every program already attached (else after them).
    pub first: bool,
}

impl Place {
    /// The DT peer-link filter: first.
    pub const FIRST: Place = Place {
        pref: 0x4c00,
        first: true,
    };
    /// The fast path's programs: after the filter.
    pub const AFTER: Place = Place {
        pref: 0x4c01,
        first: false,
    };
}

#[derive(Debug)]
enum Kind {
    Tcx(TcxLink),
    Clsact,
}

/// A program attached at a hook of a device; dropping it detaches the program (unless
/// [`Attachment::leave_attached`]).
#[derive(Debug)]
pub struct Attachment {
    ifindex: u32,
    hook: TcxHook,
    place: Place,
    kind: Kind,
    keep: bool,
}

fn attach_clsact(
    prog: &Program,
    name: &str,
    ifindex: u32,
    hook: TcxHook,
    place: Place,
) -> Result<()> {
    let mut nl = Netlink::open()?;
    nl.set_bpf_filter(ifindex, hook, place.pref, prog.fd(), name, false)
}

impl Attachment {
    /// Attaches `prog` (named `name`, which starts with `lagd_`) at `hook` of `ifindex`, in
    /// the forced mode, or with tcx and else clsact.
    pub fn attach(
        prog: &Program,
        name: &str,
        ifindex: u32,
        hook: TcxHook,
        place: Place,
    ) -> Result<Attachment> {
        if setting() == NONE {
            return Err(Error::Bpf {
                op: "attaching a program",
                source: std::io::Error::from_raw_os_error(libc::EOPNOTSUPP),
                log: format!("disabled by {ATTACH_ENV}=none"),
            });
        }
        match forced_mode() {
            Some(mode) => Attachment::attach_as(mode, prog, name, ifindex, hook, place),
            None => {
                match Attachment::attach_as(AttachMode::Tcx, prog, name, ifindex, hook, place) {
                    Ok(a) => Ok(a),
                    Err(tcx) => {
                        Attachment::attach_as(AttachMode::Clsact, prog, name, ifindex, hook, place)
                            .map_err(|e| Error::Bpf {
                                op: "attaching a program",
                                source: std::io::Error::other("neither tcx nor clsact"),
                                log: format!("tcx: {tcx}; clsact: {e}"),
                            })
                    }
                }
            }
        }
    }

    /// Attaches in the given mode.
    pub fn attach_as(
        mode: AttachMode,
        prog: &Program,
        name: &str,
        ifindex: u32,
        hook: TcxHook,
        place: Place,
    ) -> Result<Attachment> {
        let kind = match mode {
            AttachMode::Tcx => Kind::Tcx(prog.attach_tcx_at(ifindex, hook, place.first)?),
            AttachMode::Clsact => {
                attach_clsact(prog, name, ifindex, hook, place)?;
                Kind::Clsact
            }
        };
        Ok(Attachment {
            ifindex,
            hook,
            place,
            kind,
            keep: false,
        })
    }

    /// Takes over an attachment a previous lagd left: the tcx link pinned at `link_pin`, or
    /// (clsact) the filter at `place` of `hook` of `ifindex`, whose program is then replaced
    /// with `prog` atomically. Fails if there is none.
    pub fn adopt(
        prog: &Program,
        name: &str,
        ifindex: u32,
        hook: TcxHook,
        place: Place,
        link_pin: &Path,
    ) -> Result<Attachment> {
        let kind = match TcxLink::open_pinned(link_pin) {
            Ok(link) => {
                if link.ifindex() != ifindex {
                    return Err(Error::Bpf {
                        op: "adopting a pinned tcx link",
                        source: std::io::Error::from_raw_os_error(libc::EINVAL),
                        log: format!(
                            "{} is on ifindex {}, not {ifindex}",
                            link_pin.display(),
                            link.ifindex()
                        ),
                    });
                }
                link.update(prog)?;
                Kind::Tcx(link)
            }
            Err(e) => {
                let mut nl = Netlink::open()?;
                let there = nl
                    .bpf_filters(ifindex, hook)?
                    .into_iter()
                    .any(|f| f.pref == place.pref && f.name.starts_with("lagd_"));
                if !there {
                    return Err(e);
                }
                nl.set_bpf_filter(ifindex, hook, place.pref, prog.fd(), name, false)?;
                Kind::Clsact
            }
        };
        Ok(Attachment {
            ifindex,
            hook,
            place,
            kind,
            keep: false,
        })
    }

    /// The mode in use.
    pub fn mode(&self) -> AttachMode {
        match self.kind {
            Kind::Tcx(_) => AttachMode::Tcx,
            Kind::Clsact => AttachMode::Clsact,
        }
    }

    /// The device.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Replaces the program atomically: every frame sees the old program or the new one.
    pub fn replace(&self, prog: &Program, name: &str) -> Result<()> {
        match &self.kind {
            Kind::Tcx(link) => link.update(prog),
            Kind::Clsact => attach_clsact(prog, name, self.ifindex, self.hook, self.place),
        }
    }

    /// Pins a tcx link at `path` (it then outlives the process); a clsact filter outlives it
    /// anyway (nothing to pin).
    pub fn pin(&self, path: &Path) -> Result<()> {
        match &self.kind {
            Kind::Tcx(link) => link.pin(path),
            Kind::Clsact => Ok(()),
        }
    }

    /// Lets the program stay attached after this value is dropped: a clsact filter stays; a
    /// tcx link stays only if pinned.
    pub fn leave_attached(mut self) {
        self.keep = true;
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if self.keep || !matches!(self.kind, Kind::Clsact) {
            return;
        }
        let r = Netlink::open()
            .and_then(|mut nl| nl.del_bpf_filter(self.ifindex, self.hook, self.place.pref));
        if let Err(e) = r {
            tracing::warn!(ifindex = self.ifindex, "removing a clsact filter: {e}");
        }
    }
}
