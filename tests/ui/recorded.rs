//! Live snapshots for `inventory/sandbox.yml`, as the merger publishes them,
//! built from values recorded on the loopback sandbox (`tests/sandbox`:
//! Patroni 3.0.2 roles, states, timelines and `/history`, lag from
//! `/cluster`, HAProxy's stats CSV, Prometheus ranges, Alertmanager's
//! alerts, source names and latencies) and re-addressed to the sandbox's
//! 10.10.10.x. Times are fixed, so the screens are stable.
//!
//! Each scenario starts from [`healthy`] and changes what that situation
//! changes; findings come from the real detector.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pigsty_tui::model::Deployment;
use pigsty_tui::snapshot::{
    ClusterLive, Fact, Health, LeaderViews, MemberLive, PromInstance, ServiceObservation,
    ServiceRouting, Snapshot, SourceStatus, Sparkline, detect_findings,
};
use pigsty_tui::sources::SourceKind;
use pigsty_tui::sources::alertmanager::Alert;
use pigsty_tui::sources::haproxy::ServerStat;
use pigsty_tui::sources::patroni::{HistoryEntry, Replication};
use pigsty_tui::sources::prometheus::SeriesKind;

/// 2026-11-26T06:00:00Z: when every recorded snapshot was taken.
pub const NOW: u64 = 1_795_672_800;
const INTERVAL: Duration = Duration::from_secs(2);

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn ago(ms: u64) -> SystemTime {
    now() - Duration::from_millis(ms)
}

/// Stale after three poll intervals, as the merger decides.
fn is_stale(age_ms: u64) -> bool {
    age_ms > 3 * INTERVAL.as_millis() as u64
}

fn fact<T>(value: T, source: &str, age_ms: u64) -> Fact<T> {
    Fact {
        value,
        source: source.into(),
        observed_at: ago(age_ms),
        age_ms,
        stale: is_stale(age_ms),
    }
}

fn patroni_src(ip: &str) -> String {
    format!("patroni {ip}:8008")
}

const PROM: &str = "prometheus http://10.10.10.10:9090";
const ALERTMANAGER: &str = "alertmanager http://10.10.10.10:9093";
const ETCD: &str = "etcd 10.10.10.10:2379";

fn ok_source(name: &str, kind: SourceKind, age_ms: u64, latency_ms: u64) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        kind,
        ok: true,
        last_success: Some(ago(age_ms)),
        last_attempt: Some(ago(age_ms)),
        last_error: None,
        last_error_at: None,
        latency: Some(Duration::from_millis(latency_ms)),
        failures: 0,
        next_in: Some(INTERVAL),
        age_ms: Some(age_ms),
    }
}

/// Makes a source fail `failures` times since its last success `age_ms` ago.
fn fail(s: &mut Snapshot, name: &str, error: &str, age_ms: u64, failures: u32) {
    let src = s
        .sources
        .iter_mut()
        .find(|x| &*x.name == name)
        .unwrap_or_else(|| panic!("no source {name}"));
    src.ok = false;
    src.last_error = Some(error.to_string());
    src.last_error_at = Some(ago(300));
    src.last_attempt = Some(ago(300));
    src.last_success = Some(ago(age_ms));
    src.age_ms = Some(age_ms);
    src.failures = failures;
    src.next_in = Some(Duration::from_secs(8));
}

/// The recorded timeline history of pg-test: two switchovers before now.
fn history() -> Vec<HistoryEntry> {
    vec![
        HistoryEntry {
            timeline: 1,
            lsn: 67_108_960,
            reason: "no recovery target specified".into(),
            timestamp: Some("2026-11-26T05:45:33.654660+00:00".into()),
            new_leader: Some("pg-test-2".into()),
        },
        HistoryEntry {
            timeline: 2,
            lsn: 83_886_240,
            reason: "no recovery target specified".into(),
            timestamp: Some("2026-11-26T05:46:22.662951+00:00".into()),
            new_leader: Some("pg-test-1".into()),
        },
    ]
}

