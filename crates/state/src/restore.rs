//! Giving back what a lagd that is gone left on the host, for the next lagd and for
//! `lagctl restore-links`: its aggregate TAPs (persistent, [`remove_tap`]) and its kernel fast
//! path (pinned, [`unpin_fast_path`]). The members themselves are restored from their
//! [`MemberRecord`](crate::MemberRecord)s (`MemberOriginal::restore`).

use lagd_dataplane::rx_offload::RxOffload;
use lagd_dataplane::tx_offload::TxOffload;
use lagd_dataplane::{Error as DpError, Netlink, Tap};

use crate::AggregateRecord;

/// Whether an interface named `name` exists (in the calling thread's network namespace).
pub fn link_present(name: &str) -> bool {
    !matches!(
        Netlink::open().and_then(|mut nl| nl.link_by_name(name)),
        Err(DpError::NoSuchInterface(_))
    )
}

/// Whether an interface named `name` exists that lagd may take as aggregation `name`'s TAP:
/// `Ok(false)` none, `Ok(true)` the TAP `prior` names (left by a previous lagd), `Err` any
/// other interface.
pub fn tap_is_ours(name: &str, prior: Option<&AggregateRecord>) -> Result<bool, String> {
    let Ok(link) = Netlink::open().and_then(|mut nl| nl.link_by_name(name)) else {
        return Ok(false);
    };
    let is_tun = std::path::Path::new(&format!("/sys/class/net/{name}/tun_flags")).exists();
    match prior {
        Some(p) if is_tun && (p.ifindex == link.ifindex || p.ifindex == 0) => Ok(true),
        _ => Err(format!(
            "aggregation `{name}`: an interface named `{name}` already exists"
        )),
    }
}

/// Removes the persistent TAP of `rec` if it still exists.
pub fn remove_tap(name: &str, rec: &AggregateRecord) -> Result<String, String> {
    match tap_is_ours(name, Some(rec)) {
        Ok(false) => Ok(format!("aggregate {name}: already gone, record dropped")),
        Ok(true) => {
            let tap = Tap::attach(name).map_err(|e| e.to_string())?;
            tap.set_persistent(false).map_err(|e| e.to_string())?;
            drop(tap);
            Ok(format!(
                "aggregate {name} (no longer configured): TAP removed"
            ))
        }
        Err(e) => Err(e),
    }
}

/// Removes the pins of one aggregation's kernel fast path in `dir` (`tx/`, and `rx/<member>/`
/// per member; see [`StateDir::pin_root`](crate::StateDir::pin_root)): the kernel path then
/// ends with the process that holds it, or at once if none does.
pub fn unpin_fast_path(dir: &std::path::Path) {
    TxOffload::unpin(&dir.join("tx"));
    if let Ok(rd) = std::fs::read_dir(dir.join("rx")) {
        for e in rd.flatten() {
            RxOffload::unpin(&e.path());
        }
    }
    let _ = std::fs::remove_dir(dir.join("rx"));
    let _ = std::fs::remove_dir(dir);
}
