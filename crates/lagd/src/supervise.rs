//! The supervisor thread: lagd either works whole or stops loudly.
//!
//! Every [`PERIOD`] (or half the systemd watchdog interval, if shorter) it reads the engine's
//! [`Health`]:
//!
//! - a forwarding or micro-BFD thread that has ended while lagd is not stopping takes the
//!   daemon down at once with exit status [`EXIT_INTERNAL`] (a half-working lagd, with an
//!   aggregate that forwards in one direction only or whose members' BFD sessions are left to
//!   expire, is worse than a restart by the service manager);
//! - with `WatchdogSec=` (`$WATCHDOG_USEC`), it sends `WATCHDOG=1` only while the timer thread,
//!   every forwarding thread and every micro-BFD thread (`crate::bfd_thread`, one per
//!   aggregation with micro-BFD on) have gone round their loops within the watchdog interval
//!   (at least [`MIN_STALL`]): a thread that hangs stops the pings, and systemd restarts lagd.
//!
//! A panic anywhere ends the process the same way ([`install_panic_hook`]).

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Engine, Health};

/// Exit status of an internal failure: a panic, or a forwarding thread that died
/// (`EX_SOFTWARE`).
pub(crate) const EXIT_INTERNAL: i32 = lagd_control::cli::EXIT_INTERNAL as i32;
/// How often the health is read without a watchdog.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);
/// A thread counts as hung only after this long without a beat, whatever the watchdog
/// interval (the forwarding threads beat at least every `lagd_dataplane::RX_IDLE_WAKE`, the
/// micro-BFD threads at least every second).
pub(crate) const MIN_STALL: Duration = Duration::from_secs(2);

/// What is wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every thread runs and beats.
    Healthy,
    /// A thread has not beaten for that long (name, ms).
    Stalled(String, u64),
    /// A forwarding thread has ended.
    Dead(String),
}

/// Judges `h` at monotonic time `now_ns`, a thread being hung after `stall` without a beat.
pub(crate) fn judge(h: &Health, now_ns: u64, stall: Duration) -> Verdict {
    if h.stopping {
        return Verdict::Healthy;
    }
    let limit = u64::try_from(stall.as_nanos()).unwrap_or(u64::MAX);
    let mut worst: Option<(String, u64)> = None;
    let mut consider = |what: String, beat: u64| {
        let age = now_ns.saturating_sub(beat);
        if age > limit && worst.as_ref().is_none_or(|(_, a)| age > *a) {
            worst = Some((what, age));
        }
    };
    consider("the timer thread".into(), h.timer_beat_ns);
    for (name, f) in &h.forwarders {
        for (which, t) in [("TX", f.tx), ("RX", f.rx)] {
            if !t.running {
                return Verdict::Dead(format!(
                    "the {which} forwarding thread of aggregate `{name}`"
                ));
            }
            consider(
                format!("the {which} forwarding thread of aggregate `{name}`"),
                t.last_beat_ns,
            );
        }
    }
    for (name, t) in &h.bfd {
        let what = format!("the micro-BFD thread of aggregate `{name}`");
        if !t.running {
            return Verdict::Dead(what);
        }
        consider(what, t.last_beat_ns);
    }
    match worst {
        Some((what, age)) => Verdict::Stalled(what, age / 1_000_000),
        None => Verdict::Healthy,
    }
}

/// Starts the supervisor thread.
pub(crate) fn spawn(engine: Arc<Engine>) -> std::io::Result<std::thread::JoinHandle<()>> {
    let watchdog = crate::notify::watchdog_interval().filter(|_| crate::notify::enabled());
    if let Some(w) = watchdog {
        tracing::info!(
            "systemd watchdog: {} ms; WATCHDOG=1 only while every forwarding thread runs",
            w.as_millis()
        );
    }
    std::thread::Builder::new()
        .name("lagd-supervise".into())
        .spawn(move || run(&engine, watchdog))
}

