//! The man pages, generated (never hand-written) by `lagctl gen-docs`:
//!
//! - lagctl(8) and one lagctl-VERB(8) per verb, from lagctl's command line;
//! - lagd(8), from lagd's command line (`lagd_control::cli::Args`);
//! - lagd.toml(5), from `docs/CONFIG.md` (a small Markdown-to-roff conversion: headings,
//!   paragraphs, tables, code blocks, inline code);
//!
//! each with EXIT STATUS, FILES and EXAMPLES sections (and ENVIRONMENT, SEE ALSO).

use clap::{Command, CommandFactory};

use super::error::AdminError;

/// The manual section of lagd and lagctl (system administration).
pub const SECTION: &str = "8";

/// The sections added to a page generated from a command line.
pub struct Extra<'a> {
    /// Exit statuses and their meaning.
    pub exit: Vec<(String, String)>,
    /// Environment variables read.
    pub environment: &'a [(&'a str, &'a str)],
    /// Files used.
    pub files: &'a [(&'a str, &'a str)],
    /// Examples: what, then the command lines.
    pub examples: &'a [(&'a str, &'a str)],
    /// Related pages.
    pub see_also: &'a str,
    /// More sections before EXIT STATUS: (title, tagged paragraphs).
    pub more: &'a [(&'a str, &'a [(&'a str, &'a str)])],
}

