//! Merge and findings on recorded-format observations.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;
use crate::model::{DcsKind, Deployment};
use crate::sources::dcs::DcsClusterView;
use crate::sources::haproxy::{ProxyStat, ServerStat};
use crate::sources::patroni::{ClusterView, MemberReport, MemberStatus, PatroniEndpoint};
use crate::sources::prometheus::{InstantResult, Labels, Metric, PromReport, Sample};
use crate::sources::{
    Batch, ErrorKind, Observation, SourceError, SourceId, SourcesConfig, fixture, test_deployment,
};

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_669_320)
}

fn secs(s: u64) -> SystemTime {
    t0() + Duration::from_secs(s)
}

fn ip_of(member: &str) -> String {
    format!("127.0.0.1{}", member.rsplit('-').next().unwrap())
}

fn status(role: &str, tl: u64, extra: Value) -> MemberStatus {
    let mut v = json!({
        "state": "running",
        "role": role,
        "timeline": tl,
        "dcs_last_seen": 1_795_669_320,
        "patroni": {"version": "3.0.2", "scope": "pg-test"},
    });
    v["xlog"] = if role == "master" {
        json!({"location": 1000})
    } else {
        json!({"received_location": 900, "replayed_location": 900, "replayed_timestamp": null, "paused": false})
    };
    if let Value::Object(m) = extra {
        for (k, x) in m {
            v[k] = x;
        }
    }
    serde_json::from_value(v).unwrap()
}

fn cluster_view(leader: &str, tl: u64) -> ClusterView {
    let members: Vec<Value> = (1..=3)
        .map(|i| {
            let name = format!("pg-test-{i}");
            let mut m = json!({"name": name, "state": "running", "host": ip_of(&name), "port": 5432, "timeline": tl});
            if name == leader {
                m["role"] = json!("leader");
            } else {
                m["role"] = json!("replica");
                m["lag"] = json!(100);
            }
            m
        })
        .collect();
    serde_json::from_value(json!({ "members": members })).unwrap()
}

fn patroni_id(member: &str) -> SourceId {
    SourceId {
        kind: SourceKind::Patroni,
        name: format!("patroni {}:8008", ip_of(member)).into(),
        subject: Some(member.into()),
    }
}

fn patroni_ok(
    member: &str,
    at: SystemTime,
    st: MemberStatus,
    cluster: Result<ClusterView, SourceError>,
) -> Batch {
    Batch {
        source: patroni_id(member),
        at,
        latency: Duration::from_millis(3),
        result: Ok(Observation::Patroni(Box::new(MemberReport {
            endpoint: PatroniEndpoint {
                cluster: "pg-test".into(),
                member: member.into(),
                ip: ip_of(member),
                port: 8008,
            },
            status: st,
            cluster,
            history: None,
        }))),
        next_in: Some(Duration::from_secs(2)),
    }
}

fn patroni_err(member: &str, at: SystemTime) -> Batch {
    let id = patroni_id(member);
    Batch {
        result: Err(SourceError::new(
            &id.name,
            ErrorKind::Connect,
            "connection refused",
        )),
        source: id,
        at,
        latency: Duration::from_millis(1),
        next_in: Some(Duration::from_secs(4)),
    }
}

fn dcs_view(leader: Option<&str>, revision: i64) -> DcsClusterView {
    let mut kvs: Vec<(String, Vec<u8>)> = (1..=3)
        .map(|i| {
            (
                format!("/pg/pg-test/members/pg-test-{i}"),
                br#"{"state":"running","role":"replica","timeline":1}"#.to_vec(),
            )
        })
        .collect();
    if let Some(l) = leader {
        kvs.push(("/pg/pg-test/leader".into(), l.as_bytes().to_vec()));
    }
    DcsClusterView::from_kvs(
        "/pg/pg-test/",
        revision,
        kvs.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
    )
}

fn dcs_ok(at: SystemTime, leader: Option<&str>, revision: i64) -> Batch {
    Batch {
        source: SourceId {
            kind: SourceKind::Etcd,
            name: "etcd 127.0.0.10:2379".into(),
            subject: None,
        },
        at,
        latency: Duration::from_millis(2),
        result: Ok(Observation::Dcs {
            kind: DcsKind::Etcd,
            clusters: vec![("pg-test".into(), dcs_view(leader, revision))],
            services: None,
        }),
        next_in: None,
    }
}

