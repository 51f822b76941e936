//! Formatting of live facts shared by the views: role markers, ages, sizes,
//! lag bars, sparklines, severities and source errors.
//!
//! Conventions (also listed in the help popup's legend):
//! `★` leader, `●` replica, `◌` starting / other state, `✗` down,
//! `?` unknown; a `~` before a value marks it stale (older than three poll
//! intervals, drawn dimmed); `≠` marks a live role that differs from the
//! inventory's.

use ratatui::style::Style;
use ratatui::text::Span;

use super::theme::Theme;
use crate::model::{Cluster, DeclaredRole, Deployment};
use crate::snapshot::{ClusterLive, MemberLive, Severity, Snapshot, SourceStatus};
use crate::sources::SourceKind;

/// How a member looks in the tree and the diagrams.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// One column wide: `★ ● ◌ ✗ ?`.
    pub glyph: &'static str,
    /// Short live role or state: `leader`, `sync`, `replica`, `down`, …;
    /// prefixed `~` when stale.
    pub label: String,
    pub style: Style,
    pub kind: MarkKind,
    pub stale: bool,
}

/// The broad state a [`Mark`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Leader,
    Replica,
    /// Starting, stopping, restarting, creating a replica…
    Transition,
    Down,
    Unknown,
}

/// Patroni states in which Postgres does not serve.
fn is_down_state(state: &str) -> bool {
    matches!(
        state,
        "stopped" | "crashed" | "start failed" | "unreachable" | "stopping"
    )
}

/// Patroni states of a healthy member.
fn is_running_state(state: &str) -> bool {
    matches!(state, "running" | "streaming" | "in archive recovery")
}

/// Short name of a live role.
pub fn role_short(role: &str) -> &str {
    match role {
        "leader" | "master" | "primary" => "leader",
        "standby_leader" => "standby",
        "sync_standby" => "sync",
        "quorum_standby" => "quorum",
        other => other,
    }
}

/// patronictl's wording of a live role (`Leader`, `Sync Standby`, …).
pub fn role_title(role: &str) -> String {
    match role {
        "leader" | "master" | "primary" => "Leader".into(),
        "standby_leader" => "Standby Leader".into(),
        "sync_standby" => "Sync Standby".into(),
        "quorum_standby" => "Quorum Standby".into(),
        "replica" => "Replica".into(),
        other => other.to_string(),
    }
}

/// The marker of a member (`None`: nothing known about it yet).
pub fn member_mark(m: Option<&MemberLive>, t: &Theme) -> Mark {
    let unknown = || Mark {
        glyph: "?",
        label: "unknown".into(),
        style: t.status_unknown,
        kind: MarkKind::Unknown,
        stale: false,
    };
    let Some(m) = m else { return unknown() };
    if m.reachable == Some(false) {
        let stale = m.state.as_ref().is_some_and(|s| s.stale);
        return Mark {
            glyph: "✗",
            label: "down".into(),
            style: t.status_down,
            kind: MarkKind::Down,
            stale,
        };
    }
    let state = m.state.as_ref();
    let (glyph, label, style, kind) = match (&m.role, state) {
        (_, Some(s)) if is_down_state(&s.value) => {
            ("✗", s.value.clone(), t.status_down, MarkKind::Down)
        }
        (_, Some(s)) if !is_running_state(&s.value) => {
            ("◌", s.value.clone(), t.warning, MarkKind::Transition)
        }
        (Some(r), _) if m.is_leader() => (
            "★",
            role_short(&r.value).to_string(),
            t.role_primary,
            MarkKind::Leader,
        ),
        (Some(r), _)
            if matches!(
                r.value.as_str(),
                "replica" | "sync_standby" | "quorum_standby"
            ) =>
        {
            (
                "●",
                role_short(&r.value).to_string(),
                t.role_replica,
                MarkKind::Replica,
            )
        }
        (Some(r), _) => ("◌", r.value.clone(), t.warning, MarkKind::Transition),
        (None, _) => return unknown(),
    };
    let stale = m.role.as_ref().or(state).is_some_and(|f| f.stale);
    if stale {
        return Mark {
            glyph,
            label: format!("~{label}"),
            style: t.stale,
            kind,
            stale,
        };
    }
    Mark {
        glyph,
        label,
        style,
        kind,
        stale,
    }
}

/// Whether the live role contradicts the inventory's (after a switchover:
/// the declared primary is a replica, a declared replica leads).
pub fn role_drift(declared: DeclaredRole, m: &MemberLive) -> bool {
    let Some(role) = &m.role else { return false };
    if m.reachable == Some(false) {
        return false;
    }
    match declared {
        DeclaredRole::Primary => !m.is_leader() && role.value != "unknown",
        DeclaredRole::Standby => false,
        _ => m.is_leader(),
    }
}

