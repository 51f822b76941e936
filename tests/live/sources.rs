//! Live tests of the sources and the merged snapshot (`pigsty_tui::sources`)
//! against the sandbox, in whichever DCS mode it runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pigsty_tui::model::{DcsKind, Deployment};
use pigsty_tui::snapshot::{FindingKind, Severity, Snapshot, status_json};
use pigsty_tui::sources::prometheus::SeriesKind;
use pigsty_tui::sources::{SourceKind, SourcesConfig, poll_once, spawn_with_handles};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, Dcs, META_IP, Sandbox, get_json, sandbox};

/// The sandbox inventory, read by the real loader.
fn deployment(sb: &Sandbox) -> Arc<Deployment> {
    let d = pigsty_tui::inventory::load(&sb.inventory)
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", sb.inventory.display()));
    let want = match sb.dcs {
        Dcs::Etcd => DcsKind::Etcd,
        Dcs::Consul => DcsKind::Consul,
    };
    assert_eq!(d.dcs.kind, want, "inventory DCS matches the sandbox mode");
    Arc::new(d)
}

fn cfg(interval: Duration) -> SourcesConfig {
    SourcesConfig::with_interval(interval)
}

/// One line per cluster/member/source problem, for assertion messages.
fn summary(s: &Snapshot) -> String {
    let mut out = format!("snapshot #{}\n", s.seq);
    for c in &s.clusters {
        out.push_str(&format!(
            "  {} leader={:?} (patroni {:?}, dcs {:?})\n",
            c.name,
            c.leader(),
            c.leader.patroni.as_ref().map(|f| &f.value),
            c.leader.dcs.as_ref().map(|f| (&f.value, f.age_ms, f.stale)),
        ));
        for m in &c.members {
            out.push_str(&format!(
                "    {} role={} state={:?} tl={:?} lag={:?} err={:?} cluster_err={:?}\n",
                m.name,
                m.role_str(),
                m.state.as_ref().map(|f| &f.value),
                m.timeline.as_ref().map(|f| f.value),
                m.lag_bytes.as_ref().map(|f| f.value),
                m.error,
                m.cluster_error,
            ));
        }
    }
    for src in &s.sources {
        if !src.ok {
            out.push_str(&format!("  source error: {:?}\n", src.last_error));
        }
    }
    for f in &s.findings {
        out.push_str(&format!(
            "  finding {:?} {:?}: {}\n",
            f.severity, f.kind, f.message
        ));
    }
    out
}

/// Wait until a published snapshot satisfies `pred`; returns it and when it
/// was seen.
async fn wait_snap(
    rx: &mut watch::Receiver<Arc<Snapshot>>,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> (Arc<Snapshot>, Instant) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let s = rx.borrow_and_update().clone();
        if pred(&s) {
            return (s, Instant::now());
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("the collector stopped while waiting for {what}"),
            Err(_) => panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                summary(&rx.borrow())
            ),
        }
    }
}

/// Patroni's leader and each member's timeline, straight from the REST API.
async fn patroni_truth(sb: &Sandbox, cls: &str) -> (String, Vec<(String, u64)>) {
    let leader = sb.leader(cls).await.unwrap();
    let mut tls = Vec::new();
    for m in sb.cluster_members(cls) {
        let p = get_json(&sb.patroni_url(m.ip, "/patroni")).await.unwrap();
        tls.push((m.instance.to_string(), p["timeline"].as_u64().unwrap()));
    }
    (leader, tls)
}