fn dcs_err(at: SystemTime) -> Batch {
    Batch {
        source: SourceId {
            kind: SourceKind::Etcd,
            name: "etcd 127.0.0.10:2379".into(),
            subject: None,
        },
        at,
        latency: Duration::from_millis(1),
        result: Err(SourceError::new(
            "etcd 127.0.0.10:2379",
            ErrorKind::Connect,
            "connection refused",
        )),
        next_in: None,
    }
}

fn sample(ins: &str, v: f64) -> Sample {
    Sample {
        labels: Labels::from([
            ("cls".to_string(), "pg-test".to_string()),
            ("ins".to_string(), ins.to_string()),
            ("ip".to_string(), ip_of(ins)),
            ("instance".to_string(), format!("{}:9630", ip_of(ins))),
        ]),
        value: v,
        ts: 1.0,
    }
}

fn prom_ok(at: SystemTime, in_recovery: &[(&str, f64)], leaders: &[&str]) -> Batch {
    let mut instant = BTreeMap::new();
    instant.insert(
        Metric::InRecovery,
        InstantResult {
            expr: "pg_in_recovery".into(),
            samples: in_recovery.iter().map(|(i, v)| sample(i, *v)).collect(),
        },
    );
    instant.insert(
        Metric::Leader,
        InstantResult {
            expr: "pg:cls:leader".into(),
            samples: leaders.iter().map(|i| sample(i, 1.0)).collect(),
        },
    );
    instant.insert(
        Metric::LagSeconds,
        InstantResult {
            expr: "pg:ins:lag_seconds".into(),
            samples: vec![sample("pg-test-2", 0.25)],
        },
    );
    instant.insert(
        Metric::Up,
        InstantResult {
            expr: "up".into(),
            samples: vec![sample("pg-test-1", 1.0)],
        },
    );
    Batch {
        source: SourceId {
            kind: SourceKind::Prometheus,
            name: "prometheus http://127.0.0.10:9090".into(),
            subject: None,
        },
        at,
        latency: Duration::from_millis(5),
        result: Ok(Observation::Prometheus(Box::new(PromReport {
            instant,
            range: None,
            query_errors: Vec::new(),
        }))),
        next_in: None,
    }
}

fn server(name: &str, status: &str) -> ServerStat {
    ServerStat {
        name: name.into(),
        addr: None,
        status: status.into(),
        active: true,
        weight: 100,
        check_status: None,
        check_desc: None,
        sessions: 0,
        last_change_s: None,
    }
}

fn haproxy_ok(at: SystemTime, ip: &str, primary: &[(&str, &str)]) -> Batch {
    Batch {
        source: SourceId {
            kind: SourceKind::Haproxy,
            name: format!("haproxy {ip}:9101").into(),
            subject: Some(ip.into()),
        },
        at,
        latency: Duration::from_millis(1),
        result: Ok(Observation::Haproxy {
            ip: ip.into(),
            port: 9101,
            proxies: vec![ProxyStat {
                name: "pg-test-primary".into(),
                backend_status: Some("UP".into()),
                frontend: true,
                mode: Some("tcp".into()),
                servers: primary.iter().map(|(n, s)| server(n, s)).collect(),
            }],
        }),
        next_in: None,
    }
}

/// A healthy pg-test led by `leader` on timeline `tl`, seen by every source at `at`.
fn healthy(state: &mut State, at: SystemTime, leader: &str, tl: u64) {
    for i in 1..=3 {
        let m = format!("pg-test-{i}");
        let role = if m == leader { "master" } else { "replica" };
        // The leader streams to the first other member only.
        let first_other = (1..=3)
            .map(|j| format!("pg-test-{j}"))
            .find(|n| n != leader)
            .unwrap();
        let extra = if m == leader {
            json!({"replication": [{"application_name": first_other, "state": "streaming", "sync_state": "async"}]})
        } else {
            json!({})
        };
        state.apply(patroni_ok(
            &m,
            at,
            status(role, tl, extra),
            Ok(cluster_view(leader, tl)),
        ));
    }
    state.apply(dcs_ok(at, Some(leader), 10));
}

fn setup() -> (Deployment, State) {
    (
        test_deployment(DcsKind::Etcd),
        State::new(&SourcesConfig::default()),
    )
}

