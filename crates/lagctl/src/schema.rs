//! Every JSON document lagctl prints names its schema and version: a top-level object whose
//! `"schema"` member is `"lagd/NAME/MAJOR"` (e.g. `"lagd/show-aggr/1"`), described by the JSON
//! Schema file `docs/schema/NAME.vMAJOR.json`. What bumps MAJOR (a field removed, renamed or
//! changed in type or meaning) and what does not (a field added) is in docs/JSON.md.
//!
//! A stream (`-i N --json`, `events -f --json`) prints one such document per line.

use serde::Serialize;
use serde_json::{Map, Value};

/// One machine interface: a kind of JSON document and its major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The document's name (the verb and view it comes from).
    pub name: &'static str,
    /// The major version: bumped when a consumer of the previous one could misread a document.
    pub major: u32,
    /// Where the document's payload sits when it is not an object: the member holding it.
    pub wrap: Option<&'static str>,
}

impl Schema {
    const fn new(name: &'static str) -> Schema {
        Schema {
            name,
            major: 1,
            wrap: None,
        }
    }
    const fn wrapped(name: &'static str, key: &'static str) -> Schema {
        Schema {
            name,
            major: 1,
            wrap: Some(key),
        }
    }

    /// The value of the `"schema"` member: `lagd/NAME/MAJOR`.
    pub fn id(&self) -> String {
        format!("lagd/{}/{}", self.name, self.major)
    }

    /// The JSON Schema file under docs/schema/.
    pub fn file(&self) -> String {
        format!("{}.v{}.json", self.name, self.major)
    }

    /// The payload stamped with this schema: an object gets the `"schema"` member, anything
    /// else is put in an object under `wrap` beside it.
    pub fn stamp(&self, payload: Value) -> Value {
        let mut doc = match (payload, self.wrap) {
            (Value::Object(m), None) => m,
            (other, key) => {
                let mut m = Map::new();
                m.insert(key.unwrap_or("data").into(), other);
                m
            }
        };
        doc.insert("schema".into(), Value::String(self.id()));
        Value::Object(doc)
    }

    /// The document as text: pretty, or on one line for a stream (`compact`); ends with a
    /// newline.
    pub fn render(&self, payload: &impl Serialize, compact: bool) -> serde_json::Result<String> {
        let doc = self.stamp(serde_json::to_value(payload)?);
        let mut text = if compact {
            serde_json::to_string(&doc)?
        } else {
            serde_json::to_string_pretty(&doc)?
        };
        text.push('\n');
        Ok(text)
    }
}

/// `show-aggr --json`.
pub const SHOW_AGGR: Schema = Schema::wrapped("show-aggr", "aggregations");
/// `show-aggr -L --json`.
pub const SHOW_AGGR_LACP: Schema = Schema::wrapped("show-aggr-lacp", "aggregations");
/// `show-aggr -x --json`.
pub const SHOW_AGGR_EXTENDED: Schema = Schema::wrapped("show-aggr-extended", "aggregations");
/// `show-aggr -s --json`.
pub const SHOW_AGGR_STATISTICS: Schema = Schema::wrapped("show-aggr-statistics", "aggregations");
/// `show-aggr -P --json`.
pub const SHOW_AGGR_PERSISTENT: Schema = Schema::new("show-aggr-persistent");
/// `show-link --json`.
pub const SHOW_LINK: Schema = Schema::new("show-link");
/// `show-link -s --json`.
pub const SHOW_LINK_STATISTICS: Schema = Schema::new("show-link-statistics");
/// `show-hash --json`.
pub const SHOW_HASH: Schema = Schema::new("show-hash");
/// `events --json`: one event per line.
pub const EVENT: Schema = Schema::new("event");
/// `diagnose --json`.
pub const DIAGNOSE: Schema = Schema::new("diagnose");
/// `state dump`.
pub const STATE_DUMP: Schema = Schema::new("state-dump");
/// `show distributed-trunk status --json`.
pub const DT_STATUS: Schema = Schema::new("dt-status");
/// `show lacp trunk --json`.
pub const LACP_TRUNK: Schema = Schema::wrapped("lacp-trunk", "aggregations");
/// `sim --json`, `demo --sim --json`.
pub const SIM_REPORT: Schema = Schema::new("sim-report");

/// Every schema lagctl prints (docs/schema/ holds exactly their files).
pub const ALL: &[Schema] = &[
    SHOW_AGGR,
    SHOW_AGGR_LACP,
    SHOW_AGGR_EXTENDED,
    SHOW_AGGR_STATISTICS,
    SHOW_AGGR_PERSISTENT,
    SHOW_LINK,
    SHOW_LINK_STATISTICS,
    SHOW_HASH,
    EVENT,
    DIAGNOSE,
    STATE_DUMP,
    DT_STATUS,
    LACP_TRUNK,
    SIM_REPORT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_get_the_member_and_arrays_are_wrapped() {
        let o = DIAGNOSE.stamp(serde_json::json!({"aggregate": "aggr1"}));
        assert_eq!(
            o,
            serde_json::json!({"schema": "lagd/diagnose/1", "aggregate": "aggr1"})
        );
        let a = SHOW_AGGR.stamp(serde_json::json!([{"name": "aggr1"}]));
        assert_eq!(
            a,
            serde_json::json!({"schema": "lagd/show-aggr/1", "aggregations": [{"name": "aggr1"}]})
        );
        let line = EVENT.render(&serde_json::json!({"seq": 1}), true).unwrap();
        assert_eq!(line, "{\"schema\":\"lagd/event/1\",\"seq\":1}\n");
        assert_eq!(SHOW_AGGR.file(), "show-aggr.v1.json");
    }
}
