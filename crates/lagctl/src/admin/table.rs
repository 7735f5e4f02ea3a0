//! One model for every show view, printed three ways: an aligned table (dladm style), parseable
//! lines (`-p -o FIELD,...`, colon separated) or JSON.

use serde_json::{Map, Value};

use super::error::AdminError;

/// One cell: what the table prints and what JSON carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Text for the table and parseable output.
    pub text: String,
    /// Value for JSON.
    pub json: Value,
}

impl Cell {
    /// A text cell (JSON string).
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            json: Value::String(s.clone()),
            text: s,
        }
    }
    /// A number cell.
    pub fn num(n: u64) -> Cell {
        Cell {
            text: n.to_string(),
            json: Value::from(n),
        }
    }
    /// A yes/no cell (JSON boolean).
    pub fn yes_no(b: bool) -> Cell {
        Cell {
            text: if b { "yes" } else { "no" }.into(),
            json: Value::Bool(b),
        }
    }
    /// A cell with its own text and JSON.
    pub fn with(text: impl Into<String>, json: Value) -> Cell {
        Cell {
            text: text.into(),
            json,
        }
    }
}

/// One aggregation (or group of links) in a view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section {
    /// Lines printed above the column header (table output only).
    pub title: Vec<String>,
    /// Fields describing the section as a whole (JSON output).
    pub info: Map<String, Value>,
    /// A summary row printed first (the `Total` row of `-s`); JSON key `total`.
    pub total: Option<Vec<Cell>>,
    /// Rows, one per member or link; JSON key `rows_key`.
    pub rows: Vec<Vec<Cell>>,
}

/// A whole view: its columns and sections.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Column names (the field names of `-o`).
    pub columns: Vec<&'static str>,
    /// Columns the table and JSON leave out unless asked for with `-o` (what the section
    /// title already says, such as the aggregation); parseable output keeps them.
    pub hidden: Vec<&'static str>,
    /// JSON key of the rows in each section.
    pub rows_key: &'static str,
    /// The JSON document's schema: with `wrap`, the sections are an array under that member;
    /// without, the view has one section, whose members are the document's.
    pub schema: crate::schema::Schema,
    /// The sections.
    pub sections: Vec<Section>,
}

/// A column name as a JSON key: `%ipkts` → `pct_ipkts`, `actor-key` → `actor_key`.
pub fn json_key(column: &str) -> String {
    column.replace('%', "pct_").replace('-', "_")
}

/// How to print a view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// `-p`.
    pub parseable: bool,
    /// `-o`: the selected fields (empty: all).
    pub fields: Vec<String>,
    /// `--json`.
    pub json: bool,
    /// JSON on one line (`-i N --json`: one document per line, for a stream reader).
    pub compact: bool,
}

impl View {
    /// The view with only the rows whose first cell is `name` (one link).
    pub fn only_rows_of(mut self, name: &str) -> View {
        for s in &mut self.sections {
            s.rows.retain(|r| r.first().is_some_and(|c| c.text == name));
            s.total = None;
        }
        self
    }