#[test]
fn empty_snapshot_still_answers() {
    let s = Snapshot::empty();
    assert_eq!(s.service("127.0.0.11", 5432).health, Health::Unknown);
    assert!(s.cluster("pg-test").is_none());
}

#[test]
fn healthy_cluster_roles_leader_lag() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(prom_ok(
        secs(0),
        &[("pg-test-1", 0.0), ("pg-test-2", 1.0), ("pg-test-3", 1.0)],
        &["pg-test-1"],
    ));
    let s = st.build(&d, secs(1));
    let c = s.cluster("pg-test").unwrap();
    assert_eq!(c.leader(), Some("pg-test-1"));
    assert_eq!(c.leader.patroni.as_ref().unwrap().value, "pg-test-1");
    assert_eq!(c.leader.dcs.as_ref().unwrap().value, "pg-test-1");
    assert_eq!(
        &*c.leader.dcs.as_ref().unwrap().source,
        "etcd 127.0.0.10:2379"
    );
    assert_eq!(c.leader.prometheus.as_ref().unwrap().value, "pg-test-1");
    let roles: Vec<&str> = c.members.iter().map(|m| m.role_str()).collect();
    assert_eq!(roles, ["leader", "replica", "replica"]);
    let m1 = c.member("pg-test-1").unwrap();
    assert_eq!(m1.lag_bytes.as_ref().unwrap().value, 0);
    let m2 = c.member("pg-test-2").unwrap();
    let lag = m2.lag_bytes.as_ref().unwrap();
    assert_eq!(lag.value, 100, "from /cluster");
    assert_eq!(
        &*lag.source, "patroni 127.0.0.11:8008",
        "the leader's /cluster view"
    );
    assert_eq!(lag.age_ms, 1000);
    assert!(!lag.stale);
    assert_eq!(m2.lag_seconds.as_ref().unwrap().value, 0.25);
    assert_eq!(m2.timeline.as_ref().unwrap().value, 1);
    assert_eq!(m2.state.as_ref().unwrap().value, "running");
    assert_eq!(
        &*m2.role.as_ref().unwrap().source,
        "patroni 127.0.0.12:8008"
    );
    assert_eq!(m1.streaming, None);
    assert_eq!(m2.streaming, Some(true));
    assert_eq!(
        c.member("pg-test-3").unwrap().streaming,
        Some(false),
        "not in replication[]"
    );
    assert!(s.findings.is_empty(), "{:#?}", s.findings);
    assert_eq!(s.sources.len(), 5);
    assert!(s.sources.iter().all(|x| x.ok));
    assert_eq!(s.service("127.0.0.11", 9630).prometheus_up, Some(true));
}

#[test]
fn dcs_down_falls_back_to_each_member() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    // etcd dies: /cluster fails on every member, /patroni still answers.
    let dcs_fail = || {
        Err(SourceError::new(
            "patroni",
            ErrorKind::Http,
            "GET /cluster: HTTP 502 Bad Gateway",
        ))
    };
    for i in 1..=3 {
        let m = format!("pg-test-{i}");
        let role = if i == 1 { "master" } else { "replica" };
        st.apply(patroni_ok(
            &m,
            secs(2),
            status(role, 1, json!({})),
            dcs_fail(),
        ));
    }
    st.apply(dcs_err(secs(2)));
    let s = st.build(&d, secs(3));
    let c = s.cluster("pg-test").unwrap();
    let roles: Vec<&str> = c.members.iter().map(|m| m.role_str()).collect();
    assert_eq!(roles, ["leader", "replica", "replica"]);
    assert_eq!(c.leader(), Some("pg-test-1"));
    // Lag computed from WAL positions (leader 1000, replica replayed 900).
    let lag = c.member("pg-test-2").unwrap().lag_bytes.as_ref().unwrap();
    assert_eq!(lag.value, 100);
    assert_eq!(&*lag.source, "patroni 127.0.0.12:8008");
    let etcd = s.source("etcd 127.0.0.10:2379").unwrap();
    assert!(!etcd.ok);
    assert_eq!(
        etcd.last_error.as_deref(),
        Some("etcd 127.0.0.10:2379: connection refused")
    );
    assert!(s.source("patroni 127.0.0.11:8008").unwrap().ok);
    assert!(
        s.findings
            .iter()
            .any(|f| f.kind == FindingKind::PatroniDcsError),
        "{:#?}",
        s.findings
    );
    // Later the DCS view is stale: flagged, and no longer compared.
    let s = st.build(&d, secs(9));
    let c = s.cluster("pg-test").unwrap();
    assert!(c.leader.dcs.as_ref().unwrap().stale);
}