/// Escapes text for roff: backslashes, hyphens (as `\-`), and a leading `.` or `'`.
pub fn esc(s: &str) -> String {
    let mut out = s.replace('\\', "\\e").replace('-', "\\-");
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// Markdown inline text to roff: `code` and **strong** in bold, *emphasis* in italics.
pub fn inline(s: &str) -> String {
    let s = s.replace("\\|", "|");
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find(['`', '*']) {
        out.push_str(&esc(rest.get(..i).unwrap_or_default()));
        let after = rest.get(i..).unwrap_or_default();
        let (open, font) = if after.starts_with('`') {
            ("`", "\\fB")
        } else if after.starts_with("**") {
            ("**", "\\fB")
        } else {
            ("*", "\\fI")
        };
        let body = after.get(open.len()..).unwrap_or_default();
        match body.find(open) {
            Some(j) => {
                out.push_str(font);
                out.push_str(&esc(body.get(..j).unwrap_or_default()));
                out.push_str("\\fR");
                rest = body.get(j + open.len()..).unwrap_or_default();
            }
            None => {
                out.push_str(&esc(open));
                rest = body;
            }
        }
    }
    out.push_str(&esc(rest));
    // A roff line must not start with a control character after substitution either.
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|').trim_end_matches('|');
    // Split on `|` not escaped as `\|`.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev = ' ';
    for c in row.chars() {
        if c == '|' && prev != '\\' {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
        prev = c;
    }
    out.push(cur.trim().to_string());
    out
}

/// A Markdown table as a `.TP` list: the first column as the tag (with the other non-meaning
/// columns after it), the `meaning` column as the body.
fn table(rows: &[&str], out: &mut String) {
    let Some((head, body)) = rows.split_first() else {
        return;
    };
    let head = cells(head);
    for row in body.iter().filter(|r| !r.contains("---")) {
        let c = cells(row);
        let mut tag = format!(
            "\\fB{}\\fR",
            esc(&c.first().cloned().unwrap_or_default().replace('`', ""))
        );
        let mut text = String::new();
        for (h, v) in head.iter().zip(&c).skip(1) {
            if h.eq_ignore_ascii_case("meaning") || h.eq_ignore_ascii_case("needed for") {
                text = inline(v);
            } else {
                tag.push_str(&format!(" ({}: {})", esc(h), inline(v)));
            }
        }
        out.push_str(&format!(".TP\n{tag}\n{text}\n"));
    }
}

/// Markdown (the subset the docs use) to roff, from the first `##` heading on: `##` headings
/// become `.SS` (or `.SH` for `top` headings), paragraphs `.PP`, tables `.TP` lists, fenced
/// code `.nf` blocks. `section_of` maps a heading to its `.SH` name, if it is one.
fn md_body(md: &str, section_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    let mut rows: Vec<&str> = Vec::new();
    let mut in_code = false;
    let flush_para = |para: &mut Vec<String>, out: &mut String| {
        if !para.is_empty() {
            out.push_str(".PP\n");
            out.push_str(&inline(&para.join(" ")));
            out.push('\n');
            para.clear();
        }
    };
    for line in md.lines() {
        if in_code {
            if line.starts_with("```") {
                out.push_str(".fi\n.RE\n");
                in_code = false;
            } else {
                out.push_str(&esc(line));
                out.push('\n');
            }
            continue;
        }
        if !line.trim_start().starts_with('|') && !rows.is_empty() {
            table(&rows, &mut out);
            rows.clear();
        }
        if line.starts_with("```") {
            flush_para(&mut para, &mut out);
            out.push_str(".PP\n.RS 4\n.nf\n");
            in_code = true;
        } else if let Some(h) = line.strip_prefix("## ") {
            flush_para(&mut para, &mut out);
            match section_of(h) {
                Some(sh) => out.push_str(&format!(".SH {sh}\n")),
                None => out.push_str(&format!(".SS \"{}\"\n", inline(h).replace('"', "\\(dq"))),
            }
        } else if line.starts_with("# ") {
            flush_para(&mut para, &mut out);
        } else if line.trim_start().starts_with('|') {
            flush_para(&mut para, &mut out);
            rows.push(line);
        } else if line.trim().is_empty() {
            flush_para(&mut para, &mut out);
        } else {
            para.push(line.trim().to_string());
        }
    }
    flush_para(&mut para, &mut out);
    if !rows.is_empty() {
        table(&rows, &mut out);
    }
    out
}

/// The roff of the EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES and SEE ALSO sections.
fn extra_sections(e: &Extra<'_>) -> String {
    let mut s = String::new();
    for (title, items) in e.more {
        s.push_str(&format!(".SH \"{}\"\n", esc(title)));
        for (tag, what) in *items {
            s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(tag), inline(what)));
        }
    }
    s.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in &e.exit {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(code), inline(what)));
    }
    if !e.environment.is_empty() {
        s.push_str(".SH ENVIRONMENT\n");
        for (var, what) in e.environment {
            s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(var), inline(what)));
        }
    }
    s.push_str(".SH FILES\n");
    for (file, what) in e.files {
        s.push_str(&format!(".TP\n\\fI{}\\fR\n{}\n", esc(file), inline(what)));
    }
    if !e.examples.is_empty() {
        s.push_str(".SH EXAMPLES\n");
    }
    for (what, cmds) in e.examples {
        s.push_str(&format!(".PP\n{}\n.PP\n.RS 4\n.nf\n", inline(what)));
        for l in cmds.lines() {
            s.push_str(&esc(l));
            s.push('\n');
        }
        s.push_str(".fi\n.RE\n");
    }
    s.push_str(&format!(".SH \"SEE ALSO\"\n{}\n", inline(e.see_also)));
    s
}

/// Renders `cmd`'s page in `section`, with `extra` inserted before VERSION.
pub fn command_page(
    cmd: Command,
    section: &str,
    extra: Option<&Extra<'_>>,
) -> Result<Vec<u8>, AdminError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .section(section)
        .render(&mut buf)?;
    let Some(e) = extra else {
        return Ok(buf);
    };
    let page = String::from_utf8_lossy(&buf).into_owned();
    let sections = extra_sections(e);
    let page = match page.find("\n.SH VERSION") {
        Some(i) => format!(
            "{}\n{}{}",
            page.get(..i).unwrap_or_default(),
            sections,
            page.get(i + 1..).unwrap_or_default()
        ),
        None => format!("{page}{sections}"),
    };
    Ok(page.into_bytes())
}

