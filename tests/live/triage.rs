//! Live tests of the triage backend (`pigsty_tui::triage`) and of the
//! `status` / `events` / `report` commands against the sandbox: a killed
//! replica degrades the summary (exit 1), is recorded as an event that
//! survives a restart and shows in the report; a switchover's Patroni line
//! is found in the log (read and follow); a blocking session shows in the
//! activity and is terminated.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use pigsty_tui::model::Deployment;
use pigsty_tui::snapshot::Snapshot;
use pigsty_tui::sources::{SourcesConfig, poll_once};
use pigsty_tui::tasks::audit::AuditLog;
use pigsty_tui::tasks::ssh::{SshPool, Target};
use pigsty_tui::triage::activity::{self, ActivityError, Actor};
use pigsty_tui::triage::events::default_path;
use pigsty_tui::triage::health::HealthLevel;
use pigsty_tui::triage::logs::{self, FollowItem, LogKind, Window};
use pigsty_tui::triage::{EventKind, EventRecorder, Timeline, summarize};
use tokio_util::sync::CancellationToken;

use crate::harness::{PG_ADMIN, Sandbox, sandbox, wait_for};
use crate::ssh::{config, deployment, target};

async fn snap(d: &Arc<Deployment>) -> Snapshot {
    poll_once(
        d.clone(),
        SourcesConfig::with_interval(Duration::from_secs(2)),
    )
    .await
}

