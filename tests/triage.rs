//! Offline tests of the triage backend: health rules on constructed
//! snapshots, event diffing, timeline persistence, `--since`, report
//! rendering, `events` output.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pigsty_tui::cli::Format;
use pigsty_tui::model::Deployment;
use pigsty_tui::snapshot::{
    ClusterLive, Fact, Finding, FindingKind, MemberLive, Severity, Snapshot, SourceStatus,
};
use pigsty_tui::sources::SourceKind;
use pigsty_tui::sources::alertmanager::Alert;
use pigsty_tui::triage::events::{EventKind, MAX_EVENTS, MAX_FILE_BYTES, append_to};
use pigsty_tui::triage::health::{HealthLevel, HealthTracker, NoHistory, exit_code};
use pigsty_tui::triage::logs::{LogError, LogKind, LogLines};
use pigsty_tui::triage::report::{MemberLogs, default_path, render};
use pigsty_tui::triage::time::parse_since;
use pigsty_tui::triage::{Event, EventRecorder, Timeline, summarize};

fn deployment() -> Deployment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/sandbox.yml");
    let mut d = pigsty_tui::inventory::load(&path).expect("inventory/sandbox.yml loads");
    d.source = PathBuf::from("inventory/sandbox.yml");
    d
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000)
}

fn fact<T>(value: T) -> Option<Fact<T>> {
    Some(Fact {
        value,
        source: "patroni 10.10.10.11:8008".into(),
        observed_at: t0(),
        age_ms: 0,
        stale: false,
    })
}

fn member(name: &str, ip: &str, role: &str, tl: u64) -> MemberLive {
    MemberLive {
        name: name.into(),
        ip: Some(ip.into()),
        declared: true,
        role: fact(role.into()),
        state: fact(
            if role == "leader" {
                "running"
            } else {
                "streaming"
            }
            .into(),
        ),
        timeline: fact(tl),
        lag_bytes: fact(0),
        lag_seconds: fact(0.0),
        streaming: (role != "leader").then_some(true),
        reachable: Some(true),
        ..Default::default()
    }
}

fn cluster(name: &str, members: Vec<MemberLive>) -> ClusterLive {
    let leader = members
        .iter()
        .find(|m| m.is_leader())
        .map(|m| m.name.clone());
    ClusterLive {
        name: name.into(),
        leader: pigsty_tui::snapshot::LeaderViews {
            patroni: leader.and_then(fact),
            ..Default::default()
        },
        timeline: members
            .iter()
            .filter_map(|m| m.timeline.as_ref())
            .map(|f| f.value)
            .max()
            .and_then(fact),
        paused: fact(false),
        members,
        ..Default::default()
    }
}

fn source(name: &str, kind: SourceKind, ok: bool) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        kind,
        ok,
        last_success: ok.then_some(t0()),
        last_attempt: Some(t0()),
        last_error: (!ok).then(|| "connection refused".into()),
        last_error_at: None,
        latency: None,
        failures: u32::from(!ok),
        next_in: None,
        age_ms: None,
    }
}

/// Both clusters healthy at `at`.
fn healthy(at: SystemTime) -> Snapshot {
    Snapshot {
        seq: 1,
        taken_at: Some(at),
        clusters: vec![
            cluster(
                "pg-meta",
                vec![member("pg-meta-1", "10.10.10.10", "leader", 1)],
            ),
            cluster(
                "pg-test",
                vec![
                    member("pg-test-1", "10.10.10.11", "leader", 1),
                    member("pg-test-2", "10.10.10.12", "replica", 1),
                    member("pg-test-3", "10.10.10.13", "replica", 1),
                ],
            ),
        ],
        sources: vec![
            source("etcd 10.10.10.10:2379", SourceKind::Etcd, true),
            source(
                "alertmanager 10.10.10.10:9093",
                SourceKind::Alertmanager,
                true,
            ),
        ],
        ..Default::default()
    }
}

fn member_mut<'a>(s: &'a mut Snapshot, name: &str) -> &'a mut MemberLive {
    s.clusters
        .iter_mut()
        .flat_map(|c| c.members.iter_mut())
        .find(|m| m.name == name)
        .unwrap()
}

fn kill(s: &mut Snapshot, name: &str) {
    let m = member_mut(s, name);
    m.reachable = Some(false);
    m.error = Some("connection refused".into());
    m.role = None;
    m.state = None;
    m.timeline = None;
}

