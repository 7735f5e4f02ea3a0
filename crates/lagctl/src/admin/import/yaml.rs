//! A YAML document as a tree whose every node keeps its line, so that the notes of `import
//! netplan` point at the line an option is written on (yaml-rust2's own tree drops positions).

use std::collections::HashMap;

use yaml_rust2::Event;
use yaml_rust2::parser::{MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One node and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A scalar (strings, numbers and booleans alike, as written; `~`/empty is an empty string).
    Scalar(String, usize),
    /// A sequence.
    Seq(Vec<Node>, usize),
    /// A mapping: (key, line of the key, value), in order.
    Map(Vec<(String, usize, Node)>, usize),
}

impl Node {
    /// The line the node starts on.
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar(_, l) | Node::Seq(_, l) | Node::Map(_, l) => *l,
        }
    }

    /// The value of `key` in a mapping (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, n)| n)
    }

    /// The line of `key` and its value, in a mapping.
    pub fn entry(&self, key: &str) -> Option<(usize, &Node)> {
        match self {
            Node::Map(m, _) => m
                .iter()
                .rev()
                .find(|(k, _, _)| k == key)
                .map(|(_, l, n)| (*l, n)),
            _ => None,
        }
    }

    /// The entries of a mapping (empty otherwise).
    pub fn entries(&self) -> &[(String, usize, Node)] {
        match self {
            Node::Map(m, _) => m,
            _ => &[],
        }
    }

    /// A scalar's text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The scalars of a sequence, or a lone scalar.
    pub fn strings(&self) -> Vec<String> {
        match self {
            Node::Scalar(s, _) => vec![s.clone()],
            Node::Seq(items, _) => items
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            Node::Map(..) => Vec::new(),
        }
    }

    /// The node as YAML-ish text, for notes (`[a, b]`, `{k: v}`).
    pub fn text(&self) -> String {
        match self {
            Node::Scalar(s, _) => s.clone(),
            Node::Seq(items, _) => {
                format!(
                    "[{}]",
                    items.iter().map(Node::text).collect::<Vec<_>>().join(", ")
                )
            }
            Node::Map(m, _) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, _, v)| format!("{k}: {}", v.text()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(
        Vec<(String, usize, Node)>,
        Option<(String, usize)>,
        usize,
        usize,
    ),
}

#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    done: Option<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<String>,
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.open.last_mut() {
            None => {
                if self.done.is_none() {
                    self.done = Some(node);
                }
            }
            Some(Open::Seq(items, _, _)) => items.push(node),
            Some(Open::Map(entries, pending, _, _)) => match pending.take() {
                Some((k, l)) => entries.push((k, l, node)),
                None => match node {
                    Node::Scalar(k, l) => *pending = Some((k, l)),
                    other => {
                        self.error = Some(format!(
                            "line {}: a mapping key must be a plain value",
                            other.line()
                        ));
                        *pending = Some((String::new(), other.line()));
                    }
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(v, _, anchor, _) => self.push(Node::Scalar(v, line), anchor),
            Event::SequenceStart(anchor, _) => self.open.push(Open::Seq(Vec::new(), line, anchor)),
            Event::MappingStart(anchor, _) => {
                self.open.push(Open::Map(Vec::new(), None, line, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(o) = self.open.pop() {
                    let (node, anchor) = match o {
                        Open::Seq(items, l, a) => (Node::Seq(items, l), a),
                        Open::Map(entries, _, l, a) => (Node::Map(entries, l), a),
                    };
                    self.push(node, anchor);
                }
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .unwrap_or(Node::Scalar(String::new(), line));
                self.push(node, 0);
            }
            _ => {}
        }
    }
}

/// Parses the first document of `text`.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut b = Builder::default();
    let mut p = Parser::new_from_str(text);
    p.load(&mut b, false).map_err(|e| e.to_string())?;
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.done.unwrap_or(Node::Map(Vec::new(), 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines() {
        let n = parse(
            "network:\n  version: 2\n  bonds:\n    bond0:\n      interfaces: [a, b]\n      parameters:\n        mode: 802.3ad\n",
        )
        .unwrap();
        let bond = n
            .get("network")
            .unwrap()
            .get("bonds")
            .unwrap()
            .get("bond0")
            .unwrap();
        assert_eq!(bond.get("interfaces").unwrap().strings(), vec!["a", "b"]);
        let (line, mode) = bond.get("parameters").unwrap().entry("mode").unwrap();
        assert_eq!((line, mode.as_str()), (7, Some("802.3ad")));
        assert!(parse("a: [b\n").is_err());
    }
}
