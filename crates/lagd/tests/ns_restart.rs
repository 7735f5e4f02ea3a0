//! Hitless restart (issue 10 item 5): two lagd over two links, LACP short timers, a 2 000 pps
//! UDP stream from A to B. lagd A is restarted under the stream, either by a crash (SIGKILL
//! and an immediate start, as `Restart=on-failure` does) or planned (SIGUSR2: it hands its
//! aggregation to a new image of itself). Checked: A's aggregate keeps its address; B's
//! members stay Collecting and Distributing in every 100 ms sample (the partner never sees
//! the restart); a planned restart loses no datagram. The stream's longest gap (including any
//! silence at the end), the datagrams missing in it and the sender's own longest pause (a
//! stalled sender makes a gap too) are measured and printed, not asserted (a noisy machine):
//! `bench/lag_restart.sh` collects the figures for BENCHMARKS.md.
//!
//! Each case runs with the default configuration (`offload = auto`: the kernel fast path) and
//! with `offload = "off"`. With the fast path, lagd keeps it pinned in a bpffs (here the test's
//! own, in `<state dir>/bpffs`), so that the kernel goes on forwarding while no lagd runs; the
//! restarted lagd adopts it. After the restart A is stopped (SIGTERM): nothing is left pinned.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;
use lagd_dataplane::netns;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PPS: u32 = 2_000;
const SECONDS: u64 = 6;
/// When, into the stream, lagd A is restarted.
const RESTART_AT: Duration = Duration::from_secs(2);

/// A's `offload` setting.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fast {
    /// The default (`auto`): the kernel fast path.
    Auto,
    /// `offload = "off"`: the user-space path only.
    Off,
}

impl Fast {
    fn name(self) -> &'static str {
        match self {
            Fast::Auto => "auto",
            Fast::Off => "off",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum How {
    /// SIGKILL, then started again at once.
    Crash,
    /// SIGUSR2: hand over to a new image of itself.
    Planned,
    /// No restart: the stream's own gaps on this machine (the baseline of the figures).
    None,
}

impl How {
    fn name(self) -> &'static str {
        match self {
            How::Crash => "crash",
            How::Planned => "planned",
            How::None => "none",
        }
    }
}

/// B's members as seen every 100 ms: (time since start, summary) of every sample where some
/// member was not Collecting and Distributing.
fn sample_partner(
    socket: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut bad = Vec::new();
        let mut samples = 0;
        let mut c = lagd::client::Client::connect(&socket).expect("connect B");
        c.set_timeout(Some(Duration::from_secs(5))).unwrap();
        while !stop.load(Ordering::SeqCst) {
            let t = Instant::now();
            match c.show_aggr(Some(AGGR)) {
                Ok(v) => {
                    samples += 1;
                    let a = &v[0];
                    if !(a.up
                        && a.members.len() == 2
                        && a.members.iter().all(|m| m.collecting && m.distributing))
                    {
                        bad.push(format!(
                            "+{:.1}s: {}",
                            start.elapsed().as_secs_f64(),
                            systest_summary(a)
                        ));
                    }
                }
                Err(e) => bad.push(format!("+{:.1}s: {e}", start.elapsed().as_secs_f64())),
            }
            std::thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
        }
        (samples, bad)
    })
}

