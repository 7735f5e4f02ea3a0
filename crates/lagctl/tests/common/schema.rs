//! A checker of lagctl's JSON documents against their JSON Schema files (docs/schema/), written
//! by hand for the subset of JSON Schema 2020-12 those files use (docs/ARCHITECTURE.md says
//! why): `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
//! `minimum`, `maximum`, `anyOf`, `$ref` to `#/$defs/NAME`, and the annotations. A keyword
//! outside the subset is an error, so a schema never says more than the test checks.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// docs/schema/ of the workspace.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema")
}

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "$defs",
];
const CHECKED: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "anyOf",
    "$ref",
];

/// One schema file, and the property paths documents were seen to carry.
pub struct Checker {
    root: Value,
    /// Accept the string "N" where a number is expected (goldens mask counters so).
    pub masked: bool,
    /// `definition path/property` of every property met in a document.
    pub seen: BTreeSet<String>,
}

impl Checker {
    /// Loads docs/schema/FILE.
    pub fn load(file: &str) -> Checker {
        let path = dir().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let root: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        Checker {
            root,
            masked: false,
            seen: BTreeSet::new(),
        }
    }

    /// Every property path the schema defines (for coverage).
    pub fn defined(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        fn walk(s: &Value, at: &str, out: &mut BTreeSet<String>) {
            let Value::Object(m) = s else { return };
            if let Some(Value::Object(props)) = m.get("properties") {
                for (k, v) in props {
                    out.insert(format!("{at}/{k}"));
                    walk(v, &format!("{at}/{k}"), out);
                }
            }
            if let Some(i) = m.get("items") {
                walk(i, &format!("{at}[]"), out);
            }
            if let Some(a @ Value::Object(_)) = m.get("additionalProperties") {
                walk(a, &format!("{at}/*"), out);
            }
            if let Some(Value::Array(a)) = m.get("anyOf") {
                for s in a {
                    walk(s, at, out);
                }
            }
            if let Some(Value::Object(defs)) = m.get("$defs") {
                for (k, v) in defs {
                    walk(v, &format!("#{k}"), out);
                }
            }
        }
        walk(&self.root, "", &mut out);
        out
    }

