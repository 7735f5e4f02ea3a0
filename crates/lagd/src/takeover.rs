//! Taking members and the aggregate over so that a crash loses nothing, and taking them back
//! after a restart.
//!
//! - A member's original settings are recorded ([`crate::state::MemberRecord`]) before the
//!   first change; the record goes only once the member is restored. A member that has a
//!   record is *adopted*: its original settings come from the record, never from its state
//!   now (which is lagd's).
//! - The aggregate's TAP is persistent: it outlives a crash with the host's addresses, routes
//!   and neighbours. A TAP that an aggregation record names is re-attached; any other interface
//!   of that name is refused, as before.
//! - Port numbers are those of the record, so the partner sees the same ports.
//! - At start-up, records nothing claimed any more (a member or an aggregation removed from
//!   the configuration while lagd was away) are acted on: members restored, TAPs removed.

use std::collections::{BTreeMap, BTreeSet};

use lagd_dataplane::{Error as DpError, Member, MemberOriginal, Netlink, TakeOverOptions, Tap};
use lagd_node::driver::PortNumbers;
use lagd_types::{MacAddr, PortNumber};

use crate::aggregate::error::{AggrError, sys};
use crate::aggregate::member::MemberRt;
use crate::config::{AggrMode, LacpActivity, Resolved};
use crate::state::{AggregateRecord, MemberRecord, PortRecord, RECORD_VERSION, StateDir};

pub(crate) use lagd_state::restore::{link_present, remove_tap, tap_is_ours};

fn state_err(e: crate::state::StateError) -> DpError {
    DpError::Sys {
        op: "recording the member's original settings",
        source: std::io::Error::other(e.to_string()),
    }
}

/// Takes `link` over for aggregation `r` (adopting it if a record of it exists). A
/// Distributed Trunking member is then held administratively down until the DT runtime lets
/// it up (`crate::dt::runtime`).
pub(crate) fn take_member(
    state: &StateDir,
    r: &Resolved,
    link: &str,
    force: bool,
) -> Result<Member, AggrError> {
    let opts = TakeOverOptions {
        force: force || r.force,
        mtu: Some(r.mtu),
    };
    let what = || format!("taking over member `{link}`");
    let ifindex = Netlink::open()
        .and_then(|mut nl| nl.link_by_name(link))
        .map_err(sys(what()))?
        .ifindex;
    let record = |o: &MemberOriginal| {
        state
            .write_member(&MemberRecord {
                version: RECORD_VERSION,
                aggregate: r.name.clone(),
                pid: std::process::id(),
                original: o.clone(),
            })
            .map_err(state_err)
    };
    let m = match state.member(ifindex) {
        Some(rec) => match Member::adopt(rec.original.clone(), opts) {
            Ok(m) => {
                tracing::info!(aggregate = %r.name, member = %link, "member taken back from the record of a previous lagd (its original settings are the record's)");
                if rec.aggregate != r.name {
                    let mut rec = rec;
                    rec.aggregate = r.name.clone();
                    if let Err(e) = state.write_member(&rec) {
                        tracing::warn!(member = %link, "updating the member's record: {e}");
                    }
                }
                m
            }
            Err(DpError::NoSuchInterface(why)) => {
                // The recorded interface is gone (this one is new under the same index).
                tracing::info!(member = %link, "stale member record ({why}): taken over afresh");
                let _ = state.remove_member(ifindex);
                Member::take_over_recorded(link, opts, record).map_err(sys(what()))?
            }
            Err(e) => return Err(sys(what())(e)),
        },
        None => Member::take_over_recorded(link, opts, record).map_err(sys(what()))?,
    };
    set_alias(m.ifindex(), link, &member_alias(r));
    if r.distributed
        && let Err(e) = Netlink::open().and_then(|mut nl| nl.set_up(m.ifindex(), false))
    {
        tracing::warn!(member = %link, "DT: holding the member down: {e}");
    }
    Ok(m)
}

/// The alias a member carries while lagd holds it (`ip link show` prints it as `alias ...`):
/// which aggregate it belongs to, where Linux tools show a bond's slave its master. The member's
/// own alias is in its record and comes back with the rest.
pub(crate) fn member_alias(r: &Resolved) -> String {
    format!("lagd: member of {}", r.name)
}

