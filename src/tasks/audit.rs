//! The audit log `<state>/audit.jsonl`: one JSON object per line, two per
//! task (`"event": "start"` when it starts, `"event": "finish"` with the
//! outcome), appended with a single `write` each so concurrent writers do
//! not interleave. Commands appear in their display form
//! ([`RemoteCommand::shown`](super::shell::RemoteCommand::shown)), so secrets
//! kept out of it never reach the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A command as audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCommand {
    pub step: String,
    pub host: String,
    /// The user it runs as.
    pub user: String,
    pub command: String,
}

/// Outcome of one host in one step (finish records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHost {
    pub host: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// Outcome of one step (finish records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStep {
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub hosts: Vec<AuditHost>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub ts: String,
    /// `start` or `finish`.
    pub event: String,
    /// Task id (also the log file name).
    pub id: String,
    pub who: String,
    pub action: String,
    pub target: String,
    pub hosts: Vec<String>,
    pub commands: Vec<AuditCommand>,
    /// `running` (start), then `succeeded`, `failed` or `cancelled`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    /// The task's output log.
    pub log: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<AuditStep>,
}

/// The append-only audit log.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// `<state_dir>/audit.jsonl`
    pub fn new(state_dir: &Path) -> Self {
        AuditLog {
            path: state_dir.join("audit.jsonl"),
        }
    }

    /// An audit log at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record (directory created if needed).
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())
    }

    /// Every record (unparsable lines skipped); empty if there is no file.
    pub fn read_all(&self) -> std::io::Result<Vec<AuditRecord>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}
