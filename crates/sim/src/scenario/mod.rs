//! The scenario file format (TOML, documented in `scenarios/README.md`) and its validation into
//! the model the simulator runs.
//!
//! Parsing happens in two steps: serde reads the file into `*File` structs that mirror the TOML
//! (unknown fields are refused), then [`Scenario::from_toml`] resolves names (nodes, ports,
//! links, flows) into indices and refuses inconsistencies with a message naming the field.

mod builder;
mod dt;
mod file;
mod model;

pub use dt::{DtAggDef, DtDomain, DtSwitchDef};
pub use model::{
    AggDef, AggRef, At, Bound, Check, CheckKind, Direction, Fault, FlowDef, FlowSel, LinkDef, Node,
    NodeKind, PortDef, PortRef, Report, Scenario, Side, TimedFault, Traffic, VaryField, Via,
};

use crate::error::SimError;
use builder::Builder;
use file::ScenarioFile;

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml(&text)
    }

    /// Parses and validates scenario text.
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let f: ScenarioFile = toml::from_str(text)?;
        Builder::default().build(f)
    }

    /// Node index by name.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// `node:port` name of a port.
    pub fn port_name(&self, p: PortRef) -> String {
        match self.nodes.get(p.node) {
            Some(n) => format!(
                "{}:{}",
                n.name,
                n.ports.get(p.port).map_or("?", |x| x.name.as_str())
            ),
            None => "?".into(),
        }
    }

    /// `node/agg` name of an aggregation.
    pub fn agg_name(&self, a: AggRef) -> String {
        match self.nodes.get(a.node) {
            Some(n) => format!(
                "{}/{}",
                n.name,
                n.aggs.get(a.agg).map_or("?", |x| x.name.as_str())
            ),
            None => "?".into(),
        }
    }

    /// The aggregation a port belongs to in the scenario definition.
    pub fn agg_of_port(&self, p: PortRef) -> Option<AggRef> {
        let n = self.nodes.get(p.node)?;
        n.aggs
            .iter()
            .position(|a| a.ports.contains(&p.port))
            .map(|agg| AggRef { node: p.node, agg })
    }

    /// `name` with the seed replaced.
    pub fn with_seed(mut self, seed: u64) -> Scenario {
        self.seed = seed;
        self
    }
}

#[cfg(test)]
mod tests;