fn systest_summary(a: &lagd::control::proto::AggrStatus) -> String {
    a.members
        .iter()
        .map(|m| {
            format!(
                "{} mux={} c/d={}/{}",
                m.name, m.mux, m.collecting, m.distributing
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn run(how: How, fast: Fast) {
    let tag = format!("hitless {} restart, offload {}", how.name(), fast.name());
    let extra = match fast {
        Fast::Auto => "policy = \"L3,L4\"".to_string(),
        Fast::Off => "offload = \"off\"\npolicy = \"L3,L4\"".to_string(),
    };
    let mut h = Hosts::start("nrs", 2, |_, links| lacp_config(links, &extra));
    h.wait_forwarding();
    address_aggregates(&h.net, &h.a, &h.b);
    // Restart A with its own state directory (the crash case starts a new process on it).
    let state = h.dir.path("state-a");
    let state_arg = state.to_string_lossy().into_owned();
    // Where A pins its fast path: a bpffs that outlives A, as /sys/fs/bpf on a host.
    let bpffs = BpfFs::mount(state.join("bpffs"));
    let cfg_a = lacp_config(&h.links_a, &extra);
    drop(std::mem::replace(
        &mut h.ca,
        lagd::client::Client::connect(&h.db.socket).unwrap(),
    ));
    h.da.signal("TERM");
    h.da.wait_exit();
    h.da = Daemon::start_args(&h.a, &h.dir, "a", &cfg_a, &["--state-dir", &state_arg]);
    h.ca = h.da.client();
    h.wait_forwarding();
    h.net
        .exec(
            &h.a,
            &[
                "ip",
                "addr",
                "replace",
                &format!("{ADDR_A}/24"),
                "dev",
                AGGR,
            ],
        )
        .unwrap();
    // Warm the path (ARP) before measuring.
    let (_, warm) = Udp::start(&h.a, &h.b, [198, 18, 0, 2], 7001, 200, 200).finish();
    assert!(warm.unique > 150, "{tag}: no path A -> B: {warm}");

    let pinned = bpffs.contents();
    match fast {
        Fast::Auto => assert!(
            pinned.iter().any(|p| p.ends_with("/tx/table"))
                && pinned.iter().any(|p| p.contains("/rx/")),
            "{tag}: the fast path is not pinned before the restart: {pinned:?}; log:\n{}",
            h.da.log_text()
        ),
        Fast::Off => assert!(
            pinned.is_empty(),
            "{tag}: pinned with offload off: {pinned:?}"
        ),
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_partner(h.db.socket.clone(), stop.clone());
    let stream = Udp::start(&h.a, &h.b, [198, 18, 0, 2], 7000, PPS, PPS as u64 * SECONDS);
    std::thread::sleep(RESTART_AT);
    let t0 = Instant::now();
    let restart_took = match how {
        How::Crash => {
            h.da.child.kill().unwrap();
            h.da.child.wait().unwrap();
            h.da = Daemon::start_args(&h.a, &h.dir, "a", &cfg_a, &["--state-dir", &state_arg]);
            h.ca = h.da.client();
            t0.elapsed()
        }
        How::Planned => {
            const NEW_IMAGE: &str = "restarted keeping the aggregations";
            let images = h.da.log_text().matches(NEW_IMAGE).count();
            h.da.signal("USR2");
            let start = Instant::now();
            // The same process answers again once the new image runs (the old one may still
            // answer a moment after the signal).
            loop {
                if h.da.log_text().matches(NEW_IMAGE).count() > images
                    && let Ok(mut c) = lagd::client::Client::connect(&h.da.socket)
                    && c.ping().is_ok()
                {
                    break;
                }
                assert!(start.elapsed() < PATIENCE, "{tag}: A did not come back");
                assert!(
                    h.da.child.try_wait().unwrap().is_none(),
                    "{tag}: A exited; log:\n{}",
                    h.da.log_text()
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            h.ca = h.da.client();
            t0.elapsed()
        }
        How::None => Duration::ZERO,
    };
    let (sent, got) = stream.finish();
    stop.store(true, Ordering::SeqCst);
    let (samples, bad) = sampler.join().unwrap();

    let tail = got.last_rx_ns.map_or(Duration::ZERO, |l| {
        Duration::from_nanos(sent.finished_ns.saturating_sub(l))
    });
    let gap = got.max_gap.max(tail);
    println!(
        "RESTART-FIGURE how={} offload={} sent={} received={} lost={} reordered={} longest_gap_ms={:.1} gap_missing={} sender_gap_ms={:.1} tail_silence_ms={:.1} restart_ms={:.1} partner_samples={} partner_not_cd={}",
        how.name(),
        fast.name(),
        sent.sent,
        got.unique,
        got.lost,
        got.reordered,
        gap.as_secs_f64() * 1e3,
        got.max_gap_resumed_seq
            .saturating_sub(got.max_gap_after_seq)
            .saturating_sub(1),
        sent.max_send_gap_ns as f64 / 1e6,
        tail.as_secs_f64() * 1e3,
        restart_took.as_secs_f64() * 1e3,
        samples,
        bad.len()
    );
    let log = h.da.log_text();
    assert!(
        how == How::None || log.contains("protocol state of the previous lagd resumed"),
        "{tag}: protocol state not resumed; log:\n{log}"
    );
    let addr = netns::ns_cmd(&h.a, &["ip", "addr", "show", "dev", AGGR]).unwrap();
    assert!(
        addr.contains(&format!("{ADDR_A}/24")),
        "{tag}: address lost: {addr}"
    );
    assert!(samples >= 40, "{tag}: only {samples} samples of B");
    assert!(
        bad.is_empty(),
        "{tag}: B's members left Collecting/Distributing:\n{}\nlog A:\n{log}",
        bad.join("\n")
    );
    if how == How::Planned {
        assert_eq!(
            got.lost, 0,
            "{tag}: a planned restart lost datagrams: {got}"
        );
    }
    if fast == Fast::Auto && how != How::None {
        assert!(
            log.contains("kernel fast path of the previous lagd adopted"),
            "{tag}: the pinned fast path was not adopted; log:\n{log}"
        );
    }
    let st = h.status_a();
    assert!(
        all_forwarding(&st, 2),
        "{tag}: A not forwarding after the restart"
    );
    // A clean stop leaves nothing pinned (and so nothing of the fast path in the kernel).
    drop(std::mem::replace(
        &mut h.ca,
        lagd::client::Client::connect(&h.db.socket).unwrap(),
    ));
    h.da.signal("TERM");
    let st = h.da.wait_exit();
    assert!(
        st.success(),
        "{tag}: A's stop: {st}; log:\n{}",
        h.da.log_text()
    );
    let left = bpffs.contents();
    println!(
        "PINNED how={} offload={} before_restart={} after_sigterm={}",
        how.name(),
        fast.name(),
        pinned.len(),
        left.len()
    );
    assert!(
        left.is_empty(),
        "{tag}: left pinned after SIGTERM: {left:?}"
    );
}

#[test]
fn crash_restart_without_fast_path() {
    if root_or_skip("crash_restart_without_fast_path") {
        run(How::Crash, Fast::Off);
    }
}

#[test]
fn crash_restart_default_configuration() {
    if root_or_skip("crash_restart_default_configuration") {
        run(How::Crash, Fast::Auto);
    }
}

#[test]
fn planned_restart_without_fast_path() {
    if root_or_skip("planned_restart_without_fast_path") {
        run(How::Planned, Fast::Off);
    }
}

#[test]
fn planned_restart_default_configuration() {
    if root_or_skip("planned_restart_default_configuration") {
        run(How::Planned, Fast::Auto);
    }
}

/// The same stream without a restart, for `bench/lag_restart.sh` (set `LAGD_RESTART_BASELINE`):
/// how long the stream's gaps are on this machine anyway.
#[test]
fn no_restart_baseline() {
    if std::env::var_os("LAGD_RESTART_BASELINE").is_none() {
        eprintln!(
            "no_restart_baseline: skipped (set LAGD_RESTART_BASELINE=1; bench/lag_restart.sh does)"
        );
        return;
    }
    if root_or_skip("no_restart_baseline") {
        run(How::None, Fast::Auto);
        run(How::None, Fast::Off);
    }
}
