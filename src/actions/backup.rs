//! Backups of a cluster: `pgbackrest info --output=json` parsed into typed
//! rows ([`parse_pgbackrest_info`]), `pg_basebackup` directories of v1
//! deployments ([`parse_basebackup_list`]), and their text / JSON rendering.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::catalog::BackupMethod;

/// One backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRow {
    /// pgBackRest label (`20240101-010101F`, `…F_…D`) or the directory name.
    pub label: String,
    /// `full`, `diff`, `incr` (pgBackRest) or `basebackup`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start and stop, seconds since the epoch (UTC).
    pub start: Option<i64>,
    pub stop: Option<i64>,
    /// Size of the database (bytes).
    pub size: Option<u64>,
    /// Bytes of the database copied by this backup (pgBackRest `delta`).
    pub delta: Option<u64>,
    /// Size in the repository (compressed).
    pub repo_size: Option<u64>,
    pub repo_delta: Option<u64>,
    /// First and last WAL segment needed to restore it.
    pub wal_start: Option<String>,
    pub wal_stop: Option<String>,
    pub lsn_start: Option<String>,
    pub lsn_stop: Option<String>,
    /// The backup a diff / incr one is based on.
    pub prior: Option<String>,
    /// pgBackRest found page checksum errors.
    pub error: bool,
}

/// The backups of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupListing {
    pub cluster: String,
    pub method: BackupMethod,
    /// Member the listing was read on.
    pub host: String,
    /// pgBackRest stanza.
    pub stanza: Option<String>,
    /// pgBackRest's status of the stanza (`ok`, `no valid backups`, …).
    pub status: Option<String>,
    /// Oldest first.
    pub backups: Vec<BackupRow>,
}

#[derive(Deserialize)]
struct InfoStanza {
    name: String,
    #[serde(default)]
    backup: Vec<InfoBackup>,
    #[serde(default)]
    status: Option<InfoStatus>,
}

