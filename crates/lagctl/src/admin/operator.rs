//! The operator verbs bonding and OVS have: `disable-member`, `enable-member`,
//! `set-active-member`, `show-hash` (buckets, loads, where a conversation goes), `events`
//! (`-f` follows), and `show-aggr -P` (the persistent configuration, as dladm).

use std::io::Write;

use lagd_agg::lagd_distrib::FlowKey;
use lagd_control::proto::{EventRecord, HashView};
use lagd_types::MacAddr;
use serde_json::{Map, Value};

use super::cli::{DisableArgs, EventsArgs, MemberArgs, SetActiveArgs, ShowHashArgs};
use super::error::AdminError;
use super::table::{Cell, Section, View};
use super::verbs::{connect, format_of, require_root};

fn say(message: &str) -> Result<(), AdminError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{message}")?;
    Ok(())
}

/// `disable-member`.
pub fn disable(a: &DisableArgs) -> Result<(), AdminError> {
    require_root("disable-member")?;
    let mut c = connect(&a.conn)?;
    let links: Vec<&str> = a.links.iter().map(String::as_str).collect();
    say(&c.disable_members(&a.name, &links, a.force)?)
}

/// `enable-member`.
pub fn enable(a: &MemberArgs) -> Result<(), AdminError> {
    require_root("enable-member")?;
    let mut c = connect(&a.conn)?;
    let links: Vec<&str> = a.links.iter().map(String::as_str).collect();
    say(&c.enable_members(&a.name, &links)?)
}

/// `set-active-member`.
pub fn set_active(a: &SetActiveArgs) -> Result<(), AdminError> {
    require_root("set-active-member")?;
    let mut c = connect(&a.conn)?;
    say(&c.choose_active(&a.name, &a.link)?)
}

/// An IP protocol by name or number.
fn protocol(s: &str) -> Result<u8, String> {
    use lagd_agg::lagd_distrib::flowkey::ipproto;
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Ok(ipproto::TCP),
        "udp" => Ok(ipproto::UDP),
        "sctp" => Ok(ipproto::SCTP),
        "udplite" | "udp-lite" => Ok(ipproto::UDPLITE),
        "icmp" => Ok(1),
        "icmpv6" | "ipv6-icmp" => Ok(58),
        n => n
            .parse()
            .map_err(|_| format!("`{s}`: a protocol is tcp, udp, sctp, udplite, icmp or a number")),
    }
}

/// Parses `--flow SRC,DST,PROTO,SPORT,DPORT` (the ports may be left out for a protocol
/// without them).
pub fn parse_flow(s: &str, src_mac: MacAddr, dst_mac: MacAddr) -> Result<FlowKey, AdminError> {
    let bad = |m: String| AdminError::Usage(format!("--flow {s}: {m}"));
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if !(3..=5).contains(&parts.len()) {
        return Err(bad(
            "give SRC,DST,PROTO,SPORT,DPORT (e.g. 198.18.0.1,198.18.1.1,tcp,40000,80)".into(),
        ));
    }
    let ip = |i: usize| -> Result<std::net::IpAddr, AdminError> {
        let t = parts.get(i).copied().unwrap_or("");
        t.parse()
            .map_err(|_| bad(format!("`{t}` is not an IPv4 or IPv6 address")))
    };
    let (src, dst) = (ip(0)?, ip(1)?);
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(bad(
            "SRC and DST must be of one family (both IPv4 or both IPv6)".into(),
        ));
    }
    let proto = protocol(parts.get(2).copied().unwrap_or("")).map_err(bad)?;
    let port = |i: usize| -> Result<u16, AdminError> {
        match parts.get(i) {
            None => Ok(0),
            Some(t) => t
                .parse()
                .map_err(|_| bad(format!("`{t}` is not a port number (0-65535)"))),
        }
    };
    Ok(FlowKey::conversation(
        src_mac,
        dst_mac,
        src,
        dst,
        proto,
        port(3)?,
        port(4)?,
    ))
}

/// `show-hash`.
pub fn show_hash(a: &ShowHashArgs) -> Result<(), AdminError> {
    let fmt = format_of(&a.out)?;
    if a.out.interval.is_some() {
        return Err(AdminError::Usage("show-hash takes no -i".into()));
    }
    let mut c = connect(&a.conn)?;
    let flow = match &a.flow {
        None => None,
        Some(f) => {
            let status = c.show_aggr(Some(&a.name))?;
            let mac = status.first().map(|s| s.mac).unwrap_or_default();
            Some(parse_flow(
                f,
                a.src_mac.unwrap_or(mac),
                a.dst_mac.unwrap_or_default(),
            )?)
        }
    };
    let h = c.show_hash(&a.name, flow)?;
    let text = hash_view(&h).render(&fmt)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(())
}

fn member_cell(m: Option<&String>) -> Cell {
    match m {
        Some(m) => Cell::text(m),
        None => Cell::with("--", Value::Null),
    }
}

