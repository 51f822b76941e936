//! The event timeline: every change the console observes, derived by
//! diffing consecutive snapshots, persisted as JSON lines.
//!
//! # What is recorded
//!
//! [`EventRecorder::observe`] compares a snapshot with the previous one and
//! emits: role changes, timeline bumps, pause / resume, members lost and back (Patroni
//! unreachable or not `running` ↔ reachable and `running`), leader changes,
//! services down / up (port probes; `unknown` is neither), alerts firing /
//! resolved (compared only while Alertmanager answers), findings appearing /
//! clearing, sources failing / recovering. The first snapshot (and an empty
//! one) is the baseline and emits nothing. Operator actions are recorded
//! with [`Event::action`].
//!
//! # File format and bounds
//!
//! `<state_dir>/events.jsonl`: one JSON object per line (`ts` RFC 3339 UTC,
//! `kind`, `cluster`, `instance`, `host` when relevant, `source`,
//! `message`), appended with one `write` per batch. When the file grows
//! past [`MAX_FILE_BYTES`] (4 MiB) it is renamed `events.jsonl.1` (replacing
//! the previous one) and a new file is started, so at most ~8 MiB are kept.
//! [`Timeline::load`] reads both files, skips lines it cannot parse (a torn
//! last line after a crash) and keeps the newest [`MAX_EVENTS`] (10,000).
//!
//! # One recorder per deployment
//!
//! The console and `status --watch` both record. Only the holder of the
//! deployment's [`RecorderLease`] (an advisory `flock` on
//! `<state_dir>/events.<hash of the inventory path>.lock`) writes its events,
//! so two processes watching the same inventory do not record every change
//! twice; the other one keeps its timeline in memory and takes the lease over
//! when the holder exits. Every append (and rotation) holds `events.jsonl.lock`
//! so writers of different deployments do not interleave a rotation.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::Deployment;
use crate::snapshot::{Health, Snapshot, rfc3339};
use crate::sources::SourceKind;

/// Events kept in memory (and loaded from disk).
pub const MAX_EVENTS: usize = 10_000;
/// Size at which `events.jsonl` is rotated to `events.jsonl.1`.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RoleChanged,
    TimelineChanged,
    LeaderChanged,
    /// Maintenance mode entered or left.
    PauseChanged,
    MemberLost,
    MemberBack,
    ServiceDown,
    ServiceUp,
    AlertFiring,
    AlertResolved,
    FindingRaised,
    FindingCleared,
    SourceFailed,
    SourceRecovered,
    Action,
    /// Anything else (unknown kinds read from a newer file).
    #[serde(other)]
    Other,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RoleChanged => "role_changed",
            EventKind::TimelineChanged => "timeline_changed",
            EventKind::LeaderChanged => "leader_changed",
            EventKind::PauseChanged => "pause_changed",
            EventKind::MemberLost => "member_lost",
            EventKind::MemberBack => "member_back",
            EventKind::ServiceDown => "service_down",
            EventKind::ServiceUp => "service_up",
            EventKind::AlertFiring => "alert_firing",
            EventKind::AlertResolved => "alert_resolved",
            EventKind::FindingRaised => "finding_raised",
            EventKind::FindingCleared => "finding_cleared",
            EventKind::SourceFailed => "source_failed",
            EventKind::SourceRecovered => "source_recovered",
            EventKind::Action => "action",
            EventKind::Other => "other",
        }
    }
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339, UTC.
    pub ts: String,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Node IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Who saw it: a source name (`patroni 127.0.0.11:8008`), `console`, or
    /// the operator for actions.
    #[serde(default)]
    pub source: String,
    pub message: String,
}

impl Event {
    pub fn new(
        at: SystemTime,
        kind: EventKind,
        source: impl AsRef<str>,
        message: impl Into<String>,
    ) -> Self {
        Event {
            ts: rfc3339(at),
            kind,
            cluster: None,
            instance: None,
            host: None,
            source: source.as_ref().to_string(),
            message: message.into(),
        }
    }

    /// An operator action (switchover, restart, cancel backend, …), now.
    /// `who` is the operator (`tasks::local_user()`), `target` the cluster
    /// or instance it acted on.
    pub fn action(
        who: &str,
        cluster: Option<&str>,
        instance: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Event::new(SystemTime::now(), EventKind::Action, who, message)
            .cluster(cluster)
            .instance(instance)
    }

    pub fn cluster(mut self, c: Option<&str>) -> Self {
        self.cluster = c.map(str::to_string);
        self
    }