fn alert(name: &str, sev: &str, cls: &str, ins: &str) -> Alert {
    Alert {
        name: name.into(),
        severity: Some(sev.into()),
        instance: None,
        ins: Some(ins.into()),
        cls: Some(cls.into()),
        ip: None,
        starts_at: Some("2026-11-26T05:00:00Z".into()),
        ends_at: None,
        state: "active".into(),
        silenced: false,
        inhibited: false,
        summary: Some(format!("{name} on {ins}")),
        fingerprint: format!("fp-{name}-{ins}"),
        labels: Default::default(),
    }
}

// ---------------------------------------------------------------------------
// Health

#[test]
fn healthy_clusters() {
    let d = deployment();
    let h = summarize(&d, &healthy(t0()), &NoHistory);
    assert_eq!(h.len(), 2);
    assert!(h.iter().all(|c| c.level == HealthLevel::Healthy), "{h:?}");
    assert_eq!(h[0].to_string(), "pg-meta HEALTHY");
    assert_eq!(exit_code(&h), 0);
}

#[test]
fn member_down_with_duration_from_the_tracker() {
    let d = deployment();
    let mut tracker = HealthTracker::new();
    let mut s = healthy(t0());
    tracker.observe(&s);
    kill(&mut s, "pg-test-2");
    tracker.observe(&s);
    let mut later = s.clone();
    later.taken_at = Some(t0() + Duration::from_secs(192));
    tracker.observe(&later);
    let h = summarize(&d, &later, &tracker);
    assert_eq!(h[0].to_string(), "pg-test DEGRADED: pg-test-2 down 3m12s");
    assert_eq!(h[1].level, HealthLevel::Healthy);
    assert_eq!(exit_code(&h), 1);
    // Without history the duration is omitted.
    let h = summarize(&d, &later, &NoHistory);
    assert_eq!(h[0].reasons, vec!["pg-test-2 down"]);
    // Back: healthy, and the tracker forgets.
    let back = healthy(t0() + Duration::from_secs(300));
    tracker.observe(&back);
    assert!(
        summarize(&d, &back, &tracker)
            .iter()
            .all(|c| c.level == HealthLevel::Healthy)
    );
}

#[test]
fn duration_from_the_timeline() {
    let d = deployment();
    let mut t = Timeline::in_memory();
    t.append(&[
        Event::new(t0(), EventKind::MemberLost, "patroni", "pg-test-3 lost")
            .cluster(Some("pg-test"))
            .instance(Some("pg-test-3")),
    ])
    .unwrap();
    let mut s = healthy(t0() + Duration::from_secs(75));
    kill(&mut s, "pg-test-3");
    let h = summarize(&d, &s, &t);
    assert_eq!(h[0].to_string(), "pg-test DEGRADED: pg-test-3 down 1m15s");
    // A later member_back cancels it.
    t.append(&[
        Event::new(t0(), EventKind::MemberBack, "patroni", "back").instance(Some("pg-test-3"))
    ])
    .unwrap();
    assert_eq!(t.down_since("pg-test-3"), None);
}

#[test]
fn no_running_leader_is_down_and_sorted_first() {
    let d = deployment();
    let mut s = healthy(t0());
    kill(&mut s, "pg-test-1");
    s.clusters[1].leader.patroni = None;
    let h = summarize(&d, &s, &NoHistory);
    assert_eq!(h[0].cluster, "pg-test");
    assert_eq!(h[0].level, HealthLevel::Down);
    assert_eq!(h[0].reasons[0], "no running leader");
    assert!(h[0].reasons.contains(&"pg-test-1 down".to_string()));
    assert_eq!(exit_code(&h), 2);
    // Every member unreachable.
    for m in ["pg-test-2", "pg-test-3"] {
        kill(&mut s, m);
    }
    let h = summarize(&d, &s, &NoHistory);
    assert_eq!(h[0].reasons[0], "Patroni unreachable on every member");
}

