//! The control socket server: a Unix stream socket (mode 0600), one thread per client,
//! newline-delimited JSON (see [`super::proto`]).

use std::io::{BufRead, BufReader, ErrorKind as IoKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::proto::{ErrorKind, Reply, Request, Response};
use crate::events::EventLog;

/// At most this many clients are served at once; more are refused.
pub const MAX_CLIENTS: usize = 64;
/// Longest request line accepted.
pub const MAX_REQUEST: usize = 1 << 20;

/// What answers requests (the engine, or a fake in tests).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request (never `Events`: the server serves those from [`Handler::events`]).
    fn handle(&self, req: Request) -> Response;
    /// The event log, for `Events`.
    fn events(&self) -> &EventLog;
}

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Another daemon answers on that socket.
    #[error("{0}: another lagd is listening on this control socket")]
    InUse(PathBuf),
    /// Could not create, bind or chmod.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The listening control socket.
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Binds `path` (creating its directory), mode 0600. A stale socket file left by a dead
    /// daemon is replaced; a live one is refused.
    pub fn bind(path: &Path) -> Result<Server, ServerError> {
        let io = |source| ServerError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(ServerError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves clients on a background thread, forever.
    pub fn spawn(self, handler: Arc<dyn Handler>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("lagd-control".into())
            .spawn(move || self.run(handler))
    }

    fn run(self, handler: Arc<dyn Handler>) {
        let active = Arc::new(AtomicUsize::new(0));
        for conn in self.listener.incoming() {
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("control socket accept: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if active.load(Ordering::Relaxed) >= MAX_CLIENTS {
                let _ = reply(
                    &stream,
                    &Response::error(ErrorKind::System, "too many control clients"),
                );
                continue;
            }
            active.fetch_add(1, Ordering::Relaxed);
            let h = handler.clone();
            let a = active.clone();
            let spawned = std::thread::Builder::new()
                .name("lagd-client".into())
                .spawn(move || {
                    if let Err(e) = serve_client(stream, &*h) {
                        tracing::debug!("control client: {e}");
                    }
                    a.fetch_sub(1, Ordering::Relaxed);
                });
            if let Err(e) = spawned {
                active.fetch_sub(1, Ordering::Relaxed);
                tracing::warn!("cannot start a control client thread: {e}");
            }
        }
    }
}

fn reply(mut stream: &UnixStream, r: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_string(r).unwrap_or_else(|e| {
        format!(r#"{{"error":{{"kind":"internal","message":"cannot encode response: {e}"}}}}"#)
    });
    line.push('\n');
    stream.write_all(line.as_bytes())
}

/// Serves one client until it disconnects.
fn serve_client(stream: UnixStream, handler: &dyn Handler) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::Read::take(&mut reader, MAX_REQUEST as u64).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') && n >= MAX_REQUEST {
            reply(
                &stream,
                &Response::error(ErrorKind::BadRequest, "request line too long"),
            )?;
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let req = match serde_json::from_str::<Request>(&line) {
            Ok(r) => r,
            Err(e) => {
                reply(
                    &stream,
                    &Response::error(ErrorKind::BadRequest, format!("invalid request: {e}")),
                )?;
                continue;
            }
        };
        match req {
            Request::Events { follow } => {
                let log = handler.events();
                let from = log.next_seq();
                reply(
                    &stream,
                    &Response::Ok(Reply::Events {
                        events: log.recent(),
                    }),
                )?;
                if follow {
                    return follow_events(&stream, log, from);
                }
            }
            other => reply(&stream, &handler.handle(other))?,
        }
    }
}

/// Streams new events until the client goes away.
fn follow_events(stream: &UnixStream, log: &EventLog, mut from: u64) -> std::io::Result<()> {
    loop {
        for ev in log.wait_from(from, Duration::from_millis(500)) {
            from = ev.seq + 1;
            reply(stream, &Response::Ok(Reply::Event(ev)))?;
        }
        if peer_closed(stream)? {
            return Ok(());
        }
    }
}

/// Whether the client hung up (anything it sends while following is read and ignored).
fn peer_closed(stream: &UnixStream) -> std::io::Result<bool> {
    let mut buf = [0u8; 256];
    stream.set_nonblocking(true)?;
    let r = std::io::Read::read(&mut &*stream, &mut buf);
    stream.set_nonblocking(false)?;
    match r {
        Ok(0) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == IoKind::WouldBlock || e.kind() == IoKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, ClientError};

    struct Fake {
        log: EventLog,
    }
    impl Handler for Fake {
        fn handle(&self, req: Request) -> Response {
            match req {
                Request::Ping => Response::Ok(Reply::Pong {
                    version: "test".into(),
                    protocol: super::super::proto::PROTOCOL_VERSION,
                    pid: 7,
                }),
                Request::DeleteAggr { name, .. } => Response::error(
                    ErrorKind::NotFound,
                    format!("no aggregation named `{name}`"),
                ),
                _ => Response::error(ErrorKind::Internal, "not in the fake"),
            }
        }
        fn events(&self) -> &EventLog {
            &self.log
        }
    }

    fn temp_socket(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lagd-ctl-{tag}-{}/s.sock", std::process::id()))
    }

    #[test]
    fn serves_requests_errors_and_streamed_events() {
        let path = temp_socket("serve");
        let server = Server::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let fake = Arc::new(Fake {
            log: EventLog::new(16),
        });
        fake.log
            .push(1, "aggr1", None, "old".into(), serde_json::Value::Null);
        server.spawn(fake.clone()).unwrap();

        // A second daemon on the same path is refused.
        assert!(matches!(Server::bind(&path), Err(ServerError::InUse(_))));

        let mut c = Client::connect(&path).unwrap();
        c.set_timeout(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(c.ping().unwrap(), ("test".to_string(), 7));
        match c.delete_aggr("nope", false) {
            Err(ClientError::Daemon { kind, message, .. }) => {
                assert_eq!(kind, ErrorKind::NotFound);
                assert!(message.contains("`nope`"));
            }
            other => panic!("{other:?}"),
        }
        // A garbage line gets a bad-request error and the connection stays usable.
        {
            use std::io::Write as _;
            let mut raw = UnixStream::connect(&path).unwrap();
            raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            raw.write_all(b"{\"request\":\"Fly\"}\n{\"request\":\"Ping\"}\n")
                .unwrap();
            let mut r = BufReader::new(raw);
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert!(l.contains("bad-request"), "{l}");
            l.clear();
            r.read_line(&mut l).unwrap();
            assert!(l.contains("Pong"), "{l}");
        }
        let recent = c.events(true).unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].message, "old");
        fake.log.push(
            2,
            "aggr1",
            Some("eth1".into()),
            "new".into(),
            serde_json::Value::Null,
        );
        let ev = c.next_event().unwrap();
        assert_eq!(ev.message, "new");
        drop(c);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn stale_socket_file_is_replaced() {
        let path = temp_socket("stale");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A socket file with nobody listening.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let s = Server::bind(&path).unwrap();
        assert_eq!(s.path(), path);
        drop(s);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
