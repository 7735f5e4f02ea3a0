//! lagd against bad and hostile input on every socket it serves:
//!
//! - the Prometheus endpoint under a 64 MiB request without a newline and a client sending a
//!   byte a second: lagd's resident memory stays bounded, a concurrent scrape is answered
//!   (while the slow client still waits), other paths get 404, a non-loopback address is warned
//!   about;
//! - 64 idle control clients: `show-aggr` is still answered (the client idle longest makes
//!   room);
//! - a flood of unknown slow-protocols frames on a member: every frame counted (`unknown_rx`
//!   exactly), while the log lines and recorded events about them stay bounded and the event
//!   history keeps what came before.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). Measured values are printed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;
use lagd_dataplane::netns;

/// One namespace with one member whose peer (in a second namespace) has no lagd.
struct Host {
    net: netns::TestNet,
    ns: String,
    peer_ns: String,
    link: String,
    peer: String,
}

fn host(tag: &str) -> Host {
    let mut net = netns::TestNet::new();
    let ns = net.netns(&format!("{tag}H")).unwrap();
    let peer_ns = net.netns(&format!("{tag}P")).unwrap();
    let (link, peer) = net.veth("bi", Some(&ns), Some(&peer_ns)).unwrap();
    net.exec(&peer_ns, &["ip", "link", "set", &peer, "up"])
        .unwrap();
    Host {
        net,
        ns,
        peer_ns,
        link,
        peer,
    }
}

/// `GET path` on `addr` from namespace `ns`: the status line and the body.
fn get(ns: &str, addr: SocketAddr, path: &str) -> (String, String) {
    let path = path.to_string();
    netns::run_in(ns, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: lagd\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        (
            head.lines().next().unwrap_or_default().to_string(),
            body.to_string(),
        )
    })
    .unwrap()
}

#[test]
fn metrics_endpoint_survives_huge_and_slow_clients() {
    if !root_or_skip("metrics_endpoint_survives_huge_and_slow_clients") {
        return;
    }
    let h = host("bim");
    let dir = TempDir::new("bim");
    let addr: SocketAddr = "127.0.0.1:9477".parse().unwrap();
    let cfg = format!(
        "[daemon]\nprometheus = \"0.0.0.0:9477\"\n\n{}",
        lacp_config(std::slice::from_ref(&h.link), "")
    );
    let mut d = Daemon::start(&h.ns, &dir, "d", &cfg);
    let _c = d.client();
    let log = d.log_text();
    assert!(
        log.contains("reachable from other hosts"),
        "no warning for 0.0.0.0:\n{log}"
    );
    let (status, body) = get(&h.ns, addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("lagd_aggregate_up{aggregate=\"lag0\"}"),
        "{body}"
    );
    let (status, _) = get(&h.ns, addr, "/");
    assert!(status.contains("404"), "{status}");
    let pid = d.child.id();
    let rss0 = vm_rss_kib(pid);

    // A client sending a byte a second, and one sending 64 MiB without a newline.
    let slow = netns::spawn_in(&h.ns, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        let mut sent = 0;
        // Until the server cuts it off (or a bound far beyond any deadline).
        while start.elapsed() < Duration::from_secs(60) {
            if s.write_all(b"G").is_err() {
                break;
            }
            sent += 1;
            let mut b = [0u8; 256];
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            match s.read(&mut b) {
                Ok(0) => break,
                Ok(n) => {
                    // The answer has begun: read it to its end (the server closes).
                    let mut answer = b[..n].to_vec();
                    let _ = s.read_to_end(&mut answer);
                    return (sent, String::from_utf8_lossy(&answer).into_owned());
                }
                Err(_) => {}
            }
        }
        (sent, String::new())
    });
    let huge = netns::spawn_in(&h.ns, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let block = vec![b'x'; 64 << 10];
        let mut sent = 0usize;
        while sent < 64 << 20 {
            match s.write(&block) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        let mut answer = String::new();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.read_to_string(&mut answer);
        (sent, answer)
    });
    std::thread::sleep(Duration::from_millis(1500));
    // A scrape while both are connected: answered before the slow client is.
    let t = Instant::now();
    let (status, body) = get(&h.ns, addr, "/metrics");
    let took = t.elapsed();
    assert!(
        status.contains("200") && body.contains("lagd_aggregate_up"),
        "{status}"
    );
    assert!(
        !slow.is_finished(),
        "the slow client was dealt with before the scrape"
    );
    let (huge_sent, huge_answer) = huge.join().unwrap().unwrap();
    let (slow_sent, slow_answer) = slow.join().unwrap().unwrap();
    let rss1 = vm_rss_kib(pid);
    println!(
        "metrics: scrape answered in {:.0} ms beside a 1 B/s client and a 64 MiB request; \
         huge client wrote {} KiB and was answered {huge_line:?} ({} bytes); slow client sent {slow_sent} bytes \
         before {slow_answer:?}; lagd RSS {rss0} KiB -> {rss1} KiB",
        took.as_secs_f64() * 1e3,
        huge_sent >> 10,
        huge_answer.len(),
        huge_line = huge_answer.lines().next().unwrap_or_default(),
        slow_answer = slow_answer.lines().next().unwrap_or_default()
    );
    // lagd answers 431 as soon as the head passes its bound, then reads and throws away what
    // the client still sends (a lingering close, in a small buffer: RSS stays bounded), so the
    // client reads the whole answer once it stops writing.
    assert!(
        huge_answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")
            && huge_answer.ends_with("\r\n\r\nrequest head too large\n"),
        "{huge_answer:?} after {huge_sent} bytes"
    );
    assert!(slow_answer.starts_with("HTTP/1.1 408"), "{slow_answer:?}");
    assert!(
        rss1 < rss0 + 16 * 1024,
        "RSS grew from {rss0} KiB to {rss1} KiB"
    );
    d.signal("TERM");
    assert!(d.wait_exit().success());
}

