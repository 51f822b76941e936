//! Property tests of every parser of remote output: Patroni (`/cluster`,
//! `/patroni`, `/history`), Prometheus (`query`, `query_range`), etcd
//! (range, watch messages, the watch stream splitter), Consul (KV, catalog,
//! health), HAProxy's stats CSV, Alertmanager's alerts, `pgbackrest info`,
//! the inspection script's output, the Ansible callback's event lines,
//! `pg_stat_activity` rows and log reads.
//!
//! Inputs are random bytes, arbitrary JSON, and mostly the recorded answers
//! in `tests/fixtures/` with structure-aware edits (a node replaced by any
//! value, removed, retyped, repeated; lines edited; bytes cut). Properties:
//! no panic; an error names the source with its endpoint and the request
//! (`patroni 127.0.0.11:8008: … GET /cluster …`). Finally the parsed
//! observations go through the merger, the status JSON, the health summary
//! and every cluster screen without a panic.
//!
//! `PROPTEST_CASES=N` runs more cases (default 256 per property).

use std::path::Path;
use std::time::{Duration, SystemTime};

use pigsty_tui::actions::backup::{parse_basebackup_list, parse_pgbackrest_info};
use pigsty_tui::actions::inspect::{self, Inspection};
use pigsty_tui::actions::playbook::{PlaybookProgress, split_task_log_line};
use pigsty_tui::app::tree::TreeItem;
use pigsty_tui::app::{AppState, ClusterTab, Overlay};
use pigsty_tui::model::{DcsKind, Deployment};
use pigsty_tui::snapshot::{Snapshot, State};
use pigsty_tui::sources::dcs::DcsScope;
use pigsty_tui::sources::http::Response;
use pigsty_tui::sources::prometheus::{InstantResult, Metric, PromReport, QueryData};
use pigsty_tui::sources::{
    Batch, ErrorKind, Observation, SourceError, SourceId, SourceKind, SourcesConfig, alertmanager,
    consul, etcd, haproxy, patroni, prometheus,
};
use pigsty_tui::triage::{activity, health, logs};
use pigsty_tui::ui;
use pigsty_tui::ui::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;

#[path = "support/mutate.rs"]
mod mutate;

const PATRONI: &str = "patroni 127.0.0.11:8008";
const PROM: &str = "prometheus http://127.0.0.10:9090";
const ETCD: &str = "etcd 127.0.0.10:2379";
const CONSUL: &str = "consul 127.0.0.10:8500";
const HAPROXY: &str = "haproxy 127.0.0.11:9101";
const ALERTS: &str = "alertmanager http://127.0.0.10:9093";

fn fixture(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// JSON objects, one per line (watch streams).
fn json_lines(rel: &str) -> Vec<Value> {
    String::from_utf8(fixture(rel))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{rel}: {e}: {l}")))
        .collect()
}

fn text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).unwrap()
}

/// An error of a source: it names the source (with its endpoint) first,
/// and the request or the format in its detail.
fn check_error(e: &SourceError, source: &str, what: &[&str]) -> Result<(), TestCaseError> {
    prop_assert_eq!(&e.source, source);
    let shown = e.to_string();
    prop_assert!(shown.starts_with(&format!("{source}: ")), "{shown}");
    prop_assert!(
        what.iter().any(|w| e.detail.contains(w)),
        "{shown} names none of {what:?}"
    );
    if e.kind == ErrorKind::Malformed && e.detail.starts_with("malformed JSON") {
        prop_assert!(e.detail.contains(" at line "), "{shown}");
    }
    prop_assert!(
        !shown.contains('\n') || e.kind == ErrorKind::Http,
        "{shown}"
    );
    Ok(())
}

fn check<T>(
    r: Result<T, SourceError>,
    source: &str,
    what: &[&str],
) -> Result<Option<T>, TestCaseError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            check_error(&e, source, what)?;
            Ok(None)
        }
    }
}

// ------------------------------------------------------------- strategies

fn patroni_cluster_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![
        json("sources/patroni/cluster.json"),
        json("sources/patroni/cluster-v4-lag.json"),
    ])
}

