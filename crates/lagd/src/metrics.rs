//! Prometheus text exposition (`[daemon] prometheus = "127.0.0.1:9477"`): the metric set of
//! [`exposition`] (aggregates, members, LACP state, DT), on `GET /metrics` (404 elsewhere).
//!
//! A minimal HTTP/1.x responder, bounded against slow and hostile clients: each connection on
//! its own short-lived thread (at most [`MAX_CONNECTIONS`] at once), its request head read
//! into at most [`MAX_HEAD`] bytes within [`HEAD_DEADLINE`] in all (not per read: a client
//! sending a byte a second is cut off too), its answer written within [`WRITE_TIMEOUT`]. A
//! scrape is never held up by another client. Binding to an address other hosts reach is
//! allowed but warned about.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod exposition;

pub(crate) use exposition::{Snapshot, render};

/// Largest request head (request line and headers) read.
pub(crate) const MAX_HEAD: usize = 8 << 10;
/// Time allowed for the whole request head.
pub(crate) const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// Time allowed for writing the answer.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once.
pub(crate) const MAX_CONNECTIONS: usize = 32;
/// After an answer, how long the client's further input is read and discarded before the
/// connection is closed (a lingering close, see [`linger`]).
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(10);
/// ... and how much of it at most.
pub(crate) const LINGER_BYTES: u64 = 256 << 20;

/// A serving endpoint: its accepting thread runs until [`Endpoint::stop`].
pub(crate) struct Endpoint {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and closes the listening socket (a connection being answered
    /// finishes); the address is free again when this returns.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        match TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            Ok(_) => {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
            }
            // It stops at its next connection.
            Err(e) => tracing::warn!("metrics endpoint {}: stopping: {e}", self.addr),
        }
    }
}

/// Serves `body()` as the metrics on `addr` on a background thread.
pub(crate) fn serve<F>(addr: SocketAddr, body: F) -> std::io::Result<Endpoint>
where
    F: Fn() -> String + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr)?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "Prometheus endpoint {addr} is reachable from other hosts: the metrics name every \
             aggregate and member; bind it to 127.0.0.1 (or ::1), or filter the port"
        );
    }
    serve_on(listener, body)
}

/// Serves `body()` as the metrics on `listener` (one thread accepting, one per connection).
pub(crate) fn serve_on<F>(listener: TcpListener, body: F) -> std::io::Result<Endpoint>
where
    F: Fn() -> String + Send + Sync + 'static,
{
    let addr = listener.local_addr()?;
    let body = Arc::new(body);
    let active = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name("lagd-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let stream = match conn {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!("metrics accept: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    // Every slot is taken (each frees itself within the deadlines).
                    let _ = respond(&stream, 503, "too many connections\n", false);
                    continue;
                }
                active.fetch_add(1, Ordering::Relaxed);
                let (a, b) = (active.clone(), body.clone());
                let spawned = std::thread::Builder::new()
                    .name("lagd-metrics-conn".into())
                    .stack_size(256 << 10)
                    .spawn(move || {
                        if let Err(e) = answer(stream, &*b) {
                            tracing::debug!("metrics client: {e}");
                        }
                        a.fetch_sub(1, Ordering::Relaxed);
                    });
                if let Err(e) = spawned {
                    active.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!("metrics: cannot start a connection thread: {e}");
                }
            }
        })?;
    Ok(Endpoint {
        addr,
        stop,
        thread: Some(thread),
    })
}

