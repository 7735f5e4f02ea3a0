//! `lagctl import` on real configurations from the projects' own documentation and test
//! suites (crates/lagctl/tests/import/TOOL/EXAMPLE/, each with a SOURCE file saying where it
//! comes from and how lagctl is run on it): the printed lagd configuration and the notes are
//! golden (`expected.toml`, `expected.notes`; `UPDATE_GOLDEN=1` rewrites them after a
//! deliberate change), the configuration is one lagd accepts, and every setting of the input
//! that has no lagd meaning gets a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use lagd_control::config::{AnyLinks, Config};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut out = Vec::new();
    for tool in std::fs::read_dir(&root).unwrap().flatten() {
        for ex in std::fs::read_dir(tool.path()).unwrap().flatten() {
            out.push(ex.path());
        }
    }
    out.sort();
    out
}

/// The `args:` line of an example's SOURCE.
fn args(dir: &Path) -> Vec<String> {
    let source = std::fs::read_to_string(dir.join("SOURCE")).unwrap();
    let line = source
        .lines()
        .find_map(|l| l.strip_prefix("args: "))
        .unwrap_or_else(|| panic!("{}: SOURCE has no `args:` line", dir.display()));
    line.split_whitespace().map(str::to_string).collect()
}

fn check_golden(path: &Path, got: &str, update: bool) -> Result<(), String> {
    if update {
        std::fs::write(path, got).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "{} differs (UPDATE_GOLDEN=1 to accept); got:\n{got}",
            path.display()
        ))
    }
}

#[test]
fn imports_match_their_golden_output() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let mut per_tool = std::collections::BTreeMap::<String, usize>::new();
    for dir in examples() {
        let a = args(&dir);
        let out = Command::new(env!("CARGO_BIN_EXE_lagctl"))
            .args(&a)
            .current_dir(&dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{}: lagctl {} failed: {stderr}",
            dir.display(),
            a.join(" ")
        );
        let cfg = Config::parse(&stdout).unwrap_or_else(|e| {
            panic!(
                "{}: lagd cannot read the output: {e}\n{stdout}",
                dir.display()
            )
        });
        cfg.validate(&AnyLinks)
            .unwrap_or_else(|e| panic!("{}: lagd refuses the output: {e}", dir.display()));
        assert!(!cfg.aggregations.is_empty());
        for r in [
            check_golden(&dir.join("expected.toml"), &stdout, update),
            check_golden(&dir.join("expected.notes"), &stderr, update),
        ] {
            if let Err(e) = r {
                failures.push(e);
            }
        }
        *per_tool.entry(a[1].clone()).or_default() += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    println!("examples per tool: {per_tool:?}");
    for tool in ["networkd", "netplan", "nmconnection"] {
        assert!(
            per_tool.get(tool).copied().unwrap_or(0) >= 3,
            "{tool}: at least three real-world examples"
        );
    }
}

/// Every `[Bond]` key, netplan parameter and keyfile `[bond]` option in the examples shows up
/// either in the configuration or in a note naming it.
#[test]
fn no_bonding_option_is_dropped_silently() {
    for dir in examples() {
        let notes = std::fs::read_to_string(dir.join("expected.notes")).unwrap_or_default();
        let toml = std::fs::read_to_string(dir.join("expected.toml")).unwrap_or_default();
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(f.path()).unwrap();
            let keys: Vec<String> = if name.ends_with(".netdev") {
                section_keys(&text, "[Bond]")
            } else if name.ends_with(".nmconnection") {
                section_keys(&text, "[bond]")
            } else if name.ends_with(".yaml") {
                text.lines()
                    .skip_while(|l| !l.trim_start().starts_with("parameters:"))
                    .skip(1)
                    .take_while(|l| l.starts_with("        "))
                    .filter_map(|l| l.trim().split(':').next().map(str::to_string))
                    .collect()
            } else {
                continue;
            };
            for k in keys {
                let carried = match k.as_str() {
                    "Mode" | "mode" => toml.contains("mode = "),
                    "TransmitHashPolicy" | "transmit-hash-policy" | "xmit_hash_policy" => {
                        toml.contains("policy = ")
                    }
                    "LACPTransmitRate" | "lacp-rate" | "lacp_rate" => {
                        toml.contains("lacp_timer = ")
                    }
                    "MinLinks" | "min-links" | "min_links" => toml.contains("min_links = "),
                    _ => false,
                };
                assert!(
                    carried || notes.contains(&format!(": {k}: ")),
                    "{}/{name}: {k} is neither imported nor noted",
                    dir.display()
                );
            }
        }
    }
}

fn section_keys(text: &str, header: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty())
        .collect()
}