#[test]
fn degraded_reasons() {
    let d = deployment();
    let mut s = healthy(t0());
    member_mut(&mut s, "pg-test-3").lag_bytes = fact(48 * 1024 * 1024);
    member_mut(&mut s, "pg-test-2").streaming = Some(false);
    s.clusters[1].paused = fact(true);
    s.findings.push(Finding {
        severity: Severity::Error,
        kind: FindingKind::HaproxyRouting,
        cluster: Some("pg-test".into()),
        instance: None,
        message: "HAProxy primary on 10.10.10.12 routes to pg-test-2".into(),
        sources: vec![],
    });
    s.alerts
        .push(alert("PgReplicaLag", "CRIT", "pg-test", "pg-test-3"));
    s.alerts
        .push(alert("PgSlow", "WARN", "pg-test", "pg-test-3"));
    let h = summarize(&d, &s, &NoHistory);
    assert_eq!(h[0].level, HealthLevel::Degraded);
    assert_eq!(
        h[0].reasons,
        vec![
            "pg-test-2 not streaming",
            "replication lag 48.0 MiB on pg-test-3",
            "paused (maintenance mode)",
            "HAProxy primary on 10.10.10.12 routes to pg-test-2",
            "alert PgReplicaLag firing on pg-test-3",
        ]
    );
    // Lag in seconds.
    let mut s = healthy(t0());
    member_mut(&mut s, "pg-test-2").lag_seconds = fact(45.0);
    assert_eq!(
        summarize(&d, &s, &NoHistory)[0].reasons,
        vec!["replication lag 45s on pg-test-2"]
    );
    // A stopped member, a failing DCS source (every cluster).
    let mut s = healthy(t0());
    member_mut(&mut s, "pg-test-3").state = fact("stopped".into());
    s.sources[0] = source("etcd 10.10.10.10:2379", SourceKind::Etcd, false);
    let h = summarize(&d, &s, &NoHistory);
    // Both degraded: deployment order.
    assert_eq!(h[0].cluster, "pg-meta");
    assert_eq!(
        h[1].reasons,
        vec![
            "pg-test-3 stopped",
            "DCS source etcd 10.10.10.10:2379 failing: connection refused"
        ]
    );
    assert_eq!(h[0].level, HealthLevel::Degraded);
}

#[test]
fn not_polled_is_unknown() {
    let d = deployment();
    let h = summarize(&d, &Snapshot::empty(), &NoHistory);
    assert!(h.iter().all(|c| c.level == HealthLevel::Unknown));
    assert_eq!(exit_code(&h), 1);
}

// ---------------------------------------------------------------------------
// Events

fn kinds(ev: &[Event]) -> Vec<EventKind> {
    ev.iter().map(|e| e.kind).collect()
}

#[test]
fn first_snapshot_is_the_baseline() {
    let d = deployment();
    let mut r = EventRecorder::new();
    assert!(r.observe(&d, &Snapshot::empty()).is_empty());
    let mut s = healthy(t0());
    kill(&mut s, "pg-test-2");
    assert!(r.observe(&d, &s).is_empty());
    assert!(r.observe(&d, &s).is_empty());
}

#[test]
fn member_lost_and_back() {
    let d = deployment();
    let mut r = EventRecorder::new();
    r.observe(&d, &healthy(t0()));
    let mut s = healthy(t0() + Duration::from_secs(2));
    kill(&mut s, "pg-test-2");
    let ev = r.observe(&d, &s);
    assert_eq!(kinds(&ev), vec![EventKind::MemberLost]);
    assert_eq!(ev[0].cluster.as_deref(), Some("pg-test"));
    assert_eq!(ev[0].instance.as_deref(), Some("pg-test-2"));
    assert_eq!(ev[0].host.as_deref(), Some("10.10.10.12"));
    assert_eq!(
        ev[0].ts,
        pigsty_tui::snapshot::rfc3339(t0() + Duration::from_secs(2))
    );
    assert!(
        ev[0].message.contains("connection refused"),
        "{}",
        ev[0].message
    );
    let ev = r.observe(&d, &healthy(t0() + Duration::from_secs(4)));
    assert_eq!(kinds(&ev), vec![EventKind::MemberBack]);
}

#[test]
fn switchover_role_leader_and_timeline() {
    let d = deployment();
    let mut r = EventRecorder::new();
    r.observe(&d, &healthy(t0()));
    let mut s = healthy(t0());
    s.clusters[1] = cluster(
        "pg-test",
        vec![
            member("pg-test-1", "10.10.10.11", "replica", 2),
            member("pg-test-2", "10.10.10.12", "leader", 2),
            member("pg-test-3", "10.10.10.13", "replica", 2),
        ],
    );
    let ev = r.observe(&d, &s);
    assert_eq!(
        kinds(&ev),
        vec![
            EventKind::LeaderChanged,
            EventKind::TimelineChanged,
            EventKind::RoleChanged,
            EventKind::RoleChanged
        ],
        "{ev:#?}"
    );
    assert_eq!(ev[0].message, "leader changed: pg-test-1 -> pg-test-2");
    assert_eq!(ev[1].message, "timeline 1 -> 2");
    assert_eq!(ev[2].message, "pg-test-1 role leader -> replica");
    assert_eq!(ev[3].message, "pg-test-2 role replica -> leader");
}

