//! Settings as text, in the language of the interface a user typed in ([`Syntax`]), and the
//! error a refused setting raises ([`SettingsError`]).

use core::fmt;

use super::AggrSettings;

/// The interface a user speaks: the configuration file (and the daemon's logs), or the
/// command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Syntax {
    /// TOML: `lacp_mode = "active"`.
    #[default]
    File,
    /// lagctl: `--lacp-mode active`.
    Cli,
}

impl Syntax {
    /// The setting `key` (a file key) by itself: `lacp_mode` or `--lacp-mode`.
    pub fn name(self, key: &str) -> String {
        match self {
            Syntax::File => key.to_string(),
            Syntax::Cli => format!("--{}", key.replace('_', "-")),
        }
    }

    /// The setting `key` with the value `value` (as TOML would write it).
    pub fn assignment(self, key: &str, value: &toml::Value) -> String {
        match self {
            Syntax::File => format!("{key} = {value}"),
            Syntax::Cli => {
                let v = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Boolean(true) => "on".into(),
                    toml::Value::Boolean(false) => "off".into(),
                    other => other.to_string(),
                };
                format!("{} {v}", self.name(key))
            }
        }
    }

    /// What separates settings rendered one after the other.
    pub fn separator(self) -> &'static str {
        match self {
            Syntax::File => "\n",
            Syntax::Cli => " ",
        }
    }

    /// A message template rendered in this syntax: `{key}` names a setting, `{key=value}`
    /// assigns it (`value` read as TOML if it parses as a number or a boolean, else a string).
    pub fn render(self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let inner = &after[..close];
            match inner.split_once('=') {
                Some((k, v)) => out.push_str(&self.assignment(k, &value_of(v))),
                None => out.push_str(&self.name(inner)),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn value_of(v: &str) -> toml::Value {
    if let Ok(n) = v.parse::<i64>() {
        toml::Value::Integer(n)
    } else if let Ok(b) = v.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(v.to_string())
    }
}

/// The assignments a setting's value stands for: itself, or one per member for `port`.
pub(super) fn assignments(key: &str, value: &toml::Value) -> Vec<(String, toml::Value)> {
    match (key, value) {
        ("port", toml::Value::Table(ports)) => ports
            .iter()
            .flat_map(|(link, t)| match t {
                toml::Value::Table(t) => t
                    .iter()
                    .map(|(k, v)| (format!("port.{link}.{k}"), v.clone()))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect(),
        _ => vec![(key.to_string(), value.clone())],
    }
}

/// What a serde type says of itself when asked to deserialize: its field names (a struct) or
/// its variant names (an enum).
fn shape<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Shape(Option<&'static [&'static str]>);
    impl<'de> de::Deserializer<'de> for &mut Shape {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("shape only"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _v: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("shape only"))
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _v: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(variants);
            Err(de::Error::custom("shape only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            identifier ignored_any
        }
    }
    let mut s = Shape(None);
    let _ = T::deserialize(&mut s);
    s.0.unwrap_or(&[])
}

/// The names of every setting of [`AggrSettings`] (its file keys, in declaration order).
pub fn names() -> &'static [&'static str] {
    shape::<AggrSettings>()
}

/// The values a settings enum takes, as written (`["active", "passive", "off"]`).
pub fn values<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    shape::<T>()
}

/// A refused setting: which aggregation, which setting, and what is wrong, with any setting
/// it cites rendered in the [`Syntax`] of the interface the user typed in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render(Syntax::File))]
pub struct SettingsError {
    /// The aggregation (its name; empty when unnamed).
    pub aggregation: String,
    /// The setting or field at fault (`lacp_mode`, `links`, `port.eth2`).
    pub field: String,
    /// What is wrong, as a template of [`Syntax::render`].
    pub message: String,
}

impl SettingsError {
    /// A refusal of `field` of `aggregation`.
    pub fn new(aggregation: &str, field: &str, message: impl Into<String>) -> Self {
        SettingsError {
            aggregation: aggregation.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The whole message in `syntax`: ``aggregation `aggr1`: max_active: 2 is below
    /// min_links = 3`` or ``aggregation `aggr1`: --max-active: 2 is below --min-links 3``.
    pub fn render(&self, syntax: Syntax) -> String {
        let field = if super::names().contains(&self.field.as_str()) {
            syntax.name(&self.field)
        } else {
            self.field.clone()
        };
        let who = if self.aggregation.is_empty() {
            "aggregation (unnamed)".to_string()
        } else {
            format!("aggregation `{}`", self.aggregation)
        };
        format!("{who}: {field}: {}", syntax.render(&self.message))
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syntax::File => "file",
            Syntax::Cli => "command line",
        })
    }
}
