//! The daemon's log output on stderr, in one of two forms:
//!
//! - **journal**: each line starts with its syslog priority, `<3>` error, `<4>` warning, `<6>`
//!   info, `<7>` debug and trace, the form journald reads from a service's stderr
//!   (`SyslogLevelPrefix=yes`, the default), so `journalctl -p err -u lagd` shows lagd's
//!   errors; no timestamp (journald adds its own), no colours. A multi-line message gets the
//!   prefix on every line.
//! - **text**: timestamp, level, target and message, for a terminal or a plain log file.
//!
//! `auto` picks journal when stderr is the stream systemd connected to the journal
//! (`$JOURNAL_STREAM` names its device and inode), text otherwise.

use std::fmt::Write as _;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Journal form when stderr is connected to the journal, text otherwise.
    #[default]
    Auto,
    /// Syslog priority prefix (`<3>` ... `<7>`) on every line, no timestamp.
    Journal,
    /// Timestamp, level, target, message.
    Text,
}

/// The syslog priority of a tracing level (RFC 5424 severities).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Whether stderr is the journal stream systemd set up (`$JOURNAL_STREAM` is `DEVICE:INODE` of
/// it; a child that inherited the variable but not the stream does not match).
pub fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let v = v.to_string_lossy();
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// Formats each event as the default compact line without time and level, prefixed with its
/// syslog priority on every line.
struct Prefixed<F>(F);

impl<S, N, F> FormatEvent<S, N> for Prefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let p = priority(event.metadata().level());
        let mut out = String::with_capacity(line.len() + 8);
        for l in line.trim_end_matches('\n').split('\n') {
            let _ = writeln!(out, "<{p}>{l}");
        }
        writer.write_str(&out)
    }
}

/// Installs the global subscriber: `filter` in `RUST_LOG` syntax (an invalid one falls back to
/// `info`, said on the first line), lines on stderr in `format`. Returns the form chosen.
pub fn init(filter: &str, format: LogFormat) -> LogFormat {
    let (env, bad) = match tracing_subscriber::EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (tracing_subscriber::EnvFilter::new("info"), Some(e)),
    };
    let chosen = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        f => f,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr);
    if chosen == LogFormat::Journal {
        let inner = tracing_subscriber::fmt::format()
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_ansi(false);
        builder.event_format(Prefixed(inner)).init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    if let Some(e) = bad {
        tracing::warn!("--log-level {filter:?} is not a valid filter ({e}); using info");
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
        assert_eq!(priority(&Level::TRACE), 7);
    }

    #[test]
    fn every_line_is_prefixed() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let inner = tracing_subscriber::fmt::format()
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_ansi(false);
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .event_format(Prefixed(inner))
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::error!("bad\nthing");
            tracing::warn!(member = "eth0", "careful");
            tracing::info!("fine");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text, "<3>bad\n<3>thing\n<4>careful member=\"eth0\"\n<6>fine\n",
            "{text}"
        );
    }

    #[test]
    fn journal_stream_must_match_stderr() {
        // Not set in the test environment, or set to something else than our stderr.
        if std::env::var_os("JOURNAL_STREAM").is_none() {
            assert!(!stderr_is_journal());
        }
    }
}
