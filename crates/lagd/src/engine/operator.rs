//! The operator verbs bonding and OVS have: disable/enable a member without removing it,
//! choose the active member of an active-backup aggregation, show the bucket table and where
//! a conversation goes. The decisions are the aggregation core's (`lagd_agg`); this executes
//! them and waits for their outcome.

use std::time::Duration as StdDuration;

use lagd_types::PortNumber;

use super::{DRAIN_LIMIT, Engine, OpError, not_found, op};
use crate::control::proto::{ErrorKind, HashView};

/// How long a chosen active member may take to carry the traffic: one Marker round trip, or
/// the marker timeout (1 s at most) when the partner does not answer.
const CHOOSE_LIMIT: StdDuration = StdDuration::from_secs(5);

impl Engine {
    /// The ports of `links` in aggregation `name`, or which one is not a member.
    fn member_ports(&self, name: &str, links: &[String]) -> Result<Vec<PortNumber>, OpError> {
        if links.is_empty() {
            return Err(op(ErrorKind::BadRequest, "no link given"));
        }
        let st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        links
            .iter()
            .map(|l| {
                a.port_of(l).ok_or_else(|| {
                    op(
                        ErrorKind::NotFound,
                        format!("link `{l}` is not a member of aggregation `{name}`"),
                    )
                })
            })
            .collect()
    }

    /// `DisableMembers`: each member leaves distribution under Marker protection; answered
    /// once none carries a frame of ours. All or nothing: a refusal re-enables those done.
    pub(super) fn disable_members(
        &self,
        name: &str,
        links: &[String],
        force: bool,
    ) -> Result<String, OpError> {
        let ports = self.member_ports(name, links)?;
        let saved;
        {
            let mut st = self.state();
            let a = st.aggrs.get_mut(name).ok_or_else(|| not_found(name))?;
            for (i, (p, l)) in ports.iter().zip(links).enumerate() {
                if let Err(e) = a.disable_port(*p, force) {
                    for q in ports.iter().take(i) {
                        let _ = a.enable_port(*q);
                    }
                    let (kind, hint) = match e {
                        lagd_agg::AggError::LastMember(_) => {
                            (ErrorKind::WouldGoDown, "; --force disables it anyway")
                        }
                        _ => (ErrorKind::InvalidConfig, ""),
                    };
                    return Err(op(
                        kind,
                        format!("cannot disable `{l}` of `{name}`: {e} (nothing changed{hint})"),
                    ));
                }
            }
            saved = a.record_operator(|r| r.disabled.extend(links.iter().cloned()));
        }
        let drained = self.wait(DRAIN_LIMIT, |e| {
            let st = e.state();
            st.aggrs
                .get(name)
                .is_none_or(|a| ports.iter().all(|p| a.is_drained(*p)))
        });
        let done = format!(
            "disabled {} of `{name}`: {}; still a member, collecting (enable-member returns it){}",
            links.join(", "),
            if drained {
                "drained under Marker protection, carries no traffic"
            } else {
                "still draining"
            },
            not_kept(saved)
        );
        self.daemon_event(name, done.clone());
        Ok(done)
    }

    /// `EnableMembers`.
    pub(super) fn enable_members(&self, name: &str, links: &[String]) -> Result<String, OpError> {
        let ports = self.member_ports(name, links)?;
        let mut st = self.state();
        let a = st.aggrs.get_mut(name).ok_or_else(|| not_found(name))?;
        for p in &ports {
            a.enable_port(*p)
                .map_err(|e| op(ErrorKind::InvalidConfig, e.to_string()))?;
        }
        let saved = a.record_operator(|r| {
            for l in links {
                r.disabled.remove(l);
            }
        });
        drop(st);
        let done = format!(
            "enabled {} of `{name}`: each takes back its share of conversations under Marker protection{}",
            links.join(", "),
            not_kept(saved)
        );
        self.daemon_event(name, done.clone());
        Ok(done)
    }

    /// `ChooseActive`: answered once the chosen member carries the traffic.
    pub(super) fn choose_active(&self, name: &str, link: &str) -> Result<String, OpError> {
        let ports = self.member_ports(name, &[link.to_string()])?;
        let port = ports.first().copied().ok_or_else(|| not_found(name))?;
        let saved;
        {
            let mut st = self.state();
            let a = st.aggrs.get_mut(name).ok_or_else(|| not_found(name))?;
            a.choose_active(port).map_err(|e| {
                op(
                    ErrorKind::InvalidConfig,
                    format!("cannot make `{link}` the active member of `{name}`: {e}"),
                )
            })?;
            saved = a.record_operator(|r| r.active = Some(link.to_string()));
        }
        let active = |e: &Engine| {
            e.show(Some(name))
                .ok()
                .and_then(|v| v.into_iter().next())
                .and_then(|a| a.active_member)
        };
        let moved = self.wait(CHOOSE_LIMIT, |e| active(e).as_deref() == Some(link));
        let done = if moved {
            format!(
                "{link} is the active member of `{name}` (moved under Marker protection){}",
                not_kept(saved)
            )
        } else {
            format!(
                "{link} chosen as the active member of `{name}`; the move has not completed yet{}",
                not_kept(saved)
            )
        };
        self.daemon_event(name, done.clone());
        Ok(done)
    }

    /// `ShowHash`.
    pub(super) fn hash_view(
        &self,
        name: &str,
        flow: Option<&lagd_agg::lagd_distrib::FlowKey>,
    ) -> Result<HashView, OpError> {
        let st = self.state();
        let a = st.aggrs.get(name).ok_or_else(|| not_found(name))?;
        Ok(a.hash_view(flow))
    }

    /// Polls `done` (without the state lock held between polls) until it holds or `limit`
    /// passes; whether it held.
    fn wait(&self, limit: StdDuration, done: impl Fn(&Engine) -> bool) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if done(self) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(StdDuration::from_millis(10));
        }
    }
}

/// What an answer adds when the operator's choice could not be recorded (it then does not
/// outlive a restart of lagd).
fn not_kept(saved: Result<(), crate::state::StateError>) -> String {
    match saved {
        Ok(()) => String::new(),
        Err(e) => {
            tracing::warn!("operator record: {e}");
            format!(" (not kept across a restart of lagd: {e})")
        }
    }
}