/// `pigsty-tui ARGS` with the sandbox inventory and known_hosts and a
/// private state dir.
fn cli(sb: &Sandbox, state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pigsty-tui"))
        .arg("-i")
        .arg(&sb.inventory)
        .args(args)
        .env("XDG_STATE_HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .env("PIGSTY_TUI_KNOWN_HOSTS", &sb.known_hosts)
        .output()
        .expect("run pigsty-tui")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn killed_replica_degrades_is_recorded_and_reported() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = Arc::new(deployment(sb));
    let state = tempfile::tempdir().unwrap();

    // Healthy baseline: exit 0.
    let before = snap(&d).await;
    let h = summarize(&d, &before, &pigsty_tui::triage::health::NoHistory);
    assert!(h.iter().all(|c| c.level == HealthLevel::Healthy), "{h:?}");
    let mut recorder = EventRecorder::new();
    assert!(recorder.observe(&d, &before).is_empty());

    // `status --watch` records the timeline while it runs.
    let watch_state = tempfile::tempdir().unwrap();
    let watch_out = watch_state.path().join("out.jsonl");
    let mut watch = Command::new(env!("CARGO_BIN_EXE_pigsty-tui"))
        .arg("-i")
        .arg(&sb.inventory)
        .args(["--refresh", "1", "status", "--watch", "--format", "json"])
        .env("XDG_STATE_HOME", watch_state.path())
        .env("XDG_CONFIG_HOME", watch_state.path().join("config"))
        .stdout(std::fs::File::create(&watch_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("status --watch");
    // Its baseline: a document with every cluster healthy.
    wait_for("status --watch output", Duration::from_secs(30), || async {
        let text = std::fs::read_to_string(&watch_out).unwrap_or_default();
        let healthy = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|v| {
                v["health"]
                    .as_array()
                    .is_some_and(|h| h.len() == 2 && h.iter().all(|c| c["level"] == "HEALTHY"))
            });
        if healthy {
            Ok(())
        } else {
            Err("no healthy document yet".to_string())
        }
    })
    .await;

    sb.script_ok(&["kill", "node-3", "member"]).unwrap();
    let after = wait_for("pg-test-3 unreachable", Duration::from_secs(30), || {
        let d = d.clone();
        async move {
            let s = snap(&d).await;
            match s.member("pg-test-3").and_then(|m| m.reachable) {
                Some(false) => Ok(s),
                other => Err(format!("reachable {other:?}")),
            }
        }
    })
    .await;

    // The recorder sees it; the timeline file keeps it across a restart.
    let events = recorder.observe(&d, &after);
    let lost: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::MemberLost)
        .collect();
    assert_eq!(lost.len(), 1, "{events:#?}");
    assert_eq!(lost[0].instance.as_deref(), Some("pg-test-3"));
    assert_eq!(lost[0].cluster.as_deref(), Some("pg-test"));
    let events_file = default_path(&state.path().join("pigsty-tui"));
    let mut t = Timeline::load(&events_file).unwrap();
    t.append(&events).unwrap();
    drop(t);
    let reloaded = Timeline::load(&events_file).unwrap();
    assert_eq!(reloaded.len(), events.len());
    assert!(reloaded.down_since("pg-test-3").is_some());

    // `status --watch` recorded it in its state dir.
    let watch_events = default_path(&watch_state.path().join("pigsty-tui"));
    wait_for(
        "status --watch records member_lost",
        Duration::from_secs(30),
        || async {
            let t = Timeline::load(&watch_events).map_err(|e| e.to_string())?;
            match t.down_since("pg-test-3") {
                Some(_) => Ok(()),
                None => Err(format!("{} events", t.len())),
            }
        },
    )
    .await;
    let _ = watch.kill();
    let _ = watch.wait();

    // The summary names it.
    let h = summarize(&d, &after, &reloaded);
    let test = h.iter().find(|c| c.cluster == "pg-test").unwrap();
    assert_eq!(test.level, HealthLevel::Degraded, "{h:?}");
    assert!(test.reasons[0].starts_with("pg-test-3 down "), "{test}");

    // `status`: exit 1, the line first, with the duration from the file
    // (a new process: the timeline survived the "restart").
    let o = cli(sb, state.path(), &["status", "-c", "pg-test"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("pg-test DEGRADED: pg-test-3 down "),
        "{out}"
    );
    let o = cli(sb, state.path(), &["status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["health"][0]["cluster"], "pg-test");
    assert_eq!(v["health"][0]["level"], "DEGRADED");
    assert_eq!(v["health"][1]["level"], "HEALTHY");
    // Unknown cluster: exit 3.
    assert_eq!(
        cli(sb, state.path(), &["status", "-c", "pg-nope"])
            .status
            .code(),
        Some(3)
    );

    // `events` prints it.
    let o = cli(
        sb,
        state.path(),
        &["events", "--since", "1h", "-c", "pg-test"],
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains("member_lost"), "{}", stdout(&o));

    // `report`: the member is listed down; its logs still read over SSH.
    let file = state.path().join("report.md");
    let o = cli(
        sb,
        state.path(),
        &["report", "-c", "pg-test", "-o", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o).trim(), file.display().to_string());
    let md = std::fs::read_to_string(&file).unwrap();
    for want in [
        "**DEGRADED**",
        "- pg-test-3 down ",
        "| pg-test-3 | 127.0.0.13 | replica | unknown | unreachable",
        "member_lost",
        "### pg-test-3",
        "**patroni** `/tmp/pigsty-sandbox/127.0.0.13/pg/log/patroni/",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    x.release().await;
}

#[tokio::test]
async fn switchover_line_in_the_patroni_log() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let d = deployment(sb);
    let home = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let m = sb.member("pg-test-2");
    let t = target(sb, &d, m);
    let i = d.instance("pg-test-2").unwrap();
    let dir = logs::log_dir(i, LogKind::Patroni);

    // Follow the candidate's Patroni log while switching over to it.
    let cancel = CancellationToken::new();
    let mut stream = Box::pin(logs::follow(
        pool.clone(),
        t.clone(),
        dir.clone(),
        0,
        cancel.clone(),
    ));
    match tokio::time::timeout(Duration::from_secs(20), stream.next()).await {
        Ok(Some(FollowItem::File(f))) => assert!(f.starts_with(&dir), "{f}"),
        other => panic!("no file announced: {other:?}"),
    }
    let switch = tokio::task::spawn_blocking(|| {
        sandbox().script_ok(&["switchover", "pg-test", "pg-test-2"])
    });
    const PROMOTED: &str = "promoted self to leader by acquiring session lock";
    let found = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(item) = stream.next().await {
            match item {
                FollowItem::Line(l)
                    if l.contains(PROMOTED) || l.contains("acquired session lock as a leader") =>
                {
                    return Some(l);
                }
                FollowItem::Ended(e) => panic!("follow ended: {e}"),
                _ => {}
            }
        }
        None
    })
    .await
    .expect("the promotion line within 90 s")
    .expect("stream ended");
    switch.await.unwrap().unwrap();
    cancel.cancel();
    // The stream ends after cancellation (the remote tail is killed).
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(item) = stream.next().await {
            if let FollowItem::Ended(e) = item {
                return e;
            }
        }
        "closed".into()
    })
    .await
    .expect("follow ends after cancel");
    assert!(ended == "cancelled" || ended == "closed", "{ended}");

    // The same line through a time window and the last lines.
    for w in [Window::Since(Duration::from_secs(300)), Window::Lines(200)] {
        let l = logs::read(&pool, &t, &dir, LogKind::Patroni, w)
            .await
            .unwrap();
        assert!(l.lines.contains(&found), "{w:?}: {:?}", l.lines);
    }
    // Postgres log: newest file, readable.
    let pg = logs::read_instance(&pool, &t, i, LogKind::Postgres, Window::Lines(50))
        .await
        .unwrap();
    assert!(!pg.lines.is_empty());
    // A missing directory is an error in words.
    let e = logs::read(
        &pool,
        &t,
        "/nonexistent/dir",
        LogKind::Pgbouncer,
        Window::Lines(5),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("no log file in /nonexistent/dir"),
        "{e}"
    );
    x.release().await;
}

/// `psql` as the admin user on the primary, kept running: statements are
/// written to its stdin.
fn psql_session(ip: &str, app: &str) -> std::process::Child {
    Command::new("psql")
        .args(["-h", ip, "-p", "5432", "-U", PG_ADMIN.0, "-d", "postgres"])
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .env("PGPASSWORD", PG_ADMIN.1)
        .env("PGAPPNAME", app)
        .env("PGSSLMODE", "disable")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql")
}

