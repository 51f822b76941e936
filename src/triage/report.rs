//! The incident report of one cluster: a Markdown file of what the operator
//! sees now, ready to paste into a ticket.
//!
//! Sections: health summary, members (like `patronictl list`), findings,
//! the last hour of events, active alerts, and per member the last lines and
//! the ERROR / FATAL / PANIC lines of its PostgreSQL, Patroni and pgbouncer
//! logs (fetched over SSH as the dbsu; a failure is written into the
//! section, it never aborts the report).
//!
//! Default path: `<state_dir>/reports/<cluster>-<YYYYMMDDTHHMMSSZ>.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::events::Timeline;
use super::health::{DownSince, summarize};
use super::logs::{self, LogError, LogKind, LogLines, Window};
use super::time::human_bytes;
use crate::model::{Deployment, Instance};
use crate::snapshot::{Snapshot, rfc3339};
use crate::tasks::ssh::{SshPool, Target};

/// Log lines fetched per file (errors are searched in these).
pub const LOG_LINES_FETCHED: usize = 500;
/// Last lines shown per file.
pub const LOG_LINES_SHOWN: usize = 30;
/// Error lines shown per file (the newest).
pub const ERROR_LINES_SHOWN: usize = 50;

/// The logs of one member (one result per log kind).
#[derive(Debug, Clone)]
pub struct MemberLogs {
    pub instance: String,
    pub logs: Vec<(LogKind, Result<LogLines, LogError>)>,
}

/// `<state_dir>/reports/<cluster>-<YYYYMMDDTHHMMSSZ>.md`
pub fn default_path(state_dir: &Path, cluster: &str, at: SystemTime) -> PathBuf {
    let stamp: String = rfc3339(at)
        .chars()
        .take(19)
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    state_dir
        .join("reports")
        .join(format!("{cluster}-{stamp}Z.md"))
}