    pub fn instance(mut self, i: Option<&str>) -> Self {
        self.instance = i.map(str::to_string);
        self
    }

    pub fn host(mut self, h: Option<&str>) -> Self {
        self.host = h.map(str::to_string);
        self
    }

    /// The timestamp, when it parses.
    pub fn time(&self) -> Option<SystemTime> {
        super::time::parse_rfc3339(&self.ts)
    }

    /// One text line: `2026-11-26T05:20:33Z member_lost pg-test/pg-test-2 message (source)`.
    pub fn line(&self) -> String {
        let ts = self.ts.split('.').next().unwrap_or(&self.ts);
        let ts = if ts.ends_with('Z') || ts.len() != 19 {
            ts.to_string()
        } else {
            format!("{ts}Z")
        };
        let scope = match (&self.cluster, &self.instance) {
            (Some(c), Some(i)) => format!("{c}/{i}"),
            (Some(c), None) => c.clone(),
            (None, Some(i)) => i.clone(),
            (None, None) => "-".into(),
        };
        format!(
            "{ts} {:<16} {scope:<20} {} ({})",
            self.kind.as_str(),
            self.message,
            self.source
        )
    }
}

// ---------------------------------------------------------------------------
// Diffing

#[derive(Debug, Clone, PartialEq)]
struct MemberDigest {
    cluster: String,
    ip: Option<String>,
    role: Option<(String, Arc<str>)>,
    /// Some(true): reachable and running; Some(false): unreachable or not
    /// running; None: not polled yet.
    up: Option<bool>,
    why: String,
    source: Arc<str>,
}