#[test]
fn unreachable_member_is_unknown_and_names_the_endpoint() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(patroni_err("pg-test-1", secs(2)));
    let s = st.build(&d, secs(2));
    let m = s.member("pg-test-1").unwrap();
    assert_eq!(m.role_str(), "unknown");
    assert_eq!(m.reachable, Some(false));
    assert_eq!(m.state.as_ref().unwrap().value, "unreachable");
    assert_eq!(
        m.error.as_deref(),
        Some("patroni 127.0.0.11:8008: connection refused")
    );
    assert_eq!(m.lag_bytes, None);
    let src = s.source("patroni 127.0.0.11:8008").unwrap();
    assert!(!src.ok);
    assert_eq!(src.failures, 1);
    assert_eq!(src.next_in, Some(Duration::from_secs(4)));
    let doc = status_json(&d, &s);
    let live = &doc["clusters"][0]["instances"][0]["live"];
    assert_eq!(live["role"], "unknown");
    assert_eq!(live["lag_bytes"], Value::Null);
}

#[test]
fn probes_run_early_on_the_nodes_whose_state_flips() {
    let (d, mut st) = setup();
    // Nothing known before: nothing flips.
    assert!(
        st.nodes_to_probe(&d, &patroni_err("pg-test-2", secs(0)))
            .is_empty()
    );
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(haproxy_ok(
        secs(0),
        "127.0.0.11",
        &[("pg-test-1", "UP"), ("pg-test-2", "DOWN")],
    ));
    // A member that stops answering, and answers again.
    let down = patroni_err("pg-test-2", secs(2));
    assert_eq!(st.nodes_to_probe(&d, &down), ["127.0.0.12"]);
    st.apply(down);
    let again = patroni_err("pg-test-2", secs(4));
    assert!(st.nodes_to_probe(&d, &again).is_empty(), "still down");
    st.apply(again);
    let back = patroni_ok(
        "pg-test-2",
        secs(6),
        status("replica", 1, json!({})),
        Ok(cluster_view("pg-test-1", 1)),
    );
    assert_eq!(st.nodes_to_probe(&d, &back), ["127.0.0.12"]);
    // HAProxy: the same states change nothing; a server going down or
    // up names its node.
    let same = haproxy_ok(
        secs(2),
        "127.0.0.11",
        &[("pg-test-1", "UP"), ("pg-test-2", "DOWN")],
    );
    assert!(st.nodes_to_probe(&d, &same).is_empty());
    let flipped = haproxy_ok(
        secs(2),
        "127.0.0.11",
        &[("pg-test-1", "DOWN"), ("pg-test-2", "UP")],
    );
    assert_eq!(
        st.nodes_to_probe(&d, &flipped),
        ["127.0.0.11", "127.0.0.12"]
    );
}

#[test]
fn patroni_port_state_comes_from_the_patroni_poller() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(patroni_err("pg-test-1", secs(2)));
    st.apply(patroni_ok(
        "pg-test-3",
        secs(2),
        status("replica", 1, json!({"state": "stopped"})),
        Ok(cluster_view("pg-test-1", 1)),
    ));
    let s = st.build(&d, secs(2));
    let up = s.service("127.0.0.12", 8008);
    assert_eq!(up.status_str(), "up", "{up:?}");
    assert_eq!(up.latency, Some(Duration::from_millis(3)));
    assert_eq!(up.source.as_deref(), Some("patroni 127.0.0.12:8008"));
    let refused = s.service("127.0.0.11", 8008);
    assert_eq!(refused.status_str(), "down");
    assert_eq!(refused.error.as_deref(), Some("connection refused"));
    let stopped = s.service("127.0.0.13", 8008);
    assert_eq!(stopped.status_str(), "down");
    assert_eq!(
        stopped.error.as_deref(),
        Some("Patroni answers, Postgres stopped")
    );
    // Stale like any observation; a probe of the port (none here) would win.
    let s = st.build(&d, secs(60));
    assert!(s.service("127.0.0.12", 8008).stale);
}