/// A replica row of the leader's `pg_stat_replication`.
fn streaming(app: &str, sync: &str) -> Replication {
    Replication {
        usename: Some("replicator".into()),
        application_name: app.into(),
        client_addr: Some("10.10.10.1".into()),
        state: Some("streaming".into()),
        sync_state: Some(sync.into()),
        sync_priority: Some(if sync == "sync" { 1 } else { 0 }),
    }
}

struct MemberSpec<'a> {
    name: &'a str,
    ip: &'a str,
    leader: bool,
    sync: bool,
    timeline: u64,
    lag_bytes: u64,
    lag_seconds: f64,
    followers: Vec<Replication>,
    tags: Option<serde_json::Value>,
}

fn member(m: MemberSpec) -> MemberLive {
    let src = patroni_src(m.ip);
    let role = if m.leader {
        "leader"
    } else if m.sync {
        "sync_standby"
    } else {
        "replica"
    };
    MemberLive {
        name: m.name.into(),
        ip: Some(m.ip.into()),
        declared: true,
        role: Some(fact(role.into(), &src, 310)),
        state: Some(fact("running".into(), &src, 310)),
        timeline: Some(fact(m.timeline, &src, 310)),
        lag_bytes: Some(fact(m.lag_bytes, &src, 310)),
        lag_seconds: Some(fact(m.lag_seconds, PROM, 1100)),
        pending_restart: Some(fact(false, &src, 310)),
        paused: Some(fact(false, &src, 310)),
        wal_position: Some(fact(117_440_952 - m.lag_bytes, &src, 310)),
        replication: m.followers,
        dcs_last_seen: Some(NOW as i64 - 1),
        patroni_version: Some("3.0.2".into()),
        reachable: Some(true),
        tags: m.tags,
        prometheus: PromInstance {
            pg_up: Some(1.0),
            in_recovery: Some(if m.leader { 0.0 } else { 1.0 }),
            status: Some(if m.leader { 3.0 } else { 2.0 }),
            lag_bytes: (!m.leader).then_some(m.lag_bytes as f64),
            lag_seconds: (!m.leader).then_some(m.lag_seconds),
            observed_at: Some(ago(1100)),
            stale: false,
        },
        ..Default::default()
    }
}

/// HAProxy's view of one service on one node.
fn route(
    service: &str,
    port: u16,
    haproxy: &str,
    servers: Vec<(&str, &str, bool)>,
    age_ms: u64,
) -> ServiceRouting {
    let servers: Vec<ServerStat> = servers
        .into_iter()
        .enumerate()
        .map(|(k, (name, status, active))| ServerStat {
            name: name.into(),
            addr: Some(format!("10.10.10.1{}:6432", k + 1)),
            status: status.into(),
            active,
            weight: 100,
            check_status: Some(if status == "UP" { "L7OK" } else { "L7STS" }.into()),
            check_desc: None,
            sessions: 0,
            last_change_s: Some(600),
        })
        .collect();
    let up: Vec<&ServerStat> = servers.iter().filter(|s| s.is_up()).collect();
    let routes_to: Vec<String> = if up.iter().any(|s| s.active) {
        up.iter()
            .filter(|s| s.active)
            .map(|s| s.name.clone())
            .collect()
    } else {
        up.iter().map(|s| s.name.clone()).collect()
    };
    ServiceRouting {
        service: service.into(),
        port: Some(port),
        proxy: format!("pg-test-{service}"),
        haproxy: haproxy.into(),
        backend_status: Some(if routes_to.is_empty() { "DOWN" } else { "UP" }.into()),
        routes_to,
        servers,
        source: format!("haproxy {haproxy}:9101").into(),
        observed_at: ago(age_ms),
        stale: is_stale(age_ms),
    }
}

