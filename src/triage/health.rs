//! The health summary: one line per cluster, worst first.
//!
//! # Rules
//!
//! * **DOWN**: Patroni is unreachable on every member, or no member is a
//!   running leader (`leader` / `standby_leader` in state `running`).
//! * **DEGRADED** (otherwise), for each of:
//!   - a member down: Patroni unreachable (`pg-test-2 down 3m12s`), or
//!     reachable but not `running` (`pg-test-2 stopped`);
//!   - a replica the leader does not show streaming (`pg-test-3 not streaming`);
//!   - replication lag above [`Thresholds::lag_bytes`] (16 MiB) or
//!     [`Thresholds::lag_seconds`] (30 s) (`replication lag 48.0 MiB on pg-test-3`);
//!   - the cluster paused (maintenance mode);
//!   - error findings of the cluster (split brain, HAProxy misrouting, …);
//!   - firing critical alerts of the cluster (`severity` CRIT / critical,
//!     not silenced or inhibited);
//!   - a failing DCS source (etcd / Consul), which concerns every cluster.
//! * **UNKNOWN**: no live data about the cluster yet (not polled).
//! * **HEALTHY** otherwise.
//!
//! DOWN clusters list the degraded reasons too. The duration after "down"
//! is the time since the member was first seen down, from a
//! [`HealthTracker`] fed every snapshot, or from the event timeline's last
//! `member_lost` event (one-shot `status`); it is omitted when unknown.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::events::{EventKind, Timeline, member_up};
use super::time::{human_bytes, short_duration};
use crate::model::Deployment;
use crate::snapshot::{ClusterLive, Severity, Snapshot};
use crate::sources::SourceKind;

/// Level of a cluster, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthLevel {
    Healthy,
    Unknown,
    Degraded,
    Down,
}

impl HealthLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthLevel::Healthy => "HEALTHY",
            HealthLevel::Unknown => "UNKNOWN",
            HealthLevel::Degraded => "DEGRADED",
            HealthLevel::Down => "DOWN",
        }
    }

    /// `status` exit code: 0 healthy, 1 degraded or unknown, 2 down.
    pub fn exit_code(self) -> i32 {
        match self {
            HealthLevel::Healthy => 0,
            HealthLevel::Unknown | HealthLevel::Degraded => 1,
            HealthLevel::Down => 2,
        }
    }
}

impl fmt::Display for HealthLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Health of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterHealth {
    pub cluster: String,
    pub level: HealthLevel,
    /// In words, most important first; empty when healthy.
    pub reasons: Vec<String>,
}

impl fmt::Display for ClusterHealth {
    /// `pg-test DEGRADED: pg-test-2 down 3m12s; replication lag 48.0 MiB on pg-test-3`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.cluster, self.level)?;
        if !self.reasons.is_empty() {
            write!(f, ": {}", self.reasons.join("; "))?;
        }
        Ok(())
    }
}

/// Lag thresholds above which a replica degrades its cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub lag_bytes: u64,
    pub lag_seconds: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            lag_bytes: 16 * 1024 * 1024,
            lag_seconds: 30.0,
        }
    }
}

/// Since when members have been down (`Sync`: the incident report holds
/// one across awaits on the runtime's worker threads).
pub trait DownSince: Sync {
    fn down_since(&self, instance: &str) -> Option<SystemTime>;
}

impl DownSince for Timeline {
    fn down_since(&self, instance: &str) -> Option<SystemTime> {
        Timeline::down_since(self, instance)
    }
}

/// No knowledge of when members went down.
pub struct NoHistory;

impl DownSince for NoHistory {
    fn down_since(&self, _: &str) -> Option<SystemTime> {
        None
    }
}

/// Remembers when each member was first seen down, across snapshots.
#[derive(Debug, Clone, Default)]
pub struct HealthTracker {
    down: HashMap<String, SystemTime>,
}

impl HealthTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start from the timeline (members lost and not back), so a restart
    /// keeps the durations.
    pub fn from_timeline(t: &Timeline) -> Self {
        let mut down = HashMap::new();
        for e in t.events() {
            let Some(i) = &e.instance else { continue };
            match e.kind {
                EventKind::MemberLost => {
                    if let Some(at) = e.time() {
                        down.insert(i.clone(), at);
                    }
                }
                EventKind::MemberBack => {
                    down.remove(i);
                }
                _ => {}
            }
        }
        HealthTracker { down }
    }

    /// Feed every snapshot.
    pub fn observe(&mut self, snap: &Snapshot) {
        let at = snap.taken_at.unwrap_or_else(SystemTime::now);
        for c in &snap.clusters {
            for m in &c.members {
                match member_up(m) {
                    Some((false, _)) => {
                        self.down.entry(m.name.clone()).or_insert(at);
                    }
                    Some((true, _)) => {
                        self.down.remove(&m.name);
                    }
                    None => {}
                }
            }
        }
    }
}

impl DownSince for HealthTracker {
    fn down_since(&self, instance: &str) -> Option<SystemTime> {
        self.down.get(instance).copied()
    }
}

/// The summary with the default thresholds, worst first.
pub fn summarize(d: &Deployment, snap: &Snapshot, history: &dyn DownSince) -> Vec<ClusterHealth> {
    summarize_with(d, snap, history, Thresholds::default())
}