/// `show-hash`: every bucket with its member and load; with `--flow`, only the conversation's
/// bucket, under a title that says where it goes.
pub fn hash_view(h: &HashView) -> View {
    let mut info = Map::new();
    info.insert("name".into(), Value::from(h.aggregate.clone()));
    info.insert("mode".into(), Value::from(h.mode.clone()));
    info.insert("policy".into(), Value::from(h.policy.clone()));
    info.insert("interval".into(), Value::from(h.interval.clone()));
    info.insert("buckets".into(), Value::from(h.buckets.len()));
    let mut title = vec![format!(
        "{}: mode: {} policy: {} buckets: {} load interval: {}",
        h.aggregate,
        h.mode,
        h.policy,
        h.buckets.len(),
        h.interval
    )];
    let rows_of = |b: &lagd_control::proto::BucketView| {
        vec![
            Cell::num(b.bucket as u64),
            member_cell(b.member.as_ref()),
            Cell::num(b.last_interval_bytes),
            Cell::num(b.current_bytes),
            Cell::yes_no(b.moving),
        ]
    };
    let rows = match &h.flow {
        Some(f) => {
            let k = &f.key;
            let addr = |b: &[u8; 16]| {
                let v6 = std::net::Ipv6Addr::from(*b);
                match v6.to_ipv4_mapped() {
                    Some(v4) if k.ip_version == 4 => v4.to_string(),
                    _ => v6.to_string(),
                }
            };
            let carrier = if f.per_frame {
                "every member in turn (per-frame mode: no single member)".to_string()
            } else {
                f.member
                    .clone()
                    .unwrap_or_else(|| "no member (none distributing)".into())
            };
            title.push(format!(
                "flow {} -> {} proto {} ports {} -> {}: hash 0x{:08x}, bucket {}, member {}{}",
                addr(&k.src_ip),
                addr(&k.dst_ip),
                k.protocol,
                k.src_port,
                k.dst_port,
                f.hash,
                f.bucket,
                carrier,
                if f.moving { " (moving)" } else { "" }
            ));
            let mut fj = Map::new();
            fj.insert("hash".into(), Value::from(f.hash));
            fj.insert("bucket".into(), Value::from(f.bucket));
            fj.insert(
                "member".into(),
                f.member.clone().map_or(Value::Null, Value::from),
            );
            fj.insert("moving".into(), Value::Bool(f.moving));
            fj.insert("per_frame".into(), Value::Bool(f.per_frame));
            info.insert("flow".into(), Value::Object(fj));
            h.buckets
                .iter()
                .filter(|b| b.bucket == f.bucket)
                .map(rows_of)
                .collect()
        }
        None => {
            // Per member: buckets and load, as OVS bond/show sums its hashes.
            let mut per: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
            for b in &h.buckets {
                let e = per
                    .entry(b.member.clone().unwrap_or_else(|| "--".into()))
                    .or_default();
                e.0 += 1;
                e.1 += b.last_interval_bytes;
            }
            for (m, (n, bytes)) in &per {
                title.push(format!(
                    "member {m}: {n} buckets, {bytes} bytes in the last interval"
                ));
            }
            h.buckets.iter().map(rows_of).collect()
        }
    };
    View {
        columns: vec!["bucket", "member", "load", "current", "moving"],
        hidden: Vec::new(),
        rows_key: "buckets",
        schema: crate::schema::SHOW_HASH,
        sections: vec![Section {
            title,
            info,
            total: None,
            rows,
        }],
    }
}

/// One event in words: `HH:MM:SS aggr1 eth2: message` (UTC).
pub fn event_line(e: &EventRecord) -> String {
    let s = (e.unix_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03} {}{}: {}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        e.unix_ms % 1000,
        if e.aggregate.is_empty() {
            "lagd"
        } else {
            &e.aggregate
        },
        e.link
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default(),
        e.message
    )
}

/// `events [-f] [--json] [NAME]`.
pub fn events(a: &EventsArgs) -> Result<(), AdminError> {
    let mut c = connect(&a.conn)?;
    if a.follow {
        c.set_timeout(None)?;
    }
    let wanted = |e: &EventRecord| {
        a.name
            .as_deref()
            .is_none_or(|n| e.aggregate == n || e.aggregate.is_empty())
    };
    let print = |e: &EventRecord| -> Result<(), AdminError> {
        let line = if a.json {
            let mut l = crate::schema::EVENT
                .render(e, true)
                .map_err(|e| AdminError::Output(e.to_string()))?;
            l.pop();
            l
        } else {
            event_line(e)
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    };
    for e in c.events(a.follow)?.iter().filter(|e| wanted(e)) {
        print(e)?;
    }
    if !a.follow {
        return Ok(());
    }
    loop {
        let e = c.next_event()?;
        if wanted(&e) {
            print(&e)?;
        }
    }
}
