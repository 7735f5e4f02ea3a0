//! The control socket server: a Unix stream socket (mode 0600), one thread per client,
//! newline-delimited JSON (see [`super::proto`]).
//!
//! Bounded: at most [`MAX_CLIENTS`] clients at once; a request line longer than
//! [`MAX_REQUEST`] is refused; a client that sends no complete request within
//! [`IDLE_TIMEOUT`] (not following events) is closed, and when every slot is taken the client
//! idle longest makes room for a new one, so idle connections cannot starve `lagctl`.

use std::collections::HashMap;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::proto::{ErrorKind, Reply, Request, Response};
use crate::events::EventLog;

/// At most this many clients are served at once; when full, the client idle longest is closed
/// for a new one.
pub(crate) const MAX_CLIENTS: usize = 64;
/// Longest request line accepted.
pub(crate) const MAX_REQUEST: usize = 256 << 10;
/// A client that sends no complete request for this long is closed (one following events is
/// not idle).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A client that does not take an answer within this long is closed.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What answers requests (the engine, or a fake in tests).
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request (never `Events`: the server serves those from [`Handler::events`]).
    fn handle(&self, req: Request) -> Response;
    /// The event log, for `Events`.
    fn events(&self) -> &EventLog;
}

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerError {
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
pub(crate) struct Server {
    listener: UnixListener,
    idle: Duration,
}

impl Server {
    /// Binds `path` (creating its directory), mode 0600. A stale socket file left by a dead
    /// daemon is replaced; a live one is refused.
    pub(crate) fn bind(path: &Path) -> Result<Server, ServerError> {
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
            idle: IDLE_TIMEOUT,
        })
    }

    /// Closes clients idle for `d` instead of [`IDLE_TIMEOUT`].
    #[cfg(test)]
    fn with_idle_timeout(mut self, d: Duration) -> Server {
        self.idle = d;
        self
    }

    /// Serves clients on a background thread, forever.
    pub(crate) fn spawn(
        self,
        handler: Arc<dyn Handler>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("lagd-control".into())
            .spawn(move || self.run(handler))
    }

    fn run(self, handler: Arc<dyn Handler>) {
        let clients = Arc::new(Clients::default());
        let idle = self.idle;
        for conn in self.listener.incoming() {
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("control socket accept: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if clients.len() >= MAX_CLIENTS && !clients.evict_idlest() {
                let _ = reply(
                    &stream,
                    &Response::error(ErrorKind::System, "too many control clients, all busy"),
                );
                continue;
            }
            let Ok(handle) = stream.try_clone() else {
                continue;
            };
            let id = clients.add(handle);
            let h = handler.clone();
            let c = clients.clone();
            let spawned = std::thread::Builder::new()
                .name("lagd-client".into())
                .spawn(move || {
                    if let Err(e) = serve_client(stream, &*h, &c, id, idle) {
                        tracing::debug!("control client: {e}");
                    }
                    c.remove(id);
                });
            if let Err(e) = spawned {
                clients.remove(id);
                tracing::warn!("cannot start a control client thread: {e}");
            }
        }
    }
}

/// One connected client, as the accept loop sees it.
struct Slot {
    /// A handle on its stream, to close it.
    stream: UnixStream,
    /// When it last sent a request or got an answer.
    active: Instant,
    /// A request is being answered (never evicted then).
    busy: bool,
    /// It follows events (evicted only after idle ones).
    following: bool,
}

