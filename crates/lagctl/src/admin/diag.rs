//! `lagctl diagnose NAME`: asks lagd to run `lagd_agg::diagnose` and prints the findings.

use std::io::Write;

use lagd_agg::diagnose::{
    Change, Diagnosis, Finding, FindingCode, Fix, Setting, Severity, View, Where,
};

use super::cli::DiagnoseArgs;
use super::error::AdminError;
use super::verbs::connect;

/// The flag of `modify-aggr` that sets `setting` (dladm's short flag where there is one).
pub fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Mode => "-m",
        Setting::LacpMode => "-L",
        Setting::LacpTimer => "-T",
        Setting::Policy => "-P",
        Setting::Mac => "-u",
        Setting::Mtu => "--mtu",
        Setting::MinLinks => "--min-links",
        Setting::MaxActive => "--max-active",
        Setting::Fallback => "--fallback",
        Setting::FallbackTimeout => "--fallback-timeout",
        Setting::SystemPriority => "--system-priority",
        Setting::Key => "-k",
        Setting::Offload => "--offload",
        Setting::Distributed => "--distributed",
    }
}

/// The command that makes `change` on aggregation `name`.
pub fn command(change: &Change, name: &str) -> String {
    match change {
        Change::Set { setting, value } => {
            if *setting == Setting::Distributed {
                // Not a flag of modify-aggr: a key of the configuration file.
                return format!("set distributed = {value} on {name} in lagd.toml, then reload");
            }
            format!("lagctl modify-aggr {} {value} {name}", flag(*setting))
        }
        Change::RemoveMembers { members } => format!(
            "lagctl remove-aggr {} {name}",
            members
                .iter()
                .map(|m| format!("-l {m}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Change::AddMember => format!("lagctl add-aggr -l LINK {name}"),
        Change::Readd { member } => {
            format!("lagctl remove-aggr -l {member} {name}; lagctl add-aggr -l {member} {name}")
        }
        Change::Show { view } => match view {
            View::Lacp => format!("lagctl show-aggr -L {name}"),
            View::Extended => format!("lagctl show-aggr -x {name}"),
            View::DtStatus => "lagctl show distributed-trunk status".into(),
        },
        Change::CreateDtDomain { domain_id } => format!(
            "lagctl create-dt-domain --domain-id {} --peer-link IF --keepalive IF",
            domain_id.map_or_else(|| "ID".to_string(), |d| d.to_string())
        ),
    }
}

/// One fix as a line: its words, then the command (on this host), or where it applies.
pub fn fix_line(fix: &Fix, name: &str) -> String {
    if let (Where::Partner, Some(Change::Set { setting, value })) = (fix.on, &fix.change) {
        // The partner may be a switch: say what to set, not a lagctl command.
        return format!("{} (on the partner: {setting} = {value})", fix.text);
    }
    let cmd = fix.change.as_ref().map(|c| command(c, name));
    match (fix.on, cmd) {
        (Where::Here, Some(c)) => format!("{}: {c}", fix.text),
        (Where::BothEnds, Some(c)) => format!("{}, on both ends: {c}", fix.text),
        (Where::BothSwitches, Some(c)) => format!("{}, on both switches: {c}", fix.text),
        (Where::DtPeer, Some(c)) => format!("{}, on the DT peer: {c}", fix.text),
        (_, _) => fix.text.clone(),
    }
}

/// The stable name of a finding code (`partner-no-lacp`), as in the JSON.
pub fn code_name(code: FindingCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The findings as text: one block each (severity, problem, evidence, fixes).
pub fn render_findings(findings: &[Finding], name: &str) -> String {
    let mut out = String::new();
    for f in findings {
        out.push('\n');
        out.push_str(&format!(
            "{} [{}]: {}\n",
            f.severity,
            code_name(f.code),
            f.problem
        ));
        for e in &f.evidence {
            out.push_str(&format!("  evidence: {e}\n"));
        }
        for x in &f.fix {
            out.push_str(&format!("  fix: {}\n", fix_line(x, name)));
        }
    }
    out
}

/// The text report: a summary line, then one block per finding.
pub fn render(d: &Diagnosis) -> String {
    let mut out = String::new();
    if d.healthy {
        out.push_str(&format!("{}: healthy", d.aggregate));
        let infos = d.findings.len();
        if infos > 0 {
            out.push_str(&format!(
                " ({infos} note{})",
                if infos == 1 { "" } else { "s" }
            ));
        }
        out.push('\n');
    } else {
        let n = d
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .count();
        out.push_str(&format!(
            "{}: {n} problem{} found\n",
            d.aggregate,
            if n == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&render_findings(&d.findings, &d.aggregate));
    out
}

/// Runs `diagnose`; returns whether the aggregation is healthy.
pub fn run(a: &DiagnoseArgs) -> Result<bool, AdminError> {
    let mut c = connect(&a.conn)?;
    let d = c.diagnose(&a.name)?;
    let text = if a.json {
        crate::schema::DIAGNOSE
            .render(&d, false)
            .map_err(|e| AdminError::Output(e.to_string()))?
    } else {
        render(&d)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(d.healthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_findings_with_evidence_and_fix() {
        let d = Diagnosis {
            aggregate: "aggr1".into(),
            healthy: false,
            findings: vec![Finding {
                severity: Severity::Error,
                code: FindingCode::PartnerNoLacp,
                member: None,
                problem: "the partner runs no LACP".into(),
                evidence: vec!["eth1: receive DEFAULTED".into()],
                fix: vec![
                    Fix::set("run a static trunk", Setting::LacpMode, "off"),
                    Fix::set("or enable LACP there", Setting::LacpMode, "active")
                        .on(Where::Partner),
                    Fix::set("or run a static trunk", Setting::LacpMode, "off").on(Where::BothEnds),
                    Fix::remove("or take it out", vec!["eth1".into(), "eth2".into()]),
                    Fix::text("check the cable"),
                ],
            }],
        };
        assert_eq!(
            render(&d),
            "aggr1: 1 problem found\n\nerror [partner-no-lacp]: the partner runs no LACP\n  evidence: eth1: receive DEFAULTED\n  fix: run a static trunk: lagctl modify-aggr -L off aggr1\n  fix: or enable LACP there (on the partner: lacp_mode = active)\n  fix: or run a static trunk, on both ends: lagctl modify-aggr -L off aggr1\n  fix: or take it out: lagctl remove-aggr -l eth1 -l eth2 aggr1\n  fix: check the cable\n"
        );
        let ok = Diagnosis {
            aggregate: "aggr1".into(),
            healthy: true,
            findings: vec![],
        };
        assert_eq!(render(&ok), "aggr1: healthy\n");
    }
}