#[test]
fn alerts_findings_sources() {
    let d = deployment();
    let mut r = EventRecorder::new();
    r.observe(&d, &healthy(t0()));
    let mut s = healthy(t0());
    s.alerts
        .push(alert("PgReplicaLag", "CRIT", "pg-test", "pg-test-3"));
    s.findings.push(Finding {
        severity: Severity::Error,
        kind: FindingKind::SplitBrain,
        cluster: Some("pg-test".into()),
        instance: None,
        message: "pg-test: 2 members claim to be leader".into(),
        sources: vec![],
    });
    s.sources[0] = source("etcd 10.10.10.10:2379", SourceKind::Etcd, false);
    let ev = r.observe(&d, &s);
    assert_eq!(
        kinds(&ev),
        vec![
            EventKind::AlertFiring,
            EventKind::FindingRaised,
            EventKind::SourceFailed
        ]
    );
    assert_eq!(ev[0].cluster.as_deref(), Some("pg-test"));
    assert!(
        ev[0]
            .message
            .starts_with("alert PgReplicaLag [CRIT] firing on pg-test-3")
    );
    let ev = r.observe(&d, &healthy(t0()));
    assert_eq!(
        kinds(&ev),
        vec![
            EventKind::AlertResolved,
            EventKind::FindingCleared,
            EventKind::SourceRecovered
        ]
    );
    // Alertmanager failing: its alerts are not "resolved".
    let mut s = healthy(t0());
    s.alerts
        .push(alert("PgReplicaLag", "CRIT", "pg-test", "pg-test-3"));
    r.observe(&d, &s);
    let mut s = healthy(t0());
    s.sources[1] = source(
        "alertmanager 10.10.10.10:9093",
        SourceKind::Alertmanager,
        false,
    );
    assert_eq!(kinds(&r.observe(&d, &s)), vec![EventKind::SourceFailed]);
}

#[test]
fn pause_and_resume() {
    let d = deployment();
    let mut r = EventRecorder::new();
    r.observe(&d, &healthy(t0()));
    let mut s = healthy(t0());
    s.clusters[1].paused = fact(true);
    let ev = r.observe(&d, &s);
    assert_eq!(kinds(&ev), vec![EventKind::PauseChanged]);
    assert_eq!(ev[0].message, "paused (maintenance mode)");
    assert_eq!(ev[0].cluster.as_deref(), Some("pg-test"));
    let ev = r.observe(&d, &healthy(t0()));
    assert_eq!(ev[0].message, "resumed (maintenance mode off)");
}

#[test]
fn services_up_and_down() {
    let d = deployment();
    let mut r = EventRecorder::new();
    let obs = |h| pigsty_tui::snapshot::ServiceObservation {
        health: h,
        source: Some("probe 10.10.10.12".into()),
        ..Default::default()
    };
    let mut s = healthy(t0());
    s.services.insert(
        ("10.10.10.12".into(), 6432),
        obs(pigsty_tui::snapshot::Health::Up),
    );
    r.observe(&d, &s);
    s.services.insert(
        ("10.10.10.12".into(), 6432),
        obs(pigsty_tui::snapshot::Health::Down),
    );
    let ev = r.observe(&d, &s);
    assert_eq!(kinds(&ev), vec![EventKind::ServiceDown]);
    assert_eq!(ev[0].instance.as_deref(), Some("pg-test-2"));
    assert!(
        ev[0].message.contains("10.10.10.12:6432 down"),
        "{}",
        ev[0].message
    );
}

#[test]
fn action_events() {
    let e = Event::action(
        "alice",
        Some("pg-test"),
        None,
        "switchover pg-test-1 -> pg-test-2",
    );
    assert_eq!(e.kind, EventKind::Action);
    assert_eq!(e.source, "alice");
    assert!(e.time().is_some());
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains("\"kind\":\"action\""), "{json}");
    assert!(!json.contains("instance"), "{json}");
}

