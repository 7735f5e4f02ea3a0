//! `lagctl monitor [NAME] [SECONDS]`: a live view of an aggregation, like nicstat and Sun
//! Trunking's per-port trace: per member rKB/s, wKB/s, rPk/s, wPk/s, %Util, %Ipkts, %Opkts;
//! the aggregate's throughput with new peak, past peak and new/past; failovers (a member
//! leaving Distributing) marked as they happen, with an event log.
//!
//! The [`Model`] is pure (samples and elapsed time in, rows out), drawn either full screen with
//! ratatui ([`draw`]) or, when stdout is not a terminal, as one block of lines per interval
//! ([`Model::lines`]).

use std::collections::{BTreeMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

use lagd_control::proto::{AggrStatus, EventRecord, LinkStats};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Row, Table};

use super::cli::MonitorArgs;
use super::error::AdminError;
use super::show::{Counters, member_state, percent};
use super::verbs::connect;

/// How many events the log pane keeps.
const EVENT_LOG: usize = 50;

/// One member's line.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRow {
    /// Interface name.
    pub name: String,
    /// KiB/s received.
    pub rkbs: f64,
    /// KiB/s sent.
    pub wkbs: f64,
    /// Frames/s received.
    pub rpks: f64,
    /// Frames/s sent.
    pub wpks: f64,
    /// Utilisation of the link speed (the busier direction), percent.
    pub util: f64,
    /// Share of the aggregation's received frames, percent.
    pub ipkts: f64,
    /// Share of the aggregation's sent frames, percent.
    pub opkts: f64,
    /// dladm state (attached / standby).
    pub state: String,
    /// The member left Distributing (a failover) and has not come back.
    pub failover: bool,
}

/// The monitor's state, updated once per interval.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The aggregation watched.
    pub aggregate: String,
    /// Time of the last sample, for display.
    pub clock: String,
    /// Member lines.
    pub rows: Vec<MemberRow>,
    /// Aggregate throughput in the last interval, Mbit/s (Sun Trunking's "New Peak").
    pub mbits: f64,
    /// Highest throughput of any earlier interval ("Past Peak").
    pub past_peak: f64,
    /// Whether the aggregate is up.
    pub up: bool,
    /// Recent events, oldest first.
    pub events: VecDeque<String>,
    prev: Option<Vec<LinkStats>>,
    distributing: BTreeMap<String, bool>,
    failed: BTreeMap<String, bool>,
}

impl Model {
    /// A model for aggregation `name`.
    pub fn new(name: &str) -> Model {
        Model {
            aggregate: name.to_string(),
            ..Model::default()
        }
    }

    /// New / past peak, percent (0 before any peak).
    pub fn new_over_past(&self) -> f64 {
        if self.past_peak > 0.0 {
            100.0 * self.mbits / self.past_peak
        } else {
            0.0
        }
    }

    /// Adds an event line to the log.
    pub fn push_event(&mut self, line: String) {
        self.events.push_back(line);
        while self.events.len() > EVENT_LOG {
            self.events.pop_front();
        }
    }

