//! `lagctl restore-links`: gives members back from their records when their lagd is gone for
//! good (it crashed and will not be started again, or was removed): each member is put back
//! exactly as it was before lagd took it, from the record lagd wrote before its first change
//! (`lagd_state`), after the kernel fast-path programs lagd left pinned on it are removed;
//! with `--all`, every pinned program and leftover aggregate TAP is removed too. It needs no daemon, and refuses to
//! run while one owns the records (a running lagd gives members back itself: `remove-aggr`,
//! `delete-aggr`, or SIGTERM).

use lagd_dataplane::Error as DpError;
use lagd_state::{StateDir, StateError};

use super::cli::RestoreArgs;
use super::error::AdminError;

/// Runs `restore-links`.
pub fn run(a: &RestoreArgs) -> Result<(), AdminError> {
    if a.links.is_empty() && !a.all {
        return Err(AdminError::Usage(
            "name the links to restore, or give --all".into(),
        ));
    }
    let mut state =
        StateDir::unlocked(&a.state_dir).map_err(|e| AdminError::Input(e.to_string()))?;
    if !a.dry_run {
        state.lock().map_err(|e| match e {
            StateError::Busy { pid, .. } => AdminError::Input(format!(
                "lagd{} is running and owns these members: it gives them back itself \
                 (lagctl remove-aggr / delete-aggr, or stop it: SIGTERM restores every member)",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            )),
            e => AdminError::Input(e.to_string()),
        })?;
    }
    let records = state.members();
    let mut chosen = Vec::new();
    for l in &a.links {
        match records
            .values()
            .find(|r| &r.original.name == l || current_name(r.original.ifindex).as_ref() == Some(l))
        {
            Some(r) => chosen.push(r.clone()),
            None => {
                return Err(AdminError::Input(format!(
                    "no record of {l} in {}: lagd never took it, or gave it back already",
                    state.root().display()
                )));
            }
        }
    }
    if a.all {
        chosen = records.values().cloned().collect();
    }
    // A crashed lagd's kernel fast path goes on forwarding (pinned, see lagd's `offload`): its
    // programs go first, else a restored member would still feed the aggregate.
    let pins = state.existing_pin_root();
    if let Some(root) = &pins {
        if a.all {
            for (name, dir) in StateDir::pinned(root) {
                if a.dry_run {
                    println!("{name}: pinned kernel fast path would be removed");
                } else {
                    lagd_state::restore::unpin_fast_path(&dir);
                    println!("{name}: pinned kernel fast path removed");
                }
            }
            if !a.dry_run {
                StateDir::remove_pin_root_if_empty(root);
            }
        } else if !a.dry_run {
            for r in &chosen {
                let dir = root.join(&r.aggregate).join("rx").join(&r.original.name);
                if dir.exists() {
                    lagd_dataplane::rx_offload::RxOffload::unpin(&dir);
                }
            }
        }
    }
    let mut failed = 0;
    for r in &chosen {
        let o = &r.original;
        if a.dry_run {
            println!(
                "{}: would be restored (member of {}, taken by lagd pid {}): up={} mtu={} noarp={} arp_ignore={} rp_filter={} disable_ipv6={} addresses={}",
                o.name,
                r.aggregate,
                r.pid,
                o.up,
                o.mtu,
                o.noarp,
                o.arp_ignore,
                o.rp_filter,
                o.disable_ipv6
                    .map_or_else(|| "-".to_string(), |v| v.to_string()),
                o.addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            continue;
        }
        match o.restore() {
            Ok(()) => {
                let _ = state.remove_member(o.ifindex);
                println!("{}: restored (was a member of {})", o.name, r.aggregate);
            }
            Err(DpError::NoSuchInterface(why)) => {
                let _ = state.remove_member(o.ifindex);
                println!("{}: gone ({why}); record dropped", o.name);
            }
            Err(e) => {
                failed += 1;
                eprintln!(
                    "lagctl: restore-links: {}: NOT restored: {e} (record kept)",
                    o.name
                );
            }
        }
    }
    if a.all {
        for (name, rec) in state.aggregates() {
            if a.dry_run {
                println!("{name}: aggregate TAP would be removed");
                continue;
            }
            match lagd_state::restore::remove_tap(&name, &rec) {
                Ok(msg) => {
                    let _ = state.remove_aggregate(&name);
                    println!("{msg}");
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("lagctl: restore-links: aggregate {name}: {e}");
                }
            }
        }
    }
    if chosen.is_empty() && a.all {
        println!(
            "nothing to restore: no member records in {}",
            state.root().display()
        );
    }
    if failed > 0 {
        return Err(AdminError::Input(format!(
            "{failed} could not be restored (see above)"
        )));
    }
    Ok(())
}

fn current_name(ifindex: u32) -> Option<String> {
    lagd_dataplane::Netlink::open()
        .and_then(|mut nl| nl.link_by_index(ifindex))
        .ok()
        .map(|l| l.name)
}
