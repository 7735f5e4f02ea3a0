//! Administration of a running lagd over its control socket, modelled on Solaris `dladm`:
//! `create-aggr`, `add-aggr`, `remove-aggr`, `modify-aggr`, `delete-aggr`, `show-aggr`
//! (`-L`, `-x`, `-s`, `-P`, `-i`, `-p -o`, `--json`), `show-link`, `monitor`, `state dump`,
//! `disable-member`, `enable-member`, `set-active-member`, `show-hash`, `events`,
//! `diagnose`, `reload`, `import ifupdown|networkd|netplan|nmconnection`, and the generated completions and man pages.
//!
//! Exit status: 0 success; 1 the request was refused or failed (the message names the
//! problem, nothing changed); 2 usage error. `diagnose`: 0 healthy, 1 findings, 2 error.

pub mod cli;
pub mod clock;
pub mod diag;
pub mod docs;
pub mod error;
pub mod import;
pub mod manpages;
pub mod monitor;
pub mod operator;
pub mod restart;
pub mod restore;
pub mod show;
pub mod suggest;
pub mod table;
pub mod verbs;

use std::process::ExitCode;

pub use cli::AdminCmd;
pub use error::AdminError;

/// Runs one administration verb. `app` is the whole command line definition (for the
/// completions and man pages).
pub fn run(cmd: AdminCmd, mut app: clap::Command) -> ExitCode {
    let verb = verb_name(&cmd);
    let object = match &cmd {
        AdminCmd::ModifyAggr(a) => Some(a.name.clone()),
        _ => None,
    };
    let result = match cmd {
        AdminCmd::CreateAggr(a) => verbs::create(&a),
        AdminCmd::AddAggr(a) => verbs::add(&a),
        AdminCmd::RemoveAggr(a) => verbs::remove(&a),
        AdminCmd::ModifyAggr(a) => verbs::modify(&a),
        AdminCmd::DeleteAggr(a) => verbs::delete(&a),
        AdminCmd::DisableMember(a) => operator::disable(&a),
        AdminCmd::EnableMember(a) => operator::enable(&a),
        AdminCmd::SetActiveMember(a) => operator::set_active(&a),
        AdminCmd::ShowHash(a) => operator::show_hash(&a),
        AdminCmd::Events(a) => operator::events(&a),
        AdminCmd::ShowAggr(a) => verbs::show_aggr(&a),
        AdminCmd::ShowLink(a) => verbs::show_link(&a),
        AdminCmd::Monitor(a) => monitor::run(&a),
        AdminCmd::State {
            what: cli::StateCmd::Dump(c),
        } => verbs::state_dump(&c.conn),
        AdminCmd::Diagnose(a) => {
            return match diag::run(&a) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("lagctl: diagnose: {e}");
                    ExitCode::from(2)
                }
            };
        }
        AdminCmd::RestartDaemon(a) => restart::run(&a),
        AdminCmd::RestoreLinks(a) => restore::run(&a),
        AdminCmd::Import { what } => match what {
            cli::ImportCmd::Ifupdown(a) => import::run_ifupdown(&a),
            cli::ImportCmd::Networkd(a) => import::run_networkd(&a),
            cli::ImportCmd::Netplan(a) => import::run_netplan(&a),
            cli::ImportCmd::Nmconnection(a) => import::run_nmconnection(&a),
        },
        AdminCmd::Reload(a) => verbs::reload(&a.conn, a.delete_all),
        AdminCmd::Completions { shell } => {
            docs::completions(&mut app, shell, &mut std::io::stdout());
            Ok(())
        }
        AdminCmd::Man { verb } => docs::man(&app, verb.as_deref(), &mut std::io::stdout()),
        AdminCmd::GenDocs { dir } => docs::gen_docs(&mut app, &dir).map(|files| {
            for f in files {
                println!("{f}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lagctl: {verb}: {e}");
            if let AdminError::Client(lagd_control::client::ClientError::Daemon {
                findings, ..
            }) = &e
                && !findings.is_empty()
                && let Some(name) = object
            {
                eprint!("{}", diag::render_findings(findings, &name));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn verb_name(cmd: &AdminCmd) -> &'static str {
    match cmd {
        AdminCmd::CreateAggr(_) => "create-aggr",
        AdminCmd::AddAggr(_) => "add-aggr",
        AdminCmd::RemoveAggr(_) => "remove-aggr",
        AdminCmd::ModifyAggr(_) => "modify-aggr",
        AdminCmd::DeleteAggr(_) => "delete-aggr",
        AdminCmd::DisableMember(_) => "disable-member",
        AdminCmd::EnableMember(_) => "enable-member",
        AdminCmd::SetActiveMember(_) => "set-active-member",
        AdminCmd::ShowHash(_) => "show-hash",
        AdminCmd::Events(_) => "events",
        AdminCmd::ShowAggr(_) => "show-aggr",
        AdminCmd::ShowLink(_) => "show-link",
        AdminCmd::Monitor(_) => "monitor",
        AdminCmd::State { .. } => "state",
        AdminCmd::Diagnose(_) => "diagnose",
        AdminCmd::Reload(_) => "reload",
        AdminCmd::RestartDaemon(_) => "restart-daemon",
        AdminCmd::RestoreLinks(_) => "restore-links",
        AdminCmd::Import { .. } => "import",
        AdminCmd::Completions { .. } => "completions",
        AdminCmd::Man { .. } => "man",
        AdminCmd::GenDocs { .. } => "gen-docs",
    }
}
