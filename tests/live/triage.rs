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

// ---------------------------------------------------------------- the console

use crate::tmux;

/// Quotes `s` for `sh -c`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The real binary at 80x24 in tmux, polling the sandbox every second,
/// with a private state and home directory (no ~/.ssh/config, no agent:
/// the inventory's key and the sandbox's known_hosts).
fn console_in_tmux(sb: &Sandbox, dir: &Path) -> tmux::Tmux {
    assert!(
        tmux::have_tmux(),
        "the live console test needs tmux (apt-get install tmux)"
    );
    let script = format!(
        "env -u SSH_AUTH_SOCK {guard}=1 HOME={home} XDG_STATE_HOME={home} \
         XDG_CONFIG_HOME={home}/config PIGSTY_TUI_KNOWN_HOSTS={kh} \
         {bin} -i {inv} --refresh 1; echo EXITED:$?; sleep 30",
        guard = pigsty_tui::net_guard::ENV,
        home = sh_quote(&dir.display().to_string()),
        kh = sh_quote(&sb.known_hosts.display().to_string()),
        bin = sh_quote(env!("CARGO_BIN_EXE_pigsty-tui")),
        inv = sh_quote(&sb.inventory.display().to_string()),
    );
    tmux::Tmux::start(&script, 80, 24)
}

/// `:node NAME` Enter in the console: selects the instance.
fn select_node(t: &tmux::Tmux, name: &str) {
    t.keys(&[":"]);
    t.wait_for("the palette", |s| s.contains("Command"));
    t.type_text(&format!("node {name}"));
    t.keys(&["Enter"]);
    t.wait_for(&format!("{name} selected"), |s| {
        s.contains(&format!("Instance {name}"))
    });
}

/// Closes the logs pane or activity view with Esc (alone: Esc followed at
/// once by a letter reads as Alt-letter) and waits until `gone` is gone.
fn escape(t: &tmux::Tmux, gone: &str) {
    t.keys(&["Escape"]);
    t.wait_for(&format!("{gone} to close"), |s| !s.contains(gone));
}