#[tokio::test]
async fn blocking_session_is_shown_and_terminated() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    let primary = sb.primary_of("pg-test");
    let i = d.instance(primary.instance).unwrap();
    let home = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let t: Target = target(sb, &d, primary);
    let table = format!("triage_lock_{}", std::process::id());
    let admin = |sql: &str| crate::harness::psql(primary.ip, 5432, PG_ADMIN, "postgres", sql);
    admin(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v int); INSERT INTO {table} VALUES (1, 0)"
    ))
    .unwrap();

    let mut blocker = psql_session(primary.ip, "triage-blocker");
    writeln!(
        blocker.stdin.as_mut().unwrap(),
        "BEGIN; UPDATE {table} SET v = v + 1 WHERE id = 1;"
    )
    .unwrap();
    // The blocker must hold the row lock before the waiter asks for it, or
    // the waiter's UPDATE simply commits first (a race under load).
    wait_for(
        "the blocker holding its row lock",
        Duration::from_secs(20),
        || async {
            let rows = activity::list(&pool, &t, i)
                .await
                .map_err(|e| e.to_string())?;
            match rows.iter().find(|r| r.application == "triage-blocker") {
                Some(b) if b.state == "idle in transaction" => Ok(()),
                other => Err(format!("blocker {other:?}")),
            }
        },
    )
    .await;
    let mut waiter = psql_session(primary.ip, "triage-waiter");
    writeln!(
        waiter.stdin.as_mut().unwrap(),
        "UPDATE {table} SET v = v + 10 WHERE id = 1;"
    )
    .unwrap();
    drop(waiter.stdin.take()); // psql exits once the UPDATE is done

    let rows = wait_for("the waiter blocked", Duration::from_secs(20), || async {
        let rows = activity::list(&pool, &t, i)
            .await
            .map_err(|e| e.to_string())?;
        let w = rows.iter().find(|r| r.application == "triage-waiter");
        match w {
            Some(w) if w.is_waiting() => Ok(rows),
            other => Err(format!("waiter {other:?}")),
        }
    })
    .await;
    let b = rows
        .iter()
        .find(|r| r.application == "triage-blocker")
        .unwrap();
    let w = rows
        .iter()
        .find(|r| r.application == "triage-waiter")
        .unwrap();
    assert_eq!(w.blocked_by, vec![b.pid]);
    assert_eq!(b.state, "idle in transaction");
    assert_eq!(w.state, "active");
    assert_eq!(w.wait_event_type.as_deref(), Some("Lock"));
    assert!(w.query.starts_with("UPDATE"), "{}", w.query);
    assert!(activity::blocking_pids(&rows).contains(&b.pid));

    let audit = AuditLog::new(home.path());
    // Read-only: refused, nothing audited.
    let ro = Actor {
        who: "tester",
        readonly: true,
        audit: &audit,
    };
    assert_eq!(
        activity::terminate_backend(&pool, &t, i, b.pid, &ro)
            .await
            .unwrap_err(),
        ActivityError::ReadOnly
    );
    assert!(audit.read_all().unwrap().is_empty());
    let rw = Actor {
        who: "tester",
        readonly: false,
        audit: &audit,
    };
    let out = activity::terminate_backend(&pool, &t, i, b.pid, &rw)
        .await
        .unwrap();
    assert!(out.signalled);
    assert_eq!(out.event.kind, EventKind::Action);
    assert!(
        out.event
            .message
            .contains(&format!("terminate backend {}", b.pid))
    );
    // The waiter goes on and ends.
    let st = tokio::task::spawn_blocking(move || waiter.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(st.success(), "waiter: {st}");
    let recs = audit.read_all().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].status, "succeeded");
    assert_eq!(recs[1].target, primary.instance);
    // A pid that does not exist: not signalled.
    let out = activity::cancel_backend(&pool, &t, i, 999_999, &rw)
        .await
        .unwrap();
    assert!(!out.signalled);

    let _ = blocker.kill();
    let _ = blocker.wait();
    assert_eq!(admin(&format!("SELECT v FROM {table}")).unwrap(), "10");
    admin(&format!("DROP TABLE {table}")).unwrap();
}

#[tokio::test]
async fn cluster_without_patroni_is_down_exit_2() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let state = tempfile::tempdir().unwrap();
    for node in ["node-2", "node-3", "node-1"] {
        sb.script_ok(&["kill", node, "member"]).unwrap();
    }
    let o = cli(sb, state.path(), &["status"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap_or_default(),
        "pg-test DOWN: Patroni unreachable on every member; pg-test-1 down; pg-test-2 down; pg-test-3 down",
        "{out}"
    );
    assert_eq!(lines.next().unwrap_or_default(), "pg-meta HEALTHY", "{out}");
    // Only pg-meta: healthy, exit 0.
    let o = cli(sb, state.path(), &["status", "-c", "pg-meta"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    x.release().await;
}