// ---------------------------------------------------------------------------
// Timeline persistence

fn ev(i: usize) -> Event {
    Event::new(
        t0() + Duration::from_secs(i as u64),
        EventKind::MemberLost,
        "patroni",
        format!("event {i}"),
    )
    .cluster(Some("pg-test"))
    .instance(Some("pg-test-2"))
}

#[test]
fn timeline_survives_reload_and_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/events.jsonl");
    let mut t = Timeline::load(&path).unwrap();
    assert!(t.is_empty());
    t.append(&[ev(1), ev(2)]).unwrap();
    t.append(&[ev(3)]).unwrap();
    let back = Timeline::load(&path).unwrap();
    assert_eq!(
        back.events().cloned().collect::<Vec<_>>(),
        vec![ev(1), ev(2), ev(3)]
    );
    // A crash mid-write leaves half a line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    use std::io::Write;
    f.write_all(br#"{"ts":"2026-11-26T05:00:00Z","kind":"member_l"#)
        .unwrap();
    drop(f);
    let mut t = Timeline::load(&path).unwrap();
    assert_eq!(t.len(), 3);
    // The next append starts on a fresh line.
    t.append(&[ev(4)]).unwrap();
    let back = Timeline::load(&path).unwrap();
    assert_eq!(back.len(), 4);
    assert_eq!(back.events().last().unwrap(), &ev(4));
}

#[test]
fn timeline_is_bounded_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let batch: Vec<Event> = (0..MAX_EVENTS + 50).map(ev).collect();
    append_to(&path, &batch).unwrap();
    let t = Timeline::load(&path).unwrap();
    assert_eq!(t.len(), MAX_EVENTS);
    assert_eq!(t.events().next().unwrap(), &ev(50));
    // Past MAX_FILE_BYTES the file is rotated on the next append.
    let big = Event::new(t0(), EventKind::Other, "test", "x".repeat(1 << 20));
    for _ in 0..5 {
        append_to(&path, std::slice::from_ref(&big)).unwrap();
    }
    append_to(&path, &[ev(99_999)]).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size <= MAX_FILE_BYTES + (2 << 20), "{size}");
    assert!(dir.path().join("events.jsonl.1").exists());
    let t = Timeline::load(&path).unwrap();
    assert_eq!(t.events().last().unwrap(), &ev(99_999));
    assert!(t.len() <= MAX_EVENTS);
}

#[test]
fn since_parsing_and_query() {
    let now = t0();
    assert_eq!(
        parse_since("30m", now).unwrap(),
        now - Duration::from_secs(1800)
    );
    assert_eq!(
        parse_since("1h", now).unwrap(),
        now - Duration::from_secs(3600)
    );
    assert_eq!(
        parse_since("2d", now).unwrap(),
        now - Duration::from_secs(172_800)
    );
    let at = pigsty_tui::snapshot::rfc3339(now);
    assert_eq!(parse_since(&at, SystemTime::now()).unwrap(), now);
    assert!(parse_since("yesterday", now).is_err());
    assert!(parse_since("5y", now).is_err());

    let mut t = Timeline::in_memory();
    t.append(&[ev(0), ev(100), ev(200).cluster(Some("pg-meta"))])
        .unwrap();
    assert_eq!(
        t.query(Some(t0() + Duration::from_secs(100)), None).len(),
        2
    );
    assert_eq!(t.query(None, Some("pg-test")).len(), 2);
    let text = pigsty_tui::cli::events::render(&t, None, Some("pg-meta"), Format::Text);
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.contains("member_lost") && text.contains("pg-meta/pg-test-2"),
        "{text}"
    );
    let json = pigsty_tui::cli::events::render(&t, None, None, Format::Json);
    for l in json.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["kind"], "member_lost");
    }
}

// ---------------------------------------------------------------------------
// Report