#[test]
fn failover_new_leader_old_one_down() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(patroni_err("pg-test-1", secs(2)));
    for (m, role) in [("pg-test-2", "master"), ("pg-test-3", "replica")] {
        st.apply(patroni_ok(
            m,
            secs(2),
            status(role, 2, json!({})),
            Ok(cluster_view("pg-test-2", 2)),
        ));
    }
    st.apply(dcs_ok(secs(2), Some("pg-test-2"), 20));
    let s = st.build(&d, secs(2));
    let c = s.cluster("pg-test").unwrap();
    assert_eq!(c.leader(), Some("pg-test-2"));
    assert_eq!(c.leader.dcs.as_ref().unwrap().value, "pg-test-2");
    assert_eq!(c.member("pg-test-1").unwrap().role_str(), "unknown");
    assert_eq!(c.timeline.as_ref().unwrap().value, 2);
    // The inventory still says pg-test-1 is primary: info, not error.
    let drift: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RoleDrift)
        .collect();
    assert_eq!(drift.len(), 1, "{:#?}", s.findings);
    assert_eq!(drift[0].severity, Severity::Info);
    assert_eq!(drift[0].instance.as_deref(), Some("pg-test-2"));
    assert!(
        s.findings.iter().all(|f| f.severity != Severity::Error),
        "{:#?}",
        s.findings
    );
}

#[test]
fn split_brain_is_an_error_naming_both() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(patroni_ok(
        "pg-test-2",
        secs(1),
        status("master", 2, json!({})),
        Ok(cluster_view("pg-test-1", 1)),
    ));
    let s = st.build(&d, secs(1));
    let f = s
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SplitBrain)
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(s.findings[0].kind, FindingKind::SplitBrain, "errors first");
    let srcs: Vec<&str> = f.sources.iter().map(|o| o.source.as_str()).collect();
    assert_eq!(srcs, ["patroni 127.0.0.11:8008", "patroni 127.0.0.12:8008"]);
    // The leader shown is the one the DCS agrees with.
    assert_eq!(s.cluster("pg-test").unwrap().leader(), Some("pg-test-1"));
    assert!(
        s.findings
            .iter()
            .any(|f| f.kind == FindingKind::TimelineDivergence)
    );
}

#[test]
fn dcs_leader_mismatch_names_both_values() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(dcs_ok(secs(1), Some("pg-test-3"), 11));
    let s = st.build(&d, secs(1));
    let f = s
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::DcsLeaderMismatch)
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.sources[0].source, "etcd 127.0.0.10:2379");
    assert_eq!(f.sources[0].value, "pg-test-3");
    assert_eq!(f.sources[1].value, "pg-test-1");
    assert!(f.message.contains("pg-test-3") && f.message.contains("pg-test-1"));
}

#[test]
fn prometheus_recovery_disagreement() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(prom_ok(
        secs(0),
        &[("pg-test-1", 0.0), ("pg-test-2", 0.0), ("pg-test-3", 1.0)],
        &["pg-test-1", "pg-test-2"],
    ));
    let s = st.build(&d, secs(1));
    let f: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RecoveryMismatch)
        .collect();
    assert_eq!(f.len(), 1, "{:#?}", s.findings);
    assert_eq!(f[0].instance.as_deref(), Some("pg-test-2"));
    assert!(
        s.findings
            .iter()
            .any(|f| f.kind == FindingKind::SplitBrain && f.severity == Severity::Warning)
    );
}

#[test]
fn haproxy_primary_routing_to_a_replica() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(haproxy_ok(
        secs(0),
        "127.0.0.11",
        &[("pg-test-1", "UP"), ("pg-test-2", "DOWN")],
    ));
    st.apply(haproxy_ok(
        secs(0),
        "127.0.0.12",
        &[("pg-test-1", "DOWN"), ("pg-test-2", "UP")],
    ));
    let s = st.build(&d, secs(1));
    let c = s.cluster("pg-test").unwrap();
    assert_eq!(c.routing.len(), 2);
    assert_eq!(c.routing[0].port, Some(5433));
    assert_eq!(c.routing[0].routes_to, ["pg-test-1"]);
    let f: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::HaproxyRouting)
        .collect();
    assert_eq!(f.len(), 1, "{:#?}", s.findings);
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].message.contains("127.0.0.12:5433"), "{}", f[0].message);
    assert_eq!(f[0].sources[0].source, "haproxy 127.0.0.12:9101");
}

