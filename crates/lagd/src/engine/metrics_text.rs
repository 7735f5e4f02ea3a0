//! The metrics the Prometheus endpoint serves, read from the engine (the endpoint itself,
//! [`crate::metrics`], knows nothing of the engine).

use super::Engine;
use crate::control::proto::{Reply, Request, Response};
use crate::control::server::Handler;
use crate::metrics::{Snapshot, render};

impl Engine {
    /// The metrics now, as the endpoint serves them.
    pub(crate) fn metrics_text(&self) -> String {
        let aggrs = self.show(None).unwrap_or_default();
        let links = self.show_link(None).unwrap_or_default();
        let dt = match self.handle(Request::ShowDt) {
            Response::Ok(Reply::Dt { status }) if !status.is_null() => {
                serde_json::from_value::<crate::control::proto::DtView>(status).ok()
            }
            _ => None,
        };
        render(&Snapshot {
            aggrs: &aggrs,
            links: &links,
            dt: dt.as_ref(),
        })
    }

    /// What the endpoint serves: this engine's metrics while it lives, nothing after.
    pub(super) fn metrics_body(&self) -> impl Fn() -> String + Send + Sync + 'static {
        let me = self.me.clone();
        move || me.upgrade().map(|e| e.metrics_text()).unwrap_or_default()
    }
}