/// The aggregate's alias: lagd's, and how it aggregates (`ip -d link` shows a TAP otherwise).
pub(crate) fn aggregate_alias(r: &Resolved) -> String {
    let mut s = String::from("lagd: aggregate, ");
    if r.distributed {
        s.push_str("distributed trunking, ");
    }
    s.push_str(match (r.mode, r.lacp_mode) {
        (AggrMode::Lacp, LacpActivity::Passive) => "mode lacp (passive)",
        (AggrMode::Lacp, _) => "mode lacp",
        (AggrMode::Static, _) => "mode static",
        (AggrMode::ActiveBackup, _) => "mode active-backup",
        (AggrMode::RoundRobin, _) => "mode round-robin",
        (AggrMode::Broadcast, _) => "mode broadcast",
        (AggrMode::TransmitLb, _) => "mode transmit-lb",
        (AggrMode::AdaptiveLb, _) => "mode adaptive-lb",
    });
    if matches!(r.mode, AggrMode::Lacp | AggrMode::Static) {
        s.push_str(", hash ");
        s.push_str(&r.policy.to_string());
    }
    s
}

/// Sets an interface's alias; a failure is only logged (the alias is a label, lagd works
/// without it).
pub(crate) fn set_alias(ifindex: u32, name: &str, alias: &str) {
    let same = Netlink::open()
        .and_then(|mut nl| nl.link_by_index(ifindex))
        .is_ok_and(|l| l.alias.as_deref() == Some(alias));
    if same {
        return;
    }
    if let Err(e) = Netlink::open().and_then(|mut nl| nl.set_alias(ifindex, alias)) {
        tracing::warn!(interface = %name, "setting the alias `{alias}`: {e}");
    }
}

/// Gives a member back: restores it, then forgets its record. A member that could not be
/// restored keeps its record (`lagctl restore-links` can try again) and the error is returned.
pub(crate) fn release_member(state: &StateDir, mut m: MemberRt) -> Result<(), String> {
    let ifindex = m.member.ifindex();
    match m.member.restore() {
        Ok(()) => {
            if let Err(e) = state.remove_member(ifindex) {
                tracing::warn!(member = %m.name, "restored, but its record stays: {e}");
            }
            Ok(())
        }
        Err(e) => Err(format!("{}: {e}", m.name)),
    }
}

/// The port numbers of `r`'s members: those of the previous instance's record for links it
/// had (so the partner sees the same ports), the lowest free ones for the others.
pub(crate) fn port_numbers(
    r: &Resolved,
    prior: Option<&AggregateRecord>,
) -> Result<Vec<(PortNumber, String)>, AggrError> {
    let numbers = PortNumbers::from_base(r.port_base);
    let mut used = BTreeSet::new();
    let mut out: Vec<(Option<PortNumber>, String)> = Vec::new();
    for link in &r.links {
        let n = prior
            .filter(|p| p.port_base == r.port_base)
            .and_then(|p| p.ports.get(link))
            .map(|p| p.number)
            .filter(|n| numbers.holds(*n) && used.insert(*n));
        out.push((n, link.clone()));
    }
    out.into_iter()
        .map(|(n, link)| match n {
            Some(n) => Ok((n, link)),
            None => {
                let n = numbers
                    .lowest_free(|n| used.contains(&n))
                    .ok_or_else(|| AggrError::Protocol("too many members".into()))?;
                used.insert(n);
                Ok((n, link))
            }
        })
        .collect()
}

/// A fresh record of aggregation `r` (no TAP yet, no protocol state).
pub(crate) fn new_record(r: &Resolved, mac: MacAddr) -> AggregateRecord {
    AggregateRecord {
        version: RECORD_VERSION,
        name: r.name.clone(),
        ifindex: 0,
        mac,
        pid: std::process::id(),
        port_base: r.port_base,
        ports: BTreeMap::new(),
        snapshot: None,
    }
}

/// The record's view of the members (an absent member keeps its port number, index 0).
pub(crate) fn port_records(
    members: &BTreeMap<PortNumber, MemberRt>,
    absent: &BTreeMap<PortNumber, String>,
) -> BTreeMap<String, PortRecord> {
    members
        .iter()
        .map(|(n, m)| {
            (
                m.name.clone(),
                PortRecord {
                    number: *n,
                    ifindex: m.member.ifindex(),
                },
            )
        })
        .chain(absent.iter().map(|(n, name)| {
            (
                name.clone(),
                PortRecord {
                    number: *n,
                    ifindex: 0,
                },
            )
        }))
        .collect()
}

