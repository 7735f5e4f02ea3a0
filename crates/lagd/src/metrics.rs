//! Prometheus text exposition (`[daemon] prometheus = "127.0.0.1:9477"`): the metric set of
//! [`exposition`] (aggregates, members, LACP state, DT). A minimal HTTP responder on one
//! thread: every request, whatever its path, gets the metrics.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::control::proto::{Reply, Request, Response};
use crate::control::server::Handler;
use crate::engine::Engine;

mod exposition;

pub use exposition::{Snapshot, esc, render};

/// The metrics of `engine` now, as the endpoint serves them.
pub fn scrape(engine: &Engine) -> String {
    let aggrs = engine.show(None).unwrap_or_default();
    let links = engine.show_link(None).unwrap_or_default();
    let dt = match engine.handle(Request::ShowDt) {
        Response::Ok(Reply::Dt { status }) if !status.is_null() => {
            serde_json::from_value::<crate::dt::DtView>(status).ok()
        }
        _ => None,
    };
    render(&Snapshot {
        aggrs: &aggrs,
        links: &links,
        dt: dt.as_ref(),
    })
}

/// Serves the metrics on `addr` on a background thread.
pub fn serve(addr: SocketAddr, engine: Arc<Engine>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    std::thread::Builder::new()
        .name("lagd-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(s) => {
                        if let Err(e) = answer(s, &engine) {
                            tracing::debug!("metrics client: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::warn!("metrics accept: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        })?;
    Ok(())
}

fn answer(stream: TcpStream, engine: &Engine) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    let mut total = 0;
    // Read the request head up to the blank line (bounded).
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        total += n;
        if n == 0 || line.trim().is_empty() || total > 8192 {
            break;
        }
    }
    let body = scrape(engine);
    let mut s = &stream;
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