fn patroni_status_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![
        json("sources/patroni/patroni-primary.json"),
        json("sources/patroni/patroni-replica.json"),
    ])
}

fn patroni_history_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![json("sources/patroni/history.json")])
}

fn prometheus_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![
        json("sources/prometheus/vector-pg-up.json"),
        json("sources/prometheus/matrix-tps.json"),
        json("sources/prometheus/error-bad-data.json"),
        serde_json::json!({"status": "success", "data": {"resultType": "scalar", "result": [1.5, "2"]}}),
        serde_json::json!({"status": "success", "data": {"resultType": "string", "result": [1.5, "x"]}}),
    ])
}

fn etcd_range_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![
        json("sources/etcd/range.json"),
        json("sources/etcd/range-error.json"),
    ])
}

fn etcd_watch_seeds() -> Vec<Value> {
    let mut v = json_lines("sources/etcd/watch-stream.txt");
    v.extend(json_lines("sources/etcd/watch-patroni.txt"));
    v.extend(json_lines("sources/etcd/watch-compacted.txt"));
    v
}

fn alerts_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![json("sources/alertmanager/alerts.json")])
}

fn pgbackrest_in() -> BoxedStrategy<Vec<u8>> {
    mutate::json_input(vec![json("actions/pgbackrest-info.json")])
}

