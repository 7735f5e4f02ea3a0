//! The JSON Schema files of lagctl's machine interfaces (docs/schema/, docs/JSON.md): one per
//! document lagctl prints, each well formed within the checked subset, naming its own id; the
//! golden JSON outputs match them (counters masked as "N" there) and together carry every
//! property they define; `lagctl sim --json` matches its schema as printed. The live documents
//! (a running lagd's) are checked where the namespace tests print them: admin.rs, operator.rs,
//! show_states.rs, human_text.rs, lagd's dt_pair.rs.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::schema::{Checker, check_text, dir};
use lagctl::schema::{self as s, Schema};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn every_document_has_one_well_formed_schema_file() {
    let files: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("docs/schema/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".json"))
        .collect();
    let wanted: BTreeSet<String> = s::ALL.iter().map(Schema::file).collect();
    assert_eq!(
        files, wanted,
        "docs/schema/ holds exactly one file per document"
    );
    for sc in s::ALL {
        let c = Checker::load(&sc.file());
        let root = c.root();
        assert_eq!(
            root["$schema"],
            "https://json-schema.org/draft/2020-12/schema",
            "{}",
            sc.file()
        );
        assert!(
            root["title"].is_string() && root["description"].is_string(),
            "{}",
            sc.file()
        );
        assert_eq!(
            root["type"],
            "object",
            "{}: a document is an object",
            sc.file()
        );
        assert_eq!(
            root["properties"]["schema"]["const"],
            Value::String(sc.id()),
            "{}: `schema` is the document's own id",
            sc.file()
        );
        assert!(
            root["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("schema"))),
            "{}: `schema` is required",
            sc.file()
        );
        if let Some(key) = sc.wrap {
            assert!(root["properties"][key].is_object(), "{}: {key}", sc.file());
        }
        let lint = c.lint();
        assert!(lint.is_empty(), "{}:\n  {}", sc.file(), lint.join("\n  "));
    }
}

/// Golden files by the schema they follow.
const GOLDENS: &[(Schema, &[&str])] = &[
    (s::SHOW_AGGR, &["show-aggr.json", "states-show-aggr.json"]),
    (s::SHOW_AGGR_LACP, &["show-aggr-L.json"]),
    (s::SHOW_AGGR_EXTENDED, &["show-aggr-x.json"]),
    (s::SHOW_AGGR_STATISTICS, &["show-aggr-s.json"]),
    (s::SHOW_AGGR_PERSISTENT, &["show-aggr-P.json"]),
    (s::SHOW_LINK, &["show-link.json"]),
    (s::SHOW_LINK_STATISTICS, &["show-link-s.json"]),
];

/// Properties no golden carries, and why.
const NOT_IN_GOLDENS: &[&str] = &[
    // Only the switch-independent modes (transmit-lb, adaptive-lb) have a balancer.
    "/aggregations[]/balancer",
    // Micro-BFD sessions (bfd, bfd_detect, bfd_diag): only when a member runs BFD; the -x
    // golden has none, tests/show_bfd.rs checks them against the schema.
    "/aggregations[]/members[]/bfd",
];

#[test]
fn goldens_match_their_schemas_and_cover_them() {
    for (sc, files) in GOLDENS {
        let mut c = Checker::load(&sc.file());
        c.masked = true;
        for f in *files {
            let text = std::fs::read_to_string(golden_dir().join(f)).expect(f);
            let doc: Value = serde_json::from_str(&text).expect(f);
            assert_eq!(doc["schema"], Value::String(sc.id()), "{f}");
            let errors = c.check(&doc);
            assert!(errors.is_empty(), "{f}:\n  {}", errors.join("\n  "));
        }
        let missing: Vec<String> = c
            .defined()
            .difference(&c.seen)
            .filter(|p| !p.starts_with('#'))
            .filter(|p| !NOT_IN_GOLDENS.iter().any(|q| p.starts_with(q)))
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{}: no golden carries {missing:?} (a field gone from the output?)",
            sc.file()
        );
    }
}

#[test]
fn sim_report_matches_its_schema() {
    let scenario =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/sun-failover.toml");
    let o = std::process::Command::new(common::lagctl_bin())
        .args(["sim", "--json"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    check_text(&String::from_utf8_lossy(&o.stdout), "sim --json");
}

#[test]
fn the_checker_finds_what_it_should() {
    let mut c = Checker::load(&s::SHOW_LINK.file());
    let good = serde_json::json!({
        "schema": "lagd/show-link/1",
        "links": [{"link": "eth1", "class": "member", "mtu": 1500, "state": "up", "over": "aggr1"}]
    });
    assert_eq!(c.check(&good), Vec::<String>::new());
    let mut renamed = good.clone();
    renamed["links"][0]["ifname"] = renamed["links"][0]["link"].take();
    renamed["links"][0].as_object_mut().unwrap().remove("link");
    assert!(
        c.check(&renamed)
            .iter()
            .any(|e| e.contains("`ifname` is not in the schema")),
        "{:?}",
        c.check(&renamed)
    );
    let mut retyped = good.clone();
    retyped["links"][0]["mtu"] = Value::from("1500");
    assert!(!c.check(&retyped).is_empty());
    let mut versioned = good;
    versioned["schema"] = Value::from("lagd/show-link/2");
    assert!(!c.check(&versioned).is_empty());
}