/// Every member with its live role, timeline and lag, agreeing with Patroni.
fn assert_matches_patroni(s: &Snapshot, cls: &str, leader: &str, tls: &[(String, u64)]) {
    let c = s
        .cluster(cls)
        .unwrap_or_else(|| panic!("{cls} missing\n{}", summary(s)));
    assert_eq!(c.leader(), Some(leader), "{}", summary(s));
    assert_eq!(
        c.leader.patroni.as_ref().map(|f| f.value.as_str()),
        Some(leader)
    );
    assert_eq!(
        c.leader.dcs.as_ref().map(|f| f.value.as_str()),
        Some(leader),
        "{}",
        summary(s)
    );
    for (name, tl) in tls {
        let m = c.member(name).unwrap();
        let want = if name == leader { "leader" } else { "replica" };
        assert_eq!(m.role_str(), want, "{name}\n{}", summary(s));
        assert_eq!(m.reachable, Some(true));
        assert_eq!(m.state.as_ref().unwrap().value, "running");
        assert_eq!(m.timeline.as_ref().unwrap().value, *tl, "{name} timeline");
        let lag = m
            .lag_bytes
            .as_ref()
            .unwrap_or_else(|| panic!("{name} lag\n{}", summary(s)));
        assert!(lag.value < 16 << 20, "{name} lag {} bytes", lag.value);
        assert!(!lag.source.is_empty());
        if name == leader {
            assert_eq!(lag.value, 0);
        }
        assert!(!m.role.as_ref().unwrap().stale);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poll_once_reports_every_member_like_patroni() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    // Warm up (first connections), then time a poll.
    let _ = poll_once(d.clone(), cfg(Duration::from_secs(2))).await;
    let t = Instant::now();
    let s = poll_once(d.clone(), cfg(Duration::from_secs(2))).await;
    let took = t.elapsed();
    eprintln!("poll_once took {took:?}");
    assert!(took < Duration::from_millis(900), "poll_once took {took:?}");

    for cls in ["pg-meta", "pg-test"] {
        let (leader, tls) = patroni_truth(sb, cls).await;
        assert_matches_patroni(&s, cls, &leader, &tls);
    }
    for src in &s.sources {
        assert!(src.ok, "{} failed: {:?}", src.name, src.last_error);
    }
    let kinds: Vec<SourceKind> = s.sources.iter().map(|x| x.kind).collect();
    for k in [
        SourceKind::Patroni,
        SourceKind::Prometheus,
        SourceKind::Alertmanager,
        SourceKind::Haproxy,
        SourceKind::Probe,
        match sb.dcs {
            Dcs::Etcd => SourceKind::Etcd,
            Dcs::Consul => SourceKind::Consul,
        },
    ] {
        assert!(kinds.contains(&k), "no {k} source: {kinds:?}");
    }
    assert!(
        s.findings.iter().all(|f| f.severity == Severity::Info),
        "{}",
        summary(&s)
    );
    // Every TCP service of every node answers; HAProxy's primary service
    // routes to the leader only.
    for ip in d.node_ips() {
        for svc in d.node(ip).unwrap().services() {
            let o = s.service(ip, svc.port);
            match svc.proto {
                pigsty_tui::model::Proto::Udp => assert!(o.not_probed),
                pigsty_tui::model::Proto::Tcp => {
                    assert_eq!(o.status_str(), "up", "{ip}:{} {} {o:?}", svc.port, svc.name)
                }
            }
        }
    }
    let test = s.cluster("pg-test").unwrap();
    let primary: Vec<_> = test
        .routing
        .iter()
        .filter(|r| r.service == "primary")
        .collect();
    assert_eq!(primary.len(), 3, "one per HAProxy: {:?}", test.routing);
    for r in primary {
        assert_eq!(r.port, Some(harness::PORT_PRIMARY));
        assert_eq!(r.routes_to, ["pg-test-1"], "{r:?}");
    }
    assert!(!test.history.is_empty() || test.timeline.as_ref().is_some_and(|t| t.value == 1));
    for m in &test.members {
        let want = if m.name == "pg-test-1" {
            None
        } else {
            Some(true)
        };
        assert_eq!(m.streaming, want, "{} streaming", m.name);
        // Sparklines from range queries (connections exist from the first scrape).
        assert!(
            test.sparklines.iter().any(|sp| sp.instance == m.name
                && sp.kind == SeriesKind::Connections
                && !sp.values.is_empty()),
            "no connections sparkline for {}",
            m.name
        );
    }

    // The JSON contract of `status --format json`.
    let doc = status_json(&d, &s);
    let c = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pg-test")
        .unwrap();
    assert_eq!(c["leader"], "pg-test-1");
    for i in c["instances"].as_array().unwrap() {
        let live = &i["live"];
        assert!(live["role"].is_string(), "{live}");
        assert_eq!(live["state"], "running");
        assert!(live["timeline"].is_u64());
        assert!(live["lag_bytes"].is_u64(), "{live}");
    }
    assert!(doc["findings"].is_array());
    for src in doc["sources"].as_array().unwrap() {
        assert_eq!(src["status"], "ok", "{src}");
        assert!(src["age_ms"].is_u64());
    }
    assert!(doc["infra"][0]["services"][0]["status"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collector_publishes_and_stops_on_cancel() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    let cancel = CancellationToken::new();
    let interval = Duration::from_millis(500);
    let (mut rx, handles) = spawn_with_handles(d.clone(), cfg(interval), cancel.clone());
    let (s1, _) = wait_snap(
        &mut rx,
        Duration::from_secs(10),
        "every member known",
        |s| {
            s.cluster("pg-test").is_some_and(|c| {
                c.members.iter().all(|m| m.role.is_some()) && c.leader.dcs.is_some()
            })
        },
    )
    .await;
    let (leader, tls) = patroni_truth(sb, "pg-test").await;
    assert_matches_patroni(&s1, "pg-test", &leader, &tls);
    // Snapshots keep coming, with fresh ages.
    let (s2, _) = wait_snap(&mut rx, Duration::from_secs(5), "a later snapshot", |s| {
        s.seq > s1.seq + 5
    })
    .await;
    for src in &s2.sources {
        assert!(src.ok, "{} failed: {:?}", src.name, src.last_error);
        // Watches only report changes; port probes run every
        // `probe_every` intervals; everything else polls every interval.
        let period = if src.kind == SourceKind::Probe {
            cfg(interval).probe_period()
        } else {
            interval
        };
        if !src.name.contains(" watch ") && src.kind != SourceKind::Alertmanager {
            assert!(
                src.age_ms.unwrap() < 3 * period.as_millis() as u64,
                "{} is {} ms old",
                src.name,
                src.age_ms.unwrap()
            );
        }
    }
    cancel.cancel();
    let stopped =
        tokio::time::timeout(Duration::from_secs(3), futures::future::join_all(handles)).await;
    assert!(stopped.is_ok(), "tasks did not stop on cancel");
}

/// Run the sandbox script without blocking the runtime the collector runs on.
async fn script(args: &'static [&'static str]) -> String {
    tokio::task::spawn_blocking(move || sandbox().script_ok(args))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_killed_new_leader_within_two_intervals() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    let interval = Duration::from_secs(1);
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, cfg(interval), cancel.clone());
    wait_snap(&mut rx, Duration::from_secs(10), "pg-test-1 leading", |s| {
        s.cluster("pg-test").is_some_and(|c| {
            c.leader() == Some("pg-test-1") && c.members.iter().all(|m| m.role.is_some())
        })
    })
    .await;

    script(&["kill", "pg-test-1", "member"]).await;
    let killed = Instant::now();
    // When does Patroni itself have a new leader? Ask the survivors often.
    let elected = async {
        loop {
            for ip in ["127.0.0.12", "127.0.0.13"] {
                if let Ok(p) = get_json(&sb.patroni_url(ip, "/patroni")).await
                    && (p["role"] == "master" || p["role"] == "primary")
                {
                    return (sb.member(ip).instance.to_string(), Instant::now());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let seen = wait_snap(
        &mut rx,
        Duration::from_secs(90),
        "a new leader, pg-test-1 down",
        |s| {
            s.cluster("pg-test").is_some_and(|c| {
                c.leader
                    .patroni
                    .as_ref()
                    .is_some_and(|l| l.value != "pg-test-1")
                    && c.member("pg-test-1")
                        .is_some_and(|m| m.role_str() == "unknown")
            })
        },
    );
    let ((new_leader, elected_at), (s, seen_at)) = tokio::join!(elected, seen);
    let delay = seen_at.saturating_duration_since(elected_at);
    eprintln!(
        "failover: elected {new_leader} {:?} after the kill, in the snapshot {delay:?} later",
        elected_at - killed
    );
    let c = s.cluster("pg-test").unwrap();
    assert_eq!(c.leader.patroni.as_ref().unwrap().value, new_leader);
    assert!(
        delay <= 2 * interval,
        "new leader seen {delay:?} after election"
    );
    let old = c.member("pg-test-1").unwrap();
    assert_eq!(old.reachable, Some(false));
    assert_eq!(old.state.as_ref().unwrap().value, "unreachable");
    let err = old.error.as_deref().unwrap();
    assert!(
        err.starts_with("patroni 127.0.0.11:8008: "),
        "error names the endpoint: {err}"
    );
    // The inventory's primary is no longer the leader: info, not an error.
    let (s, _) = wait_snap(
        &mut rx,
        Duration::from_secs(30),
        "role drift finding",
        |s| {
            s.findings.iter().any(|f| {
                f.kind == FindingKind::RoleDrift && f.instance.as_deref() == Some(&new_leader)
            })
        },
    )
    .await;
    let drift = s
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::RoleDrift)
        .unwrap();
    assert_eq!(drift.severity, Severity::Info);
    cancel.cancel();
    x.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dcs_down_is_a_source_error_while_patroni_stays_live() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    let interval = Duration::from_secs(1);
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, cfg(interval), cancel.clone());
    wait_snap(&mut rx, Duration::from_secs(10), "healthy", |s| {
        s.cluster("pg-test")
            .is_some_and(|c| c.leader.dcs.is_some() && c.members.iter().all(|m| m.role.is_some()))
    })
    .await;
    let (args, name): (&'static [&'static str], String) = match sb.dcs {
        Dcs::Etcd => (&["stop", "meta", "etcd"], format!("etcd {META_IP}:2379")),
        Dcs::Consul => (
            &["stop", "meta", "consul"],
            format!("consul {META_IP}:8500"),
        ),
    };
    script(args).await;
    let (s, _) = wait_snap(&mut rx, Duration::from_secs(10), "DCS source error", |s| {
        s.source(&name).is_some_and(|x| !x.ok)
    })
    .await;
    let err = s.source(&name).unwrap().last_error.clone().unwrap();
    assert!(err.starts_with(&format!("{name}: ")), "{err}");
    eprintln!("DCS error: {err}");
    // Patroni keeps answering: every member still has a live role, fresh.
    let c = s.cluster("pg-test").unwrap();
    for m in &c.members {
        assert_eq!(m.reachable, Some(true), "{}", summary(&s));
        assert!(m.role.as_ref().is_some_and(|r| !r.stale), "{}", summary(&s));
    }
    for src in s.sources_of(SourceKind::Patroni) {
        assert!(src.ok, "{src:?}");
    }
    // Patroni's /cluster needs the DCS: the members report it, and the
    // snapshot falls back to their own /patroni (never a blank screen).
    let (s, _) = wait_snap(&mut rx, Duration::from_secs(30), "/cluster failing", |s| {
        s.cluster("pg-test")
            .is_some_and(|c| c.members.iter().any(|m| m.cluster_error.is_some()))
    })
    .await;
    eprintln!("{}", summary(&s));
    // (Without the DCS the leader soon demotes itself: its state moves on,
    // but every member keeps a live, fresh state.)
    let c = s.cluster("pg-test").unwrap();
    assert!(c.members.iter().all(|m| m.reachable == Some(true)));
    assert!(
        c.members
            .iter()
            .all(|m| m.state.as_ref().is_some_and(|f| !f.stale))
    );
    assert!(
        s.findings
            .iter()
            .any(|f| f.kind == FindingKind::PatroniDcsError),
        "{}",
        summary(&s)
    );
    cancel.cancel();
    x.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_down_is_its_own_error_only() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, cfg(Duration::from_secs(1)), cancel.clone());
    let name = format!("prometheus http://{META_IP}:9090");
    wait_snap(&mut rx, Duration::from_secs(10), "prometheus ok", |s| {
        s.source(&name).is_some_and(|x| x.ok)
    })
    .await;
    script(&["stop", "meta", "prometheus"]).await;
    let (s, _) = wait_snap(&mut rx, Duration::from_secs(10), "prometheus error", |s| {
        s.source(&name).is_some_and(|x| !x.ok)
    })
    .await;
    let err = s.source(&name).unwrap().last_error.clone().unwrap();
    assert_eq!(err, format!("{name}: connection refused"));
    for src in &s.sources {
        if *src.name != *name && src.kind != SourceKind::Probe {
            assert!(src.ok, "{} failed too: {:?}", src.name, src.last_error);
        }
    }
    let c = s.cluster("pg-test").unwrap();
    assert!(
        c.members.iter().all(|m| m.role.is_some()),
        "{}",
        summary(&s)
    );
    // The port probe agrees, on its own cadence.
    wait_snap(&mut rx, Duration::from_secs(10), "9090 probed down", |s| {
        s.service(META_IP, 9090).status_str() == "down"
    })
    .await;
    cancel.cancel();
    x.release().await;
}

/// A local endpoint that accepts connections and never answers.
async fn hanging_server() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = l.accept().await {
            held.push(sock);
        }
    });
    (port, task)
}