/// The local sandbox's inventory (v3, etcd, 127.0.0.10-13): the fixtures
/// were recorded from it.
fn deployment() -> Deployment {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/local.yml");
    pigsty_tui::inventory::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

// ------------------------------------------------------------- properties

proptest! {
    #[test]
    fn patroni_cluster(body in patroni_cluster_in()) {
        if let Some(c) = check(patroni::parse_cluster(PATRONI, &body), PATRONI, &["GET /cluster"])? {
            let _ = c.leader();
            for m in &c.members {
                let _ = m.lag_bytes();
            }
        }
    }

    /// The field locator of JSON errors, at any position of any body.
    #[test]
    fn json_error_paths(body in patroni_cluster_in(), line in 0usize..4, column in 0usize..600) {
        if let Some(p) = pigsty_tui::sources::http::json_path_at(&body, line, column) {
            prop_assert!(!p.is_empty());
        }
    }

    #[test]
    fn patroni_status(body in patroni_status_in()) {
        if let Some(s) = check(patroni::parse_patroni(PATRONI, &body), PATRONI, &["GET /patroni"])? {
            let _ = (s.role(), s.claims_leader(), s.wal_position());
        }
    }

    #[test]
    fn patroni_history(body in patroni_history_in()) {
        check(patroni::parse_history(PATRONI, &body), PATRONI, &["GET /history"])?;
    }

    #[test]
    fn prometheus_answers(body in prometheus_in(), status in prop::sample::select(&[200u16, 400, 422, 500, 503][..])) {
        for what in ["GET /api/v1/query", "GET /api/v1/query_range"] {
            if let Some(d) = check(prometheus::parse_answer(PROM, what, status, &body), PROM, &[what])? {
                let _ = d.is_empty();
            }
        }
    }

    #[test]
    fn etcd_range(body in etcd_range_in()) {
        if let Some(r) = check(etcd::parse_range(ETCD, &body), ETCD, &["POST /v3/kv/range"])? {
            let scope = &DcsScope::of("/pg", &["pg-test"], true)[0];
            let _ = serde_json::to_string(&etcd::scope_views(scope, &r)).unwrap();
        }
    }

    #[test]
    fn etcd_watch_messages(obj in mutate::json_input(etcd_watch_seeds())) {
        check(etcd::parse_watch_message(ETCD, &obj), ETCD, &["POST /v3/watch"])?;
    }

    /// The stream splitter finds the same objects however the stream is
    /// cut into chunks, and never more bytes than it was given.
    #[test]
    fn etcd_watch_stream_chunking(
        objs in prop::collection::vec(mutate::arb_json(), 0..6),
        seps in prop::collection::vec(prop::sample::select(&["", "\n", "\r\n", " ", "\n\n"][..]), 6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (o, sep) in objs.iter().zip(&seps) {
            let o = match o {
                Value::Object(_) | Value::Array(_) => o.clone(),
                other => serde_json::json!({ "v": other }),
            };
            let bytes = serde_json::to_vec(&o).unwrap();
            stream.extend_from_slice(&bytes);
            stream.extend_from_slice(sep.as_bytes());
            expected.push(bytes);
        }
        let whole = etcd::JsonObjects::new().push(&stream).unwrap();
        prop_assert_eq!(&whole, &expected);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut s = etcd::JsonObjects::new();
        let mut got = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([stream.len()]) {
            got.extend(s.push(&stream[at..p]).unwrap());
            at = p;
        }
        prop_assert_eq!(got, expected);
    }

    /// Any bytes: objects or an error, never a panic; every object found
    /// is a balanced slice of the input.
    #[test]
    fn etcd_watch_stream_junk(
        chunks in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                prop::collection::vec(prop::sample::select(&[b'{', b'}', b'[', b']', b'"', b'\\', b'a'][..]), 0..64),
            ],
            0..8,
        )
    ) {
        let mut s = etcd::JsonObjects::new();
        for c in &chunks {
            match s.push(c) {
                Ok(objs) => {
                    for o in objs {
                        prop_assert!(matches!(o.first(), Some(b'{' | b'[')), "{o:?}");
                        prop_assert!(matches!(o.last(), Some(b'}' | b']')), "{o:?}");
                    }
                }
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    break;
                }
            }
        }
    }

    #[test]
    fn consul_kv(body in mutate::json_input(vec![json("sources/consul/kv.json")]),
                 status in prop::sample::select(&[200u16, 404][..]),
                 index in any::<i64>()) {
        let scope = &DcsScope::of("pg", &["pg-test"], false)[0];
        check(consul::parse_kv_scope(CONSUL, scope, index, status, &body), CONSUL, &["GET /v1/kv"])?;
    }

    #[test]
    fn consul_catalog_and_health(
        nodes in mutate::json_input(vec![json("sources/consul/catalog-nodes.json")]),
        node in mutate::json_input(vec![json("sources/consul/catalog-node-node-1.json")]),
        health in mutate::json_input(vec![json("sources/consul/health-state.json")]),
        index in prop_oneof![Just("12".to_string()), Just("-1".to_string()), Just("99999999999999999999".to_string()), "\\PC{0,8}"],
    ) {
        check(consul::parse_nodes(CONSUL, &nodes), CONSUL, &["GET /v1/catalog/nodes"])?;
        let entries = check(consul::parse_node_services(CONSUL, &node), CONSUL, &["GET /v1/catalog/node"])?;
        let checks = check(consul::parse_health(CONSUL, &health), CONSUL, &["GET /v1/health/state/any"])?;
        if let (Some(e), Some(c)) = (entries, checks) {
            let _ = consul::join_health(&e, &c);
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_str(&index) {
            headers.insert("x-consul-index", v);
        }
        let _ = consul::consul_index(&Response { status: 200, headers, body: Vec::new() });
    }

    #[test]
    fn haproxy_csv(csv in haproxy_csv_in()) {
        if let Some(proxies) = check(haproxy::parse_csv(HAPROXY, &csv), HAPROXY, &["stats CSV"])? {
            for p in &proxies {
                let _ = p.routes_to();
            }
        }
    }

    #[test]
    fn alertmanager_alerts(body in alerts_in()) {
        check(alertmanager::parse_alerts(ALERTS, &body), ALERTS, &["GET /api/v2/alerts"])?;
    }

    /// `pgbackrest info --output=json` and the basebackup listing: rows or
    /// an error that says what it could not read.
    #[test]
    fn pgbackrest_info(body in pgbackrest_in(), stanza in prop::option::of(prop::sample::select(&["pg-test", "pg-meta", ""][..]))) {
        let text = String::from_utf8_lossy(&body);
        match parse_pgbackrest_info(&text, stanza) {
            Ok((_, rows)) => {
                for r in rows {
                    let _ = pigsty_tui::actions::backup::human_bytes(r.size);
                    let _ = pigsty_tui::actions::backup::human_time(r.start);
                    let _ = pigsty_tui::actions::backup::human_time(r.stop);
                }
            }
            Err(e) => prop_assert!(e.contains("pgbackrest info"), "{e}"),
        }
        let _ = parse_basebackup_list(&text);
    }

    /// The inspection script's output, edited line by line, evaluated for
    /// every host of the sandbox.
    #[test]
    fn inspection_output(out in mutate::text_input(inspection_seeds(), " ")) {
        let d = deployment();
        let insp = Inspection::new(&d, &Snapshot::empty(), None).unwrap();
        for h in &insp.hosts {
            let _ = inspect::sections(&out);
            let checks = inspect::evaluate(h, &out);
            prop_assert!(!checks.is_empty());
        }
    }

    /// The Ansible callback's event lines (edited JSON payloads) mixed with
    /// raw output; then every view of the progress.
    #[test]
    fn playbook_events(lines in playbook_in()) {
        let mut p = PlaybookProgress::new();
        for l in &lines {
            p.feed_line(l);
            let _ = split_task_log_line(l);
        }
        let _ = (p.finished(), p.counts(), p.totals(), p.task_count(), p.current_task());
        let _ = (p.failures(), p.failure_summary(), p.to_text());
        for w in [80, 12, 0] {
            let _ = pigsty_tui::ui::playbook_view::progress_lines(&p, &Theme::default(), w);
        }
        for play in &p.plays {
            for t in &play.tasks {
                let _ = (t.worst(), t.duration());
                for r in &t.results {
                    let _ = (r.is_fatal(), r.message());
                }
            }
        }
    }

    #[test]
    fn activity_rows(out in activity_in()) {
        match activity::parse_activity(&out) {
            Ok(rows) => {
                let _ = activity::blocking_pids(&rows);
                for r in &rows {
                    let _ = r.is_waiting();
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn log_reads(out in mutate::text_input(vec![
        "#file:/pg/log/postgres/postgresql-Mon.csv\n2026-11-26 06:00:00.000 UTC,,,1,,ERROR:  boom\nline\n".to_string(),
        "#file:/pg/log/patroni/patroni.log\n2026-11-26 06:00:00,000 INFO: no action. I am (pg-test-1), the leader with the lock\n".to_string(),
    ], ":")) {
        for kind in [logs::LogKind::Postgres, logs::LogKind::Patroni, logs::LogKind::Pgbouncer] {
            if let Ok(l) = logs::parse_read(kind, &out) {
                let _ = l.errors();
            }
        }
        for line in out.lines() {
            let _ = logs::is_error_line(line);
        }
    }

}

proptest! {
    // Each case draws ~80 screens: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the sources answer, the merger, the status JSON, the health
    /// summary and every screen of every cluster handle it.
    #[test]
    fn observations_merge_and_render(
        cluster in patroni_cluster_in(),
        status in patroni_status_in(),
        history in patroni_history_in(),
        range in etcd_range_in(),
        prom in prometheus_in(),
        alerts in alerts_in(),
        csv in haproxy_csv_in(),
    ) {
        let d = deployment();
        let cfg = SourcesConfig::default();
        let mut state = State::new(&cfg);
        let now = SystemTime::now();
        let batch = |kind, name: &str, subject: Option<&str>, result| Batch {
            source: SourceId { kind, name: name.into(), subject: subject.map(str::to_string) },
            at: now,
            latency: Duration::from_millis(3),
            result,
            next_in: Some(Duration::from_secs(2)),
        };
        // The same answers from every member, as if each said it.
        for i in d.instances() {
            let name = format!("patroni {}:8008", i.ip);
            let report = patroni::parse_patroni(&name, &status).map(|s| {
                Observation::Patroni(Box::new(patroni::MemberReport {
                    endpoint: patroni::PatroniEndpoint {
                        cluster: i.cluster.clone(),
                        member: i.name.clone(),
                        ip: i.ip.clone(),
                        port: 8008,
                    },
                    status: s,
                    cluster: patroni::parse_cluster(&name, &cluster),
                    history: Some(patroni::parse_history(&name, &history)),
                }))
            });
            state.apply(batch(SourceKind::Patroni, &name, Some(&i.name), report));
        }
        let dcs = etcd::parse_range(ETCD, &range).map(|r| Observation::Dcs {
            kind: DcsKind::Etcd,
            clusters: {
                let names: Vec<&str> = d.clusters.iter().map(|c| c.name.as_str()).collect();
                etcd::scope_views(&DcsScope::of("/pg", &names, true)[0], &r)
            },
            services: None,
        });
        state.apply(batch(SourceKind::Etcd, ETCD, None, dcs));
        let samples = prometheus::parse_answer(PROM, "GET /api/v1/query", 200, &prom);
        let report = samples.map(|q| {
            let samples = match q {
                QueryData::Vector(v) => v,
                _ => Vec::new(),
            };
            let mut r = PromReport::default();
            for m in [Metric::PgUp, Metric::Up, Metric::Status, Metric::InRecovery, Metric::LagBytes,
                      Metric::LagSeconds, Metric::Leader, Metric::Timeline] {
                r.instant.insert(m, InstantResult { expr: "x".into(), samples: samples.clone() });
            }
            Observation::Prometheus(Box::new(r))
        });
        state.apply(batch(SourceKind::Prometheus, PROM, None, report));
        let a = alertmanager::parse_alerts(ALERTS, &alerts).map(Observation::Alerts);
        state.apply(batch(SourceKind::Alertmanager, ALERTS, None, a));
        for ip in ["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"] {
            let name = format!("haproxy {ip}:9101");
            let h = haproxy::parse_csv(&name, &csv).map(|proxies| Observation::Haproxy { ip: ip.into(), port: 9101, proxies });
            state.apply(batch(SourceKind::Haproxy, &name, Some(ip), h));
        }
        let snap = state.build(&d, now + Duration::from_millis(500));
        let _ = serde_json::to_string(&pigsty_tui::snapshot::status_json(&d, &snap)).unwrap();
        let _ = health::summarize(&d, &snap, &health::NoHistory);
        render_everything(&d, &snap)?;
    }
}

/// The HAProxy CSV: the recording with lines edited, and headers whose
/// columns are shuffled or cut short.
fn haproxy_csv_in() -> BoxedStrategy<String> {
    let seed = text("sources/haproxy/stats.csv");
    let header_cols: Vec<String> = seed
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows: Vec<String> = seed.lines().skip(1).map(str::to_string).collect();
    prop_oneof![
        3 => mutate::text_input(vec![seed], ","),
        1 => (
            Just(header_cols).prop_shuffle(),
            0usize..40,
            prop::collection::vec(prop::sample::select(rows), 0..4),
            prop::collection::vec(0usize..200, 0..4),
        )
            .prop_map(|(mut cols, keep, rows, cut)| {
                cols.truncate(keep.max(1));
                let mut out = format!("# {}\n", cols.join(","));
                for (i, r) in rows.iter().enumerate() {
                    let fields: Vec<&str> = r.split(',').collect();
                    let n = cut.get(i).copied().unwrap_or(fields.len()).min(fields.len());
                    out.push_str(&fields[..n].join(","));
                    out.push('\n');
                }
                out
            }),
    ]
    .boxed()
}

/// What the inspection script prints on a healthy primary and replica
/// (sections `@@ name`, each closed by `@@rc N`), as on the sandbox.
fn inspection_seeds() -> Vec<String> {
    let common = "@@ disk\n/dev/vda 270465425408 83312336896 173063389184 33% /\n@@rc 0\n\
         @@ load\n0.52 0.40 0.33 1/200 1234\n2\n@@rc 0\n\
         @@ memory\n               total        used        free      shared  buff/cache   available\n\
         Mem:     25216204800  8000000000  8000000000     1000000  9216204800 15000000000\n\
         Swap:              0           0           0\n@@rc 0\n\
         @@ patroni\n200\n@@rc 0\n\
         @@ ports\nLISTEN 0 128 127.0.0.11:5432 0.0.0.0:*\nLISTEN 0 4096 127.0.0.11:8008 0.0.0.0:*\n\
         LISTEN 0 128 [::]:22 [::]:*\nLISTEN 0 128 [fe80::1%lo]:9100 *:*\n@@rc 0\n";
    vec![
        format!(
            "@@ role\nf\n@@rc 0\n\
             @@ replication\npg-test-2|streaming|async|0\npg-test-3|streaming|async|1024\n@@rc 0\n\
             @@ slots\npg_test_2|physical|t\npg_test_3|physical|t\n@@rc 0\n{common}"
        ),
        format!(
            "@@ role\nt\n@@rc 0\n\
             @@ receiver\nstreaming|127.0.0.11|5432|pg_test_2\n@@rc 0\n\
             @@ slots\n@@rc 0\n{common}"
        ),
        "@@ role\npsql: error: connection to server failed\n@@rc 2\n@@ disk\n@@rc 1\n".to_string(),
    ]
}

/// Event lines of the callback (JSON payloads edited like the other JSON
/// inputs) between raw Ansible output lines.
fn playbook_in() -> BoxedStrategy<Vec<String>> {
    let events: Vec<Value> = [
        r#"{"event": "playbook_start", "playbook": "pgsql.yml", "ts": 1795678547.712}"#,
        r#"{"event": "play_start", "hosts": ["10.10.10.11", "10.10.10.12"], "name": "PGSQL INIT", "ts": 1795678547.713}"#,
        r#"{"action": "command", "event": "task_start", "handler": false, "name": "pg_hba : render", "ts": 1795678547.737}"#,
        r#"{"duration": 0.833, "event": "result", "host": "10.10.10.11", "status": "changed", "task": "pg_hba : render", "ts": 1795678548.57}"#,
        r#"{"duration": 0.3, "event": "result", "host": "10.10.10.12", "ignore_errors": true, "msg": "non-zero return code", "rc": 1, "status": "failed", "stderr": "boom\nline 2", "stdout": "", "task": "x", "ts": 1795678548.9}"#,
        r#"{"duration": 0.02, "event": "result", "host": "10.10.10.12", "msg": "the failing task's message", "rc": null, "status": "unreachable", "task": "boom", "ts": 1795678548.961}"#,
        r#"{"event": "no_hosts_matched", "ts": 1795678548.0}"#,
        r#"{"event": "stats", "hosts": {"10.10.10.11": {"changed": 2, "failed": 1, "ignored": 1, "ok": 2, "rescued": 0, "skipped": 1, "unreachable": 0}}, "ts": 1795678548.964}"#,
    ]
    .iter()
    .map(|s| serde_json::from_str(s).unwrap())
    .collect();
    let event_line = mutate::json_input(events)
        .prop_map(|b| format!("@@pigsty-tui@@ {}", String::from_utf8_lossy(&b)));
    let raw_line = prop_oneof![
        Just("PLAY RECAP *****".to_string()),
        Just("ERROR! the playbook could not be found".to_string()),
        Just("[WARNING]: Could not match supplied host pattern, ignoring: x".to_string()),
        Just("fatal: [10.10.10.11]: FAILED! => {\"msg\": \"x\"}".to_string()),
        Just("06:11:23.123 10.10.10.11 out| ok: [x]".to_string()),
        Just("06:11:23.123  out| ".to_string()),
        "\\PC{0,40}",
    ];
    prop::collection::vec(prop_oneof![3 => event_line, 1 => raw_line], 0..24).boxed()
}

/// `pg_stat_activity` rows as the activity script prints them (fields
/// separated by 0x1f, records by 0x1e), edited.
fn activity_in() -> BoxedStrategy<String> {
    let row = |f: [&str; 12]| f.join("\x1f");
    let seed = [
        row([
            "123",
            "dbuser_dba",
            "test",
            "psql",
            "127.0.0.1",
            "active",
            "Lock",
            "relation",
            "12.5",
            "30.25",
            "124,125",
            "select 1",
        ]),
        row(["124", "", "", "", "", "idle", "", "", "", "", "", ""]),
    ]
    .join("\x1e\n");
    let field = prop_oneof![
        Just(String::new()),
        Just("-1".to_string()),
        Just("2147483648".to_string()),
        Just("NaN".to_string()),
        Just("1,2,,x".to_string()),
        Just("\x1f".to_string()),
        Just("\x1e".to_string()),
        "\\PC{0,10}",
    ];
    prop_oneof![
        (
            Just(seed),
            prop::collection::vec((any::<prop::sample::Index>(), field), 0..6)
        )
            .prop_map(|(s, edits)| {
                let mut fields: Vec<String> = s.split('\x1f').map(str::to_string).collect();
                for (i, f) in edits {
                    let n = fields.len();
                    fields[i.index(n)] = f;
                }
                fields.join("\x1f")
            }),
        "\\PC{0,100}",
    ]
    .boxed()
}

/// Draw the overview, every node, every cluster at every tab, every
/// instance, and the alerts and findings lists, at two sizes.
fn render_everything(d: &Deployment, snap: &Snapshot) -> Result<(), TestCaseError> {
    let theme = Theme::default();
    let mut items = vec![TreeItem::InfraGroup, TreeItem::ClustersGroup];
    items.extend((0..d.infra.len()).map(TreeItem::InfraNode));
    for (ci, c) in d.clusters.iter().enumerate() {
        items.push(TreeItem::Cluster(ci));
        items.extend((0..c.instances.len()).map(|ii| TreeItem::Instance {
            cluster: ci,
            instance: ii,
        }));
    }
    let mut apps = Vec::new();
    for item in items {
        let mut a = AppState::new(d);
        a.select_item(d, item);
        if let TreeItem::Cluster(_) = item {
            for tab in [
                ClusterTab::Topology,
                ClusterTab::Members,
                ClusterTab::History,
                ClusterTab::Metrics,
                ClusterTab::Routing,
                ClusterTab::Findings,
            ] {
                let mut t = a.clone();
                t.cluster_tab = tab;
                apps.push(t);
            }
        } else {
            apps.push(a);
        }
    }
    let mut a = AppState::new(d);
    a.overlay = Some(Overlay::Alerts { selected: 0 });
    apps.push(a);
    let mut a = AppState::new(d);
    a.overlay = Some(Overlay::Findings { selected: 0 });
    apps.push(a);
    for mut app in apps {
        for (w, h) in [(80, 24), (33, 9)] {
            app.resize(w, h);
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| ui::draw(f, &app, d, snap, &theme))
                .map_err(|e| TestCaseError::fail(format!("draw: {e}")))?;
        }
    }
    Ok(())
}

/// A header whose columns come in another order than the rows' fields
/// (a row shorter than the header's widest used column) is an error, not
/// an index out of bounds.
#[test]
fn haproxy_short_row_with_reordered_header() {
    let csv = "# type,pxname,svname,status\n2\n";
    let e = haproxy::parse_csv(HAPROXY, csv).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.to_string().starts_with(HAPROXY), "{e}");
}

/// Recap counts are the callback's numbers: summing them saturates.
#[test]
fn playbook_recap_with_huge_counts() {
    let mut p = PlaybookProgress::new();
    let max = u64::MAX;
    p.feed_line(&format!(
        r#"@@pigsty-tui@@ {{"event": "stats", "hosts": {{"a": {{"ok": {max}, "failed": {max}, "unreachable": 1}}, "b": {{"ok": 1, "failed": 1}}}}, "ts": 1.0}}"#
    ));
    assert!(p.finished());
    let t = p.totals();
    assert_eq!((t.ok, t.failed), (max, max));
    let lines = pigsty_tui::ui::playbook_view::progress_lines(&p, &Theme::default(), 80);
    assert!(!lines.is_empty());
}