/// What lagctl(8) adds to its generated page.
pub fn lagctl_extra() -> Extra<'static> {
    Extra {
        exit: vec![
            ("0".into(), "success; `diagnose`: healthy; `sim` and `demo`: every check passed".into()),
            ("1".into(), "lagd refused or failed the request (the message says why; nothing changed), or lagd cannot be reached; `reload`: lagd refused the configuration file; `diagnose`: findings; `sim` and `demo`: a check failed".into()),
            ("2".into(), "usage error; `diagnose`: error; `sim` and `demo`: the scenario could not be loaded or run".into()),
        ],
        environment: &[("LAGD_SOCKET", "control socket of lagd, instead of `/run/lagd/lagd.sock` (`--socket` wins)")],
        files: &[
            ("/run/lagd/lagd.sock", "lagd's control socket (mode 0600: root only)"),
            ("/etc/lagd/lagd.toml", "lagd's configuration, which every change made without `-t` is written back to (lagd.toml(5))"),
        ],
        examples: &[
            ("Bundle two links with LACP, short timers, hashing on addresses and ports, and use the aggregate:", "lagctl create-aggr -l eth1 -l eth2 -L active -T short -P L3,L4 aggr1\nip addr add 198.18.0.1/24 dev aggr1"),
            ("Members, LACP state, extended detail, statistics every second:", "lagctl show-aggr aggr1\nlagctl show-aggr -L aggr1\nlagctl show-aggr -x aggr1\nlagctl show-aggr -s -i 1 aggr1"),
            ("Find misconfigurations, each with the command that fixes it:", "lagctl diagnose aggr1"),
            ("Remove a member without losing a frame, then reload the edited file:", "lagctl remove-aggr -l eth2 aggr1\nlagctl reload"),
            ("The demo (two namespaces, four links, one cut and restored) and the simulator:", "lagctl demo\nlagctl sim scenarios/sun-failover.toml"),
        ],
        see_also: "lagd(8), lagd.toml(5), dladm(8) on Solaris, ip-link(8)",
        more: &[],
    }
}

/// The eight LACP state flags (802.1AX §6.4.2.3, Actor_State / Partner_State) as `show-aggr
/// -x` and `show lacp trunk` print them, a letter when set and `-` when clear.
pub const STATE_FLAGS: &[(&str, &str)] = &[
    (
        "A",
        "LACP_Activity: active LACP (sends LACPDUs unprompted); clear: passive",
    ),
    (
        "T",
        "LACP_Timeout: short timeout (the partner is asked to send every second); clear: long (every 30 s)",
    ),
    (
        "G",
        "Aggregation: the link may be aggregated; clear: Individual",
    ),
    (
        "S",
        "Synchronization: the link is attached to the right Aggregator (in sync)",
    ),
    ("C", "Collecting: frames received on the link are delivered"),
    ("D", "Distributing: frames are sent on the link"),
    (
        "F",
        "Defaulted: no LACPDU received, the partner information is the administrative default",
    ),
    (
        "E",
        "Expired: the partner's LACPDUs stopped (the receive machine is in EXPIRED)",
    ),
];

