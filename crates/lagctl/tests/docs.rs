//! Completions and man pages are generated from the clap definition (no root needed).

use std::process::Command;

fn lagctl(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_lagctl"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn completions_and_man_pages_cover_the_verbs() {
    let (code, bash) = lagctl(&["completions", "bash"]);
    assert_eq!(code, 0);
    for verb in [
        "create-aggr",
        "add-aggr",
        "remove-aggr",
        "modify-aggr",
        "delete-aggr",
        "show-aggr",
        "show-link",
        "monitor",
        "diagnose",
        "import",
    ] {
        assert!(bash.contains(verb), "bash completion lacks {verb}");
    }
    let (code, man) = lagctl(&["man"]);
    assert_eq!(code, 0);
    assert!(
        man.starts_with(".ie") || man.contains(".TH lagctl"),
        "{man}"
    );

    let dir = std::env::temp_dir().join(format!("lagctl-docs-{}", std::process::id()));
    let (code, listed) = lagctl(&["gen-docs", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(listed.contains("lagctl-show-aggr.8"), "{listed}");
    let page = std::fs::read_to_string(dir.join("man/lagctl-create-aggr.8")).unwrap();
    for opt in [
        "lacp\\-mode",
        "unicast",
        "min\\-links",
        "fallback\\-timeout",
        "temporary",
    ] {
        assert!(page.contains(opt), "create-aggr page lacks {opt}");
    }
    for c in ["_lagctl", "lagctl.bash", "lagctl.fish"] {
        let text = std::fs::read_to_string(dir.join("completions").join(c)).unwrap_or_default();
        assert!(text.contains("create-aggr"), "completions/{c}: {text:?}");
    }
    assert!(!dir.join("man/lagctl-help.8").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn committed_unit_file_runs_lagd_as_documented() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/lagd.service"),
    )
    .unwrap();
    for line in [
        "ExecStart=/usr/sbin/lagd --config /etc/lagd/lagd.toml --socket /run/lagd/lagd.sock",
        "ExecReload=/usr/sbin/lagctl reload --socket /run/lagd/lagd.sock",
        "Type=notify",
        "RuntimeDirectory=lagd",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line:?}");
    }
}

/// What the package installs from `dist/man` is what `lagctl gen-docs` writes from this build:
/// no page is stale, missing or left over. (The completions are not committed: scripts/deb.sh
/// generates them from the release build.)
#[test]
fn committed_man_pages_are_current() {
    let dir = std::env::temp_dir().join(format!("lagctl-docs-current-{}", std::process::id()));
    let (code, _) = lagctl(&["gen-docs", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist");
    let mut stale = Vec::new();
    let sub = "man";
    let names = |d: &std::path::Path| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let generated = names(&dir.join(sub));
    let committed = names(&dist.join(sub));
    for name in generated.union(&committed) {
        let a = std::fs::read(dir.join(sub).join(name)).ok();
        let b = std::fs::read(dist.join(sub).join(name)).ok();
        if a != b {
            stale.push(format!("dist/{sub}/{name}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        stale.is_empty(),
        "stale, missing or left-over generated files: {}; run `lagctl gen-docs dist`",
        stale.join(", ")
    );
}

/// Every verb's page (`lagctl man VERB`, the same as gen-docs writes) has EXIT STATUS, FILES
/// and EXAMPLES; show-aggr's explains the state flags; an unknown verb is a usage error that
/// suggests the close one.
#[test]
fn every_verb_has_a_page_with_examples() {
    let dir = std::env::temp_dir().join(format!("lagctl-verbs-{}", std::process::id()));
    let (code, listed) = lagctl(&["gen-docs", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let mut pages = 0;
    for path in listed.lines().filter(|l| l.contains("/man/lagctl-")) {
        let page = std::fs::read_to_string(path).unwrap();
        let verb = path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_start_matches("lagctl-")
            .trim_end_matches(".8");
        for sh in [".SH \"EXIT STATUS\"", ".SH FILES", ".SH EXAMPLES"] {
            assert!(
                page.contains(sh),
                "lagctl-{verb}(8) lacks {sh} (examples: VERB_EXAMPLES in crates/lagctl/src/admin/manpages.rs)"
            );
        }
        let (code, shown) = lagctl(&["man", verb]);
        assert_eq!(code, 0, "lagctl man {verb}");
        assert_eq!(
            shown, page,
            "lagctl man {verb} is not the page gen-docs writes"
        );
        pages += 1;
    }
    assert!(pages >= 20, "{listed}");
    let _ = std::fs::remove_dir_all(&dir);
    let (_, show_aggr) = lagctl(&["man", "show-aggr"]);
    assert!(show_aggr.contains(".SH \"STATE FLAGS\""), "{show_aggr}");
    assert!(show_aggr.contains("Defaulted"));
    let o = Command::new(env!("CARGO_BIN_EXE_lagctl"))
        .args(["man", "show-agr"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean `show-aggr`"), "{err}");
}