#[test]
fn report_rendering() {
    let d = deployment();
    let mut s = healthy(t0() + Duration::from_secs(60));
    kill(&mut s, "pg-test-2");
    s.alerts
        .push(alert("PgDown", "CRIT", "pg-test", "pg-test-2"));
    let mut t = Timeline::in_memory();
    t.append(&[Event::new(
        t0(),
        EventKind::MemberLost,
        "patroni",
        "pg-test-2 lost: Patroni unreachable",
    )
    .cluster(Some("pg-test"))
    .instance(Some("pg-test-2"))])
        .unwrap();
    let logs = vec![
        MemberLogs {
            instance: "pg-test-1".into(),
            logs: vec![
                (
                    LogKind::Postgres,
                    Ok(LogLines {
                        kind: LogKind::Postgres,
                        file: "/pg/log/postgres/postgresql-2026-11-26.log".into(),
                        lines: vec![
                            "2026-11-26 05:00:00.000 UTC [1] LOG:  checkpoint starting".into(),
                            "2026-11-26 05:00:01.000 UTC [2] FATAL:  terminating connection".into(),
                        ],
                    }),
                ),
                (
                    LogKind::Patroni,
                    Err(LogError("pg-test-1: no log file in /pg/log/patroni".into())),
                ),
            ],
        },
        MemberLogs {
            instance: "pg-test-2".into(),
            logs: vec![(
                LogKind::Postgres,
                Err(LogError(
                    "ssh dba@10.10.10.12:22: connection refused".into(),
                )),
            )],
        },
    ];
    let md = render(
        &d,
        &s,
        "pg-test",
        &t,
        &t,
        &logs,
        t0() + Duration::from_secs(60),
    );
    for want in [
        "# Incident report: pg-test",
        "## Health",
        "**DEGRADED**",
        "- pg-test-2 down 1m00s",
        "## Members",
        "| pg-test-1 | 10.10.10.11 | primary | leader | running | 1 |",
        "| pg-test-2 | 10.10.10.12 | replica | unknown | unreachable (connection refused) |",
        "## Findings",
        "## Events of the last hour",
        "member_lost",
        "## Active alerts",
        "- PgDown [CRIT] active on pg-test-2",
        "### pg-test-1",
        "1 error line(s)",
        "FATAL:  terminating connection",
        "**patroni**: could not read the log: pg-test-1: no log file",
        "**postgres**: could not read the log: ssh dba@10.10.10.12:22: connection refused",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    let p = default_path(Path::new("/state"), "pg-test", t0());
    assert!(p.starts_with("/state/reports"));
    let name = p.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("pg-test-20") && name.ends_with("Z.md"),
        "{name}"
    );
}

#[test]
fn status_json_has_health() {
    let d = deployment();
    let mut s = healthy(t0());
    kill(&mut s, "pg-test-3");
    let out = pigsty_tui::cli::status::render(&d, &s, None, Format::Json);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["health"][0]["cluster"], "pg-test");
    assert_eq!(v["health"][0]["level"], "DEGRADED");
    assert_eq!(v["health"][0]["reasons"][0], "pg-test-3 down");
    assert!(v["clusters"].is_array() && v["sources"].is_array());
    let text = pigsty_tui::cli::status::render(&d, &s, Some("pg-test"), Format::Text);
    assert!(
        text.starts_with("pg-test DEGRADED: pg-test-3 down\n"),
        "{text}"
    );
    assert!(!text.contains("pg-meta HEALTHY"), "{text}");
}

#[tokio::test]
async fn spawn_triage_records_and_tracks() {
    use std::sync::Arc;
    let d = Arc::new(deployment());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    append_to(&path, &[ev(0)]).unwrap();
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(healthy(t0())));
    let (task, state) = pigsty_tui::triage::spawn_triage(d.clone(), rx, path.clone());
    // Loaded history: ev(0) says pg-test-2 was lost (and not back).
    assert_eq!(state.lock().unwrap().timeline.len(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut s = healthy(t0() + Duration::from_secs(10));
    kill(&mut s, "pg-test-3");
    tx.send(Arc::new(s.clone())).unwrap();
    for _ in 0..50 {
        if state.lock().unwrap().timeline.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let st = state.lock().unwrap();
        assert_eq!(
            st.timeline.events().last().unwrap().kind,
            EventKind::MemberLost
        );
        let h = summarize(&d, &s, &st.tracker);
        assert_eq!(h[0].reasons, vec!["pg-test-3 down 0s"]);
    }
    drop(tx);
    task.await.unwrap();
    let t = Timeline::load(&path).unwrap();
    assert_eq!(t.len(), 2);
    // The recorder's own file writes: spawn_recorder.
    let path2 = dir.path().join("other.jsonl");
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(healthy(t0())));
    let task = pigsty_tui::triage::spawn_recorder(d, rx, path2.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(Arc::new(s)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(tx);
    task.await.unwrap();
    assert_eq!(Timeline::load(&path2).unwrap().len(), 1);
}