/// A local endpoint that answers every request with broken JSON.
async fn broken_json_server() -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        let body = r#"{"status":"success","data":{"resultType":"vector","#;
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hanging_endpoint_times_out_without_delaying_others() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    let (port, server) = hanging_server().await;
    let mut c = cfg(Duration::from_millis(500));
    c.request_timeout = Duration::from_millis(300);
    c.prometheus_url = Some(format!("http://127.0.0.1:{port}"));
    let name = format!("prometheus http://127.0.0.1:{port}");

    // One-shot: bounded by the timeout, the others complete.
    let t = Instant::now();
    let s = poll_once(d.clone(), c.clone()).await;
    let took = t.elapsed();
    assert!(took < Duration::from_millis(900), "poll_once took {took:?}");
    let p = s.source(&name).unwrap();
    assert!(!p.ok);
    assert_eq!(
        p.last_error.as_deref(),
        Some(format!("{name}: timed out after 300 ms (GET /api/v1/query)").as_str())
    );
    assert!(s.sources_of(SourceKind::Patroni).all(|x| x.ok));

    // Collector: Patroni keeps its 500 ms cadence while Prometheus hangs
    // (and backs off).
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, c, cancel.clone());
    let (s, _) = wait_snap(
        &mut rx,
        Duration::from_secs(10),
        "prometheus failing twice",
        |s| s.source(&name).is_some_and(|x| x.failures >= 2),
    )
    .await;
    for src in s.sources_of(SourceKind::Patroni) {
        assert!(src.ok);
        assert!(
            src.age_ms.unwrap() < 1500,
            "{} is {} ms old",
            src.name,
            src.age_ms.unwrap()
        );
    }
    let p = s.source(&name).unwrap();
    assert!(
        p.next_in.unwrap() > Duration::from_millis(500),
        "backs off: {p:?}"
    );
    assert!(s.member("pg-test-1").unwrap().role.is_some());
    cancel.cancel();
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_json_is_reported_with_the_endpoint() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    let (port, server) = broken_json_server().await;
    let mut c = cfg(Duration::from_secs(1));
    c.prometheus_url = Some(format!("http://127.0.0.1:{port}"));
    let s = poll_once(d, c).await;
    let name = format!("prometheus http://127.0.0.1:{port}");
    let err = s.source(&name).unwrap().last_error.clone().unwrap();
    assert!(
        err.starts_with(&format!("{name}: malformed JSON at line 1 column ")),
        "{err}"
    );
    assert!(err.contains("GET /api/v1/query"), "{err}");
    assert!(s.sources_of(SourceKind::Patroni).all(|x| x.ok));
    server.abort();
}