/// pg-test's four services as every HAProxy reports them. The servers
/// come from the inventory (pg-test-1 declared primary: a backup of the
/// replica service; pg-test-3 the offline one) and never change; the health
/// checks follow the live `leader` and fail on `down`.
fn pg_test_routing(leader: &str, down: Option<&str>, haproxies: &[&str]) -> Vec<ServiceRouting> {
    let members = ["pg-test-1", "pg-test-2", "pg-test-3"];
    let status = |m: &str, ok: bool| {
        if Some(m) == down || !ok { "DOWN" } else { "UP" }
    };
    let mut out = Vec::new();
    for ip in haproxies {
        // /primary passes on the leader only.
        let primary: Vec<(&str, &str, bool)> = members
            .iter()
            .map(|m| (*m, status(m, *m == leader), true))
            .collect();
        // /read-only passes everywhere; the declared primary is a backup.
        let replica: Vec<(&str, &str, bool)> = members
            .iter()
            .map(|m| (*m, status(m, true), *m != "pg-test-1"))
            .collect();
        // /replica fails on the leader; pg-test-3 serves, pg-test-2 backs up.
        let offline: Vec<(&str, &str, bool)> = ["pg-test-2", "pg-test-3"]
            .iter()
            .map(|m| (*m, status(m, *m != leader), *m == "pg-test-3"))
            .collect();
        out.push(route("primary", 5433, ip, primary.clone(), 700));
        out.push(route("replica", 5434, ip, replica, 700));
        out.push(route("default", 5436, ip, primary, 700));
        out.push(route("offline", 5438, ip, offline, 700));
    }
    out
}

/// 30 values, 10 s apart, ending now: `base` plus a wave of `amp`.
fn series(kind: SeriesKind, instance: &str, base: f64, amp: f64, phase: f64) -> Sparkline {
    Sparkline {
        kind,
        instance: instance.into(),
        values: (0..30)
            .map(|k| {
                let v = base + amp * ((k as f64 + phase) / 3.0).sin();
                ((v * 10.0).round() / 10.0) as f32
            })
            .collect(),
    }
}

fn sparklines(leader: &str) -> Vec<Sparkline> {
    let mut out = Vec::new();
    for (k, m) in ["pg-test-1", "pg-test-2", "pg-test-3"].iter().enumerate() {
        let lead = *m == leader;
        let p = k as f64;
        out.push(series(
            SeriesKind::Tps,
            m,
            if lead { 140.0 } else { 18.0 },
            if lead { 60.0 } else { 6.0 },
            p,
        ));
        if !lead {
            out.push(series(SeriesKind::LagBytes, m, 24_000.0, 16_000.0, p * 2.0));
        }
        out.push(series(SeriesKind::Connections, m, 14.0, 4.0, p));
    }
    out
}