/// The connected clients.
#[derive(Default)]
struct Clients {
    slots: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn add(&self, stream: UnixStream) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Slot {
                stream,
                active: Instant::now(),
                busy: false,
                following: false,
            },
        );
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn set(&self, id: u64, busy: bool, following: bool) {
        if let Some(s) = self.lock().get_mut(&id) {
            s.busy = busy;
            s.following = following;
            s.active = Instant::now();
        }
    }

    /// Closes the client idle longest (followers last, busy ones never) and forgets it at once;
    /// whether one was. Forgotten here, not when its thread sees the close: until that thread
    /// runs, the next newcomer would otherwise pick the same, already closed client again and
    /// the live clients would exceed [`MAX_CLIENTS`].
    fn evict_idlest(&self) -> bool {
        let mut slots = self.lock();
        let victim = slots
            .iter()
            .filter(|(_, s)| !s.busy)
            .min_by_key(|(_, s)| (s.following, s.active))
            .map(|(id, _)| *id);
        match victim.and_then(|id| slots.remove(&id).map(|s| (id, s))) {
            Some((id, s)) => {
                tracing::debug!(
                    client = id,
                    idle_ms = s.active.elapsed().as_millis() as u64,
                    "control socket full: closing the client idle longest"
                );
                let _ = s.stream.shutdown(std::net::Shutdown::Both);
                true
            }
            None => false,
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

/// Why a request line could not be read.
enum ReadLine {
    /// A complete line (without its newline).
    Line(Vec<u8>),
    /// The client closed the connection.
    Closed,
    /// Longer than [`MAX_REQUEST`].
    TooLong,
    /// Nothing complete within the idle timeout.
    Idle,
}

/// Reads one request line within `deadline`, keeping what follows it in `pending`. Memory is
/// bounded by [`MAX_REQUEST`]; time by the deadline, however slowly the bytes come.
fn read_line(
    stream: &mut UnixStream,
    pending: &mut Vec<u8>,
    deadline: Instant,
) -> std::io::Result<ReadLine> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let rest = pending.split_off(i + 1);
            let mut line = std::mem::replace(pending, rest);
            line.pop();
            return Ok(ReadLine::Line(line));
        }
        if pending.len() > MAX_REQUEST {
            return Ok(ReadLine::TooLong);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(ReadLine::Idle);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(ReadLine::Closed),
            Ok(n) => pending.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                return Ok(ReadLine::Idle);
            }
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Serves one client until it disconnects, goes idle or is evicted.
fn serve_client(
    mut stream: UnixStream,
    handler: &dyn Handler,
    clients: &Clients,
    id: u64,
    idle: Duration,
) -> std::io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut pending = Vec::new();
    loop {
        let line = match read_line(&mut stream, &mut pending, Instant::now() + idle)? {
            ReadLine::Line(l) => l,
            ReadLine::Closed => return Ok(()),
            ReadLine::Idle => {
                let _ = reply(
                    &stream,
                    &Response::error(ErrorKind::BadRequest, "idle for too long: closed"),
                );
                return Ok(());
            }
            ReadLine::TooLong => {
                reply(
                    &stream,
                    &Response::error(ErrorKind::BadRequest, "request line too long"),
                )?;
                return Ok(());
            }
        };
        let line = String::from_utf8_lossy(&line);
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
        clients.set(id, true, false);
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
                    clients.set(id, false, true);
                    return follow_events(&stream, log, from);
                }
            }
            other => reply(&stream, &handler.handle(other))?,
        }
        clients.set(id, false, false);
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
    use std::io::{BufRead, BufReader};

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

    fn fake_server(tag: &str, idle: Duration) -> PathBuf {
        let path = temp_socket(tag);
        let server = Server::bind(&path).unwrap().with_idle_timeout(idle);
        server
            .spawn(Arc::new(Fake {
                log: EventLog::new(16),
            }))
            .unwrap();
        path
    }

    /// Whether the server closed `s` (EOF, possibly after one goodbye line).
    fn closed(s: &mut UnixStream) -> bool {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(s, &mut buf).is_ok()
    }

    /// Two evictions before the evicted clients' threads run close two clients, not one twice.
    #[test]
    fn each_eviction_closes_another_client() {
        let clients = Clients::default();
        let mut peers = Vec::new();
        for _ in 0..3 {
            let (ours, theirs) = UnixStream::pair().unwrap();
            clients.add(ours);
            peers.push(theirs);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(clients.evict_idlest() && clients.evict_idlest());
        assert_eq!(
            clients.len(),
            1,
            "the evicted clients are forgotten at once"
        );
        assert!(closed(&mut peers[0]) && closed(&mut peers[1]));
        peers[2]
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert!(
            std::io::Read::read(&mut peers[2], &mut byte).is_err(),
            "the newest client stays open"
        );
    }

    #[test]
    fn idle_clients_cannot_starve_the_socket() {
        let path = fake_server("idle", IDLE_TIMEOUT);
        let mut idle: Vec<UnixStream> = (0..MAX_CLIENTS)
            .map(|_| UnixStream::connect(&path).unwrap())
            .collect();
        // Let the server register them all (each new connection is answered in turn).
        let mut c = Client::connect(&path).unwrap();
        c.set_timeout(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(c.ping().unwrap().1, 7, "a new client is answered");
        let mut c2 = Client::connect(&path).unwrap();
        c2.set_timeout(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(c2.ping().unwrap().1, 7, "and another");
        // The two oldest idle clients made room.
        assert!(closed(&mut idle[0]) && closed(&mut idle[1]));
        drop(idle);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn slow_and_huge_requests_are_bounded() {
        use std::io::Write as _;
        let path = fake_server("slow", Duration::from_millis(500));
        // A line that never ends, a byte at a time: closed at the deadline, not kept alive
        // by each byte.
        let mut slow = UnixStream::connect(&path).unwrap();
        let start = Instant::now();
        let mut closed_at = None;
        for _ in 0..200 {
            if slow.write_all(b"x").is_err() {
                closed_at = Some(start.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(closed_at.is_some(), "a trickling client was never closed");
        // A line longer than MAX_REQUEST: refused and closed, memory bounded.
        let mut huge = UnixStream::connect(&path).unwrap();
        huge.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let block = vec![b'a'; 64 << 10];
        for _ in 0..(MAX_REQUEST / block.len() + 4) {
            if huge.write_all(&block).is_err() {
                break;
            }
        }
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut huge, &mut answer);
        assert!(answer.contains("too long"), "{answer}");
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
        // The file at `path` is now the new server's socket.
        assert!(UnixStream::connect(&path).is_ok());
        drop(s);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
