//! The verbs that talk to lagd: connect, check the caller, send the request, print the answer.

use std::io::Write;
use std::time::Duration;

use lagd_control::client::{Client, ClientError};
use lagd_control::config::AggrSpec;

use super::cli::{
    AddArgs, Conn, CreateArgs, DeleteArgs, ModifyArgs, OutputOpts, RemoveArgs, ShowAggrArgs,
    ShowLinkArgs,
};
use super::error::AdminError;
use super::show;
use super::table::Format;

/// How long to wait for an answer (a graceful removal can take a few seconds).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to lagd, turning the usual failures into clear messages.
pub fn connect(conn: &Conn) -> Result<Client, AdminError> {
    let c = Client::connect(&conn.socket).map_err(|e| match e {
        ClientError::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            AdminError::Permission(conn.socket.clone())
        }
        ClientError::Io(io) => AdminError::Connect {
            path: conn.socket.clone(),
            source: io,
        },
        other => AdminError::Client(other),
    })?;
    c.set_timeout(Some(TIMEOUT))?;
    Ok(c)
}

/// The effective uid of this process (from `/proc/self/status`).
pub fn effective_uid() -> Option<u32> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Refuses a change asked by a caller that is not root.
pub fn require_root(verb: &str) -> Result<(), AdminError> {
    match effective_uid() {
        Some(0) => Ok(()),
        Some(euid) => Err(AdminError::NotRoot {
            verb: verb.into(),
            euid,
        }),
        // Without /proc we cannot tell: let the socket's permissions decide.
        None => Ok(()),
    }
}

fn say(message: &str) -> Result<(), AdminError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{message}")?;
    Ok(())
}

