//! Completion scripts and man pages generated from the clap definition (`clap_complete`,
//! `clap_mangen`). `lagctl gen-docs dist/` writes what is committed under `dist/`.

use std::io::Write;
use std::path::Path;

use clap::Command;
use clap_complete::Shell;

use super::error::AdminError;
use super::manpages;

/// Writes the completion script for `shell` to `out`.
pub fn completions(cmd: &mut Command, shell: Shell, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, cmd, name, out);
}

/// Writes lagctl(8) (roff), or with `verb` the verb's page lagctl-VERB(8), to `out`.
pub fn man(cmd: &Command, verb: Option<&str>, out: &mut dyn Write) -> Result<(), AdminError> {
    let page = match verb {
        None => manpages::command_page(
            cmd.clone(),
            manpages::SECTION,
            Some(&manpages::lagctl_extra()),
        )?,
        Some(v) => {
            // Built, as gen-docs builds it: the synopsis then reads `lagctl VERB`.
            let mut built = cmd.clone();
            built.build();
            verb_page(&built, v)?
        }
    };
    out.write_all(&page)?;
    Ok(())
}

/// The verbs that have a page of their own.
fn verbs(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
}

/// lagctl-VERB(8): the verb's command line, with EXIT STATUS, FILES and EXAMPLES.
fn verb_page(cmd: &Command, verb: &str) -> Result<Vec<u8>, AdminError> {
    let Some(sub) = verbs(cmd).find(|s| s.get_name() == verb) else {
        let names: Vec<&str> = verbs(cmd).map(Command::get_name).collect();
        return Err(AdminError::Usage(format!(
            "no verb `{verb}`{}; the verbs with a page: {}",
            super::suggest::did_you_mean(verb, names.iter().copied()),
            names.join(", ")
        )));
    };
    let full = format!("{}-{verb}", cmd.get_name());
    manpages::command_page(
        sub.clone().name(full),
        manpages::SECTION,
        Some(&manpages::verb_extra(verb)),
    )
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> AdminError + '_ {
    move |source| AdminError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `man/lagctl.8`, one `man/lagctl-VERB.8` per subcommand, `man/lagd.8`,
/// `man/lagd.toml.5` (`super::manpages`) and `completions/lagctl.{bash,zsh,fish}` under `dir`
/// (pages of an earlier section are removed). Returns the files written.
pub fn gen_docs(cmd: &mut Command, dir: &Path) -> Result<Vec<String>, AdminError> {
    cmd.build();
    let man_dir = dir.join("man");
    let comp_dir = dir.join("completions");
    std::fs::create_dir_all(&man_dir).map_err(file_err(&man_dir))?;
    std::fs::create_dir_all(&comp_dir).map_err(file_err(&comp_dir))?;
    let mut written = Vec::new();
    let mut write = |path: std::path::PathBuf, bytes: Vec<u8>| -> Result<(), AdminError> {
        std::fs::write(&path, bytes).map_err(file_err(&path))?;
        written.push(path.display().to_string());
        Ok(())
    };
    // Pages an earlier generator wrote in section 1.
    if let Ok(entries) = std::fs::read_dir(&man_dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("lagctl") && n.ends_with(".1") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut buf = Vec::new();
    man(cmd, None, &mut buf)?;
    write(man_dir.join("lagctl.8"), buf)?;
    write(man_dir.join("lagd.8"), manpages::lagd_page()?)?;
    write(man_dir.join("lagd.toml.5"), manpages::lagd_toml_page())?;
    let name = cmd.get_name().to_string();
    let names: Vec<String> = verbs(cmd).map(|v| v.get_name().to_string()).collect();
    for verb in names {
        let buf = verb_page(cmd, &verb)?;
        write(
            man_dir.join(format!("{name}-{verb}.{}", manpages::SECTION)),
            buf,
        )?;
    }
    for (shell, file) in [
        (Shell::Bash, "lagctl.bash"),
        (Shell::Zsh, "_lagctl"),
        (Shell::Fish, "lagctl.fish"),
    ] {
        let mut buf = Vec::new();
        completions(cmd, shell, &mut buf);
        write(comp_dir.join(file), buf)?;
    }
    Ok(written)
}
