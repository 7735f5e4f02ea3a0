//! A client of the control socket, for `lagctl` and tests.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::config::{AggrSettings, AggrSpec};
use crate::proto::{AggrStatus, ErrorKind, EventRecord, LinkStats, Reply, Request, Response};

/// Default path of the control socket.
pub const DEFAULT_SOCKET: &str = "/run/lagd/lagd.sock";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not connect, read or write.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon sent something that is not a response.
    #[error("malformed response from lagd: {0}")]
    Protocol(String),
    /// The daemon closed the connection.
    #[error("lagd closed the connection")]
    Closed,
    /// The daemon refused the request.
    #[error("{kind}: {message}")]
    Daemon {
        /// Class of error.
        kind: ErrorKind,
        /// The daemon's message.
        message: String,
        /// Why, when the change would take the aggregate down.
        findings: Vec<lagd_agg::diagnose::Finding>,
    },
}

/// A connection to the daemon.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the control socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let writer = UnixStream::connect(path)?;
        let reader = BufReader::new(writer.try_clone()?);
        Ok(Client { reader, writer })
    }

    /// Sets a read timeout for responses (`None`: wait forever).
    pub fn set_timeout(&self, t: Option<Duration>) -> Result<(), ClientError> {
        self.writer.set_read_timeout(t)?;
        self.writer.set_write_timeout(t)?;
        Ok(())
    }

    /// Sends one request and reads its response.
    pub fn request(&mut self, req: &Request) -> Result<Reply, ClientError> {
        let mut line =
            serde_json::to_string(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        self.read_reply()
    }

    /// Reads the next response line (for streamed events).
    pub fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Closed);
        }
        match serde_json::from_str::<Response>(&line) {
            Ok(Response::Ok(r)) => Ok(r),
            Ok(Response::Error(e)) => Err(ClientError::Daemon {
                kind: e.kind,
                message: e.message,
                findings: e.findings,
            }),
            Err(e) => Err(ClientError::Protocol(format!("{e}: {}", line.trim_end()))),
        }
    }

    fn done(&mut self, req: &Request) -> Result<String, ClientError> {
        match self.request(req)? {
            Reply::Done { message } => Ok(message),
            other => Err(unexpected(&other)),
        }
    }

    /// `Ping`: returns the daemon's version and pid.
    pub fn ping(&mut self) -> Result<(String, u32), ClientError> {
        match self.request(&Request::Ping)? {
            Reply::Pong { version, pid, .. } => Ok((version, pid)),
            other => Err(unexpected(&other)),
        }
    }

    /// `ShowAggr`.
    pub fn show_aggr(&mut self, name: Option<&str>) -> Result<Vec<AggrStatus>, ClientError> {
        match self.request(&Request::ShowAggr {
            name: name.map(str::to_string),
        })? {
            Reply::Aggregations { aggregations } => Ok(aggregations),
            other => Err(unexpected(&other)),
        }
    }

    /// `ShowLink`.
    pub fn show_link(&mut self, name: Option<&str>) -> Result<Vec<LinkStats>, ClientError> {
        match self.request(&Request::ShowLink {
            name: name.map(str::to_string),
        })? {
            Reply::Links { links } => Ok(links),
            other => Err(unexpected(&other)),
        }
    }

    /// `StateDump`.
    pub fn state_dump(&mut self) -> Result<serde_json::Value, ClientError> {
        match self.request(&Request::StateDump)? {
            Reply::State { state } => Ok(state),
            other => Err(unexpected(&other)),
        }
    }

    /// `Diagnose`: the findings of `lagd_agg::diagnose` on aggregation `name`.
    pub fn diagnose(&mut self, name: &str) -> Result<lagd_agg::diagnose::Diagnosis, ClientError> {
        match self.request(&Request::Diagnose { name: name.into() })? {
            Reply::Diagnosis { diagnosis } => Ok(diagnosis),
            other => Err(unexpected(&other)),
        }
    }

    /// `Reload`: the daemon re-reads its configuration file; the error says why it refused.
    pub fn reload(&mut self) -> Result<String, ClientError> {
        self.reload_with(false)
    }

    /// `Reload`; with `delete_all`, an empty or missing file deletes every aggregation of the
    /// file instead of being refused (`lagctl reload --delete-all`).
    pub fn reload_with(&mut self, delete_all: bool) -> Result<String, ClientError> {
        self.done(&Request::Reload { delete_all })
    }

    /// `CreateAggr`.
    pub fn create_aggr(&mut self, spec: AggrSpec, temporary: bool) -> Result<String, ClientError> {
        self.done(&Request::CreateAggr { spec, temporary })
    }

    /// `DeleteAggr`.
    pub fn delete_aggr(&mut self, name: &str, temporary: bool) -> Result<String, ClientError> {
        self.done(&Request::DeleteAggr {
            name: name.into(),
            temporary,
        })
    }

    /// `AddLinks`.
    pub fn add_links(
        &mut self,
        name: &str,
        links: &[&str],
        force: bool,
        temporary: bool,
    ) -> Result<String, ClientError> {
        self.done(&Request::AddLinks {
            name: name.into(),
            links: links.iter().map(|s| s.to_string()).collect(),
            force,
            temporary,
        })
    }

    /// `RemoveLinks`.
    pub fn remove_links(
        &mut self,
        name: &str,
        links: &[&str],
        graceful: bool,
        temporary: bool,
    ) -> Result<String, ClientError> {
        self.done(&Request::RemoveLinks {
            name: name.into(),
            links: links.iter().map(|s| s.to_string()).collect(),
            graceful,
            temporary,
        })
    }

    /// `ModifyAggr`.
    pub fn modify_aggr(
        &mut self,
        name: &str,
        changes: AggrSettings,
        temporary: bool,
    ) -> Result<String, ClientError> {
        self.modify_aggr_forced(name, changes, temporary, false)
    }

    /// `ModifyAggr`, applied even when it takes the aggregate down if `force`.
    pub fn modify_aggr_forced(
        &mut self,
        name: &str,
        changes: AggrSettings,
        temporary: bool,
        force: bool,
    ) -> Result<String, ClientError> {
        self.done(&Request::ModifyAggr {
            name: name.into(),
            changes,
            temporary,
            force,
        })
    }

    /// `DisableMembers`: answered once they are drained.
    pub fn disable_members(
        &mut self,
        name: &str,
        links: &[&str],
        force: bool,
    ) -> Result<String, ClientError> {
        self.done(&Request::DisableMembers {
            name: name.into(),
            links: links.iter().map(|s| s.to_string()).collect(),
            force,
        })
    }

    /// `EnableMembers`.
    pub fn enable_members(&mut self, name: &str, links: &[&str]) -> Result<String, ClientError> {
        self.done(&Request::EnableMembers {
            name: name.into(),
            links: links.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// `ChooseActive`.
    pub fn choose_active(&mut self, name: &str, link: &str) -> Result<String, ClientError> {
        self.done(&Request::ChooseActive {
            name: name.into(),
            link: link.into(),
        })
    }

    /// `ShowHash`.
    pub fn show_hash(
        &mut self,
        name: &str,
        flow: Option<lagd_agg::lagd_distrib::FlowKey>,
    ) -> Result<crate::proto::HashView, ClientError> {
        match self.request(&Request::ShowHash {
            name: name.into(),
            flow,
        })? {
            Reply::Hash { hash } => Ok(hash),
            other => Err(unexpected(&other)),
        }
    }

    /// `Events`: the recent events. With `follow`, call [`Client::next_event`] afterwards.
    pub fn events(&mut self, follow: bool) -> Result<Vec<EventRecord>, ClientError> {
        match self.request(&Request::Events { follow })? {
            Reply::Events { events } => Ok(events),
            other => Err(unexpected(&other)),
        }
    }

    /// The next streamed event after `events(true)`.
    pub fn next_event(&mut self) -> Result<EventRecord, ClientError> {
        match self.read_reply()? {
            Reply::Event(e) => Ok(e),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(r: &Reply) -> ClientError {
    ClientError::Protocol(format!("unexpected reply {r:?}"))
}