#[derive(Deserialize)]
struct InfoStatus {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct StartStop<T> {
    #[serde(default)]
    start: Option<T>,
    #[serde(default)]
    stop: Option<T>,
}

#[derive(Deserialize, Default)]
struct InfoRepo {
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    delta: Option<u64>,
}

#[derive(Deserialize, Default)]
struct InfoSizes {
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    delta: Option<u64>,
    #[serde(default)]
    repository: Option<InfoRepo>,
}

#[derive(Deserialize)]
struct InfoBackup {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    timestamp: Option<StartStop<i64>>,
    #[serde(default)]
    info: Option<InfoSizes>,
    #[serde(default)]
    archive: Option<StartStop<String>>,
    #[serde(default)]
    lsn: Option<StartStop<String>>,
    #[serde(default)]
    prior: Option<String>,
    #[serde(default)]
    error: Option<bool>,
}

/// Parse `pgbackrest info --output=json` (an array of stanzas): the
/// status and backups of `stanza` (the only one when `None`).
pub fn parse_pgbackrest_info(
    json: &str,
    stanza: Option<&str>,
) -> Result<(Option<String>, Vec<BackupRow>), String> {
    let json = json.trim();
    let stanzas: Vec<InfoStanza> = serde_json::from_str(json).map_err(|e| {
        let head: String = json.chars().take(200).collect();
        format!("cannot parse pgbackrest info output ({e}): {head}")
    })?;
    let st = match stanza {
        Some(name) => stanzas.into_iter().find(|s| s.name == name),
        None => stanzas.into_iter().next(),
    };
    let Some(st) = st else {
        return Err(format!(
            "pgbackrest info does not list stanza {}",
            stanza.unwrap_or("(any)")
        ));
    };
    let status = st.status.and_then(|s| s.message);
    let mut rows: Vec<BackupRow> = st
        .backup
        .into_iter()
        .map(|b| {
            let ts = b.timestamp.unwrap_or_default();
            let info = b.info.unwrap_or_default();
            let repo = info.repository.unwrap_or_default();
            let archive = b.archive.unwrap_or_default();
            let lsn = b.lsn.unwrap_or_default();
            BackupRow {
                label: b.label,
                kind: b.kind,
                start: ts.start,
                stop: ts.stop,
                size: info.size,
                delta: info.delta,
                repo_size: repo.size,
                repo_delta: repo.delta,
                wal_start: archive.start,
                wal_stop: archive.stop,
                lsn_start: lsn.start,
                lsn_stop: lsn.stop,
                prior: b.prior,
                error: b.error.unwrap_or(false),
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.start, r.label.clone()));
    Ok((status, rows))
}

/// Parse the lines of [`HostSettings::basebackup_list`](super::catalog::HostSettings::basebackup_list):
/// `name<TAB>bytes<TAB>mtime`.
pub fn parse_basebackup_list(text: &str) -> Vec<BackupRow> {
    let mut rows: Vec<BackupRow> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let name = f.next()?.trim();
            if name.is_empty() {
                return None;
            }
            let size = f.next().and_then(|s| s.trim().parse().ok());
            let mtime = f.next().and_then(|s| s.trim().parse().ok());
            Some(BackupRow {
                label: name.to_string(),
                kind: "basebackup".into(),
                start: None,
                stop: mtime,
                size,
                delta: None,
                repo_size: size,
                repo_delta: None,
                wal_start: None,
                wal_stop: None,
                lsn_start: None,
                lsn_stop: None,
                prior: None,
                error: false,
            })
        })
        .collect();
    rows.sort_by_key(|r| (r.stop, r.label.clone()));
    rows
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`, `-`.
pub fn human_bytes(b: Option<u64>) -> String {
    let Some(b) = b else {
        return "-".into();
    };
    let f = b as f64;
    if b < 1024 {
        format!("{b} B")
    } else if f < 1024.0 * 1024.0 {
        format!("{:.1} KiB", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", f / 1048576.0)
    } else {
        format!("{:.1} GiB", f / 1073741824.0)
    }
}

/// `2024-01-01 01:01:01Z`, or `-`.
pub fn human_time(t: Option<i64>) -> String {
    let Some(t) = t else {
        return "-".into();
    };
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

impl BackupListing {
    /// A text table, oldest first.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} backups ({}{}, read on {}){}",
            self.cluster,
            self.method.as_str(),
            self.stanza
                .as_deref()
                .map(|s| format!(" stanza {s}"))
                .unwrap_or_default(),
            self.host,
            self.status
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
        let header = [
            "LABEL",
            "TYPE",
            "START",
            "STOP",
            "SIZE",
            "REPO",
            "WAL START",
            "WAL STOP",
        ];
        let rows: Vec<[String; 8]> = self
            .backups
            .iter()
            .map(|b| {
                [
                    if b.error {
                        format!("{} (errors)", b.label)
                    } else {
                        b.label.clone()
                    },
                    b.kind.clone(),
                    human_time(b.start),
                    human_time(b.stop),
                    human_bytes(b.size),
                    human_bytes(b.repo_size),
                    b.wal_start.clone().unwrap_or_else(|| "-".into()),
                    b.wal_stop.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                let _ = write!(s, "{c:<w$}", w = width[i]);
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(out, "{}", line(header.to_vec()));
        for r in &rows {
            let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
        }
        if rows.is_empty() {
            let _ = writeln!(out, "(no backups)");
        }
        out
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain values");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basebackup_lines() {
        let rows = parse_basebackup_list(
            "backup_pg-test_20240102T000000\t2048\t1704153600\nbad line\nbackup_pg-test_20240101T000000\t1024\t1704067200\n\n",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].label, "bad line");
        assert_eq!(rows[1].label, "backup_pg-test_20240101T000000");
        assert_eq!(rows[1].size, Some(1024));
        assert_eq!(rows[2].stop, Some(1704153600));
        assert_eq!(rows[2].kind, "basebackup");
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(human_bytes(Some(512)), "512 B");
        assert_eq!(human_bytes(Some(3 << 20)), "3.0 MiB");
        assert_eq!(human_bytes(None), "-");
        assert_eq!(human_time(Some(1704067200)), "2024-01-01 00:00:00Z");
    }

    #[test]
    fn info_errors_are_readable() {
        let e = parse_pgbackrest_info("ERROR: [056]: unable to find primary cluster", None)
            .unwrap_err();
        assert!(e.contains("unable to find primary"), "{e}");
        let e = parse_pgbackrest_info("[]", Some("pg-test")).unwrap_err();
        assert!(e.contains("pg-test"), "{e}");
    }
}