/// A stable locally administered unicast address for an aggregation none of whose members
/// exists yet (its LACP System and its TAP's address until the configuration says otherwise).
pub(crate) fn derived_mac(name: &str) -> MacAddr {
    // FNV-1a: stable across runs and versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let b = h.to_be_bytes();
    MacAddr([0x02, b[3], b[4], b[5], b[6], b[7]])
}

/// The aggregate's TAP: the one a previous lagd left (re-attached, as it is), or a new
/// persistent one. Returns whether it was re-attached.
pub(crate) fn open_tap(
    r: &Resolved,
    mac: MacAddr,
    prior: Option<&AggregateRecord>,
) -> Result<(Tap, bool), AggrError> {
    let ours = tap_is_ours(&r.name, prior).map_err(AggrError::Protocol)?;
    if ours {
        let tap = Tap::attach(&r.name).map_err(sys(format!(
            "re-attaching TAP `{}` left by the previous lagd",
            r.name
        )))?;
        tracing::info!(aggregate = %r.name, "TAP re-attached: addresses, routes and neighbours kept");
        if tap.ifindex() != 0 {
            let _ = tap.set_mtu(r.mtu);
        }
        return Ok((tap, true));
    }
    let tap = Tap::create_persistent(&r.name, mac, r.mtu)
        .map_err(sys(format!("creating TAP `{}`", r.name)))?;
    Ok((tap, false))
}

/// Acts on the records no running aggregation claimed: members restored from their records
/// (their lagd is gone and the configuration no longer names them), TAPs of aggregations that
/// are no longer configured removed. Returns what it did, for the log.
pub(crate) fn clean_up_leftovers(
    state: &StateDir,
    running_members: &BTreeSet<u32>,
    running_aggrs: &BTreeSet<String>,
) -> Vec<String> {
    let mut done = Vec::new();
    for (ifindex, rec) in state.members() {
        if running_members.contains(&ifindex) {
            continue;
        }
        let name = &rec.original.name;
        match rec.original.restore() {
            Ok(()) => {
                let _ = state.remove_member(ifindex);
                done.push(format!(
                    "member {name} (of `{}`, no longer configured) restored from its record",
                    rec.aggregate
                ));
            }
            Err(DpError::NoSuchInterface(_)) => {
                let _ = state.remove_member(ifindex);
                done.push(format!("member {name}: gone, record dropped"));
            }
            Err(e) => done.push(format!(
                "member {name}: NOT restored from its record: {e} (record kept)"
            )),
        }
    }
    for (name, rec) in state.aggregates() {
        if running_aggrs.contains(&name) {
            continue;
        }
        match remove_tap(&name, &rec) {
            Ok(msg) => {
                let _ = state.remove_aggregate(&name);
                done.push(msg);
            }
            Err(e) => done.push(format!("aggregate {name}: {e} (record kept)")),
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AggrSpec, AnyLinks};

    #[test]
    fn port_numbers_follow_the_record() {
        let r = AggrSpec::new("a", &["e1", "e2", "e3"])
            .resolve(&AnyLinks)
            .unwrap();
        let fresh = port_numbers(&r, None).unwrap();
        assert_eq!(
            fresh,
            vec![(1, "e1".into()), (2, "e2".into()), (3, "e3".into())]
        );
        let mut rec = new_record(&r, MacAddr::ZERO);
        rec.ports.insert(
            "e2".into(),
            PortRecord {
                number: 1,
                ifindex: 5,
            },
        );
        rec.ports.insert(
            "e3".into(),
            PortRecord {
                number: 4,
                ifindex: 6,
            },
        );
        let kept = port_numbers(&r, Some(&rec)).unwrap();
        assert_eq!(
            kept,
            vec![(2, "e1".into()), (1, "e2".into()), (4, "e3".into())]
        );
        // Another port base (DT renumbering): the record's numbers do not apply.
        rec.port_base = 0x8000;
        assert_eq!(port_numbers(&r, Some(&rec)).unwrap(), fresh);
    }
}