fn run(engine: &Engine, watchdog: Option<Duration>) {
    let period = watchdog.map_or(PERIOD, |w| (w / 2).min(PERIOD));
    let stall = watchdog.map_or(MIN_STALL, |w| w.max(MIN_STALL));
    let mut withheld = false;
    loop {
        std::thread::sleep(period);
        let h = engine.health();
        if h.stopping {
            return;
        }
        match judge(&h, lagd_dataplane::monotonic_now().as_nanos(), stall) {
            Verdict::Dead(what) => fatal(&format!(
                "{what} has died: lagd stops so that the service manager restarts it"
            )),
            Verdict::Stalled(what, ms) => {
                if !withheld {
                    withheld = true;
                    tracing::error!(
                        "{what} has not run for {ms} ms{}",
                        if watchdog.is_some() {
                            ": watchdog notifications withheld (systemd restarts lagd if it stays hung)"
                        } else {
                            ""
                        }
                    );
                }
            }
            Verdict::Healthy => {
                if withheld {
                    withheld = false;
                    tracing::warn!("every thread runs again: watchdog notifications resumed");
                }
                if watchdog.is_some() {
                    crate::notify::watchdog();
                }
            }
        }
    }
}

/// Logs `msg` as an error once, tells systemd, and ends the process with [`EXIT_INTERNAL`]
/// (members are left as they are: the next lagd takes them back).
pub(crate) fn fatal(msg: &str) -> ! {
    tracing::error!("{msg}");
    crate::notify::status(&format!("failed: {msg}"));
    std::process::exit(EXIT_INTERNAL)
}

/// Makes a panic on any thread end the process with [`EXIT_INTERNAL`], after one error line
/// naming the thread, the place and the message.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        fatal(&format!(
            "internal error: thread {name} panicked{place}: {msg}; lagd stops so that the service manager restarts it"
        ));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_dataplane::{ForwarderHealth, ThreadHealth};

    fn health(tx_beat: u64, rx_running: bool) -> Health {
        Health {
            stopping: false,
            bfd: vec![],
            timer_beat_ns: 10_000_000_000,
            forwarders: vec![(
                "lag0".into(),
                ForwarderHealth {
                    tx: ThreadHealth {
                        running: true,
                        last_beat_ns: tx_beat,
                    },
                    rx: ThreadHealth {
                        running: rx_running,
                        last_beat_ns: 10_000_000_000,
                    },
                },
            )],
        }
    }

    #[test]
    fn judges_dead_stalled_and_healthy() {
        let now = 10_500_000_000;
        let s = Duration::from_secs(2);
        assert_eq!(
            judge(&health(10_000_000_000, true), now, s),
            Verdict::Healthy
        );
        assert_eq!(
            judge(&health(7_000_000_000, true), now, s),
            Verdict::Stalled("the TX forwarding thread of aggregate `lag0`".into(), 3500)
        );
        assert_eq!(
            judge(&health(10_000_000_000, false), now, s),
            Verdict::Dead("the RX forwarding thread of aggregate `lag0`".into())
        );
        let mut h = health(0, false);
        h.stopping = true;
        assert_eq!(judge(&h, now, s), Verdict::Healthy);
    }

    #[test]
    fn judges_the_micro_bfd_threads() {
        let now = 10_500_000_000;
        let s = Duration::from_secs(2);
        let bfd = |running, last_beat_ns| {
            let mut h = health(10_000_000_000, true);
            h.bfd = vec![(
                "lag0".into(),
                ThreadHealth {
                    running,
                    last_beat_ns,
                },
            )];
            h
        };
        let what = "the micro-BFD thread of aggregate `lag0`";
        assert_eq!(judge(&bfd(true, 10_000_000_000), now, s), Verdict::Healthy);
        assert_eq!(
            judge(&bfd(true, 8_000_000_000), now, s),
            Verdict::Stalled(what.into(), 2500)
        );
        assert_eq!(
            judge(&bfd(false, 10_000_000_000), now, s),
            Verdict::Dead(what.into())
        );
    }
}