#[derive(Debug, Clone, Default)]
struct Digest {
    members: BTreeMap<String, MemberDigest>,
    leaders: BTreeMap<String, (Option<String>, Arc<str>)>,
    timelines: BTreeMap<String, (u64, Arc<str>)>,
    paused: BTreeMap<String, (bool, Arc<str>)>,
    /// Known services' health and source, by node IP, then port.
    services: BTreeMap<String, Vec<(u16, Health, Arc<str>)>>,
    /// `None` while Alertmanager has not answered.
    alerts: Option<BTreeMap<String, AlertDigest>>,
    findings: BTreeMap<(String, Option<String>, Option<String>), String>,
    sources: BTreeMap<Arc<str>, (bool, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
struct AlertDigest {
    name: String,
    cls: Option<String>,
    ins: Option<String>,
    ip: Option<String>,
    severity: Option<String>,
    summary: Option<String>,
}

/// Whether a member is up: Patroni answers and says `running`.
pub(crate) fn member_up(m: &crate::snapshot::MemberLive) -> Option<(bool, String)> {
    match m.reachable {
        None => None,
        Some(false) => Some((
            false,
            format!(
                "Patroni unreachable{}",
                m.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        )),
        Some(true) => {
            let state = m
                .state
                .as_ref()
                .map(|f| f.value.as_str())
                .unwrap_or("unknown");
            if state == "running" || state == "streaming" {
                Some((true, "running".into()))
            } else {
                Some((false, format!("state {state}")))
            }
        }
    }
}

fn digest(snap: &Snapshot) -> Digest {
    let mut d = Digest::default();
    for c in &snap.clusters {
        for m in &c.members {
            let up = member_up(m);
            d.members.insert(
                m.name.clone(),
                MemberDigest {
                    cluster: c.name.clone(),
                    ip: m.ip.clone(),
                    role: m.role.as_ref().map(|f| (f.value.clone(), f.source.clone())),
                    up: up.as_ref().map(|u| u.0),
                    why: up.map(|u| u.1).unwrap_or_default(),
                    source: m
                        .state
                        .as_ref()
                        .map(|f| f.source.clone())
                        .unwrap_or_else(|| "patroni".into()),
                },
            );
        }
        let leader_src = c
            .leader
            .patroni
            .as_ref()
            .or(c.leader.dcs.as_ref())
            .or(c.leader.cluster_api.as_ref())
            .map(|f| f.source.clone())
            .unwrap_or_else(|| "patroni".into());
        // Only when something about the cluster is known.
        if c.members.iter().any(|m| m.reachable.is_some()) {
            d.leaders
                .insert(c.name.clone(), (c.leader().map(str::to_string), leader_src));
        }
        if let Some(t) = &c.timeline {
            d.timelines
                .insert(c.name.clone(), (t.value, t.source.clone()));
        }
        if let Some(p) = &c.paused {
            d.paused.insert(c.name.clone(), (p.value, p.source.clone()));
        }
    }
    for ((ip, port), obs) in snap.services.iter() {
        if obs.not_probed || obs.health == Health::Unknown {
            continue;
        }
        let source = obs.source.clone().unwrap_or_else(|| "probe".into());
        match d.services.get_mut(ip) {
            Some(ports) => ports.push((port, obs.health, source)),
            None => {
                d.services
                    .insert(ip.to_string(), vec![(port, obs.health, source)]);
            }
        }
    }
    for ports in d.services.values_mut() {
        ports.sort_by_key(|p| p.0);
        ports.shrink_to_fit();
    }
    let am_ok = snap
        .sources_of(SourceKind::Alertmanager)
        .any(|s| s.ok && s.last_success.is_some());
    if am_ok {
        d.alerts = Some(
            snap.alerts
                .iter()
                .filter(|a| a.state != "suppressed")
                .map(|a| {
                    let key = if a.fingerprint.is_empty() {
                        format!("{}/{:?}/{:?}", a.name, a.cls, a.ins)
                    } else {
                        a.fingerprint.clone()
                    };
                    (
                        key,
                        AlertDigest {
                            name: a.name.clone(),
                            cls: a.cls.clone(),
                            ins: a.ins.clone(),
                            ip: a.ip.clone(),
                            severity: a.severity.clone(),
                            summary: a.summary.clone(),
                        },
                    )
                })
                .collect(),
        );
    }
    for f in &snap.findings {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        d.findings.insert(
            (kind, f.cluster.clone(), f.instance.clone()),
            f.message.clone(),
        );
    }
    for s in &snap.sources {
        if s.last_attempt.is_none() {
            continue;
        }
        d.sources
            .insert(s.name.clone(), (s.ok, s.last_error.clone()));
    }
    d
}

/// Derives events from consecutive snapshots.
#[derive(Debug, Default)]
pub struct EventRecorder {
    prev: Option<Digest>,
}

impl EventRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The events between the previous snapshot and `snap` (none for the
    /// first one, which is the baseline, nor for an empty snapshot).
    pub fn observe(&mut self, d: &Deployment, snap: &Snapshot) -> Vec<Event> {
        if snap.taken_at.is_none() && snap.clusters.is_empty() && snap.sources.is_empty() {
            return Vec::new();
        }
        let at = snap.taken_at.unwrap_or_else(SystemTime::now);
        let cur = digest(snap);
        let out = match &self.prev {
            Some(prev) => diff(d, prev, &cur, at),
            None => Vec::new(),
        };
        self.prev = Some(cur);
        out
    }
}

fn diff(d: &Deployment, prev: &Digest, cur: &Digest, at: SystemTime) -> Vec<Event> {
    let mut out = Vec::new();
    // Leaders first: they explain the rest.
    for (cls, (leader, src)) in &cur.leaders {
        if let Some((old, _)) = prev.leaders.get(cls)
            && old != leader
        {
            let msg = match (old, leader) {
                (Some(o), Some(n)) => format!("leader changed: {o} -> {n}"),
                (None, Some(n)) => format!("leader elected: {n}"),
                (Some(o), None) => format!("no leader (was {o})"),
                (None, None) => continue,
            };
            out.push(
                Event::new(at, EventKind::LeaderChanged, src, msg)
                    .cluster(Some(cls))
                    .instance(leader.as_deref()),
            );
        }
    }
    for (cls, (tl, src)) in &cur.timelines {
        if let Some((old, _)) = prev.timelines.get(cls)
            && old != tl
        {
            out.push(
                Event::new(
                    at,
                    EventKind::TimelineChanged,
                    src,
                    format!("timeline {old} -> {tl}"),
                )
                .cluster(Some(cls)),
            );
        }
    }
    for (cls, (paused, src)) in &cur.paused {
        if let Some((old, _)) = prev.paused.get(cls)
            && old != paused
        {
            let msg = if *paused {
                "paused (maintenance mode)"
            } else {
                "resumed (maintenance mode off)"
            };
            out.push(Event::new(at, EventKind::PauseChanged, src, msg).cluster(Some(cls)));
        }
    }
    for (name, m) in &cur.members {
        let Some(p) = prev.members.get(name) else {
            continue;
        };
        let ev = |kind, msg: String| {
            Event::new(at, kind, &m.source, msg)
                .cluster(Some(&m.cluster))
                .instance(Some(name))
                .host(m.ip.as_deref())
        };
        match (p.up, m.up) {
            (Some(true), Some(false)) => {
                out.push(ev(EventKind::MemberLost, format!("{name} lost: {}", m.why)))
            }
            (Some(false), Some(true)) => out.push(ev(
                EventKind::MemberBack,
                format!("{name} back ({})", m.why),
            )),
            _ => {}
        }
        if let (Some((old, _)), Some((new, src))) = (&p.role, &m.role)
            && old != new
        {
            out.push(
                Event::new(
                    at,
                    EventKind::RoleChanged,
                    src,
                    format!("{name} role {old} -> {new}"),
                )
                .cluster(Some(&m.cluster))
                .instance(Some(name))
                .host(m.ip.as_deref()),
            );
        }
    }
    let services = cur.services.iter().flat_map(|(ip, ports)| {
        let before = prev.services.get(ip);
        ports.iter().filter_map(move |(port, health, src)| {
            let (_, old, _) = before?.iter().find(|p| p.0 == *port)?;
            (old != health).then_some((ip, port, health, src))
        })
    });
    for (ip, port, health, src) in services {
        let node = d.node(ip);
        let svc = node
            .as_ref()
            .and_then(|n| {
                n.services()
                    .find(|s| s.port == *port)
                    .map(|s| s.name.to_string())
            })
            .unwrap_or_else(|| format!("port {port}"));
        let inst = node.as_ref().and_then(|n| n.instance);
        let (kind, word) = match health {
            Health::Down => (EventKind::ServiceDown, "down"),
            _ => (EventKind::ServiceUp, "up"),
        };
        out.push(
            Event::new(at, kind, src, format!("{svc} on {ip}:{port} {word}"))
                .cluster(inst.map(|i| i.cluster.as_str()))
                .instance(inst.map(|i| i.name.as_str()))
                .host(Some(ip)),
        );
    }
    if let (Some(old), Some(new)) = (&prev.alerts, &cur.alerts) {
        let alert = |kind, a: &AlertDigest, verb: &str| {
            let sev = a
                .severity
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let on = a
                .ins
                .as_deref()
                .or(a.cls.as_deref())
                .map(|s| format!(" on {s}"))
                .unwrap_or_default();
            let summary = a
                .summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            Event::new(
                at,
                kind,
                "alertmanager",
                format!("alert {}{sev} {verb}{on}{summary}", a.name),
            )
            .cluster(a.cls.as_deref())
            .instance(a.ins.as_deref())
            .host(a.ip.as_deref())
        };
        for (k, a) in new {
            if !old.contains_key(k) {
                out.push(alert(EventKind::AlertFiring, a, "firing"));
            }
        }
        for (k, a) in old {
            if !new.contains_key(k) {
                out.push(alert(EventKind::AlertResolved, a, "resolved"));
            }
        }
    }
    let fkeys: BTreeSet<_> = prev.findings.keys().chain(cur.findings.keys()).collect();
    for k in fkeys {
        let (kind, cls, ins) = k;
        let ev = |ek, msg: String| {
            Event::new(at, ek, "console", msg)
                .cluster(cls.as_deref())
                .instance(ins.as_deref())
        };
        match (prev.findings.get(k), cur.findings.get(k)) {
            (None, Some(m)) => {
                out.push(ev(EventKind::FindingRaised, format!("finding {kind}: {m}")))
            }
            (Some(m), None) => out.push(ev(
                EventKind::FindingCleared,
                format!("finding {kind} cleared: {m}"),
            )),
            _ => {}
        }
    }
    for (name, (ok, err)) in &cur.sources {
        let Some((was_ok, _)) = prev.sources.get(name) else {
            continue;
        };
        if was_ok == ok {
            continue;
        }
        let (kind, msg) = if *ok {
            (EventKind::SourceRecovered, format!("{name} recovered"))
        } else {
            (
                EventKind::SourceFailed,
                format!("{name} failing: {}", err.as_deref().unwrap_or("error")),
            )
        };
        out.push(Event::new(at, kind, name, msg));
    }
    out
}

// ---------------------------------------------------------------------------
// Persistence

/// The timeline: events in memory (newest last, at most [`MAX_EVENTS`]),
/// appended to a JSON lines file when it has one.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    path: Option<PathBuf>,
    events: VecDeque<Event>,
}

/// `<state_dir>/events.jsonl`
pub fn default_path(state_dir: &Path) -> PathBuf {
    state_dir.join("events.jsonl")
}

fn rotated(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".1");
    PathBuf::from(p)
}

fn read_lines(path: &Path, into: &mut VecDeque<Event>) -> std::io::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A torn line (crash mid-write) or garbage: skipped.
        if let Ok(ev) = serde_json::from_slice::<Event>(line) {
            into.push_back(ev);
            if into.len() > MAX_EVENTS {
                into.pop_front();
            }
        }
    }
    Ok(())
}