/// The DCS' leader key, read directly.
async fn dcs_leader(sb: &Sandbox, client: &reqwest::Client) -> Option<String> {
    match sb.dcs {
        Dcs::Etcd => {
            let key = harness::b64_encode(b"/pg/pg-test/leader");
            let v: serde_json::Value = client
                .post(format!("{}/v3/kv/range", sb.dcs_url()))
                .json(&serde_json::json!({ "key": key }))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let val = v["kvs"][0]["value"].as_str()?;
            String::from_utf8(harness::b64_decode(val).ok()?).ok()
        }
        Dcs::Consul => {
            let r = client
                .get(format!("{}/v1/kv/pg/pg-test/leader?raw", sb.dcs_url()))
                .send()
                .await
                .ok()?;
            if !r.status().is_success() {
                return None;
            }
            r.text().await.ok()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_key_change_is_watched_within_half_a_second() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    // A long poll interval: only the watch can explain a fast update.
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, cfg(Duration::from_secs(10)), cancel.clone());
    wait_snap(
        &mut rx,
        Duration::from_secs(15),
        "DCS leader pg-test-1",
        |s| {
            s.cluster("pg-test")
                .and_then(|c| c.leader.dcs.as_ref())
                .is_some_and(|l| l.value == "pg-test-1")
        },
    )
    .await;
    let client = harness::http();
    assert_eq!(dcs_leader(sb, &client).await.as_deref(), Some("pg-test-1"));

    // Switch over through Patroni's REST API.
    let resp = client
        .post(sb.patroni_url("127.0.0.11", "/switchover"))
        .basic_auth(&sb.patroni_user, Some(&sb.patroni_password))
        .json(&serde_json::json!({"leader": "pg-test-1", "candidate": "pg-test-2"}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "switchover: {status} {text}");

    // Timestamp the DCS change by reading the key every 10 ms, while
    // waiting for the snapshot to show it.
    let dcs_changed = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if dcs_leader(sb, &client).await.as_deref() == Some("pg-test-2") {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "the DCS leader key never became pg-test-2"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let seen = wait_snap(
        &mut rx,
        Duration::from_secs(60),
        "DCS leader pg-test-2",
        |s| {
            s.cluster("pg-test")
                .and_then(|c| c.leader.dcs.as_ref())
                .is_some_and(|l| l.value == "pg-test-2")
        },
    );
    let (changed_at, (s, seen_at)) = tokio::join!(dcs_changed, seen);
    let lag = seen_at.saturating_duration_since(changed_at);
    let l = s.cluster("pg-test").unwrap().leader.dcs.clone().unwrap();
    eprintln!(
        "leader key change seen {lag:?} after the DCS changed, via {}",
        l.source
    );
    assert!(
        l.source.contains(" watch "),
        "came from the watch: {}",
        l.source
    );
    assert!(
        lag < Duration::from_millis(500),
        "seen {lag:?} after the change"
    );
    cancel.cancel();
    x.release().await;
}

/// Post (or, with `ends_in` zero, resolve) a test alert on the sandbox's
/// Alertmanager.
async fn post_alert(client: &reqwest::Client, ends_in: Duration) {
    let now = std::time::SystemTime::now();
    let fmt = |t: std::time::SystemTime| pigsty_tui::snapshot::rfc3339(t);
    let body = serde_json::json!([{
        "labels": {
            "alertname": "PigstyTuiLiveTest", "severity": "WARN", "category": "test",
            "cls": "pg-test", "ins": "pg-test-2", "ip": "127.0.0.12", "instance": "127.0.0.12:9630",
        },
        "annotations": {"summary": "live test alert of tests/live/sources.rs"},
        "startsAt": fmt(now - Duration::from_secs(5)),
        "endsAt": fmt(now + ends_in),
    }]);
    let r = client
        .post(format!(
            "http://{META_IP}:{}/api/v2/alerts",
            harness::ALERTMANAGER_PORT
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alertmanager_alerts_reach_their_cluster() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    let client = harness::http();
    post_alert(&client, Duration::from_secs(300)).await;
    let cancel = CancellationToken::new();
    let (mut rx, _) = spawn_with_handles(d, cfg(Duration::from_millis(500)), cancel.clone());
    let (s, _) = wait_snap(&mut rx, Duration::from_secs(10), "the test alert", |s| {
        s.cluster("pg-test")
            .is_some_and(|c| c.alerts.iter().any(|a| a.name == "PigstyTuiLiveTest"))
    })
    .await;
    let a = s
        .cluster("pg-test")
        .unwrap()
        .alerts
        .iter()
        .find(|a| a.name == "PigstyTuiLiveTest")
        .unwrap()
        .clone();
    assert_eq!(a.severity.as_deref(), Some("WARN"));
    assert_eq!(a.ins.as_deref(), Some("pg-test-2"));
    assert_eq!(a.instance.as_deref(), Some("127.0.0.12:9630"));
    assert_eq!(a.state, "active");
    assert!(a.starts_at.is_some());
    assert!(
        s.cluster("pg-meta")
            .unwrap()
            .alerts
            .iter()
            .all(|a| a.name != "PigstyTuiLiveTest")
    );
    // Resolve it: it leaves the snapshot.
    post_alert(&client, Duration::ZERO).await;
    wait_snap(
        &mut rx,
        Duration::from_secs(10),
        "the test alert resolved",
        |s| s.alerts.iter().all(|a| a.name != "PigstyTuiLiveTest"),
    )
    .await;
    cancel.cancel();
    x.release().await;
}