/// The live view of the cluster at index `c` of the deployment (the merger
/// builds clusters in inventory order, so this is usually a direct index).
pub fn cluster_at<'a>(
    snapshot: &'a Snapshot,
    c: usize,
    cluster: &Cluster,
) -> Option<&'a ClusterLive> {
    match snapshot.clusters.get(c) {
        Some(l) if l.name == cluster.name => Some(l),
        _ => snapshot.cluster(&cluster.name),
    }
}

/// Member `i` of a live cluster (declared members come first, in order).
pub fn member_at<'a>(live: &'a ClusterLive, i: usize, name: &str) -> Option<&'a MemberLive> {
    match live.members.get(i) {
        Some(m) if m.name == name => Some(m),
        _ => live.member(name),
    }
}

/// An age in milliseconds: `0.3s`, `12s`, `5m`, `2h`, `3d`.
pub fn age(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 10.0 {
        format!("{s:.1}s")
    } else if s < 60.0 {
        format!("{}s", s as u64)
    } else if s < 3600.0 {
        format!("{}m", (s / 60.0) as u64)
    } else if s < 86400.0 {
        format!("{}h", (s / 3600.0) as u64)
    } else {
        format!("{}d", (s / 86400.0) as u64)
    }
}

/// A round-trip time: `0.4ms`, `41ms`, `1.2s`.
pub fn latency(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// A size in bytes with binary units: `0 B`, `512 B`, `1.5 KiB`, `16 MiB`.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// Bytes as patronictl's "Lag in MB" (MiB): `0`, `0.1`, `16`.
pub fn megabytes(b: u64) -> String {
    if b == 0 {
        return "0".into();
    }
    let mb = b as f64 / 1_048_576.0;
    if mb < 100.0 {
        format!("{mb:.1}")
    } else {
        format!("{mb:.0}")
    }
}

/// Seconds: `0.0s`, `2.1s`, `95s`.
pub fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// A WAL position as PostgreSQL writes it: `0/6000060`.
pub fn lsn(pos: u64) -> String {
    format!("{:X}/{:X}", pos >> 32, pos & 0xffff_ffff)
}

/// Width of a lag bar in cells.
pub const LAG_BAR: usize = 6;

/// Filled cells of a lag bar: none at 0, then one per ×16 from 16 KiB
/// (1: < 16 KiB, 2: < 256 KiB, 3: < 4 MiB, 4: < 64 MiB, 5: < 1 GiB, 6: more).
pub fn lag_cells(b: u64) -> usize {
    if b == 0 {
        return 0;
    }
    let mut cells = 1;
    let mut limit: u64 = 16 * 1024;
    while b >= limit && cells < LAG_BAR {
        cells += 1;
        limit = limit.saturating_mul(16);
    }
    cells
}

/// A lag bar: `██░░░░`.
pub fn lag_bar(b: u64, t: &Theme) -> Vec<Span<'static>> {
    let n = lag_cells(b);
    let style = match n {
        0..=3 => t.lag_bar,
        4 => t.warning,
        _ => t.error,
    };
    vec![
        Span::styled("█".repeat(n), style),
        Span::styled("░".repeat(LAG_BAR - n), t.dim),
    ]
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last values of `points` as a sparkline of at most `width` cells,
/// scaled from zero (or the minimum, when negative) to the maximum.
pub fn sparkline(points: &[f64], width: usize) -> String {
    let values: Vec<f64> = points.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() || width == 0 {
        return String::new();
    }
    // Average into at most `width` buckets, keeping the newest values.
    let n = values.len();
    let cells = n.min(width);
    let bucket = |k: usize| -> f64 {
        let from = k * n / cells;
        let to = ((k + 1) * n / cells).max(from + 1);
        let slice = &values[from..to.min(n)];
        slice.iter().sum::<f64>() / slice.len() as f64
    };
    let buckets: Vec<f64> = (0..cells).map(bucket).collect();
    let max = buckets.iter().copied().fold(f64::MIN, f64::max);
    let min = buckets.iter().copied().fold(f64::MAX, f64::min).min(0.0);
    let span = max - min;
    buckets
        .iter()
        .map(|v| {
            if span <= 0.0 {
                BLOCKS[0]
            } else {
                let i = ((v - min) / span * 7.0).round() as usize;
                BLOCKS[i.min(7)]
            }
        })
        .collect()
}

/// `ERROR`, `WARN`, `INFO` and its style.
pub fn severity(s: Severity, t: &Theme) -> (&'static str, Style) {
    match s {
        Severity::Error => ("ERROR", t.error),
        Severity::Warning => ("WARN", t.warning),
        Severity::Info => ("INFO", t.info),
    }
}

/// Rank of an Alertmanager severity label (Pigsty: CRIT, WARN, INFO).
pub fn alert_rank(sev: Option<&str>) -> u8 {
    match sev.map(str::to_ascii_uppercase).as_deref() {
        Some("CRIT" | "CRITICAL" | "ERROR" | "PAGE") => 0,
        Some("WARN" | "WARNING") => 1,
        Some("INFO") => 2,
        _ => 3,
    }
}

/// Style of an alert's severity.
pub fn alert_style(sev: Option<&str>, t: &Theme) -> Style {
    match alert_rank(sev) {
        0 => t.error,
        1 => t.warning,
        _ => t.info,
    }
}

/// Alerts that are active (neither silenced nor inhibited).
pub fn active_alerts(snapshot: &Snapshot) -> usize {
    snapshot
        .alerts
        .iter()
        .filter(|a| !a.silenced && !a.inhibited && a.state != "suppressed")
        .count()
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Seconds since the epoch when the snapshot was taken.
pub fn snapshot_time(snapshot: &Snapshot) -> Option<f64> {
    snapshot
        .taken_at
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// How long before the snapshot an RFC 3339 time was: `5m`.
pub fn age_of(snapshot: &Snapshot, rfc3339: Option<&str>) -> Option<String> {
    let then = parse_time(rfc3339?)?;
    let now = snapshot_time(snapshot)?;
    Some(age(((now - then).max(0.0) * 1000.0) as u64))
}

/// `2026-11-26 05:45:33` from an RFC 3339 time (UTC as given).
pub fn short_time(rfc3339: &str) -> String {
    let s = rfc3339.replace('T', " ");
    s.get(..19).map(str::to_string).unwrap_or(s)
}

/// Whether a source's last success is older than three poll intervals.
pub fn source_stale(snapshot: &Snapshot, s: &SourceStatus) -> bool {
    // Three of the source's own periods (port probes run less often).
    let period = snapshot.interval.max(s.next_in.unwrap_or_default());
    let limit = (period.as_millis() as u64).saturating_mul(3);
    limit > 0 && s.age_ms.is_some_and(|a| a > limit)
}

/// `✗ <error> (last success 40s ago)` of a failing source.
pub fn source_error(s: &SourceStatus) -> String {
    let err = s.last_error.as_deref().unwrap_or("failing");
    match s.age_ms {
        Some(a) => format!("{err} (last success {} ago)", age(a)),
        None => format!("{err} (never answered)"),
    }
}

/// The failing sources of a kind, as `error` texts (`None`: none failing).
pub fn kind_problem(snapshot: &Snapshot, kind: SourceKind) -> Option<String> {
    let failing: Vec<&SourceStatus> = snapshot.sources_of(kind).filter(|s| !s.ok).collect();
    let first = failing.first()?;
    let mut text = source_error(first);
    if failing.len() > 1 {
        text.push_str(&format!(" (+{} more failing)", failing.len() - 1));
    }
    Some(text)
}

/// The failing HAProxy / Patroni / probe source of one node IP, if any.
pub fn node_source_problem(snapshot: &Snapshot, kind: SourceKind, ip: &str) -> Option<String> {
    let prefix = format!("{kind} {ip}");
    snapshot
        .sources_of(kind)
        .find(|s| !s.ok && (*s.name == *prefix || s.name.starts_with(&format!("{prefix}:"))))
        .map(source_error)
}

/// Whether anything live is known at all (sources have reported).
pub fn has_live(snapshot: &Snapshot) -> bool {
    !snapshot.sources.is_empty()
}

/// The DCS source kind of a deployment.
pub fn dcs_kind(d: &Deployment) -> SourceKind {
    match d.dcs.kind {
        crate::model::DcsKind::Etcd => SourceKind::Etcd,
        crate::model::DcsKind::Consul => SourceKind::Consul,
    }
}

/// A `~` before stale values.
pub fn stale_text(text: String, stale: bool) -> String {
    if stale { format!("~{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(age(300), "0.3s");
        assert_eq!(age(12_400), "12s");
        assert_eq!(age(300_000), "5m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(latency(std::time::Duration::from_micros(400)), "0.4ms");
        assert_eq!(latency(std::time::Duration::from_millis(41)), "41ms");
        assert_eq!(latency(std::time::Duration::from_millis(1200)), "1.2s");
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(megabytes(0), "0");
        assert_eq!(megabytes(1_572_864), "1.5");
        assert_eq!(lsn(0x1_0600_0060), "1/6000060");
        assert_eq!(lag_cells(0), 0);
        assert_eq!(lag_cells(100), 1);
        assert_eq!(lag_cells(1 << 20), 3);
        assert_eq!(lag_cells(u64::MAX), LAG_BAR);
        assert_eq!(
            short_time("2026-11-26T05:45:33.654660+00:00"),
            "2026-11-26 05:45:33"
        );
    }

    #[test]
    fn sparklines_scale_and_fit() {
        assert_eq!(sparkline(&[0.0, 7.0], 10), "▁█");
        assert_eq!(sparkline(&[3.0, 3.0], 10), "██");
        assert_eq!(sparkline(&[0.0, 0.0], 10), "▁▁");
        assert_eq!(sparkline(&[], 10), "");
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(sparkline(&long, 8).chars().count(), 8);
    }
}