/// Every declared service up, with a latency that depends on the port.
fn services(d: &Deployment) -> pigsty_tui::snapshot::ServiceMap {
    let mut out = pigsty_tui::snapshot::ServiceMap::default();
    for ip in d.node_ips() {
        let node = d.node(ip).unwrap();
        for s in node.services() {
            let udp = s.proto == pigsty_tui::model::Proto::Udp;
            let exporter = matches!(
                s.port,
                9100 | 9101 | 9630 | 9631 | 9080 | 8008 | 9090 | 9093 | 2379
            );
            out.insert(
                (ip.to_string(), s.port),
                ServiceObservation {
                    health: if udp { Health::Unknown } else { Health::Up },
                    latency: (!udp)
                        .then(|| Duration::from_micros(400 + u64::from(s.port % 97) * 23)),
                    observed_at: Some(ago(420)),
                    error: None,
                    source: Some(format!("probe {ip}").into()),
                    not_probed: udp,
                    http_status: None,
                    consul: None,
                    prometheus_up: exporter.then_some(true),
                    stale: false,
                },
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn alert(
    name: &str,
    severity: &str,
    ins: &str,
    cls: &str,
    ip: &str,
    port: u16,
    minutes: u64,
    summary: &str,
    silenced: bool,
) -> Alert {
    let starts = NOW - minutes * 60;
    let starts = time::OffsetDateTime::from_unix_timestamp(starts as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    Alert {
        name: name.into(),
        severity: Some(severity.into()),
        instance: Some(format!("{ip}:{port}")),
        ins: Some(ins.into()),
        cls: Some(cls.into()),
        ip: Some(ip.into()),
        starts_at: Some(starts),
        ends_at: None,
        state: if silenced { "suppressed" } else { "active" }.into(),
        silenced,
        inhibited: false,
        summary: Some(summary.into()),
        fingerprint: format!("{name}{ins}"),
        labels: Default::default(),
    }
}

/// Everything answers: pg-test-1 leads on timeline 3, pg-test-2 is a
/// synchronous standby, pg-test-3 (nofailover) is 1.5 MiB behind.
pub fn healthy(d: &Deployment) -> Snapshot {
    let mut sources = vec![
        ok_source(ALERTMANAGER, SourceKind::Alertmanager, 900, 3),
        ok_source(ETCD, SourceKind::Etcd, 520, 2),
        ok_source(PROM, SourceKind::Prometheus, 1100, 41),
    ];
    for ip in ["10.10.10.10", "10.10.10.11", "10.10.10.12", "10.10.10.13"] {
        sources.push(ok_source(
            &format!("haproxy {ip}:9101"),
            SourceKind::Haproxy,
            700,
            3,
        ));
        sources.push(ok_source(&patroni_src(ip), SourceKind::Patroni, 310, 5));
        sources.push(ok_source(
            &format!("probe {ip}"),
            SourceKind::Probe,
            420,
            12,
        ));
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));

    let pg_meta = ClusterLive {
        name: "pg-meta".into(),
        leader: LeaderViews {
            patroni: Some(fact("pg-meta-1".into(), &patroni_src("10.10.10.10"), 310)),
            dcs: Some(fact("pg-meta-1".into(), ETCD, 520)),
            cluster_api: Some(fact("pg-meta-1".into(), &patroni_src("10.10.10.10"), 310)),
            prometheus: Some(fact("pg-meta-1".into(), PROM, 1100)),
        },
        members: vec![member(MemberSpec {
            name: "pg-meta-1",
            ip: "10.10.10.10",
            leader: true,
            sync: false,
            timeline: 1,
            lag_bytes: 0,
            lag_seconds: 0.0,
            followers: Vec::new(),
            tags: None,
        })],
        timeline: Some(fact(1, &patroni_src("10.10.10.10"), 310)),
        paused: Some(fact(false, &patroni_src("10.10.10.10"), 310)),
        ..Default::default()
    };
    let lead_src = patroni_src("10.10.10.11");
    let pg_test = ClusterLive {
        name: "pg-test".into(),
        leader: LeaderViews {
            patroni: Some(fact("pg-test-1".into(), &lead_src, 310)),
            dcs: Some(fact("pg-test-1".into(), ETCD, 520)),
            cluster_api: Some(fact("pg-test-1".into(), &lead_src, 310)),
            prometheus: Some(fact("pg-test-1".into(), PROM, 1100)),
        },
        members: vec![
            member(MemberSpec {
                name: "pg-test-1",
                ip: "10.10.10.11",
                leader: true,
                sync: false,
                timeline: 3,
                lag_bytes: 0,
                lag_seconds: 0.0,
                followers: vec![
                    streaming("pg-test-2", "sync"),
                    streaming("pg-test-3", "async"),
                ],
                tags: None,
            }),
            member(MemberSpec {
                name: "pg-test-2",
                ip: "10.10.10.12",
                leader: false,
                sync: true,
                timeline: 3,
                lag_bytes: 0,
                lag_seconds: 0.0,
                followers: Vec::new(),
                tags: None,
            }),
            member(MemberSpec {
                name: "pg-test-3",
                ip: "10.10.10.13",
                leader: false,
                sync: false,
                timeline: 3,
                lag_bytes: 1_572_864,
                lag_seconds: 2.1,
                followers: Vec::new(),
                tags: Some(serde_json::json!({"nofailover": true, "noloadbalance": false})),
            }),
        ],
        history: history(),
        history_source: Some(lead_src.as_str().into()),
        paused: Some(fact(false, &lead_src, 310)),
        timeline: Some(fact(3, &lead_src, 310)),
        sync_standby: vec!["pg-test-2".into()],
        routing: pg_test_routing(
            "pg-test-1",
            None,
            &["10.10.10.11", "10.10.10.12", "10.10.10.13"],
        ),
        sparklines: sparklines("pg-test-1"),
        alerts: Vec::new(),
    };
    let mut s = Snapshot {
        seq: 42,
        taken_at: Some(now()),
        interval: INTERVAL,
        services: services(d),
        clusters: vec![pg_meta, pg_test],
        findings: Vec::new(),
        sources,
        alerts: Vec::new(),
        consul_services: Vec::new(),
    };
    s.findings = detect_findings(d, &s);
    s
}

fn pg_test(s: &mut Snapshot) -> &mut ClusterLive {
    s.clusters.iter_mut().find(|c| c.name == "pg-test").unwrap()
}

/// `patronictl switchover` to pg-test-2 a minute ago: pg-test-2 leads on
/// timeline 4, the inventory still says pg-test-1; HAProxy on node-3 has
/// not yet noticed and still sends 5433 to pg-test-1.
pub fn switchover(d: &Deployment) -> Snapshot {
    let mut s = healthy(d);
    let c = pg_test(&mut s);
    let src2 = patroni_src("10.10.10.12");
    c.leader = LeaderViews {
        patroni: Some(fact("pg-test-2".into(), &src2, 310)),
        dcs: Some(fact("pg-test-2".into(), ETCD, 520)),
        cluster_api: Some(fact("pg-test-2".into(), &src2, 310)),
        prometheus: Some(fact("pg-test-2".into(), PROM, 1100)),
    };
    c.members = vec![
        member(MemberSpec {
            name: "pg-test-1",
            ip: "10.10.10.11",
            leader: false,
            sync: false,
            timeline: 4,
            lag_bytes: 0,
            lag_seconds: 0.0,
            followers: Vec::new(),
            tags: None,
        }),
        member(MemberSpec {
            name: "pg-test-2",
            ip: "10.10.10.12",
            leader: true,
            sync: false,
            timeline: 4,
            lag_bytes: 0,
            lag_seconds: 0.0,
            followers: vec![
                streaming("pg-test-1", "async"),
                streaming("pg-test-3", "async"),
            ],
            tags: None,
        }),
        member(MemberSpec {
            name: "pg-test-3",
            ip: "10.10.10.13",
            leader: false,
            sync: false,
            timeline: 4,
            lag_bytes: 16_384,
            lag_seconds: 0.4,
            followers: Vec::new(),
            tags: Some(serde_json::json!({"nofailover": true})),
        }),
    ];
    c.history.push(HistoryEntry {
        timeline: 3,
        lsn: 117_440_952,
        reason: "no recovery target specified".into(),
        timestamp: Some("2026-11-26T05:59:01.118004+00:00".into()),
        new_leader: Some("pg-test-2".into()),
    });
    c.timeline = Some(fact(4, &src2, 310));
    c.history_source = Some(src2.into());
    c.sync_standby.clear();
    let mut routing = pg_test_routing("pg-test-2", None, &["10.10.10.11", "10.10.10.12"]);
    routing.extend(pg_test_routing("pg-test-1", None, &["10.10.10.13"]));
    c.routing = routing;
    c.sparklines = sparklines("pg-test-2");
    s.findings = detect_findings(d, &s);
    s
}

/// pg-test-3's Patroni stopped answering 40 s ago and its Postgres is
/// down; the leader no longer streams to it.
pub fn member_down(d: &Deployment) -> Snapshot {
    let mut s = healthy(d);
    let src3 = patroni_src("10.10.10.13");
    let err = "patroni 10.10.10.13:8008: connection refused";
    fail(&mut s, &src3, err, 40_000, 20);
    let c = pg_test(&mut s);
    c.members[0].replication = vec![streaming("pg-test-2", "sync")];
    let m = &mut c.members[2];
    *m = MemberLive {
        name: "pg-test-3".into(),
        ip: Some("10.10.10.13".into()),
        declared: true,
        state: Some(fact("unreachable".into(), &src3, 300)),
        reachable: Some(false),
        error: Some(err.into()),
        prometheus: PromInstance {
            pg_up: Some(0.0),
            observed_at: Some(ago(1100)),
            ..Default::default()
        },
        ..Default::default()
    };
    c.routing = pg_test_routing(
        "pg-test-1",
        Some("pg-test-3"),
        &["10.10.10.11", "10.10.10.12", "10.10.10.13"],
    );
    for port in [5432, 8008, 9630] {
        let o = s.services.get_mut("10.10.10.13", port).unwrap();
        o.health = Health::Down;
        o.latency = None;
        o.error = Some(format!("10.10.10.13:{port}: connection refused").into());
        if port != 5432 {
            o.prometheus_up = Some(false);
        }
    }
    s.findings = detect_findings(d, &s);
    s
}

/// [`member_down`] with Alertmanager's alerts about it (and one silenced).
pub fn with_alerts(d: &Deployment) -> Snapshot {
    let mut s = member_down(d);
    s.alerts = vec![
        alert(
            "PgsqlDown",
            "CRIT",
            "pg-test-3",
            "pg-test",
            "10.10.10.13",
            9630,
            1,
            "CRIT PgsqlDown pg-test-3@10.10.10.13:9630",
            false,
        ),
        alert(
            "PatroniDown",
            "WARN",
            "pg-test-3",
            "pg-test",
            "10.10.10.13",
            8008,
            1,
            "WARN PatroniDown pg-test-3@10.10.10.13:8008",
            false,
        ),
        alert(
            "NodeMemHigh",
            "WARN",
            "pg-meta-1",
            "pg-meta",
            "10.10.10.10",
            9100,
            75,
            "WARN NodeMemHigh meta@10.10.10.10 memory usage 91%",
            true,
        ),
    ];
    let for_test: Vec<Alert> = s
        .alerts
        .iter()
        .filter(|a| a.cls.as_deref() == Some("pg-test"))
        .cloned()
        .collect();
    pg_test(&mut s).alerts = for_test;
    s
}

/// etcd stopped answering 45 s ago: the DCS leader key is stale, Patroni
/// still answers `/patroni` but `GET /cluster` fails.
pub fn dcs_failing(d: &Deployment) -> Snapshot {
    let mut s = healthy(d);
    fail(
        &mut s,
        ETCD,
        "etcd 10.10.10.10:2379: connection refused",
        45_000,
        9,
    );
    for c in &mut s.clusters {
        let leader = c.leader.dcs.as_ref().unwrap().value.clone();
        c.leader.dcs = Some(fact(leader, ETCD, 45_000));
        c.leader.cluster_api = None;
        for m in &mut c.members {
            m.cluster_error = Some(format!(
                "{}: GET /cluster: 503 Service Unavailable",
                patroni_src(m.ip.as_deref().unwrap())
            ));
        }
    }
    let o = s.services.get_mut("10.10.10.10", 2379).unwrap();
    o.health = Health::Down;
    o.latency = None;
    o.error = Some("10.10.10.10:2379: connection refused".into());
    o.prometheus_up = Some(false);
    s.findings = detect_findings(d, &s);
    s
}

/// Prometheus stopped answering 40 s ago: its facts are stale, the
/// sparklines say why there is nothing to draw.
pub fn prometheus_failing(d: &Deployment) -> Snapshot {
    let mut s = healthy(d);
    let err = "prometheus http://10.10.10.10:9090: GET /api/v1/query: connection refused";
    fail(&mut s, PROM, err, 40_000, 14);
    for c in &mut s.clusters {
        if let Some(p) = &mut c.leader.prometheus {
            *p = fact(p.value.clone(), PROM, 40_000);
        }
        for m in &mut c.members {
            if let Some(l) = &mut m.lag_seconds {
                *l = fact(l.value, PROM, 40_000);
            }
            m.prometheus.stale = true;
            m.prometheus.observed_at = Some(ago(40_000));
        }
    }
    let o = s.services.get_mut("10.10.10.10", 9090).unwrap();
    o.health = Health::Down;
    o.latency = None;
    o.error = Some("10.10.10.10:9090: connection refused".into());
    s.findings = detect_findings(d, &s);
    s
}