/// The examples of each verb's page, lagctl-VERB(8).
const VERB_EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "create-aggr",
        &[
            (
                "Two links with LACP, short timers, hashing on addresses and ports:",
                "lagctl create-aggr -l eth1 -l eth2 -L active -T short -P L3,L4 aggr1",
            ),
            (
                "Active-backup, not written to the configuration file:",
                "lagctl create-aggr -t -m active-backup -l eth1 -l eth2 aggr2",
            ),
        ],
    ),
    (
        "add-aggr",
        &[("Add a member:", "lagctl add-aggr -l eth3 aggr1")],
    ),
    (
        "remove-aggr",
        &[(
            "Remove a member; it is drained first, nothing is lost:",
            "lagctl remove-aggr -l eth3 aggr1",
        )],
    ),
    (
        "modify-aggr",
        &[
            (
                "Jumbo frames, in place (addresses and routes stay):",
                "lagctl modify-aggr --mtu 9000 aggr1",
            ),
            (
                "Turn LACP on against a partner that runs it (refused with the diagnosis when the partner is static; --force to insist):",
                "lagctl modify-aggr -L active aggr1",
            ),
        ],
    ),
    (
        "delete-aggr",
        &[(
            "Delete an aggregation; its members are given back as they were:",
            "lagctl delete-aggr aggr1",
        )],
    ),
    (
        "show-aggr",
        &[
            (
                "Members; LACP detail; everything with the state flags; statistics every second:",
                "lagctl show-aggr aggr1\nlagctl show-aggr -L aggr1\nlagctl show-aggr -x aggr1\nlagctl show-aggr -s -i 1 aggr1",
            ),
            (
                "Parseable fields for scripts, and JSON:",
                "lagctl show-aggr -p -o link,state aggr1\nlagctl show-aggr --json aggr1",
            ),
            (
                "The aggregations as the configuration file has them (flag t: temporary changes):",
                "lagctl show-aggr -P",
            ),
        ],
    ),
    (
        "show-link",
        &[(
            "Every link; one member; traffic statistics:",
            "lagctl show-link\nlagctl show-link eth1\nlagctl show-link -s aggr1",
        )],
    ),
    (
        "monitor",
        &[(
            "Live rates and failovers for a minute, as lines for a log:",
            "lagctl monitor --lines aggr1 60",
        )],
    ),
    (
        "state",
        &[(
            "Everything lagd knows, as JSON:",
            "lagctl state dump | jq .",
        )],
    ),
    (
        "diagnose",
        &[(
            "Find misconfigurations, each with its fix (exit 1 when there are findings):",
            "lagctl diagnose aggr1",
        )],
    ),
    (
        "reload",
        &[
            (
                "Apply the edited configuration file (refused, with the reason, when it is wrong):",
                "lagctl reload",
            ),
            (
                "Delete every aggregation of the file after emptying it (refused without the flag):",
                "lagctl reload --delete-all",
            ),
        ],
    ),
    (
        "restart-daemon",
        &[(
            "Upgrade lagd without taking an aggregation down:",
            "lagctl restart-daemon",
        )],
    ),
    (
        "restore-links",
        &[(
            "lagd crashed and will not be restarted: see, then restore, the members it held:",
            "lagctl restore-links --all --dry-run\nlagctl restore-links --all",
        )],
    ),
    (
        "import",
        &[
            (
                "A systemd-networkd bond, printed, then written:",
                "lagctl import networkd /etc/systemd/network/bond0.netdev /etc/systemd/network/*.network\nlagctl import networkd --write /etc/systemd/network/bond0.netdev /etc/systemd/network/*.network",
            ),
            (
                "netplan and ifupdown:",
                "lagctl import netplan /etc/netplan/01-bond.yaml\nlagctl import ifupdown /etc/network/interfaces",
            ),
        ],
    ),
    (
        "completions",
        &[(
            "Bash completion for the current shell:",
            "source <(lagctl completions bash)",
        )],
    ),
    (
        "man",
        &[("Read a verb's page:", "lagctl man show-aggr | man -l -")],
    ),
    (
        "gen-docs",
        &[(
            "Write every page and completion script (what the package ships):",
            "lagctl gen-docs dist",
        )],
    ),
    (
        "create-dt-domain",
        &[(
            "Distributed Trunking on this switch, with its peer link and keepalive:",
            "lagctl create-dt-domain --domain-id 7 --peer-link eth9 --keepalive eth8 --role-priority 100",
        )],
    ),
    (
        "show",
        &[(
            "The DT pair, and the LACP trunks as a ProCurve shows them:",
            "lagctl show distributed-trunk status\nlagctl show lacp trunk",
        )],
    ),
    (
        "sim",
        &[(
            "Run a scenario in the deterministic simulator:",
            "lagctl sim scenarios/sun-failover.toml\nlagctl sim --json scenarios/sun-failover.toml",
        )],
    ),
    (
        "demo",
        &[(
            "Two hosts, four links, a cut and a repair (needs root):",
            "lagctl demo",
        )],
    ),
    (
        "disable-member",
        &[(
            "Take eth2 out of service for maintenance; its conversations move first, nothing is lost:",
            "lagctl disable-member -l eth2 aggr1",
        )],
    ),
    (
        "enable-member",
        &[(
            "Put eth2 back in service:",
            "lagctl enable-member -l eth2 aggr1",
        )],
    ),
    (
        "set-active-member",
        &[(
            "Move the traffic of an active-backup aggregation to eth2:",
            "lagctl set-active-member aggr2 eth2",
        )],
    ),
    (
        "show-hash",
        &[
            (
                "Every bucket with its member and load:",
                "lagctl show-hash aggr1",
            ),
            (
                "Which member carries a TCP conversation, and its bucket:",
                "lagctl show-hash aggr1 --flow 198.18.0.1,198.18.1.1,tcp,40000,443",
            ),
        ],
    ),
    (
        "events",
        &[
            ("Follow the events as they happen:", "lagctl events -f"),
            (
                "The same as JSON, one document per line:",
                "lagctl events -f --json aggr1",
            ),
        ],
    ),
];

