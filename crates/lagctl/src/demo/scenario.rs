//! The real demo's timeline: build the hosts, start both daemons, wait for LACP, run 16 TCP
//! flows A → B and a sequence-numbered UDP stream B → A, print one Sun Trunking table per
//! second, cut the UDP stream's link at 10 s, restore it at 20 s, stop everything at 30 s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lagd_control::client::Client;
use lagd_control::proto::{AggrStatus, LinkStats};
use lagd_sim::{PeakTracker, sun_table};
use lagd_trafgen::udp_echo::{self, UdpEcho};
use lagd_trafgen::{TcpFlows, TcpFlowsConfig, TcpSink, TcpSinkConfig, UdpSender, UdpSenderConfig};
use systest::lagd_instance::all_forwarding;

use super::daemon::{DaemonError, Lagd};
use super::interrupt::{Interrupt, Interrupted};
use super::net::{DemoNet, NetError};
use super::sample::{Sample, busiest, mean_out, sample};
use super::stream::{Recorder, gap_around};
use super::summary::Measured;
use lagctl::admin::clock::now_title;

/// Timing and sizes of the demo.
#[derive(Clone, Debug)]
pub struct Timeline {
    /// Member links.
    pub links: usize,
    /// TCP flows A → B.
    pub flows: u32,
    /// How long the TCP flows run.
    pub traffic: Duration,
    /// When (from the traffic start) the link is cut.
    pub cut_at: Duration,
    /// When it is restored.
    pub restore_at: Duration,
    /// UDP datagrams per second B → A.
    pub udp_pps: u32,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            links: 4,
            flows: 16,
            traffic: Duration::from_secs(30),
            cut_at: Duration::from_secs(10),
            restore_at: Duration::from_secs(20),
            udp_pps: 2000,
        }
    }
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The namespaces or links could not be built.
    #[error("cannot build the namespaces: {0}")]
    Net(#[from] NetError),
    /// A daemon failed.
    #[error("{0}")]
    Daemon(#[from] DaemonError),
    /// The control socket failed.
    #[error("lagd control socket: {0}")]
    Client(#[from] lagd_control::client::ClientError),
    /// Traffic generation failed.
    #[error("traffic: {0}")]
    Traffic(#[from] lagd_trafgen::Error),
    /// Something did not happen in time.
    #[error("{0}")]
    Timeout(String),
    /// Files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted(#[from] Interrupted),
}

/// The outcome: measurements and the per-second samples.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Measurements.
    pub measured: Measured,
    /// One sample per second.
    pub samples: Vec<Sample>,
}

const AGGR: &str = "aggr1";
const ADDR_A: &str = "198.18.0.1";
const ADDR_B: &str = "198.18.0.2";
/// The UDP echo port used to check reachability.
const ECHO_PORT: u16 = 7;

/// The daemons' configuration. `rebalance`: whether the distributor moves conversations to
/// even the load (host A: yes; host B, which sends the UDP stream, no, so that the stream
/// stays on the link found before the cut).
fn config(links: &[String], rebalance: bool) -> String {
    let list: Vec<String> = links.iter().map(|l| format!("\"{l}\"")).collect();
    format!(
        "[[aggregation]]\nname = \"{AGGR}\"\nlinks = [{}]\nmode = \"lacp\"\nlacp = \"active\"\n\
         timer = \"short\"\npolicy = \"L3,L4\"\n{}",
        list.join(", "),
        if rebalance {
            ""
        } else {
            "rebalance_interval = \"off\"\n"
        }
    )
}

fn status(c: &mut Client) -> Result<AggrStatus, DemoError> {
    c.show_aggr(Some(AGGR))?
        .into_iter()
        .next()
        .ok_or_else(|| DemoError::Timeout(format!("lagd has no aggregation {AGGR}")))
}

fn forwarding(a: &AggrStatus, name: &str) -> bool {
    a.members
        .iter()
        .any(|m| m.name == name && m.collecting && m.distributing)
}

fn members(c: &mut Client) -> Result<Vec<LinkStats>, DemoError> {
    Ok(c.show_link(Some(AGGR))?)
}

/// A scratch directory for the daemons' configuration, sockets and logs; removed on drop
/// unless [`Scratch::keep`] was called.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn new(tag: &str) -> std::io::Result<Scratch> {
        let path = std::env::temp_dir().join(tag);
        std::fs::create_dir_all(&path)?;
        Ok(Scratch { path, keep: false })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Running traffic, stopped (and joined) on drop.
#[derive(Default)]
struct Traffic {
    sink: Option<TcpSink>,
    flows: Option<TcpFlows>,
    udp_rx: Option<Recorder>,
    udp_tx: Option<UdpSender>,
}

impl Drop for Traffic {
    fn drop(&mut self) {
        if let Some(f) = self.flows.take() {
            f.stop();
            let _ = f.join();
        }
        if let Some(s) = self.udp_tx.take() {
            s.stop();
            let _ = s.join();
        }
        if let Some(s) = self.sink.take() {
            s.stop();
            let _ = s.join();
        }
        if let Some(r) = self.udp_rx.take() {
            let _ = r.finish();
        }
    }
}

/// Runs the demo with the `lagd` binary `bin`; prints as it goes.
pub fn run(bin: &Path, tl: &Timeline, intr: &Interrupt) -> Result<Outcome, DemoError> {
    let mut out = Outcome::default();
    println!(
        "lagd demo: two hosts A and B (network namespaces) joined by {} veth links shaped to 200 Mbit/s \
         (tc tbf on both ends); lagd on each: LACP active, short timers, policy L3,L4",
        tl.links
    );
    let net = DemoNet::build(tl.links)?;
    let links = net.links.clone();
    out.measured.links = links.clone();
    println!(
        "hosts: {} and {}; links: {}",
        net.a,
        net.b,
        links.join(", ")
    );
    let mut scratch = Scratch::new(&net.a)?;
    let result = run_on(bin, tl, intr, &net, &scratch.path, &mut out);
    if let Err(e) = &result
        && !matches!(e, DemoError::Interrupted(_))
    {
        scratch.keep = true;
        eprintln!(
            "lagctl: the daemons' configuration and logs are kept in {}",
            scratch.path.display()
        );
    }
    result.map(|()| out)
}

fn wait_until(
    intr: &Interrupt,
    patience: Duration,
    what: &str,
    mut f: impl FnMut() -> Result<bool, DemoError>,
) -> Result<Duration, DemoError> {
    let start = Instant::now();
    loop {
        intr.check()?;
        if f()? {
            return Ok(start.elapsed());
        }
        if start.elapsed() > patience {
            return Err(DemoError::Timeout(format!(
                "{what}: not reached within {} s",
                patience.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_on(
    bin: &Path,
    tl: &Timeline,
    intr: &Interrupt,
    net: &DemoNet,
    dir: &Path,
    out: &mut Outcome,
) -> Result<(), DemoError> {
    let links = net.links.clone();
    let n = links.len();
    let started = Instant::now();
    let mut da = Lagd::start(bin, &net.a, dir, "a", &config(&links, true))?;
    let mut db = Lagd::start(bin, &net.b, dir, "b", &config(&links, false))?;
    let mut ca = da.client(Duration::from_secs(20))?;
    let mut cb = db.client(Duration::from_secs(20))?;
    let patience = Duration::from_secs(40);
    wait_until(intr, patience, "LACP on host A", || {
        Ok(all_forwarding(&status(&mut ca)?, n))
    })?;
    wait_until(intr, patience, "LACP on host B", || {
        Ok(all_forwarding(&status(&mut cb)?, n))
    })?;
    out.measured.lacp_formed = Some(started.elapsed());
    println!(
        "LACP formed: every link Collecting and Distributing on both hosts after {:.1} s\n",
        started.elapsed().as_secs_f64()
    );
    net.ip(
        &net.a,
        &["addr", "add", &format!("{ADDR_A}/24"), "dev", AGGR],
    )?;
    net.ip(
        &net.b,
        &["addr", "add", &format!("{ADDR_B}/24"), "dev", AGGR],
    )?;
    // Reachability, and ARP resolved both ways, before measuring: a UDP echo (lagd's own
    // traffic tools; no `ping` needed).
    let echo_b = SocketAddr::from(([198, 18, 0, 2], ECHO_PORT));
    let echo_a = SocketAddr::from(([198, 18, 0, 1], ECHO_PORT));
    let eb = UdpEcho::spawn(Some(&net.b), echo_b)?;
    let ea = UdpEcho::spawn(Some(&net.a), echo_a)?;
    wait_until(intr, Duration::from_secs(20), "UDP echo A → B", || {
        Ok(udp_echo::probe(Some(&net.a), echo_b, Duration::from_secs(1)).is_ok())
    })?;
    let _ = udp_echo::probe(Some(&net.b), echo_a, Duration::from_secs(1));
    let _ = (eb.stop(), ea.stop());

    for (host, c) in [("A", &mut ca), ("B", &mut cb)] {
        println!("# host {host}: lagctl show-aggr -L {AGGR}");
        println!("{}", show_aggr_lacp(&status(c)?));
    }

    // Traffic: the UDP stream B → A starts first, alone for a second, to find its link.
    let total = tl.traffic.as_secs_f64();
    let mut traffic = Traffic::default();
    traffic.udp_rx = Some(Recorder::spawn(
        &net.a,
        SocketAddr::from(([198, 18, 0, 1], 5202)),
        7,
    )?);
    let mut sink_cfg = TcpSinkConfig::new(
        SocketAddr::from(([198, 18, 0, 2], 5201)),
        tl.flows as usize,
        tl.traffic + Duration::from_secs(20),
    );
    sink_cfg.netns = Some(net.b.clone());
    traffic.sink = Some(TcpSink::spawn(sink_cfg)?);

    let b0 = members(&mut cb)?;
    let udp_count = u64::from(tl.udp_pps) * (tl.traffic.as_secs() + 1);
    let mut sc = UdpSenderConfig::new(
        SocketAddr::from(([198, 18, 0, 1], 5202)),
        tl.udp_pps,
        udp_count,
    );
    sc.netns = Some(net.b.clone());
    sc.stream_id = 7;
    traffic.udp_tx = Some(UdpSender::spawn(sc)?);
    intr.sleep(Duration::from_secs(1))?;
    let b1 = members(&mut cb)?;
    let (cut_idx, seen) = busiest(&links, &b0, &b1, false).unwrap_or((1, 0));
    let on_link = seen * 2 >= u64::from(tl.udp_pps);
    let cut_link = links.get(cut_idx).cloned().unwrap_or_default();
    out.measured.cut_link = Some(cut_link.clone());
    out.measured.stream_on_cut_link = on_link;
    println!(
        "UDP stream B → A at {} datagrams/s (sequence-numbered; host B does not rebalance, so it stays on its link) {}",
        tl.udp_pps,
        if on_link {
            format!(
                "travels on {cut_link} ({seen} frames in the last second): that link will be cut"
            )
        } else {
            format!("could not be located on one link; {cut_link} will be cut")
        }
    );

    let mut fc = TcpFlowsConfig::new(
        SocketAddr::from(([198, 18, 0, 2], 5201)),
        tl.flows,
        tl.traffic,
    );
    fc.netns = Some(net.a.clone());
    traffic.flows = Some(TcpFlows::spawn(fc)?);
    println!(
        "{} TCP flows A → B for {:.0} s; cut at {:.0} s, restore at {:.0} s. Host A's links, every second:\n",
        tl.flows,
        total,
        tl.cut_at.as_secs_f64(),
        tl.restore_at.as_secs_f64()
    );

    let debug = std::env::var_os("LAGCTL_DEMO_DEBUG").is_some();
    let t0 = Instant::now();
    let mut prev = members(&mut ca)?;
    let mut prev_t = t0;
    let mut peak = PeakTracker::default();
    let mut second = 1u64;
    let mut cut: Option<(Instant, u64)> = None;
    let mut restored: Option<(Instant, u64)> = None;
    let mut printed_cut_view = false;
    loop {
        intr.check()?;
        let now = Instant::now();
        let t = now.duration_since(t0);
        if cut.is_none() && t >= tl.cut_at {
            let mono = lagd_trafgen::clock::now_ns();
            net.set_b_link(&cut_link, false)?;
            cut = Some((Instant::now(), mono));
            println!(
                ">>> {:>5.1} s  CUT {cut_link}: carrier down (ip link set {cut_link} down on host B's end)\n",
                t.as_secs_f64()
            );
        }
        if let Some((at, _)) = cut
            && restored.is_none()
        {
            if out.measured.cut_detected.is_none() && !forwarding(&status(&mut ca)?, &cut_link) {
                let d = at.elapsed();
                out.measured.cut_detected = Some(d);
                println!(
                    ">>> {:>5.1} s  host A: {cut_link} left Collecting and Distributing ({:.0} ms after the cut); its conversations moved to the other links\n",
                    t.as_secs_f64(),
                    d.as_secs_f64() * 1e3
                );
            }
            if t >= tl.restore_at {
                let mono = lagd_trafgen::clock::now_ns();
                net.set_b_link(&cut_link, true)?;
                restored = Some((Instant::now(), mono));
                println!(
                    ">>> {:>5.1} s  RESTORE {cut_link}: carrier up (ip link set {cut_link} up on host B's end)\n",
                    t.as_secs_f64()
                );
            }
        }
        if let Some((at, _)) = restored
            && out.measured.rejoined.is_none()
            && forwarding(&status(&mut ca)?, &cut_link)
        {
            let d = at.elapsed();
            out.measured.rejoined = Some(d);
            println!(
                ">>> {:>5.1} s  {cut_link} is Collecting and Distributing again ({:.0} ms after the restore, status polled every 100 ms)\n",
                t.as_secs_f64(),
                d.as_secs_f64() * 1e3
            );
        }
        if t >= Duration::from_secs(second) {
            let cur = members(&mut ca)?;
            let dt = now.duration_since(prev_t).as_secs_f64();
            let s = sample(t.as_secs_f64(), &links, &prev, &cur, dt);
            print!(
                "{}",
                sun_table(&now_title(), &s.rows, s.total_mbps, &mut peak)
            );
            out.samples.push(s);
            if debug && let Some(r) = &traffic.udp_rx {
                eprintln!(
                    "[debug] {:.1} s: {} datagrams",
                    t.as_secs_f64(),
                    r.received()
                );
            }
            prev = cur;
            prev_t = now;
            second += 1;
            if cut.is_some()
                && restored.is_none()
                && !printed_cut_view
                && out.measured.cut_detected.is_some()
            {
                printed_cut_view = true;
                println!("# host A during the cut: lagctl show-aggr -L {AGGR}");
                println!("{}", show_aggr_lacp(&status(&mut ca)?));
            }
            if t >= tl.traffic {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Wind down: the flows end by themselves at `traffic`; the stream just after.
    let flows = traffic.flows.take().map(TcpFlows::join).transpose()?;
    let sent = traffic.udp_tx.take().map(UdpSender::join).transpose()?;
    // The sink ends by itself once every flow has delivered its end of stream.
    let sink = traffic.sink.take().map(TcpSink::join).transpose()?;
    intr.sleep(Duration::from_millis(400))?;
    let udp = traffic.udp_rx.take().map(Recorder::finish).transpose()?;
    if let (Some(s), Some(rec)) = (&sent, &udp) {
        let r = &rec.report;
        out.measured.udp = Some((
            s.sent,
            r.unique,
            s.sent.saturating_sub(r.unique),
            r.duplicated,
            r.reordered,
        ));
        out.measured.udp_detail = r.to_string();
        let second = 1_000_000_000;
        if let Some((_, mono)) = cut {
            out.measured.failover_gap = gap_around(&rec.arrivals, mono, second)
                .map(|(g, start, lost)| (g, start as f64 / 1e9, lost));
        }
        if let Some((_, mono)) = restored {
            out.measured.restore_gap =
                gap_around(&rec.arrivals, mono, 3 * second).map(|(g, _, lost)| (g, lost));
        }
    }
    if let Some(k) = &sink {
        out.measured.tcp_problems = k
            .flows
            .iter()
            .filter(|f| !f.intact())
            .map(|f| {
                let id = f
                    .flow_id
                    .map_or("without a hello".into(), |i| format!("{i}"));
                let mut why = Vec::new();
                if let Some(at) = f.corrupt_at {
                    why.push(format!("corrupt at byte {at}"));
                }
                if !f.eof {
                    why.push("no orderly close".to_string());
                }
                if let Some(e) = &f.error {
                    why.push(format!("read error: {e}"));
                }
                format!(
                    "flow {id} from {}: {} bytes, {}",
                    f.peer,
                    f.bytes,
                    why.join(", ")
                )
            })
            .collect();
    }
    if let (Some(f), Some(k)) = (&flows, &sink) {
        let intact = k.flows.iter().filter(|x| x.intact()).count();
        out.measured.tcp = Some((f.flows.len(), intact, k.total_bytes(), total));
    }
    let (c, r) = (tl.cut_at.as_secs_f64(), tl.restore_at.as_secs_f64());
    out.measured.before = mean_out(&out.samples, 2.0, c);
    out.measured.during = mean_out(&out.samples, c + 2.0, r);
    out.measured.after = mean_out(&out.samples, r + 5.0, total);
    drop(ca);
    drop(cb);
    let ok_a = da.stop(Duration::from_secs(10));
    let ok_b = db.stop(Duration::from_secs(10));
    out.measured.clean_exit = ok_a && ok_b;
    Ok(())
}

/// `lagctl show-aggr -L` of one aggregation, with the admin CLI's own formatter (seed 004's
/// columns), so the demo prints exactly what a user would type to see.
fn show_aggr_lacp(a: &lagd_control::proto::AggrStatus) -> String {
    use lagctl::admin::{show, table::Format};
    show::aggr_lacp(std::slice::from_ref(a))
        .render(&Format::default())
        .unwrap_or_else(|e| format!("(cannot show {}: {e})", a.name))
}