/// The summary, worst first (deployment order within a level).
pub fn summarize_with(
    d: &Deployment,
    snap: &Snapshot,
    history: &dyn DownSince,
    th: Thresholds,
) -> Vec<ClusterHealth> {
    let now = snap.taken_at.unwrap_or_else(SystemTime::now);
    let dcs_failing: Vec<String> = snap
        .sources
        .iter()
        .filter(|s| matches!(s.kind, SourceKind::Etcd | SourceKind::Consul))
        .filter(|s| !s.ok && s.last_attempt.is_some())
        .map(|s| {
            format!(
                "DCS source {} failing{}",
                s.name,
                s.last_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let mut names: Vec<&str> = d.clusters.iter().map(|c| c.name.as_str()).collect();
    for c in &snap.clusters {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let mut out: Vec<ClusterHealth> = names
        .into_iter()
        .map(|name| {
            let empty = ClusterLive {
                name: name.to_string(),
                ..Default::default()
            };
            let c = snap.cluster(name).unwrap_or(&empty);
            cluster_health(c, snap, history, th, now, &dcs_failing)
        })
        .collect();
    out.sort_by_key(|h| std::cmp::Reverse(h.level));
    out
}

fn is_critical(sev: Option<&str>) -> bool {
    sev.is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s == "crit" || s == "critical"
    })
}

fn cluster_health(
    c: &ClusterLive,
    snap: &Snapshot,
    history: &dyn DownSince,
    th: Thresholds,
    now: SystemTime,
    dcs_failing: &[String],
) -> ClusterHealth {
    let polled: Vec<_> = c.members.iter().filter(|m| m.reachable.is_some()).collect();
    let mut down_reasons = Vec::new();
    let mut reasons = Vec::new();
    if polled.is_empty() {
        return ClusterHealth {
            cluster: c.name.clone(),
            level: HealthLevel::Unknown,
            reasons: vec!["no live data yet".into()],
        };
    }
    if polled.iter().all(|m| m.reachable == Some(false)) {
        down_reasons.push("Patroni unreachable on every member".to_string());
    } else if !c
        .members
        .iter()
        .any(|m| m.is_leader() && matches!(member_up(m), Some((true, _))))
    {
        down_reasons.push("no running leader".to_string());
    }
    for m in &c.members {
        match member_up(m) {
            Some((false, why)) => {
                if m.reachable == Some(false) {
                    let dur = history
                        .down_since(&m.name)
                        .and_then(|t| now.duration_since(t).ok())
                        .map(|d: Duration| format!(" {}", short_duration(d)))
                        .unwrap_or_default();
                    reasons.push(format!("{} down{dur}", m.name));
                } else {
                    reasons.push(format!("{} {}", m.name, why.trim_start_matches("state ")));
                }
                continue;
            }
            None => continue,
            Some((true, _)) => {}
        }
        if m.is_leader() {
            continue;
        }
        if m.streaming == Some(false) {
            reasons.push(format!("{} not streaming", m.name));
        }
        let lag_b = m.lag_bytes.as_ref().map(|f| f.value);
        let lag_s = m.lag_seconds.as_ref().map(|f| f.value);
        if let Some(b) = lag_b.filter(|b| *b > th.lag_bytes) {
            reasons.push(format!("replication lag {} on {}", human_bytes(b), m.name));
        } else if let Some(s) = lag_s.filter(|s| *s > th.lag_seconds) {
            reasons.push(format!("replication lag {s:.0}s on {}", m.name));
        }
    }
    if c.paused.as_ref().is_some_and(|f| f.value) {
        reasons.push("paused (maintenance mode)".into());
    }
    for f in &snap.findings {
        if f.severity == Severity::Error && f.cluster.as_deref() == Some(c.name.as_str()) {
            reasons.push(f.message.clone());
        }
    }
    let alerts = snap.alerts.iter().chain(c.alerts.iter());
    let mut seen = Vec::new();
    for a in alerts {
        if a.cls.as_deref() != Some(c.name.as_str())
            || !is_critical(a.severity.as_deref())
            || a.silenced
            || a.inhibited
            || a.state == "suppressed"
            || seen.contains(&&a.fingerprint)
        {
            continue;
        }
        seen.push(&a.fingerprint);
        let on = a
            .ins
            .as_deref()
            .map(|i| format!(" on {i}"))
            .unwrap_or_default();
        reasons.push(format!("alert {} firing{on}", a.name));
    }
    reasons.extend(dcs_failing.iter().cloned());
    let level = if !down_reasons.is_empty() {
        HealthLevel::Down
    } else if !reasons.is_empty() {
        HealthLevel::Degraded
    } else {
        HealthLevel::Healthy
    };
    down_reasons.extend(reasons);
    ClusterHealth {
        cluster: c.name.clone(),
        level,
        reasons: down_reasons,
    }
}

/// The worst level's exit code (0 when there is nothing).
pub fn exit_code(summary: &[ClusterHealth]) -> i32 {
    summary
        .iter()
        .map(|h| h.level.exit_code())
        .max()
        .unwrap_or(0)
}