    /// Keywords outside the checked subset anywhere in the schema, and `$ref`s that do not
    /// resolve.
    pub fn lint(&self) -> Vec<String> {
        fn walk(c: &Checker, s: &Value, at: &str, out: &mut Vec<String>) {
            let Value::Object(m) = s else {
                if !s.is_boolean() {
                    out.push(format!("{at}: a schema must be an object or a boolean"));
                }
                return;
            };
            for (k, v) in m {
                match k.as_str() {
                    "properties" | "$defs" => {
                        for (n, x) in v.as_object().into_iter().flatten() {
                            walk(c, x, &format!("{at}/{k}/{n}"), out);
                        }
                    }
                    "items" | "additionalProperties" => walk(c, v, &format!("{at}/{k}"), out),
                    "anyOf" => {
                        for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                            walk(c, x, &format!("{at}/anyOf/{i}"), out);
                        }
                    }
                    "$ref" => {
                        if let Err(e) = c.resolve(v.as_str().unwrap_or_default()) {
                            out.push(format!("{at}: {e}"));
                        }
                    }
                    k if ANNOTATIONS.contains(&k) || CHECKED.contains(&k) => {}
                    k => out.push(format!("{at}: keyword `{k}` is outside the checked subset")),
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &self.root, "", &mut out);
        out
    }

    /// The schema file as JSON.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Checks a document; the errors, each with its place in the document.
    pub fn check(&mut self, doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let root = self.root.clone();
        self.at(&root, doc, "", "", &mut errors);
        errors
    }

    fn resolve(&self, r: &str) -> Result<(Value, String), String> {
        let name = r
            .strip_prefix("#/$defs/")
            .ok_or_else(|| format!("$ref {r}: only #/$defs/NAME is supported"))?;
        self.root["$defs"]
            .get(name)
            .cloned()
            .map(|s| (s, format!("#{name}")))
            .ok_or_else(|| format!("$ref {r}: no such definition"))
    }

    fn at(&mut self, s: &Value, v: &Value, place: &str, spath: &str, errors: &mut Vec<String>) {
        let here = if place.is_empty() { "/" } else { place };
        let m = match s {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                errors.push(format!("{here}: nothing is allowed here"));
                return;
            }
            Value::Object(m) => m,
            _ => {
                errors.push(format!("{here}: the schema is not an object"));
                return;
            }
        };
        for k in m.keys() {
            if !ANNOTATIONS.contains(&k.as_str()) && !CHECKED.contains(&k.as_str()) {
                errors.push(format!(
                    "{here}: keyword `{k}` is outside the checked subset"
                ));
            }
        }
        if let Some(Value::String(r)) = m.get("$ref") {
            match self.resolve(r) {
                Ok((t, p)) => self.at(&t, v, place, &p, errors),
                Err(e) => errors.push(format!("{here}: {e}")),
            }
        }
        if let Some(t) = m.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.iter().any(|t| self.is_type(v, t)) {
                errors.push(format!("{here}: {v} is not of type {}", types.join(" or ")));
                return;
            }
        }
        if let Some(c) = m.get("const")
            && c != v
        {
            errors.push(format!("{here}: {v} is not {c}"));
        }
        if let Some(Value::Array(e)) = m.get("enum")
            && !e.contains(v)
        {
            errors.push(format!(
                "{here}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
        if let (Some(min), Some(n)) = (m.get("minimum").and_then(Value::as_f64), v.as_f64())
            && n < min
        {
            errors.push(format!("{here}: {n} < minimum {min}"));
        }
        if let (Some(max), Some(n)) = (m.get("maximum").and_then(Value::as_f64), v.as_f64())
            && n > max
        {
            errors.push(format!("{here}: {n} > maximum {max}"));
        }
        if let Some(Value::Array(any)) = m.get("anyOf") {
            let mut best: Option<Vec<String>> = None;
            let mut matched = false;
            for (i, alt) in any.iter().enumerate() {
                let mut e = Vec::new();
                self.at(alt, v, place, &format!("{spath}|{i}"), &mut e);
                if e.is_empty() {
                    matched = true;
                    break;
                }
                if best.as_ref().is_none_or(|b| e.len() < b.len()) {
                    best = Some(e);
                }
            }
            if !matched {
                errors.push(format!("{here}: matches none of anyOf"));
                errors.extend(best.unwrap_or_default());
            }
        }
        if let Value::Object(obj) = v {
            self.object(m, obj, place, spath, errors);
        }
        if let (Value::Array(a), Some(items)) = (v, m.get("items")) {
            for (i, x) in a.iter().enumerate() {
                self.at(
                    items,
                    x,
                    &format!("{place}/{i}"),
                    &format!("{spath}[]"),
                    errors,
                );
            }
        }
    }

    fn object(
        &mut self,
        m: &Map<String, Value>,
        obj: &Map<String, Value>,
        place: &str,
        spath: &str,
        errors: &mut Vec<String>,
    ) {
        let here = if place.is_empty() { "/" } else { place };
        let empty = Map::new();
        let props = m
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if let Some(Value::Array(req)) = m.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{here}: `{r}` is required"));
                }
            }
        }
        for (k, x) in obj {
            // The path for coverage: an anyOf alternative counts for its parent.
            let base = spath.split('|').next().unwrap_or(spath);
            if let Some(ps) = props.get(k) {
                self.seen.insert(format!("{base}/{k}"));
                self.at(
                    ps,
                    x,
                    &format!("{place}/{k}"),
                    &format!("{spath}/{k}"),
                    errors,
                );
            } else {
                match m.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{here}: `{k}` is not in the schema"))
                    }
                    Some(a @ Value::Object(_)) => {
                        self.seen.insert(format!("{base}/*"));
                        self.at(a, x, &format!("{place}/{k}"), &format!("{spath}/*"), errors)
                    }
                    _ => {}
                }
            }
        }
    }

    fn is_type(&self, v: &Value, t: &str) -> bool {
        let masked = self.masked && v == "N";
        match t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "string" => v.is_string(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "number" => v.is_number() || masked,
            "integer" => {
                masked || v.is_u64() || v.is_i64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

/// Checks one document printed by lagctl against the schema its `"schema"` member names
/// (`lagd/NAME/MAJOR` → docs/schema/NAME.vMAJOR.json); panics with every error.
pub fn check_text(text: &str, what: &str) {
    let doc: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    check_doc(&doc, what);
}

/// As [`check_text`], for a parsed document.
pub fn check_doc(doc: &Value, what: &str) {
    let id = doc["schema"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no \"schema\" member"));
    let mut parts = id.split('/');
    let (Some("lagd"), Some(name), Some(major), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("{what}: schema `{id}` is not lagd/NAME/MAJOR");
    };
    // Collecting samples to write a schema from (LAGCTL_SCHEMA_SAMPLES=DIR): saved, not checked.
    if let Some(dir) = std::env::var_os("LAGCTL_SCHEMA_SAMPLES") {
        use std::io::Write as _;
        let path = std::path::Path::new(&dir).join(format!("{name}.jsonl"));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        writeln!(f, "{doc}").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let mut c = Checker::load(&format!("{name}.v{major}.json"));
    let errors = c.check(doc);
    assert!(
        errors.is_empty(),
        "{what}: does not match {id}:\n  {}\n{}",
        errors.join("\n  "),
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
}