impl Timeline {
    /// A timeline that is not persisted.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Read `path` (and its rotated `path.1`); a missing file is an empty
    /// timeline. Unparsable lines (a torn last line) are skipped.
    pub fn load(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let mut events = VecDeque::new();
        read_lines(&rotated(&path), &mut events)?;
        read_lines(&path, &mut events)?;
        Ok(Timeline {
            path: Some(path),
            events,
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The same events, no longer written to a file.
    pub fn detached(mut self) -> Self {
        self.path = None;
        self
    }

    /// Every event, oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events at or after `t` (events whose time does not parse are kept),
    /// of `cluster` when given, oldest first.
    pub fn query<'a>(
        &'a self,
        since: Option<SystemTime>,
        cluster: Option<&'a str>,
    ) -> Vec<&'a Event> {
        self.events
            .iter()
            .filter(|e| match (since, e.time()) {
                (Some(s), Some(t)) => t >= s,
                _ => true,
            })
            .filter(|e| cluster.is_none() || e.cluster.as_deref() == cluster)
            .collect()
    }

    /// When `instance` was last lost, if it has not come back since.
    pub fn down_since(&self, instance: &str) -> Option<SystemTime> {
        for e in self.events.iter().rev() {
            if e.instance.as_deref() != Some(instance) {
                continue;
            }
            match e.kind {
                EventKind::MemberLost => return e.time(),
                EventKind::MemberBack => return None,
                _ => {}
            }
        }
        None
    }

    /// Add events; with a file, append them (one write, flushed), rotating
    /// first when the file is larger than [`MAX_FILE_BYTES`]. The events
    /// are kept in memory even when writing fails.
    pub fn append(&mut self, events: &[Event]) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        for e in events {
            self.events.push_back(e.clone());
            if self.events.len() > MAX_EVENTS {
                self.events.pop_front();
            }
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        append_to(path, events)
    }
}

/// An exclusive advisory lock (`flock`) on a file, released when dropped.
#[derive(Debug)]
struct FileLock(#[allow(dead_code)] std::fs::File);

impl FileLock {
    fn open(path: &Path) -> std::io::Result<std::fs::File> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }

    fn lock(path: &Path, wait: bool) -> std::io::Result<Option<FileLock>> {
        use std::os::fd::AsRawFd;
        let f = Self::open(path)?;
        let op = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        // SAFETY: flock on a descriptor this function owns.
        let rc = unsafe { libc::flock(f.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(Some(FileLock(f)));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        }
    }
}

/// The right to record one deployment's events into a timeline file (see
/// the module docs); held until dropped.
#[derive(Debug)]
pub struct RecorderLease {
    _lock: Option<FileLock>,
    pub path: PathBuf,
}

impl RecorderLease {
    /// The lock file of `deployment`'s recorder next to `events`.
    pub fn lock_path(events: &Path, deployment: &Deployment) -> PathBuf {
        use std::hash::{Hash, Hasher};
        let source =
            std::fs::canonicalize(&deployment.source).unwrap_or_else(|_| deployment.source.clone());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut h);
        let dir = events.parent().unwrap_or(Path::new("."));
        dir.join(format!("events.{:016x}.lock", h.finish()))
    }

    /// The lease, unless another process holds it (`None`).
    pub fn try_acquire(events: &Path, deployment: &Deployment) -> Option<RecorderLease> {
        let path = Self::lock_path(events, deployment);
        match FileLock::lock(&path, false) {
            Ok(Some(l)) => Some(RecorderLease {
                _lock: Some(l),
                path,
            }),
            Ok(None) => None,
            Err(e) => {
                // No lock possible (read-only dir…): record anyway, as before.
                tracing::warn!(error = %e, path = %path.display(), "cannot lock the recorder lease");
                Some(RecorderLease { _lock: None, path })
            }
        }
    }
}

/// Holds the lease when it can; tells whether this process records.
struct Lease {
    lease: Option<RecorderLease>,
    told: bool,
}

impl Lease {
    fn new() -> Self {
        Lease {
            lease: None,
            told: false,
        }
    }