    /// The indices of the selected columns, or an error naming the unknown field. Without
    /// `-o`, every column (but the hidden ones unless `keep_hidden`).
    fn selected(&self, fields: &[String], keep_hidden: bool) -> Result<Vec<usize>, AdminError> {
        if fields.is_empty() || fields.iter().any(|f| f.eq_ignore_ascii_case("all")) {
            return Ok((0..self.columns.len())
                .filter(|i| keep_hidden || !self.hidden.contains(&self.columns[*i]))
                .collect());
        }
        fields
            .iter()
            .map(|f| {
                let f = f.trim();
                self.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(f))
                    .ok_or_else(|| {
                        AdminError::Usage(format!(
                            "unknown field `{f}`: valid fields are {}",
                            self.columns.join(",")
                        ))
                    })
            })
            .collect()
    }

    /// Renders the view.
    pub fn render(&self, fmt: &Format) -> Result<String, AdminError> {
        let sel = self.selected(&fmt.fields, fmt.parseable)?;
        if fmt.json {
            return self.render_json(&sel, fmt.compact);
        }
        if fmt.parseable {
            return Ok(self.render_parseable(&sel));
        }
        Ok(self.render_table(&sel))
    }

    fn render_json(&self, sel: &[usize], compact: bool) -> Result<String, AdminError> {
        let row = |cells: &[Cell]| -> Value {
            let mut m = Map::new();
            for &i in sel {
                if let (Some(name), Some(c)) = (self.columns.get(i), cells.get(i)) {
                    m.insert(json_key(name), c.json.clone());
                }
            }
            Value::Object(m)
        };
        let sections: Vec<Value> = self
            .sections
            .iter()
            .map(|s| {
                let mut m = s.info.clone();
                if let Some(t) = &s.total {
                    m.insert("total".into(), row(t));
                }
                m.insert(
                    self.rows_key.into(),
                    Value::Array(s.rows.iter().map(|r| row(r)).collect()),
                );
                Value::Object(m)
            })
            .collect();
        let payload = match self.schema.wrap {
            Some(_) => Value::Array(sections),
            None => sections.into_iter().next().unwrap_or_else(|| {
                let mut m = Map::new();
                m.insert(self.rows_key.into(), Value::Array(Vec::new()));
                Value::Object(m)
            }),
        };
        self.schema
            .render(&payload, compact)
            .map_err(|e| AdminError::Output(e.to_string()))
    }

    fn render_parseable(&self, sel: &[usize]) -> String {
        let escape = sel.len() > 1;
        let mut out = String::new();
        for s in &self.sections {
            for r in s.total.iter().chain(s.rows.iter()) {
                let line: Vec<String> = sel
                    .iter()
                    .map(|&i| {
                        // Numbers as numbers (`10000`, not `10000 Mbps`).
                        let t = r.get(i).map_or(String::new(), |c| match &c.json {
                            Value::Number(n) => n.to_string(),
                            _ => c.text.clone(),
                        });
                        if escape {
                            t.replace('\\', "\\\\").replace(':', "\\:")
                        } else {
                            t
                        }
                    })
                    .collect();
                out.push_str(&line.join(":"));
                out.push('\n');
            }
        }
        out
    }

    fn render_table(&self, sel: &[usize]) -> String {
        let mut out = String::new();
        for (n, s) in self.sections.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            for t in &s.title {
                out.push_str(t);
                out.push('\n');
            }
            let rows: Vec<&Vec<Cell>> = s.total.iter().chain(s.rows.iter()).collect();
            let mut widths: Vec<usize> = sel
                .iter()
                .map(|&i| self.columns.get(i).map_or(0, |c| c.len()))
                .collect();
            for r in &rows {
                for (w, &i) in widths.iter_mut().zip(sel) {
                    *w = (*w).max(r.get(i).map_or(0, |c| c.text.chars().count()));
                }
            }
            let line = |cells: Vec<&str>| -> String {
                let mut l = String::new();
                for (k, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    if k + 1 == cells.len() {
                        l.push_str(c);
                    } else {
                        l.push_str(&format!("{c:<w$} "));
                    }
                }
                l.trim_end().to_string()
            };
            out.push_str(&line(
                sel.iter()
                    .map(|&i| self.columns.get(i).copied().unwrap_or(""))
                    .collect(),
            ));
            out.push('\n');
            for r in rows {
                out.push_str(&line(
                    sel.iter()
                        .map(|&i| r.get(i).map_or("", |c| c.text.as_str()))
                        .collect(),
                ));
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            columns: vec!["device", "address", "%ipkts"],
            hidden: Vec::new(),
            rows_key: "members",
            schema: crate::schema::SHOW_AGGR,
            sections: vec![Section {
                title: vec!["aggr1: key: 1".into()],
                info: [("name".to_string(), Value::from("aggr1"))]
                    .into_iter()
                    .collect(),
                total: None,
                rows: vec![
                    vec![
                        Cell::text("eth1"),
                        Cell::text("2:0:0:0:0:1"),
                        Cell::with("37.4", Value::from(37.4)),
                    ],
                    vec![
                        Cell::text("eth10"),
                        Cell::text("2:0:0:0:0:2"),
                        Cell::with("62.6", Value::from(62.6)),
                    ],
                ],
            }],
        }
    }

    #[test]
    fn table_is_aligned_with_header() {
        let t = view().render(&Format::default()).unwrap();
        assert_eq!(
            t,
            "aggr1: key: 1\ndevice address     %ipkts\neth1   2:0:0:0:0:1 37.4\neth10  2:0:0:0:0:2 62.6\n"
        );
    }

    #[test]
    fn parseable_escapes_colons_only_with_several_fields() {
        let v = view();
        let p = v
            .render(&Format {
                parseable: true,
                fields: vec!["device".into(), "address".into()],
                json: false,
                compact: false,
            })
            .unwrap();
        assert_eq!(
            p,
            "eth1:2\\:0\\:0\\:0\\:0\\:1\neth10:2\\:0\\:0\\:0\\:0\\:2\n"
        );
        let one = v
            .render(&Format {
                parseable: true,
                fields: vec!["ADDRESS".into()],
                json: false,
                compact: false,
            })
            .unwrap();
        assert_eq!(one, "2:0:0:0:0:1\n2:0:0:0:0:2\n");
    }

    #[test]
    fn unknown_field_is_refused_naming_the_valid_ones() {
        let e = view()
            .render(&Format {
                parseable: true,
                fields: vec!["devise".into()],
                json: false,
                compact: false,
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown field `devise`: valid fields are device,address,%ipkts"
        );
    }

    #[test]
    fn json_has_sections_and_rows() {
        let j = view()
            .render(&Format {
                json: true,
                ..Format::default()
            })
            .unwrap();
        let line = view()
            .render(&Format {
                json: true,
                compact: true,
                ..Format::default()
            })
            .unwrap();
        assert_eq!(line.lines().count(), 1, "one document per line: {line}");
        assert_eq!(
            serde_json::from_str::<Value>(&line).unwrap(),
            serde_json::from_str::<Value>(&j).unwrap()
        );
        let v: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["schema"], "lagd/show-aggr/1");
        assert_eq!(v["aggregations"][0]["name"], "aggr1");
        assert_eq!(v["aggregations"][0]["members"][1]["device"], "eth10");
        assert_eq!(v["aggregations"][0]["members"][0]["pct_ipkts"], 37.4);
    }
}
