//! The ini-style files systemd-networkd (`.netdev`, `.network`) and NetworkManager keyfiles
//! (`.nmconnection`) are written in: `[Section]` headers, `Key=Value` lines, `#` and `;`
//! comments. Sections and keys may repeat (networkd merges repeated keys); each entry keeps its
//! line number for the notes.

/// One `Key=Value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    /// The key as written.
    pub key: String,
    /// The value, surrounding blanks removed.
    pub value: String,
}

/// One `[Section]` and its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// The section name as written, without brackets.
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

/// A parsed file: its sections in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    /// Sections, in order (a repeated header is a new section, as networkd reads it).
    pub sections: Vec<Section>,
}

impl Ini {
    /// Parses `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if let Some(rest) = t.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(format!(
                        "{file}:{line}: `{t}`: a section header ends with ]"
                    ));
                };
                ini.sections.push(Section {
                    name: name.trim().to_string(),
                    line,
                    entries: Vec::new(),
                });
                continue;
            }
            let Some((k, v)) = t.split_once('=') else {
                return Err(format!(
                    "{file}:{line}: `{t}` is neither [Section] nor Key=Value"
                ));
            };
            let Some(section) = ini.sections.last_mut() else {
                return Err(format!("{file}:{line}: `{t}` comes before any [Section]"));
            };
            section.entries.push(Entry {
                line,
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            });
        }
        Ok(ini)
    }

    /// Every entry of every section named `section` (case-sensitive, as networkd and
    /// NetworkManager read them).
    pub fn entries<'a, 's>(
        &'a self,
        section: &'s str,
    ) -> impl Iterator<Item = &'a Entry> + use<'a, 's> {
        self.sections
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(|s| s.entries.iter())
    }

    /// The last value of `key` in `section` (later assignments win), with its entry.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries(section).filter(|e| e.key == key).last()
    }

    /// Whether a section of that name exists.
    pub fn has(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s.name == section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_entries_comments_and_errors() {
        let ini = Ini::parse(
            "# c\n[Match]\nName=eth0 eth1\n\n[Network]\n; c\nBond=bond0\nAddress=198.18.0.1/24\nAddress=198.18.0.2/24\n[Network]\nDHCP = yes\n",
            "f",
        )
        .unwrap();
        assert_eq!(ini.sections.len(), 3);
        assert_eq!(ini.get("Match", "Name").unwrap().value, "eth0 eth1");
        assert_eq!(ini.get("Network", "DHCP").unwrap().line, 11);
        assert_eq!(
            ini.entries("Network")
                .filter(|e| e.key == "Address")
                .count(),
            2
        );
        assert!(
            Ini::parse("Name=x\n", "f")
                .unwrap_err()
                .contains("before any")
        );
        assert!(Ini::parse("[A\n", "f").unwrap_err().contains("f:1"));
        assert!(Ini::parse("[A]\njunk\n", "f").unwrap_err().contains("f:2"));
    }
}