/// How a request head ended.
enum Head {
    /// The request line.
    Complete(String),
    /// Longer than [`MAX_HEAD`].
    TooLarge,
    /// Not complete within [`HEAD_DEADLINE`], or the client went away.
    Incomplete,
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        let got = buf.get(..len).unwrap_or_default();
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| {
            // Tolerate bare newlines.
            got.windows(2).position(|w| w == b"\n\n")
        }) {
            let head = String::from_utf8_lossy(got.get(..end).unwrap_or_default());
            let line = head.lines().next().unwrap_or_default().to_string();
            return Ok(Head::Complete(line));
        }
        if len >= buf.len() {
            return Ok(Head::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Head::Incomplete);
        }
        stream.set_read_timeout(Some(left))?;
        let free = buf.get_mut(len..).unwrap_or_default();
        match stream.read(free) {
            Ok(0) => return Ok(Head::Incomplete),
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Head::Incomplete);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn respond(mut s: &TcpStream, status: u16, body: &str, head_only: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let kind = if status == 200 {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    // One buffer, one write: `write!` on the socket itself sends each piece of the format as a
    // segment of its own ("HTTP/1.1 ", then "408", ...), and a client reading once saw a part.
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        answer.push_str(body);
    }
    s.write_all(answer.as_bytes())?;
    s.flush()
}

/// A lingering close: the answer is complete (our side shut down for writing, so the client
/// reads it to its end), then what the client still sends is read and thrown away, in a small
/// buffer, until it closes, for at most [`LINGER_TIME`] and [`LINGER_BYTES`]. Closing with its
/// bytes unread instead makes the kernel reset the connection, and the reset can overtake the
/// answer in the client's queue (a client refused with 431 saw nothing, or "HTTP/1.1 ").
fn linger(mut stream: TcpStream) -> std::io::Result<()> {
    stream.shutdown(std::net::Shutdown::Write)?;
    let deadline = Instant::now() + LINGER_TIME;
    let mut sink = [0u8; 16 << 10];
    let mut drained = 0u64;
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => drained += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(())
}

fn answer(mut stream: TcpStream, body: &dyn Fn() -> String) -> std::io::Result<()> {
    let line = match read_head(&mut stream)? {
        Head::Complete(l) => l,
        Head::TooLarge => {
            respond(&stream, 431, "request head too large\n", false)?;
            return linger(stream);
        }
        // Everything the client sent was read: nothing to linger for.
        Head::Incomplete => return respond(&stream, 408, "request not complete in time\n", false),
    };
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => respond(&stream, 200, &body(), method == "HEAD"),
        ("GET" | "HEAD", _) => respond(
            &stream,
            404,
            "not found: the metrics are at /metrics\n",
            method == "HEAD",
        ),
        ("", _) => respond(&stream, 400, "bad request\n", false),
        _ => respond(&stream, 405, "only GET and HEAD\n", false),
    }?;
    // A body or a pipelined request may follow the head.
    linger(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.write_all(request);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn serves_metrics_only_and_bounds_requests() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let endpoint = serve_on(l, || "lagd_x 1\n".into()).unwrap();
        let ok = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nlagd_x 1\n"), "{ok}");
        assert!(exchange(addr, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(exchange(addr, b"GET /other HTTP/1.0\n\n").starts_with("HTTP/1.1 404"));
        assert!(exchange(addr, b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(
            head.starts_with("HTTP/1.1 200") && !head.contains("lagd_x"),
            "{head}"
        );
        // A head larger than MAX_HEAD without an end: refused after MAX_HEAD bytes, and the
        // whole answer reaches a client that writes on long after (a lingering close).
        let big = vec![b'a'; 4 * MAX_HEAD];
        assert!(exchange(addr, &big).starts_with("HTTP/1.1 431"));
        let huge = vec![b'a'; 8 << 20];
        let out = exchange(addr, &huge);
        assert!(
            out.starts_with("HTTP/1.1 431") && out.ends_with("\r\n\r\nrequest head too large\n"),
            "{out:?}"
        );
        // A client that sends one byte and waits does not hold up a scrape.
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"G").unwrap();
        let ok = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        slow.set_nonblocking(true).unwrap();
        let mut b = [0u8; 16];
        assert!(
            matches!(slow.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the slow client was answered before the scrape"
        );
        // ... and is cut off at the deadline.
        slow.set_nonblocking(false).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut out = String::new();
        let _ = slow.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 408"), "{out}");
        // Stopped: the address is free again at once.
        endpoint.stop();
        assert!(TcpStream::connect(addr).is_err(), "still listening");
        TcpListener::bind(addr).expect("the address is free");
    }
}
