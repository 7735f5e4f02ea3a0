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
//!
//! Every line about an aggregation names it once, as `aggregate=NAME` right after the message:
//! the code that works on an aggregation runs inside its span ([`aggr_span`]; the forwarding
//! threads enter one of their own), so a line written by any module inside it carries the name,
//! whether or not the line gives it itself.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub(crate) use lagd_control::cli::LogFormat;

/// The span of code working on aggregation `name`: every line logged inside it names the
/// aggregation. At ERROR level so that no log filter that lets a line through hides the span
/// that names it.
pub(crate) fn aggr_span(name: &str) -> tracing::Span {
    tracing::error_span!("aggr", aggregate = %name)
}

/// The syslog priority of a tracing level (RFC 5424 severities).
pub(crate) fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Whether stderr is the journal stream systemd set up (`$JOURNAL_STREAM` is `DEVICE:INODE` of
/// it; a child that inherited the variable but not the stream does not match).
pub(crate) fn stderr_is_journal() -> bool {
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

/// An event's fields: the message, the aggregation it names, the others as ` name=value`.
#[derive(Default)]
struct Fields {
    message: String,
    aggregate: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "aggregate" => self.aggregate = Some(value.to_string()),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "aggregate" => self.aggregate = Some(format!("{value:?}").trim_matches('"').into()),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

/// The aggregation named by the innermost span of `ctx` that names one ([`aggr_span`]).
fn span_aggregate<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    ctx.event_scope()?.find_map(|span| {
        let ext = span.extensions();
        let fields = &ext.get::<FormattedFields<N>>()?.fields;
        let v = fields.split("aggregate=").nth(1)?;
        let v = v.split_whitespace().next()?.trim_matches('"');
        Some(v.to_string())
    })
}

/// One log line: (text) time, level, target, or (journal) the syslog priority on every line;
/// then the message, `aggregate=NAME` (the event's own, else its span's), the other fields.
struct Line {
    journal: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        let aggregate = f.aggregate.take().or_else(|| span_aggregate(ctx));
        let meta = event.metadata();
        let mut line = String::new();
        if !self.journal {
            SystemTime.format_time(&mut Writer::new(&mut line))?;
            write!(line, " {:>5} {}: ", meta.level(), meta.target())?;
        }
        line.push_str(&f.message);
        if let Some(a) = aggregate {
            write!(line, " aggregate={a}")?;
        }
        line.push_str(&f.rest);
        if !self.journal {
            return writeln!(writer, "{line}");
        }
        let p = priority(meta.level());
        let mut out = String::with_capacity(line.len() + 8);
        for l in line.trim_end_matches('\n').split('\n') {
            let _ = writeln!(out, "<{p}>{l}");
        }
        writer.write_str(&out)
    }
}

/// Installs the global subscriber: `filter` in `RUST_LOG` syntax (an invalid one falls back to
/// `info`, said on the first line), lines on stderr in `format`. Returns the form chosen.
pub(crate) fn init(filter: &str, format: LogFormat) -> LogFormat {
    let (env, bad) = match tracing_subscriber::EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (tracing_subscriber::EnvFilter::new("info"), Some(e)),
    };
    let chosen = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        f => f,
    };
    tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr)
        // Span fields are stored formatted: plain, for `span_aggregate` to read.
        .with_ansi(false)
        .event_format(Line {
            journal: chosen == LogFormat::Journal,
        })
        .init();
    if let Some(e) = bad {
        tracing::warn!("--log-level {filter:?} is not a valid filter ({e}); using info");
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An in-memory writer for a test subscriber.
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

    /// What `f` logs through lagd's line format (the journal's form or the plain one).
    fn logged(journal: bool, f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .event_format(Line { journal })
            .finish();
        tracing::subscriber::with_default(sub, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

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
        let text = logged(true, || {
            tracing::error!("bad\nthing");
            tracing::warn!(member = "eth0", "careful");
            tracing::info!("fine");
        });
        assert_eq!(
            text, "<3>bad\n<3>thing\n<4>careful member=\"eth0\"\n<6>fine\n",
            "{text}"
        );
    }

    /// A line inside an aggregation's span names it once, whether or not the line does too;
    /// the line's own name wins.
    #[test]
    fn lines_in_an_aggregation_span_name_it_once() {
        let text = logged(false, || {
            let _g = aggr_span("aggr1").entered();
            tracing::info!(member = "eth0", "member taken over");
            tracing::info!(aggregate = "aggr1", "said twice?");
            tracing::warn!(aggregate = %"aggr2", "another");
            let _inner = tracing::error_span!("aggr", aggregate = %"aggr3").entered();
            tracing::info!("inner");
        });
        let tails: Vec<&str> = text
            .lines()
            .map(|l| l.split_once(": ").map_or(l, |(_, t)| t))
            .collect();
        assert_eq!(
            tails,
            [
                "member taken over aggregate=aggr1 member=\"eth0\"",
                "said twice? aggregate=aggr1",
                "another aggregate=aggr2",
                "inner aggregate=aggr3",
            ],
            "{text}"
        );
        assert!(
            text.lines()
                .all(|l| l.contains(" INFO ") || l.contains(" WARN ")),
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