#[test]
fn watch_events_win_over_older_polls() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    let ev = Batch {
        source: SourceId {
            kind: SourceKind::Etcd,
            name: "etcd watch /pg/pg-test/".into(),
            subject: Some("pg-test".into()),
        },
        at: secs(1),
        latency: Duration::ZERO,
        result: Ok(Observation::DcsEvents {
            cluster: "pg-test".into(),
            prefix: "/pg/pg-test/".into(),
            revision: 15,
            events: vec![("/pg/pg-test/leader".into(), Some(b"pg-test-2".to_vec()))],
        }),
        next_in: None,
    };
    st.apply(ev);
    // A poll that read revision 12 arrives later: it must not undo the event.
    st.apply(dcs_ok(secs(2), Some("pg-test-1"), 12));
    let s = st.build(&d, secs(2));
    let l = s.cluster("pg-test").unwrap().leader.dcs.clone().unwrap();
    assert_eq!(l.value, "pg-test-2");
    assert_eq!(&*l.source, "etcd watch /pg/pg-test/");
    // A deletion through the watch.
    let del = Batch {
        source: SourceId {
            kind: SourceKind::Etcd,
            name: "etcd watch /pg/pg-test/".into(),
            subject: Some("pg-test".into()),
        },
        at: secs(3),
        latency: Duration::ZERO,
        result: Ok(Observation::DcsEvents {
            cluster: "pg-test".into(),
            prefix: "/pg/pg-test/".into(),
            revision: 16,
            events: vec![("/pg/pg-test/leader".into(), None)],
        }),
        next_in: None,
    };
    st.apply(del);
    let s = st.build(&d, secs(3));
    assert!(s.cluster("pg-test").unwrap().leader.dcs.is_none());
}

#[test]
fn stale_facts_are_flagged_and_not_compared() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(dcs_ok(secs(0), Some("pg-test-3"), 11));
    // 3 intervals = 6 s: at 7 s everything is stale.
    let s = st.build(&d, secs(7));
    let m = s.member("pg-test-2").unwrap();
    assert!(m.role.as_ref().unwrap().stale);
    assert_eq!(m.role.as_ref().unwrap().age_ms, 7000);
    assert!(
        s.findings
            .iter()
            .all(|f| f.kind != FindingKind::DcsLeaderMismatch)
    );
    let doc = status_json(&d, &s);
    assert_eq!(doc["clusters"][0]["instances"][1]["live"]["stale"], true);
}

#[test]
fn sync_standby_from_cluster_view() {
    let (d, mut st) = setup();
    let raw = String::from_utf8(fixture("patroni/cluster-v4-lag.json")).unwrap();
    let view: ClusterView = serde_json::from_str(&raw).unwrap();
    st.apply(patroni_ok(
        "pg-test-1",
        secs(0),
        status("master", 2, json!({})),
        Ok(view.clone()),
    ));
    st.apply(patroni_ok(
        "pg-test-2",
        secs(0),
        status("replica", 2, json!({})),
        Ok(view),
    ));
    st.apply(patroni_err("pg-test-3", secs(0)));
    let s = st.build(&d, secs(0));
    let c = s.cluster("pg-test").unwrap();
    assert_eq!(c.member("pg-test-2").unwrap().role_str(), "sync_standby");
    assert_eq!(
        c.member("pg-test-2")
            .unwrap()
            .lag_bytes
            .as_ref()
            .unwrap()
            .value,
        16
    );
    assert_eq!(c.sync_standby, ["pg-test-2"]);
    assert!(c.paused.is_some());
}

