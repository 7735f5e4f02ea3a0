//! `lagctl diagnose NAME`: asks lagd to run `lagd_agg::diagnose` and prints the findings.

use std::io::Write;

use lagd_agg::diagnose::{Diagnosis, Severity};

use super::cli::DiagnoseArgs;
use super::error::AdminError;
use super::verbs::connect;

/// The text report: one block per finding (severity, problem, evidence, fix).
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
    for f in &d.findings {
        out.push('\n');
        let code = serde_json::to_value(f.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push_str(&format!("{} [{code}]: {}\n", f.severity, f.problem));
        for e in &f.evidence {
            out.push_str(&format!("  evidence: {e}\n"));
        }
        for x in &f.fix {
            out.push_str(&format!("  fix: {x}\n"));
        }
    }
    out
}

/// Runs `diagnose`; returns whether the aggregation is healthy.
pub fn run(a: &DiagnoseArgs) -> Result<bool, AdminError> {
    let mut c = connect(&a.conn)?;
    let d = c.diagnose(&a.name)?;
    let text = if a.json {
        let mut t =
            serde_json::to_string_pretty(&d).map_err(|e| AdminError::Output(e.to_string()))?;
        t.push('\n');
        t
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
    use lagd_agg::diagnose::{Finding, FindingCode};

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
                fix: vec!["lagctl modify-aggr -L off aggr1".into()],
            }],
        };
        assert_eq!(
            render(&d),
            "aggr1: 1 problem found\n\nerror [partner-no-lacp]: the partner runs no LACP\n  evidence: eth1: receive DEFAULTED\n  fix: lagctl modify-aggr -L off aggr1\n"
        );
        let ok = Diagnosis {
            aggregate: "aggr1".into(),
            healthy: true,
            findings: vec![],
        };
        assert_eq!(render(&ok), "aggr1: healthy\n");
    }
}