/// The spec `create-aggr` asks for.
pub fn create_spec(a: &CreateArgs) -> Result<AggrSpec, AdminError> {
    if a.links.is_empty() {
        return Err(AdminError::Usage(format!(
            "create-aggr {}: give at least one member link with -l LINK",
            a.name
        )));
    }
    let mut spec = AggrSpec::new(
        &a.name,
        &a.links.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .with_changes(&a.opts.settings());
    // `--bfd off` at creation: no table at all.
    spec.bfd = spec.bfd.take().filter(|b| b.enabled != Some(false));
    if a.force {
        spec.force = Some(true);
    }
    Ok(spec)
}

/// `create-aggr`.
pub fn create(a: &CreateArgs) -> Result<(), AdminError> {
    require_root("create-aggr")?;
    let spec = create_spec(a)?;
    let mut c = connect(&a.conn)?;
    say(&c.create_aggr(spec, a.temporary)?)
}

/// `add-aggr`.
pub fn add(a: &AddArgs) -> Result<(), AdminError> {
    require_root("add-aggr")?;
    let mut c = connect(&a.conn)?;
    let links: Vec<&str> = a.links.iter().map(String::as_str).collect();
    say(&c.add_links(&a.name, &links, a.force, a.temporary)?)
}

/// `remove-aggr`.
pub fn remove(a: &RemoveArgs) -> Result<(), AdminError> {
    require_root("remove-aggr")?;
    let mut c = connect(&a.conn)?;
    let links: Vec<&str> = a.links.iter().map(String::as_str).collect();
    say(&c.remove_links(&a.name, &links, !a.no_drain, a.temporary)?)
}

/// `modify-aggr`.
pub fn modify(a: &ModifyArgs) -> Result<(), AdminError> {
    require_root("modify-aggr")?;
    if a.opts.is_empty() {
        return Err(AdminError::Usage(format!(
            "{}: nothing to change: give at least one option (-P, -L, -T, -u, -m, --min-links, ...)",
            a.name
        )));
    }
    let mut c = connect(&a.conn)?;
    if c.show_aggr(Some(&a.name))?.is_empty() {
        return Err(AdminError::Input(format!(
            "no aggregation named `{}`",
            a.name
        )));
    }
    say(&c.modify_aggr_forced(&a.name, a.opts.settings(), a.temporary, a.force)?)
}

/// `delete-aggr`.
pub fn delete(a: &DeleteArgs) -> Result<(), AdminError> {
    require_root("delete-aggr")?;
    let mut c = connect(&a.conn)?;
    say(&c.delete_aggr(&a.name, a.temporary)?)
}

/// `reload`: the daemon re-reads its configuration; its refusal is this verb's error.
pub fn reload(conn: &Conn, delete_all: bool) -> Result<(), AdminError> {
    require_root("reload")?;
    let mut c = connect(conn)?;
    say(&c.reload_with(delete_all)?)
}

/// `state dump`.
pub fn state_dump(conn: &Conn) -> Result<(), AdminError> {
    let mut c = connect(conn)?;
    let state = c.state_dump()?;
    let text = crate::schema::STATE_DUMP
        .render(&state, false)
        .map_err(|e| AdminError::Output(e.to_string()))?;
    say(text.trim_end())
}

pub(super) fn format_of(o: &OutputOpts) -> Result<Format, AdminError> {
    if o.parseable && o.json {
        return Err(AdminError::Usage(
            "-p and --json exclude each other: choose one output form".into(),
        ));
    }
    if o.count.is_some() && o.interval.is_none() {
        return Err(AdminError::Usage("-c COUNT needs -i SECONDS".into()));
    }
    if o.interval == Some(0) {
        return Err(AdminError::Usage(
            "-i: the interval must be at least 1 second".into(),
        ));
    }
    Ok(Format {
        parseable: o.parseable,
        fields: o.output.clone(),
        json: o.json,
        compact: o.json && o.interval.is_some(),
    })
}

/// Repeats `once` per the interval options; `once` gets the previous link counters (for
/// per-interval statistics) and returns the text and the counters it used.
fn repeat(
    o: &OutputOpts,
    mut once: impl FnMut(
        Option<&[lagd_control::proto::LinkStats]>,
    ) -> Result<(String, Vec<lagd_control::proto::LinkStats>), AdminError>,
) -> Result<(), AdminError> {
    let mut prev: Option<Vec<lagd_control::proto::LinkStats>> = None;
    let mut n = 0u64;
    loop {
        let (text, links) = once(prev.as_deref())?;
        let mut out = std::io::stdout().lock();
        if n > 0 && !o.parseable && !o.json {
            out.write_all(b"\n")?;
        }
        if o.interval.is_some() && !o.parseable && !o.json {
            // Each interval's block says when it was taken (UTC).
            writeln!(out, "{}", super::clock::now_title())?;
        }
        out.write_all(text.as_bytes())?;
        out.flush()?;
        drop(out);
        n += 1;
        let Some(secs) = o.interval else {
            return Ok(());
        };
        if o.count.is_some_and(|c| n >= c) {
            return Ok(());
        }
        prev = Some(links);
        std::thread::sleep(Duration::from_secs(secs));
    }
}

/// `show-aggr`.
pub fn show_aggr(a: &ShowAggrArgs) -> Result<(), AdminError> {
    let fmt = format_of(&a.out)?;
    let mut c = connect(&a.conn)?;
    let name = a.name.as_deref();
    repeat(&a.out, |prev| {
        let aggrs = c.show_aggr(name)?;
        if a.statistics {
            let links = c.show_link(name)?;
            let counters = show::counters_of(&links, prev);
            let text = show::aggr_stats(&aggrs, &counters).render(&fmt)?;
            return Ok((text, links));
        }
        let view = if a.persistent {
            show::aggr_persistent(&aggrs)
        } else if a.lacp {
            show::aggr_lacp(&aggrs)
        } else if a.extended {
            show::aggr_extended(&aggrs)
        } else {
            show::aggr_plain(&aggrs)
        };
        Ok((view.render(&fmt)?, Vec::new()))
    })
}

/// What `show-link NAME` is about: every link, an aggregation's, or one link.
enum LinkTarget {
    All,
    Aggregation(String),
    Link { aggregation: String, link: String },
}

/// Resolves `show-link NAME`: an aggregation, or a member link of one (else an error with the
/// close names).
fn link_target(
    c: &mut lagd_control::client::Client,
    name: Option<&str>,
) -> Result<LinkTarget, AdminError> {
    let Some(name) = name else {
        return Ok(LinkTarget::All);
    };
    let aggrs = c.show_aggr(None)?;
    if aggrs.iter().any(|a| a.name == name) {
        return Ok(LinkTarget::Aggregation(name.to_string()));
    }
    if let Some(a) = aggrs
        .iter()
        .find(|a| a.members.iter().any(|m| m.name == name))
    {
        return Ok(LinkTarget::Link {
            aggregation: a.name.clone(),
            link: name.to_string(),
        });
    }
    let known = aggrs.iter().flat_map(|a| {
        std::iter::once(a.name.as_str()).chain(a.members.iter().map(|m| m.name.as_str()))
    });
    Err(AdminError::Input(format!(
        "no aggregation or member link named `{name}`{}",
        super::suggest::did_you_mean(name, known)
    )))
}

/// `show-link`: every link, the links of one aggregation, or one link.
pub fn show_link(a: &ShowLinkArgs) -> Result<(), AdminError> {
    let fmt = format_of(&a.out)?;
    let mut c = connect(&a.conn)?;
    let target = link_target(&mut c, a.name.as_deref())?;
    let (aggr, link) = match &target {
        LinkTarget::All => (None, None),
        LinkTarget::Aggregation(n) => (Some(n.as_str()), None),
        LinkTarget::Link { aggregation, link } => (Some(aggregation.as_str()), Some(link.as_str())),
    };
    repeat(&a.out, |prev| {
        let mut view = if a.statistics {
            let links = c.show_link(aggr)?;
            let counters = show::counters_of(&links, prev);
            let view = show::link_stats(&counters);
            if let Some(l) = link {
                return Ok((view.only_rows_of(l).render(&fmt)?, links));
            }
            return Ok((view.render(&fmt)?, links));
        } else {
            show::link_plain(&c.show_aggr(aggr)?)
        };
        if let Some(l) = link {
            view = view.only_rows_of(l);
        }
        Ok((view.render(&fmt)?, Vec::new()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_read() {
        assert!(effective_uid().is_some());
    }
}