#[test]
fn status_json_contract() {
    let (d, mut st) = setup();
    healthy(&mut st, secs(0), "pg-test-1", 1);
    st.apply(patroni_err("pg-test-3", secs(0)));
    let s = st.build(&d, secs(1));
    let doc = status_json(&d, &s);
    for k in [
        "deployment",
        "inventory",
        "dcs",
        "generation",
        "clusters",
        "infra",
        "findings",
        "sources",
    ] {
        assert!(doc.get(k).is_some(), "{k} missing");
    }
    assert_eq!(doc["generation"], "v3");
    let c = &doc["clusters"][0];
    assert_eq!(c["name"], "pg-test");
    assert_eq!(c["leader"], "pg-test-1");
    let i = &c["instances"][1];
    for k in ["name", "ip", "seq", "role", "live"] {
        assert!(i.get(k).is_some(), "{k} missing");
    }
    assert_eq!(i["role"], "replica");
    assert_eq!(i["live"]["role"], "replica");
    assert_eq!(i["live"]["state"], "running");
    assert_eq!(i["live"]["timeline"], 1);
    assert_eq!(i["live"]["lag_bytes"], 100);
    assert_eq!(c["instances"][2]["live"]["role"], "unknown");
    assert_eq!(c["instances"][2]["live"]["lag_bytes"], Value::Null);
    let svc = &doc["infra"][0]["services"];
    assert!(
        svc.as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("status").is_some() && s.get("proto").is_some())
    );
    let src = doc["sources"].as_array().unwrap();
    let bad = src
        .iter()
        .find(|s| s["name"] == "patroni 127.0.0.13:8008")
        .unwrap();
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["error"], "patroni 127.0.0.13:8008: connection refused");
    let good = src
        .iter()
        .find(|s| s["name"] == "patroni 127.0.0.11:8008")
        .unwrap();
    assert_eq!(good["status"], "ok");
    assert_eq!(good["age_ms"], 1000);
    assert_eq!(good["error"], Value::Null);
    // The snapshot itself serializes too (for debugging and the UI).
    let full = serde_json::to_value(&s).unwrap();
    assert!(full["clusters"][0]["members"].is_array());
}

#[test]
fn consul_opinion_on_services() {
    use crate::sources::consul::ConsulService;
    use crate::sources::probe::ProbeResult;
    let d = test_deployment(DcsKind::Consul);
    let mut st = State::new(&SourcesConfig::default());
    let svc = |port: u16, status: &str| ConsulService {
        name: "svc".into(),
        id: format!("svc-{port}"),
        node: "node-1".into(),
        address: "127.0.0.11".into(),
        port,
        tags: Vec::new(),
        status: status.into(),
        checks: Vec::new(),
    };
    st.apply(Batch {
        source: SourceId {
            kind: SourceKind::Consul,
            name: "consul 127.0.0.10:8500".into(),
            subject: None,
        },
        at: secs(0),
        latency: Duration::from_millis(2),
        result: Ok(Observation::Dcs {
            kind: DcsKind::Consul,
            clusters: Vec::new(),
            services: Some(vec![
                svc(5432, "passing"),
                svc(6432, "critical"),
                svc(8008, "passing"),
            ]),
        }),
        next_in: None,
    });
    let probe = |port: u16, health: Health| ProbeResult {
        port,
        health,
        latency: None,
        error: (health == Health::Down).then(|| "connection refused".into()),
        not_probed: false,
        http_status: None,
    };
    st.apply(Batch {
        source: SourceId {
            kind: SourceKind::Probe,
            name: "probe 127.0.0.11".into(),
            subject: Some("127.0.0.11".into()),
        },
        at: secs(0),
        latency: Duration::from_millis(1),
        result: Ok(Observation::Probes {
            ip: "127.0.0.11".into(),
            results: vec![
                probe(5432, Health::Down),
                probe(6432, Health::Up),
                probe(8008, Health::Up),
            ],
        }),
        next_in: None,
    });
    let s = st.build(&d, secs(1));
    assert_eq!(s.service("127.0.0.11", 5432).consul, Some(Health::Up));
    assert_eq!(s.service("127.0.0.11", 6432).consul, Some(Health::Down));
    let f: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::ConsulHealthMismatch)
        .collect();
    assert_eq!(f.len(), 2, "{:#?}", s.findings);
    assert_eq!(
        f[0].severity,
        Severity::Warning,
        "passing in Consul, down here"
    );
    assert!(
        f[0].message.starts_with("127.0.0.11:5432"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].sources[0].source, "consul 127.0.0.10:8500");
    assert_eq!(f[0].sources[1].source, "probe 127.0.0.11");
    assert_eq!(f[0].sources[1].value, "connection refused");
    assert_eq!(f[0].instance.as_deref(), Some("pg-test-1"));
    assert_eq!(f[1].severity, Severity::Info);
}
