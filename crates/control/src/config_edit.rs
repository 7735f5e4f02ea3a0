//! Configuration write-back that keeps what the user wrote: comments, blank lines, key order
//! and formatting of everything a change did not touch.
//!
//! lagd rewrites its configuration file when aggregations are changed through the control
//! socket (`lagctl create-aggr`, `modify-aggr`, ...). [`merge`] applies the new configuration's
//! TOML onto the file's current text with `toml_edit`: values that did not change keep their
//! text and comments; changed values are replaced in place (their comments kept); keys and
//! tables that are gone are removed; new ones are appended. `[[aggregation]]` entries are
//! matched by `name`, so reordering, creating or deleting one leaves the others' comments alone.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// Applies `new_text` (the serialised new configuration) onto `old_text` (the file as it is),
/// keeping the old text's comments and layout where the content did not change. `None` when
/// either text does not parse (the caller then writes `new_text` as it is).
pub fn merge(old_text: &str, new_text: &str) -> Option<String> {
    let mut old: DocumentMut = old_text.parse().ok()?;
    let new: DocumentMut = new_text.parse().ok()?;
    merge_table(old.as_table_mut(), new.as_table());
    Some(old.to_string())
}

fn value_text(v: &Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

fn merge_table(old: &mut Table, new: &Table) {
    let gone: Vec<String> = old
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in gone {
        old.remove(&k);
    }
    for (k, nv) in new.iter() {
        match (old.get_mut(k), nv) {
            (Some(Item::Table(ot)), Item::Table(nt)) => merge_table(ot, nt),
            (Some(Item::ArrayOfTables(oa)), Item::ArrayOfTables(na)) => merge_array(oa, na),
            (Some(Item::Value(ov)), Item::Value(nv)) => {
                if value_text(ov) != value_text(nv) {
                    let decor = ov.decor().clone();
                    *ov = nv.clone();
                    *ov.decor_mut() = decor;
                }
            }
            _ => {
                old.insert(k, nv.clone());
            }
        }
    }
}

fn name_of(t: &Table) -> Option<String> {
    t.get("name").and_then(Item::as_str).map(str::to_string)
}

fn merge_array(old: &mut ArrayOfTables, new: &ArrayOfTables) {
    let mut out = ArrayOfTables::new();
    for nt in new.iter() {
        let name = name_of(nt);
        let kept = name
            .as_ref()
            .and_then(|n| old.iter().find(|ot| name_of(ot).as_ref() == Some(n)));
        match kept {
            Some(ot) => {
                let mut t = ot.clone();
                merge_table(&mut t, nt);
                out.push(t);
            }
            None => out.push(nt.clone()),
        }
    }
    *old = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"# Rack 12, top-of-rack uplinks.
[daemon]
log_level = "info"   # debug when chasing flaps

# Storage network: never below two links.
[[aggregation]]
name = "aggr1"
links = ["eth1", "eth2"]
min_links = 2 # storage needs both

# Backup, best effort.
[[aggregation]]
name = "aggr2"
links = ["eth3"]
"#;

    #[test]
    fn unchanged_content_keeps_the_text_byte_for_byte() {
        let new = r#"[daemon]
log_level = "info"

[[aggregation]]
name = "aggr1"
links = ["eth1", "eth2"]
min_links = 2

[[aggregation]]
name = "aggr2"
links = ["eth3"]
"#;
        assert_eq!(merge(OLD, new).unwrap(), OLD);
    }

    #[test]
    fn a_change_keeps_every_comment_it_does_not_remove() {
        // aggr1 gains a link, aggr2 is deleted, aggr3 is created, min_links changes.
        let new = r#"[daemon]
log_level = "info"

[[aggregation]]
name = "aggr1"
links = ["eth1", "eth2", "eth4"]
min_links = 3

[[aggregation]]
name = "aggr3"
links = ["eth5"]
"#;
        let out = merge(OLD, new).unwrap();
        for kept in [
            "# Rack 12, top-of-rack uplinks.",
            "# debug when chasing flaps",
            "# Storage network: never below two links.",
            "# storage needs both",
        ] {
            assert!(out.contains(kept), "{kept:?} lost:\n{out}");
        }
        assert!(!out.contains("aggr2") && !out.contains("# Backup"), "{out}");
        assert!(out.contains(r#"links = ["eth1", "eth2", "eth4"]"#), "{out}");
        assert!(out.contains("min_links = 3 # storage needs both"), "{out}");
        assert!(out.contains(r#"name = "aggr3""#), "{out}");
        // The result means exactly the new configuration.
        let a: toml::Value = toml::from_str(&out).unwrap();
        let b: toml::Value = toml::from_str(new).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn removed_keys_go_and_unparsable_text_is_not_merged() {
        let new = r#"[[aggregation]]
name = "aggr1"
links = ["eth1", "eth2"]

[[aggregation]]
name = "aggr2"
links = ["eth3"]
"#;
        let out = merge(OLD, new).unwrap();
        assert!(
            !out.contains("min_links") && !out.contains("[daemon]"),
            "{out}"
        );
        assert_eq!(
            toml::from_str::<toml::Value>(&out).unwrap(),
            toml::from_str::<toml::Value>(new).unwrap()
        );
        assert!(merge("this is = = not toml", new).is_none());
    }
}