/// Fetch the logs of every member of `cluster` (all members and kinds in
/// parallel). `target_of` gives the SSH target of an instance.
pub async fn collect_logs(
    pool: &SshPool,
    d: &Deployment,
    cluster: &str,
    target_of: &(dyn Fn(&Instance) -> Target + Sync),
) -> Vec<MemberLogs> {
    let Some(c) = d.cluster(cluster) else {
        return Vec::new();
    };
    let futs = c.instances.iter().map(|i| {
        let target = target_of(i);
        async move {
            let per_kind = LogKind::ALL.map(|k| {
                let target = target.clone();
                async move {
                    let r =
                        logs::read_instance(pool, &target, i, k, Window::Lines(LOG_LINES_FETCHED))
                            .await;
                    (k, r)
                }
            });
            MemberLogs {
                instance: i.name.clone(),
                logs: futures::future::join_all(per_kind).await,
            }
        }
    });
    futures::future::join_all(futs).await
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn fence(out: &mut String, lines: &[&str]) {
    let _ = writeln!(out, "```");
    for l in lines {
        // Keep the fence intact.
        let _ = writeln!(out, "{}", l.replace("```", "'''"));
    }
    let _ = writeln!(out, "```");
}

/// The Markdown report (pure: everything is given).
pub fn render(
    d: &Deployment,
    snap: &Snapshot,
    cluster: &str,
    timeline: &Timeline,
    history: &dyn DownSince,
    logs: &[MemberLogs],
    now: SystemTime,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Incident report: {cluster}\n");
    let _ = writeln!(
        w,
        "- generated: {} by {}",
        rfc3339(now),
        crate::tasks::local_user()
    );
    let _ = writeln!(w, "- deployment: {} ({})", d.name, d.source.display());
    let _ = writeln!(w, "- DCS: {}, Pigsty {}", d.dcs.kind, d.generation);
    if let Some(t) = snap.taken_at {
        let _ = writeln!(
            w,
            "- live state as of: {} (snapshot #{})",
            rfc3339(t),
            snap.seq
        );
    }

    let _ = writeln!(w, "\n## Health\n");
    let summary = summarize(d, snap, history);
    match summary.iter().find(|h| h.cluster == cluster) {
        Some(h) => {
            let _ = writeln!(w, "**{}**", h.level);
            for r in &h.reasons {
                let _ = writeln!(w, "- {r}");
            }
        }
        None => {
            let _ = writeln!(w, "no such cluster in the deployment or the live state");
        }
    }

    let _ = writeln!(w, "\n## Members\n");
    let live = snap.cluster(cluster);
    let _ = writeln!(
        w,
        "| Member | Host | Declared | Role | State | TL | Lag | Lag (s) | Streaming | Pending restart |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    let declared = d
        .cluster(cluster)
        .map(|c| c.instances.as_slice())
        .unwrap_or(&[]);
    let mut names: Vec<String> = declared.iter().map(|i| i.name.clone()).collect();
    for m in live.map(|c| c.members.as_slice()).unwrap_or(&[]) {
        if !names.contains(&m.name) {
            names.push(m.name.clone());
        }
    }
    for name in &names {
        let decl = declared.iter().find(|i| &i.name == name);
        let m = live.and_then(|c| c.member(name));
        let host = m
            .and_then(|m| m.ip.clone())
            .or_else(|| decl.map(|i| i.ip.clone()))
            .unwrap_or_else(|| "-".into());
        let role = m
            .map(|m| m.role_str().to_string())
            .unwrap_or_else(|| "unknown".into());
        let state = m
            .and_then(|m| {
                if m.reachable == Some(false) {
                    Some(format!(
                        "unreachable{}",
                        m.error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    ))
                } else {
                    m.state.as_ref().map(|f| f.value.clone())
                }
            })
            .unwrap_or_else(|| "-".into());
        let tl = m
            .and_then(|m| m.timeline.as_ref())
            .map(|f| f.value.to_string())
            .unwrap_or_else(|| "-".into());
        let lag = m
            .and_then(|m| m.lag_bytes.as_ref())
            .map(|f| human_bytes(f.value))
            .unwrap_or_else(|| "-".into());
        let lag_s = m
            .and_then(|m| m.lag_seconds.as_ref())
            .map(|f| format!("{:.1}", f.value))
            .unwrap_or_else(|| "-".into());
        let streaming = match m.and_then(|m| m.streaming) {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let pending = match m.and_then(|m| m.pending_restart.as_ref()).map(|f| f.value) {
            Some(true) => "*",
            _ => "",
        };
        let _ = writeln!(
            w,
            "| {name} | {host} | {} | {role} | {} | {tl} | {lag} | {lag_s} | {streaming} | {pending} |",
            decl.map(|i| i.role.as_str()).unwrap_or("-"),
            md_cell(&state),
        );
    }
    if let Some(c) = live {
        let _ = writeln!(
            w,
            "\nLeader: {}; paused: {}; sync standby: {}",
            c.leader().unwrap_or("none"),
            c.paused
                .as_ref()
                .map(|f| f.value.to_string())
                .unwrap_or_else(|| "unknown".into()),
            if c.sync_standby.is_empty() {
                "none".into()
            } else {
                c.sync_standby.join(", ")
            }
        );
        if let Some(h) = c.history.last() {
            let _ = writeln!(
                w,
                "Last timeline switch: {} -> {} at LSN {:X}/{:X}{}{} ({})",
                h.timeline,
                h.timeline + 1,
                h.lsn >> 32,
                h.lsn & 0xFFFF_FFFF,
                h.timestamp
                    .as_deref()
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default(),
                h.new_leader
                    .as_deref()
                    .map(|l| format!(", new leader {l}"))
                    .unwrap_or_default(),
                h.reason
            );
        }
    }

    let _ = writeln!(w, "\n## Findings\n");
    let findings: Vec<_> = snap
        .findings
        .iter()
        .filter(|f| f.cluster.as_deref() == Some(cluster) || f.cluster.is_none())
        .collect();
    if findings.is_empty() {
        let _ = writeln!(w, "none");
    }
    for f in findings {
        let sources: Vec<String> = f
            .sources
            .iter()
            .map(|o| format!("{}: {}", o.source, o.value))
            .collect();
        let _ = writeln!(
            w,
            "- [{:?}] {} ({})",
            f.severity,
            f.message,
            sources.join("; ")
        );
    }

    let _ = writeln!(w, "\n## Events of the last hour\n");
    let since = now.checked_sub(Duration::from_secs(3600));
    let events: Vec<_> = timeline
        .query(since, None)
        .into_iter()
        .filter(|e| e.cluster.as_deref() == Some(cluster) || e.cluster.is_none())
        .collect();
    if events.is_empty() {
        let _ = writeln!(
            w,
            "none recorded (events are recorded while the console or `status --watch` runs)"
        );
    } else {
        let lines: Vec<String> = events.iter().map(|e| e.line()).collect();
        fence(w, &lines.iter().map(String::as_str).collect::<Vec<_>>());
    }

    let _ = writeln!(w, "\n## Active alerts\n");
    let mut alerts: Vec<_> = snap
        .alerts
        .iter()
        .chain(live.map(|c| c.alerts.as_slice()).unwrap_or(&[]))
        .filter(|a| a.cls.as_deref() == Some(cluster))
        .collect();
    alerts.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    alerts.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    if alerts.is_empty() {
        let am = snap
            .sources_of(crate::sources::SourceKind::Alertmanager)
            .next();
        match am {
            Some(s) if !s.ok => {
                let _ = writeln!(
                    w,
                    "unknown: {} failing: {}",
                    s.name,
                    s.last_error.as_deref().unwrap_or("error")
                );
            }
            None => {
                let _ = writeln!(w, "unknown: no Alertmanager in the deployment");
            }
            _ => {
                let _ = writeln!(w, "none");
            }
        }
    }
    for a in alerts {
        let _ = writeln!(
            w,
            "- {} [{}] {}{} since {}{}",
            a.name,
            a.severity.as_deref().unwrap_or("-"),
            a.state,
            a.ins
                .as_deref()
                .map(|i| format!(" on {i}"))
                .unwrap_or_default(),
            a.starts_at.as_deref().unwrap_or("?"),
            a.summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
    }

    let _ = writeln!(w, "\n## Logs\n");
    if logs.is_empty() {
        let _ = writeln!(w, "not collected");
    }
    for m in logs {
        let _ = writeln!(w, "### {}\n", m.instance);
        for (kind, r) in &m.logs {
            match r {
                Err(e) => {
                    let _ = writeln!(w, "**{kind}**: could not read the log: {e}\n");
                }
                Ok(l) => {
                    let errors = l.errors();
                    let shown_err = &errors[errors.len().saturating_sub(ERROR_LINES_SHOWN)..];
                    let _ = writeln!(
                        w,
                        "**{kind}** `{}`: {} error line(s) in the last {} lines",
                        l.file,
                        errors.len(),
                        l.lines.len()
                    );
                    if !shown_err.is_empty() {
                        let _ = writeln!(w, "\nErrors:\n");
                        fence(w, shown_err);
                    }
                    let last: Vec<&str> = l.lines[l.lines.len().saturating_sub(LOG_LINES_SHOWN)..]
                        .iter()
                        .map(String::as_str)
                        .collect();
                    let _ = writeln!(w, "\nLast {} lines:\n", last.len());
                    fence(w, &last);
                    let _ = writeln!(w);
                }
            }
        }
    }
    out
}

/// Collect the logs, render and write the report to `path` (directories
/// created); returns the path.
#[allow(clippy::too_many_arguments)]
pub async fn generate(
    pool: &SshPool,
    d: &Deployment,
    snap: &Snapshot,
    cluster: &str,
    timeline: &Timeline,
    history: &dyn DownSince,
    target_of: &(dyn Fn(&Instance) -> Target + Sync),
    path: &Path,
) -> std::io::Result<PathBuf> {
    let logs = collect_logs(pool, d, cluster, target_of).await;
    let text = render(
        d,
        snap,
        cluster,
        timeline,
        history,
        &logs,
        SystemTime::now(),
    );
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    Ok(path.to_path_buf())
}