    fn records(&mut self, events: &Path, deployment: &Deployment) -> bool {
        if self.lease.is_none() {
            self.lease = RecorderLease::try_acquire(events, deployment);
            if self.lease.is_none() && !self.told {
                self.told = true;
                tracing::info!(
                    path = %events.display(),
                    "another pigsty-tui records this deployment's events; keeping them in memory"
                );
            }
        }
        self.lease.is_some()
    }
}

/// Append events to a JSON lines file (see the module docs).
pub fn append_to(path: &Path, events: &[Event]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let _guard = FileLock::lock(Path::new(&lock_path), true)?;
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        std::fs::rename(path, rotated(path))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let mut buf = String::new();
    // After a torn write, start on a fresh line.
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            buf.push('\n');
        }
    }
    for e in events {
        buf.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
        buf.push('\n');
    }
    f.write_all(buf.as_bytes())?;
    f.flush()
}

/// What the console knows for triage, kept current by [`spawn_triage`]:
/// the timeline (loaded from the file at start, then appended in memory)
/// and since when members are down.
#[derive(Debug, Default)]
pub struct TriageState {
    pub timeline: Timeline,
    pub tracker: super::health::HealthTracker,
}

/// [`spawn_recorder`] that also keeps a [`TriageState`] for the UI: lock
/// it briefly to render `health::summarize(d, snap, &state.tracker)` or
/// the timeline. File writes happen outside the lock.
pub fn spawn_triage(
    deployment: Arc<Deployment>,
    mut rx: tokio::sync::watch::Receiver<Arc<Snapshot>>,
    path: PathBuf,
) -> (
    tokio::task::JoinHandle<()>,
    Arc<std::sync::Mutex<TriageState>>,
) {
    let timeline = Timeline::load(&path)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, path = %path.display(), "cannot read the event timeline");
            Timeline::in_memory()
        })
        .detached();
    let tracker = super::health::HealthTracker::from_timeline(&timeline);
    let state = Arc::new(std::sync::Mutex::new(TriageState { timeline, tracker }));
    let shared = state.clone();
    let handle = tokio::spawn(async move {
        let mut recorder = EventRecorder::new();
        let mut lease = Lease::new();
        loop {
            let snap = rx.borrow_and_update().clone();
            let events = recorder.observe(&deployment, &snap);
            {
                let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
                st.tracker.observe(&snap);
                let _ = st.timeline.append(&events);
            }
            if !events.is_empty() && lease.records(&path, &deployment) {
                let path = path.clone();
                match tokio::task::spawn_blocking(move || append_to(&path, &events)).await {
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot append to the event timeline"),
                    Err(e) => tracing::warn!(error = %e, "event timeline writer failed"),
                    Ok(Ok(())) => {}
                }
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
    (handle, state)
}

/// Record events off the UI task: observe every snapshot published on
/// `rx`, append the events to `path` (`<state_dir>/events.jsonl`). Ends
/// when the sender is dropped. Write errors are logged, never fatal.
pub fn spawn_recorder(
    deployment: Arc<Deployment>,
    mut rx: tokio::sync::watch::Receiver<Arc<Snapshot>>,
    path: PathBuf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut recorder = EventRecorder::new();
        let mut lease = Lease::new();
        loop {
            let snap = rx.borrow_and_update().clone();
            let events = recorder.observe(&deployment, &snap);
            if !events.is_empty() && lease.records(&path, &deployment) {
                let path = path.clone();
                let res = tokio::task::spawn_blocking(move || append_to(&path, &events)).await;
                match res {
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot append to the event timeline"),
                    Err(e) => tracing::warn!(error = %e, "event timeline writer failed"),
                    Ok(Ok(())) => {}
                }
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recorder_lease_per_deployment() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(1, 1),
            Path::new("/tmp/one.yml"),
        )
        .unwrap();
        let mut other = d.clone();
        other.source = "/tmp/other.yml".into();
        let first = RecorderLease::try_acquire(&events, &d).expect("free lease");
        assert!(RecorderLease::try_acquire(&events, &d).is_none(), "held");
        // another deployment records on its own
        assert!(RecorderLease::try_acquire(&events, &other).is_some());
        drop(first);
        assert!(
            RecorderLease::try_acquire(&events, &d).is_some(),
            "released"
        );
        // appends hold the file's own lock and still work
        append_to(&events, &[]).unwrap();
    }
}