/// What lagctl-VERB(8) adds to its generated page: EXIT STATUS and FILES as lagctl(8), the
/// verb's EXAMPLES, and for `show-aggr` the legend of the state flags.
pub fn verb_extra(verb: &str) -> Extra<'static> {
    let base = lagctl_extra();
    Extra {
        examples: VERB_EXAMPLES
            .iter()
            .find(|(v, _)| *v == verb)
            .map_or(&[], |(_, e)| *e),
        see_also: "lagctl(8), lagd(8), lagd.toml(5)",
        more: if verb == "show-aggr" {
            &[("STATE FLAGS", STATE_FLAGS)]
        } else {
            &[]
        },
        ..base
    }
}

/// lagd(8).
pub fn lagd_page() -> Result<Vec<u8>, AdminError> {
    let exit = lagd_control::cli::EXIT_STATUSES
        .iter()
        .map(|(c, w)| (c.to_string(), (*w).to_string()))
        .collect();
    let extra = Extra {
        exit,
        environment: &[
            (
                "NOTIFY_SOCKET",
                "set by systemd for `Type=notify`: lagd reports READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1 and STATUS= there",
            ),
            (
                "WATCHDOG_USEC",
                "set by systemd for `WatchdogSec=`: lagd pings only while every forwarding thread runs",
            ),
            (
                "JOURNAL_STREAM",
                "set by systemd when stderr goes to the journal: log lines then carry syslog priorities `<3>`..`<7>`",
            ),
        ],
        files: &[
            (
                "/etc/lagd/lagd.toml",
                "the configuration (lagd.toml(5)), rewritten atomically by persistent lagctl changes",
            ),
            (
                "/run/lagd/lagd.sock",
                "the control socket (mode 0600), used by lagctl(8)",
            ),
            (
                "/run/lagd/",
                "lagd's state (`--state-dir`): records of the members' original settings, written before lagd changes a member, and of the aggregations' protocol state; a lagd started after a crash takes the members back from them, `lagctl restore-links` restores members whose lagd is gone",
            ),
            (
                "/lib/systemd/system/lagd.service",
                "the systemd unit: least privilege, notify, watchdog",
            ),
        ],
        examples: &[
            (
                "Validate a configuration before using it (no privilege needed, nothing touched):",
                "lagd --check-config /etc/lagd/lagd.toml",
            ),
            (
                "Run in a network namespace with its own files, logging debug lines:",
                "ip netns exec blue lagd --config /etc/lagd/blue.toml --socket /run/lagd/blue.sock --log-level debug",
            ),
            (
                "As a service:",
                "systemctl enable --now lagd\nsystemctl reload lagd\njournalctl -p err -u lagd",
            ),
            (
                "Restart (an upgrade) keeping every aggregation up, then stop and give the members back:",
                "lagctl restart-daemon\nsystemctl stop lagd",
            ),
        ],
        see_also: "lagctl(8), lagd.toml(5), systemd.service(5), sd_notify(3)",
        more: &[],
    };
    command_page(lagd_control::cli::Args::command(), SECTION, Some(&extra))
}

