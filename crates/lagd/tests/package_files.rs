//! The files the Debian package installs besides the binaries (no root needed):
//! `dist/lagd.toml`, installed as `/etc/lagd/lagd.toml`, configures nothing as shipped, and its
//! commented example is a valid configuration once uncommented.

use lagd::config::{AnyLinks, Config};

fn shipped() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../dist/lagd.toml"))
        .expect("dist/lagd.toml")
}

#[test]
fn shipped_configuration_is_empty_and_valid() {
    let c = Config::parse(&shipped()).expect("parses");
    assert!(c.aggregations.is_empty() && c.dt.is_none(), "{c:?}");
    c.validate(&AnyLinks).expect("validates");
}

#[test]
fn commented_example_is_valid_once_uncommented() {
    // Uncomment the lines that are TOML (`# [table]`, `# key = value`), not the prose.
    let text: String = shipped()
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.starts_with('[')
                || l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let c = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.aggregations.len(), 1, "{text}");
    assert!(c.daemon.prometheus.is_some());
    c.validate(&AnyLinks)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
}