#[tokio::test]
async fn console_shows_a_degraded_cluster_its_logs_and_sessions() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let dir = tempfile::tempdir().unwrap();
    let t = console_in_tmux(sb, dir.path());
    let long = Duration::from_secs(60);

    // Live: the sources answer, no health line (every cluster healthy).
    t.wait_for_within("the live console", long, |s| {
        s.contains("Patroni ✓") && s.contains("pg-test-3") && !s.contains("DEGRADED")
    });

    // A replica dies: the health line names the cluster and the member.
    sb.script_ok(&["kill", "node-3", "member"]).unwrap();
    let screen = t.wait_for_within("pg-test DEGRADED naming pg-test-3", long, |s| {
        s.lines()
            .any(|l| l.contains("pg-test DEGRADED") && l.contains("pg-test-3 down"))
    });
    assert_eq!(
        screen.lines().nth(1).map(str::trim_start),
        screen
            .lines()
            .find(|l| l.contains("pg-test DEGRADED"))
            .map(str::trim_start),
        "the health line is right under the header:\n{screen}"
    );

    // L on the leader, 2: its real Patroni log, followed.
    select_node(&t, "pg-test-1");
    t.keys(&["L"]);
    t.wait_for("the logs pane", |s| s.contains("Logs pg-test-1 · postgres"));
    t.keys(&["2"]);
    let screen = t.wait_for_within("Patroni lines of pg-test-1", long, |s| {
        s.contains("Logs pg-test-1 · patroni · tail")
            && s.contains("pg/log/patroni/patroni.log")
            && s.contains("INFO: ")
            && s.contains("I am (pg-test-1)")
    });
    assert!(screen.contains("● "), "the stream follows:\n{screen}");
    escape(&t, "Logs pg-test-1");

    // L on the cluster: at 80 columns one member at a time, → switches;
    // the killed member's log still reads over SSH.
    t.keys(&[":"]);
    t.wait_for("the palette", |s| s.contains("Command"));
    t.type_text("cluster pg-test");
    t.keys(&["Enter"]);
    t.wait_for("the cluster", |s| s.contains("Cluster pg-test"));
    t.keys(&["L"]);
    t.wait_for("the cluster's logs", |s| {
        s.contains("Logs pg-test · postgres") && s.contains("◀[pg-test-1] pg-test-2  pg-test-3 ▶")
    });
    t.keys(&["2"]);
    t.keys(&["Right"]);
    t.keys(&["Right"]);
    t.wait_for_within("the Patroni log of pg-test-3", long, |s| {
        s.contains("Logs pg-test · patroni")
            && s.contains("pg-test-2 [pg-test-3]▶")
            && s.contains("/pg/log/patroni/patroni.log")
            && s.contains("I am (pg-test-3)")
    });
    escape(&t, "Logs pg-test");

    // A on the leader: its sessions, with one the test keeps busy.
    let primary = sb.primary_of("pg-test");
    let mut busy = psql_session(primary.ip, "tmux-activity");
    writeln!(busy.stdin.as_mut().unwrap(), "SELECT pg_sleep(120);").unwrap();
    select_node(&t, "pg-test-1");
    t.keys(&["A"]);
    let screen = t.wait_for_within("the session in the activity view", long, |s| {
        s.contains("Activity pg-test-1 (pg-test)") && s.contains("SELECT pg_sleep(120)")
    });
    assert!(
        screen.lines().any(|l| l.contains(" active ")
            && l.contains("dbuser_dba")
            && l.contains("Timeout:Pg")),
        "{screen}"
    );
    escape(&t, "Activity pg-test-1");
    let _ = busy.kill();
    let _ = busy.wait();

    t.keys(&["q"]);
    let screen = t.wait_for("the console to exit", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "{screen}");
    x.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_terminates_a_blocking_session_through_its_actions() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use pigsty_tui::app::state::SshHandle;
    use pigsty_tui::app::{AppState, Outcome, Overlay, handle_key};
    use pigsty_tui::tasks::{TaskRunner, TaskStatus};

    let sb = sandbox();
    let _s = sb.shared().await;
    let d = deployment(sb);
    let primary = sb.primary_of("pg-test");
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let none = Snapshot::empty();

    // The console as `pigsty-tui` sets it up: SSH pool, a task runner
    // auditing under the state directory, wake-ups and footer messages.
    let mut app = AppState::new(&d);
    app.resize(80, 24);
    app.ssh = Some(SshHandle(pool.clone()));
    app.runner = Some(TaskRunner::ssh(pool.clone(), state.path()));
    let (notify, _wakeups) = tokio::sync::mpsc::unbounded_channel();
    app.task_notify = Some(notify);
    let (msg_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    app.messages = Some(msg_tx);
    let item = pigsty_tui::app::state::find_node(&d, primary.instance).unwrap();
    assert!(app.select_item(&d, item));
    let press = |app: &mut AppState, code: KeyCode| {
        handle_key(app, &d, &none, KeyEvent::new(code, KeyModifiers::NONE))
    };

    let table = format!("triage_console_lock_{}", std::process::id());
    let admin = |sql: &str| crate::harness::psql(primary.ip, 5432, PG_ADMIN, "postgres", sql);
    admin(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v int); INSERT INTO {table} VALUES (1, 0)"
    ))
    .unwrap();
    let mut blocker = psql_session(primary.ip, "console-blocker");
    writeln!(
        blocker.stdin.as_mut().unwrap(),
        "BEGIN; UPDATE {table} SET v = v + 1 WHERE id = 1;"
    )
    .unwrap();

    // A: the activity view; its model is refreshed in the background.
    assert_eq!(press(&mut app, KeyCode::Char('A')), Outcome::Handled);
    assert_eq!(app.overlay, Some(Overlay::Activity));
    let by_app = |app: &AppState, name: &str| {
        app.activity
            .as_ref()
            .unwrap()
            .visible_rows()
            .into_iter()
            .find(|r| r.application == name)
    };
    let blocker_pid = wait_for(
        "the blocker in the activity view",
        Duration::from_secs(30),
        || {
            let row = by_app(&app, "console-blocker");
            async move {
                match row {
                    Some(b) if b.state == "idle in transaction" => Ok(b.pid),
                    other => Err(format!("blocker {other:?}")),
                }
            }
        },
    )
    .await;
    let mut waiter = psql_session(primary.ip, "console-waiter");
    writeln!(
        waiter.stdin.as_mut().unwrap(),
        "UPDATE {table} SET v = v + 10 WHERE id = 1;"
    )
    .unwrap();
    drop(waiter.stdin.take());
    let waiter_pid = wait_for("the waiter blocked", Duration::from_secs(30), || {
        let row = by_app(&app, "console-waiter");
        async move {
            match row {
                Some(w) if w.blocked_by == vec![blocker_pid] => Ok(w.pid),
                other => Err(format!("waiter {other:?}")),
            }
        }
    })
    .await;

    // Drawn: the blocker marked B, the waiter W naming it.
    let screen = render(&app, &d, &none);
    let line_of = |pid: i32| {
        screen
            .lines()
            .find(|l| l.contains(&format!(" {pid} ")))
            .unwrap_or_else(|| panic!("no row of {pid} in\n{screen}"))
            .to_string()
    };
    assert!(line_of(blocker_pid).starts_with("│B "), "{screen}");
    let w = line_of(waiter_pid);
    assert!(
        w.starts_with("│ W ") && w.contains(&blocker_pid.to_string()),
        "{screen}"
    );
    assert!(screen.contains("1 blocking"), "{screen}");

    // Select the blocker with the keys.
    press(&mut app, KeyCode::Home);
    for _ in 0..50 {
        if app.activity.as_ref().unwrap().selected_row().map(|r| r.pid) == Some(blocker_pid) {
            break;
        }
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(
        app.activity.as_ref().unwrap().selected_row().map(|r| r.pid),
        Some(blocker_pid)
    );

    // Read-only: refused, nothing pending, the keys are not offered.
    app.readonly = true;
    press(&mut app, KeyCode::Char('k'));
    assert!(app.pending.is_none());
    assert_eq!(app.overlay, Some(Overlay::Activity));
    let status = app.status.clone().expect("a refusal");
    assert!(
        status.is_error && status.text.contains("read-only"),
        "{status:?}"
    );
    let hints = pigsty_tui::ui::focused_component(&app).commands(&app, &d);
    assert!(
        hints.iter().all(|h| h.keys != "k" && h.keys != "c"),
        "{hints:?}"
    );
    app.readonly = false;

    // k: the confirmation shows the exact SQL and host; Enter runs it.
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.overlay, Some(Overlay::Confirm));
    let plan = app.pending.as_ref().unwrap().plan.clone().expect("planned");
    let sql = format!("SELECT pg_terminate_backend({blocker_pid})");
    assert_eq!(plan.name, "terminate-backend");
    assert_eq!(plan.hosts, vec![primary.instance.to_string()]);
    assert!(plan.commands[0].command.contains(&sql), "{plan:?}");
    assert_eq!(plan.commands[0].user, sb.dbsu);
    let screen = render(&app, &d, &none);
    assert!(
        screen.contains(&format!("{}@{}", sb.dbsu, primary.instance)),
        "{screen}"
    );
    assert!(screen.contains("pg_terminate_backend("), "{screen}");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, Some(Overlay::Activity), "back to the sessions");
    assert_eq!(app.tasks.len(), 1);
    let task = app.tasks[0].handle.clone();
    let status = tokio::time::timeout(Duration::from_secs(60), task.wait())
        .await
        .expect("the task ends");
    assert_eq!(status, TaskStatus::Succeeded);
    let (text, is_error) = tokio::time::timeout(Duration::from_secs(10), messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        text,
        format!("terminate-backend {}: succeeded", primary.instance)
    );
    assert!(!is_error);

    // The waiter goes on and ends; the blocker is gone from the view.
    let st = tokio::task::spawn_blocking(move || waiter.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(st.success(), "waiter: {st}");
    wait_for("the blocker gone", Duration::from_secs(30), || {
        let gone = app
            .activity
            .as_ref()
            .unwrap()
            .lock()
            .rows
            .iter()
            .all(|r| r.pid != blocker_pid);
        async move {
            if gone {
                Ok(())
            } else {
                Err("still listed".to_string())
            }
        }
    })
    .await;

    // Audited like every action: start and finish, with the command.
    let recs = AuditLog::new(state.path()).read_all().unwrap();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[1].action, "terminate-backend");
    assert_eq!(recs[1].target, primary.instance);
    assert_eq!(recs[1].status, "succeeded");
    assert!(recs[0].commands[0].command.contains(&sql), "{recs:#?}");
    assert_eq!(recs[0].commands[0].host, primary.instance);

    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    assert!(app.activity.is_none());
    let _ = blocker.kill();
    let _ = blocker.wait();
    assert_eq!(admin(&format!("SELECT v FROM {table}")).unwrap(), "10");
    admin(&format!("DROP TABLE {table}")).unwrap();
}

/// The console's frame at 80x24, as text.
fn render(app: &pigsty_tui::app::AppState, d: &Deployment, s: &Snapshot) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let theme = pigsty_tui::ui::theme::Theme::default();
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| pigsty_tui::ui::draw(f, app, d, s, &theme))
        .unwrap();
    let buf = term.backend().buffer();
    (0..24)
        .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}