    /// Takes a new sample: the status, the link counters, the seconds since the last sample
    /// and the clock text to show. Rates are differences with the previous sample.
    pub fn update(&mut self, a: &AggrStatus, links: &[LinkStats], elapsed: f64, clock: &str) {
        self.clock = clock.to_string();
        self.up = a.up;
        let secs = if elapsed > 0.0 { elapsed } else { 1.0 };
        let delta = |name: &str| -> Counters {
            let now = links
                .iter()
                .find(|l| l.kind == "member" && l.name == name)
                .map(Counters::of)
                .unwrap_or_default();
            match self.prev.as_ref().and_then(|p| {
                p.iter()
                    .find(|l| l.kind == "member" && l.name == name)
                    .map(Counters::of)
            }) {
                Some(before) => now.since(&before),
                None => Counters::default(),
            }
        };
        let deltas: Vec<(String, Counters)> = a
            .members
            .iter()
            .map(|m| (m.name.clone(), delta(&m.name)))
            .collect();
        let in_total: u64 = deltas.iter().map(|(_, c)| c.ipackets).sum();
        let out_total: u64 = deltas.iter().map(|(_, c)| c.opackets).sum();
        let bytes_total: u64 = deltas.iter().map(|(_, c)| c.rbytes + c.obytes).sum();

        let mut rows = Vec::new();
        for (m, (_, c)) in a.members.iter().zip(&deltas) {
            let was = self.distributing.get(&m.name).copied();
            if was == Some(true) && !m.distributing {
                self.failed.insert(m.name.clone(), true);
                self.push_event(format!(
                    "{clock} FAILOVER {}: left Distributing ({})",
                    m.name,
                    m.why_not_distributing
                        .as_deref()
                        .unwrap_or("no reason given")
                ));
            }
            if m.distributing && self.failed.remove(&m.name).is_some() {
                self.push_event(format!("{clock} {} distributing again", m.name));
            }
            self.distributing.insert(m.name.clone(), m.distributing);
            let busier = c.rbytes.max(c.obytes) as f64 * 8.0 / secs;
            let util = if m.speed_mbps > 0 {
                100.0 * busier / (f64::from(m.speed_mbps) * 1e6)
            } else {
                0.0
            };
            rows.push(MemberRow {
                name: m.name.clone(),
                rkbs: c.rbytes as f64 / 1024.0 / secs,
                wkbs: c.obytes as f64 / 1024.0 / secs,
                rpks: c.ipackets as f64 / secs,
                wpks: c.opackets as f64 / secs,
                util,
                ipkts: percent(c.ipackets, in_total),
                opkts: percent(c.opackets, out_total),
                state: member_state(m).to_string(),
                failover: self.failed.contains_key(&m.name),
            });
        }
        // Members that left the aggregation are forgotten.
        self.distributing
            .retain(|n, _| a.members.iter().any(|m| &m.name == n));
        self.failed
            .retain(|n, _| a.members.iter().any(|m| &m.name == n));
        self.rows = rows;
        if self.prev.is_some() {
            self.past_peak = self.past_peak.max(self.mbits);
            self.mbits = bytes_total as f64 * 8.0 / 1e6 / secs;
        }
        self.prev = Some(links.to_vec());
    }

    /// The block printed per interval when stdout is not a terminal.
    pub fn lines(&self, new_events: &[String]) -> String {
        let mut out = format!(
            "{} {} ({})\n",
            self.clock,
            self.aggregate,
            if self.up { "up" } else { "down" }
        );
        out.push_str(&format!(
            "{:<15} {:>9} {:>9} {:>9} {:>9} {:>6} {:>7} {:>7} {}\n",
            "device", "rKB/s", "wKB/s", "rPk/s", "wPk/s", "%Util", "%Ipkts", "%Opkts", "state"
        ));
        for r in &self.rows {
            out.push_str(&format!(
                "{:<15} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>6.2} {:>7.2} {:>7.2} {}{}\n",
                r.name,
                r.rkbs,
                r.wkbs,
                r.rpks,
                r.wpks,
                r.util,
                r.ipkts,
                r.opkts,
                r.state,
                if r.failover { " *FAILOVER*" } else { "" }
            ));
        }
        out.push_str(&self.throughput_line());
        out.push('\n');
        for e in new_events {
            out.push_str(&format!("event: {e}\n"));
        }
        out
    }

    /// `(Aggregate Throughput(Mb/sec): 5.73(New Peak) 31.51(Past Peak) 18.18%(New/Past))`.
    pub fn throughput_line(&self) -> String {
        format!(
            "(Aggregate Throughput(Mb/sec): {:.2}(New Peak) {:.2}(Past Peak) {:.2}%(New/Past))",
            self.mbits,
            self.past_peak,
            self.new_over_past()
        )
    }
}

