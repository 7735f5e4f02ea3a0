//! Why a configuration was refused.

use std::path::PathBuf;

use lagd_node::settings::{SettingsError, Syntax};

/// Why a configuration was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// TOML syntax error or unknown field (the message carries the line and the key).
    #[error("{0}")]
    Syntax(String),
    /// A field outside the aggregations has a bad value, or aggregations conflict.
    #[error("{context}: {message}")]
    Invalid {
        /// Which part and field, e.g. ``aggregation `aggr1`: links``.
        context: String,
        /// What is wrong with it.
        message: String,
    },
    /// A setting of an aggregation has a bad value.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl ConfigError {
    pub(crate) fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            context: context.into(),
            message: message.into(),
        }
    }

    /// The message in the language of the interface the user typed in: settings named as
    /// the file writes them (`min_links = 2`) or as the command line does (`--min-links 2`).
    pub fn render(&self, syntax: Syntax) -> String {
        match self {
            ConfigError::Settings(e) => e.render(syntax),
            other => other.to_string(),
        }
    }
}