#[test]
fn idle_control_clients_do_not_starve_lagctl() {
    if !root_or_skip("idle_control_clients_do_not_starve_lagctl") {
        return;
    }
    let h = host("bic");
    let dir = TempDir::new("bic");
    let mut d = Daemon::start(
        &h.ns,
        &dir,
        "d",
        &lacp_config(std::slice::from_ref(&h.link), ""),
    );
    let _ = d.client();
    let idle: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    // lagctl show-aggr, twice over (each new client may take an idle one's slot).
    for _ in 0..2 {
        let mut c = lagd::client::Client::connect(&d.socket).unwrap();
        c.set_timeout(Some(PATIENCE)).unwrap();
        let st = c.show_aggr(Some(AGGR)).unwrap();
        assert_eq!(st.len(), 1);
    }
    println!(
        "control socket: 64 idle clients connected, show-aggr answered twice; {} idle clients closed to make room",
        idle.iter()
            .filter(|s| {
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut b = [0u8; 64];
                matches!((&**s).read(&mut b), Ok(0))
            })
            .count()
    );
    drop(idle);
    d.signal("TERM");
    assert!(d.wait_exit().success());
}

/// An Ethernet frame to the Slow Protocols address with subtype 0x42, which no slow protocol
/// uses.
fn unknown_slow_frame(seq: u32) -> Vec<u8> {
    let mut f = vec![
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x02, 0x02, 0xba, 0xd0, 0x00, 0x00, 0x01,
    ];
    f.extend_from_slice(&[0x88, 0x09, 0x42, 0x01]);
    f.extend_from_slice(&seq.to_be_bytes());
    f.resize(60, 0);
    f
}

#[test]
fn unknown_slow_protocols_flood_is_counted_exactly_and_logged_boundedly() {
    if !root_or_skip("unknown_slow_protocols_flood_is_counted_exactly_and_logged_boundedly") {
        return;
    }
    const FRAMES: u64 = 26_000;
    const PPS: f64 = 5_000.0;
    let h = host("bif");
    let dir = TempDir::new("bif");
    let mut d = Daemon::start_with(
        &h.ns,
        &dir,
        "d",
        &lacp_config(std::slice::from_ref(&h.link), ""),
        &Opts {
            log_level: Some("info".into()),
            ..Opts::default()
        },
    );
    let mut c = d.client();
    let link = h.link.clone();
    let counter = |c: &mut lagd::client::Client| {
        let s = c.show_aggr(Some(AGGR)).unwrap().remove(0);
        member_counter(&s, &link, "unknown_rx")
    };
    let before = counter(&mut c);
    let first_events = c.events(false).unwrap();
    let created = first_events
        .iter()
        .find(|e| e.message.contains("aggregation created"))
        .map(|e| e.seq)
        .expect("a creation event");
    let ifindex: u32 = h
        .net
        .exec(
            &h.peer_ns,
            &["cat", &format!("/sys/class/net/{}/ifindex", h.peer)],
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let flood = netns::spawn_in(&h.peer_ns, move || {
        let sock = flood_socket(ifindex, 4 << 20);
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < FRAMES {
            let due = ((start.elapsed().as_secs_f64() * PPS) as u64).min(FRAMES);
            if sent >= due {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            match sock.send(&unknown_slow_frame(sent as u32)) {
                Ok(()) => sent += 1,
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        (sent, start.elapsed())
    });
    let (sent, took) = flood.join().unwrap().unwrap();
    // Every frame counted: wait (bounded) for the last ones to be read.
    let start = Instant::now();
    let counted = loop {
        let n = counter(&mut c) - before;
        if n >= sent || start.elapsed() > PATIENCE {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The summaries come once each 10 s window is over.
    std::thread::sleep(Duration::from_millis(10_500));
    let _ = counter(&mut c);
    let events = c.events(false).unwrap();
    let log = d.log_text();
    let log_lines = log.lines().filter(|l| l.contains("frame refused")).count();
    let refused_events = events
        .iter()
        .filter(|e| e.message.contains("frame refused") && !e.message.contains("more like"))
        .count();
    let summaries = events
        .iter()
        .filter(|e| e.message.contains("more like"))
        .count();
    println!(
        "flood: {sent} unknown slow-protocols frames in {:.1} s; unknown_rx +{counted}; \
         {log_lines} log lines and {refused_events} events about them, {summaries} summaries; \
         {} events kept in all",
        took.as_secs_f64(),
        events.len()
    );
    assert_eq!(counted, sent, "every frame counted, exactly");
    let windows = (took.as_secs_f64() / 10.0).ceil() as usize + 1;
    let bound = windows * lagd::ratelimit::BURST as usize;
    assert!(
        log_lines <= bound + windows,
        "{log_lines} log lines > {bound}"
    );
    assert!(refused_events <= bound, "{refused_events} events > {bound}");
    assert!(summaries >= 1, "no summary of what was left out");
    assert!(
        events.iter().any(|e| e.seq == created),
        "the history lost its creation event"
    );
    drop(c);
    d.signal("TERM");
    assert!(d.wait_exit().success());
}