/// Draws the model full screen: the member table (failed-over rows highlighted), the
/// throughput line, and the event log.
pub fn draw(f: &mut Frame<'_>, m: &Model) {
    let [head, table, thr, log] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(m.rows.len() as u16 + 3),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(f.area());
    f.render_widget(
        Paragraph::new(format!(
            "lagctl monitor {}  {}  aggregate {}   (q quits)",
            m.aggregate,
            m.clock,
            if m.up { "up" } else { "DOWN" }
        )),
        head,
    );
    let header = Row::new(vec![
        "device", "rKB/s", "wKB/s", "rPk/s", "wPk/s", "%Util", "%Ipkts", "%Opkts", "state",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = m.rows.iter().map(|r| {
        let state = if r.failover {
            "FAILOVER".to_string()
        } else {
            r.state.clone()
        };
        let row = Row::new(vec![
            r.name.clone(),
            format!("{:.1}", r.rkbs),
            format!("{:.1}", r.wkbs),
            format!("{:.1}", r.rpks),
            format!("{:.1}", r.wpks),
            format!("{:.2}", r.util),
            format!("{:.2}", r.ipkts),
            format!("{:.2}", r.opkts),
            state,
        ]);
        if r.failover {
            row.style(
                Style::default()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(Modifier::BOLD),
            )
        } else {
            row
        }
    });
    let widths = [
        Constraint::Length(15),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::default().borders(Borders::ALL).title("members")),
        table,
    );
    f.render_widget(Paragraph::new(m.throughput_line()), thr);
    let height = log.height.saturating_sub(2) as usize;
    let items: Vec<ListItem<'_>> = m
        .events
        .iter()
        .skip(m.events.len().saturating_sub(height))
        .map(|e| {
            let style = if e.contains("FAILOVER") {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            ListItem::new(Line::from(e.clone())).style(style)
        })
        .collect();
    f.render_widget(
        List::new(items).block(Block::default().borders(Borders::ALL).title("events")),
        log,
    );
}

/// `HH:MM:SS` (UTC) of the wall clock, for display only.
fn clock_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    clock_of(secs)
}

fn clock_of(unix_secs: u64) -> String {
    let s = unix_secs % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn event_line(e: &EventRecord) -> String {
    format!(
        "{} {}{}: {}",
        clock_of(e.unix_ms / 1000),
        e.aggregate,
        e.link
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default(),
        e.message
    )
}

/// Follows lagd's event stream on a second connection, sending lines of `aggregate`.
fn follow_events(conn: &super::cli::Conn, aggregate: String) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Ok(mut c) = connect(conn) {
        let _ = c.set_timeout(None);
        std::thread::spawn(move || {
            if c.events(true).is_err() {
                return;
            }
            while let Ok(e) = c.next_event() {
                if (e.aggregate == aggregate || e.aggregate.is_empty())
                    && tx.send(event_line(&e)).is_err()
                {
                    return;
                }
            }
        });
    }
    rx
}

/// Runs `monitor`.
pub fn run(a: &MonitorArgs) -> Result<(), AdminError> {
    let secs = a.seconds.unwrap_or(1);
    if secs == 0 {
        return Err(AdminError::Usage(
            "monitor: the interval must be at least 1 second".into(),
        ));
    }
    let mut c = connect(&a.conn)?;
    let aggrs = c.show_aggr(a.name.as_deref())?;
    let name = aggrs
        .first()
        .map(|x| x.name.clone())
        .ok_or_else(|| AdminError::Input("no aggregation to monitor".into()))?;
    let events = follow_events(&a.conn, name.clone());
    let mut model = Model::new(&name);
    let interval = Duration::from_secs(secs);
    let sample = |c: &mut lagd_control::client::Client,
                  model: &mut Model,
                  last: &mut std::time::Instant|
     -> Result<(), AdminError> {
        let st = c
            .show_aggr(Some(&name))?
            .into_iter()
            .next()
            .ok_or_else(|| AdminError::Input(format!("aggregation `{name}` is gone")))?;
        let links = c.show_link(Some(&name))?;
        let elapsed = last.elapsed().as_secs_f64();
        *last = std::time::Instant::now();
        model.update(&st, &links, elapsed, &clock_now());
        Ok(())
    };
    let mut last = std::time::Instant::now();
    if a.lines || !std::io::stdout().is_terminal() {
        let mut n = 0u64;
        loop {
            sample(&mut c, &mut model, &mut last)?;
            let new: Vec<String> = events.try_iter().collect();
            for e in &new {
                model.push_event(e.clone());
            }
            let mut out = std::io::stdout().lock();
            out.write_all(model.lines(&new).as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
            drop(out);
            n += 1;
            if a.count.is_some_and(|k| n >= k) {
                return Ok(());
            }
            std::thread::sleep(interval);
        }
    }
    let mut terminal = ratatui::init();
    let result = (|| -> Result<(), AdminError> {
        use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
        let mut n = 0u64;
        loop {
            sample(&mut c, &mut model, &mut last)?;
            for e in events.try_iter() {
                model.push_event(e);
            }
            terminal.draw(|f| draw(f, &model))?;
            n += 1;
            if a.count.is_some_and(|k| n >= k) {
                return Ok(());
            }
            let until = std::time::Instant::now() + interval;
            loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                if event::poll(left.min(Duration::from_millis(200)))?
                    && let Event::Key(k) = event::read()?
                    && k.kind == KeyEventKind::Press
                    && matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                {
                    return Ok(());
                }
                let mut fresh = false;
                for e in events.try_iter() {
                    model.push_event(e);
                    fresh = true;
                }
                if fresh {
                    terminal.draw(|f| draw(f, &model))?;
                }
            }
        }
    })();
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_control::config::AggrSpec;
    use lagd_control::proto::MemberStatus;
    use lagd_types::MacAddr;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn member(name: &str, port: u16, distributing: bool) -> MemberStatus {
        MemberStatus {
            name: name.into(),
            absent: false,
            port,
            link_up: distributing,
            speed_mbps: 100,
            full_duplex: true,
            selected: "SELECTED".into(),
            mux: if distributing {
                "COLLECTING_DISTRIBUTING".into()
            } else {
                "DETACHED".into()
            },
            receive: "CURRENT".into(),
            actor: Default::default(),
            partner: Default::default(),
            collecting: distributing,
            distributing,
            why_not_distributing: (!distributing).then(|| "link is down".to_string()),
            counters: serde_json::Value::Null,
            bfd: None,
            state: if distributing { "active" } else { "down" }.into(),
            carrier_losses: 0,
            flaps: 0,
        }
    }

    fn status(second_up: bool) -> AggrStatus {
        AggrStatus {
            name: "aggr1".into(),
            spec: AggrSpec::new("aggr1", &["eth1", "eth2"]),
            temporary: false,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 0,
            members: vec![member("eth1", 1, true), member("eth2", 2, second_up)],
            draining: vec![],
            protocol: serde_json::Value::Null,
            offload: None,
            why: None,
            settings: Default::default(),
            active_member: None,
            balancer: None,
            persistent: None,
            disabled: vec![],
        }
    }

    fn link(name: &str, ipackets: u64, rbytes: u64, opackets: u64, obytes: u64) -> LinkStats {
        LinkStats {
            name: name.into(),
            aggregate: "aggr1".into(),
            kind: "member".into(),
            ipackets,
            rbytes,
            opackets,
            obytes,
            ..LinkStats::default()
        }
    }

    #[test]
    fn rates_shares_and_peaks() {
        let mut m = Model::new("aggr1");
        m.update(
            &status(true),
            &[link("eth1", 0, 0, 0, 0), link("eth2", 0, 0, 0, 0)],
            1.0,
            "t0",
        );
        assert_eq!(m.mbits, 0.0);
        m.update(
            &status(true),
            &[
                link("eth1", 300, 2_048_000, 100, 1_250_000),
                link("eth2", 100, 1_024_000, 300, 0),
            ],
            2.0,
            "t1",
        );
        let r = &m.rows[0];
        assert_eq!(r.rkbs, 1000.0);
        assert_eq!(r.rpks, 150.0);
        assert_eq!(r.ipkts, 75.0);
        assert_eq!(m.rows[1].opkts, 75.0);
        // 2_048_000 B in 2 s = 8.192 Mbit/s of 100 Mbit/s.
        assert!((r.util - 8.192).abs() < 1e-9, "{}", r.util);
        // (2_048_000 + 1_250_000 + 1_024_000) * 8 / 1e6 / 2
        assert!((m.mbits - 17.288).abs() < 1e-9, "{}", m.mbits);
        assert_eq!(m.past_peak, 0.0);
        m.update(
            &status(true),
            &[
                link("eth1", 300, 2_048_000, 100, 1_250_000),
                link("eth2", 100, 1_024_000, 300, 0),
            ],
            1.0,
            "t2",
        );
        assert_eq!(m.mbits, 0.0);
        assert!((m.past_peak - 17.288).abs() < 1e-9);
        assert!(m.throughput_line().starts_with(
            "(Aggregate Throughput(Mb/sec): 0.00(New Peak) 17.29(Past Peak) 0.00%(New/Past))"
        ));
    }

    fn buffer_text(t: &Terminal<TestBackend>) -> Vec<String> {
        let b = t.backend().buffer();
        let w = b.area.width as usize;
        b.content
            .chunks(w)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect()
    }

    #[test]
    fn failover_is_marked_in_the_table_and_the_event_log() {
        let mut m = Model::new("aggr1");
        let l = [
            link("eth1", 10, 1000, 10, 1000),
            link("eth2", 10, 1000, 10, 1000),
        ];
        m.update(&status(true), &l, 1.0, "12:00:00");
        m.update(&status(true), &l, 1.0, "12:00:01");
        let mut t = Terminal::new(TestBackend::new(100, 20)).unwrap();
        t.draw(|f| draw(f, &m)).unwrap();
        let before = buffer_text(&t).join("\n");
        assert!(!before.contains("FAILOVER"), "{before}");

        // eth2 leaves Distributing.
        m.update(&status(false), &l, 1.0, "12:00:02");
        assert!(m.rows[1].failover && !m.rows[0].failover);
        t.draw(|f| draw(f, &m)).unwrap();
        let lines = buffer_text(&t);
        let text = lines.join("\n");
        let row_y = lines
            .iter()
            .position(|l| l.contains("eth2") && l.contains("FAILOVER") && !l.contains("left"))
            .unwrap_or_else(|| panic!("no marked row:\n{text}"));
        assert!(
            text.contains("12:00:02 FAILOVER eth2: left Distributing (link is down)"),
            "{text}"
        );
        // The row is highlighted; eth1's is not.
        let b = t.backend().buffer();
        let cell = &b[(3u16, row_y as u16)];
        assert_eq!(cell.bg, Color::Red);
        let eth1_y = lines.iter().position(|l| l.contains("eth1")).unwrap();
        assert_ne!(b[(3u16, eth1_y as u16)].bg, Color::Red);

        // Back: the mark goes, the log says so.
        m.update(&status(true), &l, 1.0, "12:00:03");
        assert!(!m.rows[1].failover);
        assert_eq!(
            m.events.back().map(String::as_str),
            Some("12:00:03 eth2 distributing again")
        );
    }

    #[test]
    fn line_mode_marks_failover() {
        let mut m = Model::new("aggr1");
        let l = [link("eth1", 0, 0, 0, 0), link("eth2", 0, 0, 0, 0)];
        m.update(&status(true), &l, 1.0, "t0");
        m.update(&status(false), &l, 1.0, "t1");
        let text = m.lines(&["t1 aggr1 eth2: carrier lost".into()]);
        assert!(
            text.contains("eth2") && text.contains("*FAILOVER*"),
            "{text}"
        );
        assert!(
            text.contains("event: t1 aggr1 eth2: carrier lost"),
            "{text}"
        );
        assert!(text.contains("(Aggregate Throughput(Mb/sec):"), "{text}");
    }

    #[test]
    fn clock_formats_utc() {
        assert_eq!(clock_of(3600 * 25 + 61), "01:01:01");
    }
}
