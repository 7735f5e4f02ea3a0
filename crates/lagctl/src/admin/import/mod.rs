//! `lagctl import`: configurations written for the tools an operator already runs, turned into
//! lagd configuration: Debian ifupdown (`import ifupdown`), systemd-networkd (`import
//! networkd`), netplan (`import netplan`) and NetworkManager keyfiles (`import nmconnection`).
//!
//! Each import prints the lagd configuration (TOML) on standard output and one note per setting
//! lagd has no meaning for (or does differently) on standard error, as
//! `FILE:LINE: IFACE: OPTION: message`. Nothing is changed unless asked: `--write` adds the
//! aggregations to lagd's configuration file (keeping its comments; `lagctl reload` applies
//! them), `--apply` creates them in the running lagd, `-o FILE` writes the TOML to a file.
//!
//! The bonding options all four formats spell are translated in one place
//! ([`bonding::BondBuilder`]), so a bonding option means the same whichever tool wrote it.

pub mod bonding;
pub mod host;
pub mod ifupdown;
pub mod ini;
pub mod netplan;
pub mod networkd;
pub mod nmconnection;
pub mod yaml;

use std::io::Write;
use std::path::PathBuf;

use lagd_control::config::{AnyLinks, Config};

use super::cli::{IfupdownArgs, ImportOut, NetplanArgs, NetworkdArgs, NmconnectionArgs};
use super::error::AdminError;
use super::verbs::{connect, require_root};

pub use ifupdown::import_ifupdown;
pub use netplan::import_netplan;
pub use networkd::import_networkd;
pub use nmconnection::import_nmconnection;

/// A remark on one setting of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The file it is in (empty: about the import as a whole).
    pub file: String,
    /// 1-based line number (0: the whole file or import).
    pub line: usize,
    /// The interface (bond) it concerns.
    pub iface: String,
    /// The option as written.
    pub option: String,
    /// What lagd does instead.
    pub message: String,
}

/// The result of an import.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// The lagd configuration (one aggregation per bond).
    pub config: Config,
    /// Remarks: options without an equivalent, approximations, what to do next.
    pub notes: Vec<Note>,
}

impl Imported {
    /// Adds a finished bond: its aggregation, its notes, and a last note saying what to do
    /// with the source files once lagd runs the aggregate (`next`, given the bond's name).
    pub fn push_bond(
        &mut self,
        b: bonding::BondBuilder,
        next: impl FnOnce(&str) -> String,
    ) -> Result<(), AdminError> {
        let name = b.name().to_string();
        let (spec, notes) = b.finish()?;
        self.notes.extend(notes);
        self.notes.push(Note {
            file: String::new(),
            line: 0,
            iface: name.clone(),
            option: "migration".into(),
            message: next(&name),
        });
        self.config.aggregations.push(spec);
        Ok(())
    }

    /// Checks the configuration as lagd will (interface names not checked: they may be another
    /// host's).
    pub fn validate(&self, what: &str) -> Result<(), AdminError> {
        self.config.validate(&AnyLinks).map(|_| ()).map_err(|e| {
            AdminError::Input(format!(
                "{what}: the imported configuration is invalid: {e}"
            ))
        })
    }
}

/// The notes as text lines: `FILE:LINE: IFACE: OPTION: message` (the parts known).
pub fn render_notes(notes: &[Note]) -> String {
    notes
        .iter()
        .map(|n| {
            let mut s = String::new();
            match (n.file.is_empty(), n.line) {
                (true, _) => {}
                (false, 0) => s.push_str(&format!("{}: ", n.file)),
                (false, l) => s.push_str(&format!("{}:{l}: ", n.file)),
            }
            if !n.iface.is_empty() {
                s.push_str(&format!("{}: ", n.iface));
            }
            format!("{s}{}: {}\n", n.option, n.message)
        })
        .collect()
}

fn read(files: &[PathBuf]) -> Result<Vec<(String, String)>, AdminError> {
    files
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|source| AdminError::File {
                    path: p.clone(),
                    source,
                })
        })
        .collect()
}

fn host(out: &ImportOut) -> Result<host::HostLinks, AdminError> {
    match &out.host_links {
        Some(p) => host::HostLinks::from_ip_json(p),
        None => Ok(host::HostLinks::from_sysfs()),
    }
}