/// The configuration's reference, `docs/CONFIG.md`.
const CONFIG_MD: &str = include_str!("../../../../docs/CONFIG.md");

/// lagd.toml(5), from `docs/CONFIG.md`.
pub fn lagd_toml_page() -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION");
    let mut s = format!(
        ".TH LAGD.TOML 5 \"\" \"lagd {version}\" \"File Formats\"\n.SH NAME\nlagd.toml \\- configuration file of lagd(8)\n.SH SYNOPSIS\n\\fI/etc/lagd/lagd.toml\\fR\n.SH DESCRIPTION\n"
    );
    let settings_opened = std::cell::Cell::new(false);
    let section_of = |h: &str| -> Option<String> {
        let h = h.trim();
        if h.eq_ignore_ascii_case("example") || h.eq_ignore_ascii_case("examples") {
            Some("EXAMPLES".into())
        } else if h.eq_ignore_ascii_case("errors") {
            Some("DIAGNOSTICS".into())
        } else if !settings_opened.get() {
            settings_opened.set(true);
            Some(format!("SETTINGS\n.SS \"{}\"", inline(h)))
        } else {
            None
        }
    };
    s.push_str(&md_body(CONFIG_MD, &section_of));
    let extra = Extra {
        exit: vec![
            ("0".into(), "`lagd --check-config FILE`: the file is valid".into()),
            ("2".into(), "`lagd --check-config FILE`: the file does not parse or validate (the message names the aggregation and the field)".into()),
        ],
        environment: &[],
        files: &[
            ("/etc/lagd/lagd.toml", "the file lagd(8) reads by default (`--config`); installed commented out, as an empty configuration"),
        ],
        examples: &[(
            "Check the file, then apply it to the running lagd:",
            "lagd --check-config /etc/lagd/lagd.toml\nlagctl reload",
        )],
        see_also: "lagd(8), lagctl(8); docs/DT.md for the `[dt]` table of distributed trunking",
        more: &[],
    };
    s.push_str(&extra_sections(&extra));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_and_escapes() {
        assert_eq!(inline("`a-b` and *c*"), "\\fBa\\-b\\fR and \\fIc\\fR");
        assert_eq!(inline(".x"), "\\&.x");
        assert_eq!(inline("on\\|off"), "on|off");
        assert_eq!(esc("a\\b"), "a\\eb");
    }

    #[test]
    fn tables_become_tagged_paragraphs() {
        let mut out = String::new();
        table(
            &[
                "| key | default | meaning |",
                "|---|---|---|",
                "| `mtu` | 1500 | the MTU |",
            ],
            &mut out,
        );
        assert_eq!(out, ".TP\n\\fBmtu\\fR (default: 1500)\nthe MTU\n");
    }

    #[test]
    fn pages_have_the_required_sections() {
        let lagd = String::from_utf8(lagd_page().unwrap()).unwrap();
        let toml = String::from_utf8(lagd_toml_page()).unwrap();
        for (name, page) in [("lagd", &lagd), ("lagd.toml", &toml)] {
            for sh in [
                ".SH \"EXIT STATUS\"",
                ".SH FILES",
                ".SH EXAMPLES",
                ".SH NAME",
            ] {
                assert!(page.contains(sh), "{name} lacks {sh}");
            }
        }
        assert!(lagd.contains(".TH lagd 8"), "{lagd}");
        assert!(lagd.contains("check\\-config"));
        assert!(toml.contains(".TH LAGD.TOML 5"));
        assert!(toml.contains("\\fBmin_links\\fR"), "{toml}");
        assert!(toml.contains(".SH SETTINGS"));
    }
}
