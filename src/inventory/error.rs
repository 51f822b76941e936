//! Errors of the inventory loader.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::Pos;

/// How many problems [`InventoryError`]'s `Display` lists before summarising.
const MAX_SHOWN: usize = 20;

/// One problem in an inventory file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The inventory file, as it was given.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong and what was expected (no location prefix).
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn at(file: &Path, pos: Pos, message: impl Into<String>) -> Self {
        let known = pos.is_known();
        Diagnostic {
            file: file.to_path_buf(),
            line: known.then_some(pos.line),
            column: known.then_some(pos.column),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: message` (or `file: message` without a location).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file.display(), self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            _ => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why an inventory could not be found, read or understood.
///
/// `Display` renders the whole message, starting with `file:line:column:`
/// where there is a location, e.g.
/// `pigsty.yml:57:22: pg-test: host 10.10.10.13 has pg_role 'primay'; expected primary|replica|offline|delayed|standby`.
/// Several problems are rendered one per line.
#[derive(Debug)]
pub enum InventoryError {
    /// No inventory was given and none of the usual places has one.
    NotFound {
        /// Every path looked at, in order.
        tried: Vec<PathBuf>,
    },
    /// The file named with `-i/--inventory` does not exist (or is not a file).
    Missing { path: PathBuf, reason: String },
    /// The file could not be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is not a usable Pigsty inventory: one problem
    /// or several, each with its location.
    Invalid(Vec<Diagnostic>),
}

impl InventoryError {
    /// The located problems (empty unless [`InventoryError::Invalid`]).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            InventoryError::Invalid(d) => d,
            _ => &[],
        }
    }

    pub(crate) fn one(file: &Path, pos: Pos, message: impl Into<String>) -> Self {
        InventoryError::Invalid(vec![Diagnostic::at(file, pos, message)])
    }
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InventoryError::NotFound { tried } => {
                f.write_str("no Pigsty inventory found; tried ")?;
                for (i, p) in tried.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                f.write_str(
                    ". Pass one with -i FILE (--inventory FILE), \
                     or set PIGSTY_HOME to the directory holding pigsty.yml",
                )
            }
            InventoryError::Missing { path, reason } => {
                write!(f, "inventory {}: {reason}", path.display())
            }
            InventoryError::Io { path, source } => {
                write!(f, "cannot read inventory {}: {source}", path.display())
            }
            InventoryError::Invalid(diags) => {
                for (i, d) in diags.iter().take(MAX_SHOWN).enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{d}")?;
                }
                if diags.len() > MAX_SHOWN {
                    write!(f, "\n… and {} more problems", diags.len() - MAX_SHOWN)?;
                }
                if diags.is_empty() {
                    f.write_str("invalid inventory")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for InventoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InventoryError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column() {
        let e = InventoryError::one(
            Path::new("pigsty.yml"),
            Pos {
                line: 57,
                column: 22,
            },
            "pg-test: bad",
        );
        assert_eq!(e.to_string(), "pigsty.yml:57:22: pg-test: bad");
    }

    #[test]
    fn display_lists_several() {
        let d = |l| Diagnostic::at(Path::new("x.yml"), Pos { line: l, column: 1 }, "m");
        let e = InventoryError::Invalid((1..=25).map(d).collect());
        let s = e.to_string();
        assert!(s.starts_with("x.yml:1:1: m\nx.yml:2:1: m"), "{s}");
        assert!(s.ends_with("… and 5 more problems"), "{s}");
    }

    #[test]
    fn unknown_location_has_no_numbers() {
        let d = Diagnostic::at(Path::new("x.yml"), Pos::default(), "m");
        assert_eq!(d.to_string(), "x.yml: m");
    }
}