/// Runs `import ifupdown`.
pub fn run_ifupdown(a: &IfupdownArgs) -> Result<(), AdminError> {
    let files = read(std::slice::from_ref(&a.file))?;
    let (file, text) = files.first().cloned().unwrap_or_default();
    let imported = import_ifupdown(&text, &file)?;
    finish(imported, "ifupdown", &[file], &a.out)
}

/// Runs `import networkd`.
pub fn run_networkd(a: &NetworkdArgs) -> Result<(), AdminError> {
    let files = read(&a.files)?;
    let imported = import_networkd(&files, &host(&a.out)?)?;
    let names: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
    finish(imported, "networkd", &names, &a.out)
}

/// Runs `import netplan`.
pub fn run_netplan(a: &NetplanArgs) -> Result<(), AdminError> {
    let files = read(&a.files)?;
    let imported = import_netplan(&files, &host(&a.out)?)?;
    let names: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
    finish(imported, "netplan", &names, &a.out)
}

/// Runs `import nmconnection`.
pub fn run_nmconnection(a: &NmconnectionArgs) -> Result<(), AdminError> {
    let files = read(&a.files)?;
    let imported = import_nmconnection(&files, &host(&a.out)?)?;
    let names: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
    finish(imported, "nmconnection", &names, &a.out)
}

/// The TOML of an import, with a header naming its sources.
pub fn to_toml(imported: &Imported, tool: &str, files: &[String]) -> Result<String, AdminError> {
    let toml = imported
        .config
        .to_toml()
        .map_err(|e| AdminError::Output(e.to_string()))?;
    Ok(toml.replacen(
        "# Rewritten by lagd when aggregations are changed through the control socket.\n",
        &format!(
            "# Imported by `lagctl import {tool}` from {}.\n",
            files.join(", ")
        ),
        1,
    ))
}

fn finish(
    imported: Imported,
    tool: &str,
    files: &[String],
    o: &ImportOut,
) -> Result<(), AdminError> {
    if o.apply || o.write {
        require_root(if o.apply {
            "import --apply"
        } else {
            "import --write"
        })?;
    }
    let toml = to_toml(&imported, tool, files)?;
    eprint!("{}", render_notes(&imported.notes));
    if let Some(out) = &o.output {
        std::fs::write(out, &toml).map_err(|source| AdminError::File {
            path: out.clone(),
            source,
        })?;
    } else if !o.apply && !o.write {
        let mut out = std::io::stdout().lock();
        out.write_all(toml.as_bytes())?;
    }
    if o.write {
        write_into(&imported.config, &o.config)?;
        println!(
            "added {} to {}: run `lagctl reload` (or systemctl reload lagd) to create {}",
            imported
                .config
                .aggregations
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            o.config.display(),
            if imported.config.aggregations.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    if o.apply {
        let mut c = connect(&o.conn)?;
        for spec in &imported.config.aggregations {
            let msg = c.create_aggr(spec.clone(), o.temporary)?;
            println!("{msg}");
        }
    }
    Ok(())
}

/// Adds `new`'s aggregations to the configuration file `path` (created if absent), refusing
/// an aggregation or a member it already has; comments and layout are kept.
pub fn write_into(new: &Config, path: &std::path::Path) -> Result<(), AdminError> {
    let mut cfg = match std::fs::read_to_string(path) {
        Ok(text) => Config::parse(&text)
            .map_err(|e| AdminError::Input(format!("{}: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
        Err(source) => {
            return Err(AdminError::File {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    for a in &new.aggregations {
        if cfg.get(&a.name).is_some() {
            return Err(AdminError::Input(format!(
                "{}: already has an aggregation {}: nothing written",
                path.display(),
                a.name
            )));
        }
        if let Some((l, owner)) = a.links.iter().find_map(|l| {
            cfg.aggregations
                .iter()
                .find(|o| o.links.contains(l))
                .map(|o| (l, o.name.clone()))
        }) {
            return Err(AdminError::Input(format!(
                "{}: {l} is already a member of {owner}: nothing written",
                path.display()
            )));
        }
        cfg.aggregations.push(a.clone());
    }
    cfg.validate(&AnyLinks).map_err(|e| {
        AdminError::Input(format!(
            "{}: the result would be invalid: {e}",
            path.display()
        ))
    })?;
    cfg.write_atomic(path)
        .map(|_| ())
        .map_err(|e| AdminError::Output(e.to_string()))
}
