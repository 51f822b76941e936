//! Live tests of the task runner over SSH (`pigsty_tui::tasks`): fan-out
//! over the four nodes, cancel and timeout leave nothing behind on the
//! hosts, wait steps on live state, task logs and the audit log.

use std::time::Duration;

use pigsty_tui::tasks::exec::Stream;
use pigsty_tui::tasks::runner::{StepStatus, TaskEvent};
use pigsty_tui::tasks::ssh::{SshPool, Target};
use pigsty_tui::tasks::{Pipeline, RemoteCommand, Step, TaskRunner, TaskStatus};

use crate::harness::{Sandbox, sandbox, wait_for};
use crate::ssh::{config, deployment, target};

fn targets(sb: &Sandbox) -> Vec<Target> {
    let d = deployment(sb);
    sb.members.iter().map(|m| target(sb, &d, m)).collect()
}

/// Digits unique to this test run, for `sleep 1000.<digits>`.
fn unique() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}{}", std::process::id(), n % 1_000_000_000)
}

/// Lines of `pgrep -af` for `sleep 1000.<digits>` on a host (the `[s]`
/// keeps pgrep's own shell out of the match).
async fn remote_sleeps(pool: &SshPool, t: &Target, digits: &str) -> Vec<String> {
    let o = pool
        .output(
            t,
            &RemoteCommand::admin(format!("pgrep -af '[s]leep 1000\\.{digits}' || true")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    o.stdout_str().lines().map(str::to_string).collect()
}

#[tokio::test]
async fn fan_out_over_the_four_nodes_reuses_connections() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let runner = TaskRunner::ssh(pool.clone(), state.path());
    let all = targets(sb);
    let p = Pipeline::new("inspect", "sandbox")
        .step(
            Step::fan_out(
                "who and where",
                all.clone(),
                RemoteCommand::dbsu("echo \"$(whoami) on $PIGSTY_NODE\"; sleep 1"),
            )
            .concurrency(4)
            .timeout(Duration::from_secs(60)),
        )
        .step(Step::fan_out(
            "again, as admin",
            all.clone(),
            RemoteCommand::admin("id -un"),
        ));
    let t0 = std::time::Instant::now();
    let (task, mut events) = runner.start(p).unwrap();
    let mut started = Vec::new();
    let mut finished_last = false;
    while let Some(ev) = events.recv().await {
        finished_last = matches!(ev, TaskEvent::Finished { .. });
        if let TaskEvent::StepStarted {
            step: 0,
            host: Some(h),
        } = ev
        {
            started.push(h);
        }
    }
    assert!(finished_last);
    assert_eq!(
        task.wait().await,
        TaskStatus::Succeeded,
        "{:#?}",
        task.state().steps
    );
    // In parallel: four `sleep 1` took well under four seconds.
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    started.sort();
    let mut names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(started, names);

    let s = task.state();
    for m in &sb.members {
        let lines: Vec<&str> = s.output[m.instance]
            .lines()
            .filter(|l| l.stream == Stream::Stdout)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(
            lines,
            vec![format!("postgres on {}", m.node).as_str(), "dba"]
        );
        for st in &s.steps {
            let h = st.hosts.iter().find(|h| h.host == m.instance).unwrap();
            assert_eq!(h.status, StepStatus::Succeeded);
        }
        assert_eq!(
            s.steps[0]
                .hosts
                .iter()
                .find(|h| h.host == m.instance)
                .unwrap()
                .user,
            "postgres"
        );
        assert_eq!(
            s.steps[1]
                .hosts
                .iter()
                .find(|h| h.host == m.instance)
                .unwrap()
                .user,
            "dba"
        );
    }
    drop(s);
    // One connection per node for both steps.
    assert_eq!(pool.live_connections(), 4);
}

#[tokio::test]
async fn cancelling_a_long_step_leaves_no_remote_process() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let runner = TaskRunner::ssh(pool.clone(), state.path());
    let d = deployment(sb);
    let admin_node = target(sb, &d, sb.member("node-1"));
    let dbsu_node = target(sb, &d, sb.member("node-2"));
    // The sandbox nodes share one process table: a marker per host.
    let digits = unique();
    let (m1, m2) = (format!("{digits}1"), format!("{digits}2"));
    let p = Pipeline::new("long", "pg-test")
        .step(Step::fan_out_each(
            "sleep",
            vec![
                (
                    admin_node.clone(),
                    RemoteCommand::admin(format!("sleep 1000.{m1}; echo never")),
                ),
                (
                    dbsu_node.clone(),
                    RemoteCommand::dbsu(format!("sleep 1000.{m2}; echo never")),
                ),
            ],
        ))
        .step(Step::command(
            "after",
            admin_node.clone(),
            RemoteCommand::admin("echo after"),
        ));
    let (task, _events) = runner.start(p).unwrap();

    // Both sleeps run, as the right users.
    for (t, marker, user) in [(&admin_node, &m1, "dba"), (&dbsu_node, &m2, "postgres")] {
        let found = wait_for("the remote sleep", Duration::from_secs(30), || async {
            let v = remote_sleeps(&pool, t, marker).await;
            if v.iter()
                .any(|l| l.ends_with(&format!(" sleep 1000.{marker}")))
            {
                Ok(v)
            } else {
                Err(format!("{v:?}"))
            }
        })
        .await;
        let o = pool
            .output(
                t,
                &RemoteCommand::admin(format!(
                    "ps -o user= -p $(pgrep -f '^[s]leep 1000\\.{marker}$')"
                )),
            )
            .await
            .unwrap();
        assert_eq!(o.stdout_str().trim(), user, "{found:?}");
    }

    task.cancel();
    assert_eq!(task.wait().await, TaskStatus::Cancelled);
    {
        let s = task.state();
        assert_eq!(s.steps[0].status, StepStatus::Cancelled);
        assert_eq!(s.steps[1].status, StepStatus::Skipped);
        for h in &s.steps[0].hosts {
            assert_eq!(h.status, StepStatus::Cancelled, "{h:?}");
            let msg = h.message.clone().unwrap_or_default();
            assert!(
                msg.starts_with("cancelled: process group ") && msg.ends_with(" killed"),
                "{msg}"
            );
        }
    }
    // Nothing left: neither the sleeps nor their shells.
    for (t, marker) in [(&admin_node, &m1), (&dbsu_node, &m2)] {
        assert_eq!(
            remote_sleeps(&pool, t, marker).await,
            Vec::<String>::new(),
            "left behind on {}",
            t.name
        );
    }
    let log = std::fs::read_to_string(task.log_path()).unwrap();
    assert!(!log.contains("out| never"), "{log}");
    assert!(log.contains("task cancelled"), "{log}");
}

#[tokio::test]
async fn a_step_timeout_kills_the_remote_command() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let pool = SshPool::new(config(sb, home.path()));
    let runner = TaskRunner::ssh(pool.clone(), state.path());
    let d = deployment(sb);
    let t = target(sb, &d, sb.member("node-3"));
    let digits = unique();
    let p = Pipeline::new("slow", "pg-test-3").step(
        Step::command(
            "too slow",
            t.clone(),
            RemoteCommand::dbsu(format!("echo started; sleep 1000.{digits}")),
        )
        .timeout(Duration::from_secs(3)),
    );
    let (task, _events) = runner.start(p).unwrap();
    assert_eq!(task.wait().await, TaskStatus::Failed);
    {
        let s = task.state();
        assert_eq!(s.steps[0].status, StepStatus::TimedOut);
        let msg = s.steps[0].hosts[0].message.clone().unwrap();
        assert!(
            msg.starts_with("timed out after 3.00s: process group"),
            "{msg}"
        );
        let out: Vec<&str> = s.output[&t.name].lines().map(|l| l.text.as_str()).collect();
        assert_eq!(out, vec!["started"]);
    }
    assert!(remote_sleeps(&pool, &t, &digits).await.is_empty());
}

/// A wait on live Patroni state, then a step on the leader found at run
/// time (other test processes may switch over meanwhile: the leader is
/// looked up when the step starts, not when the pipeline is built).
#[tokio::test]
async fn wait_and_deferred_steps_follow_live_state() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let runner = TaskRunner::ssh(SshPool::new(config(sb, home.path())), state.path());
    let d = std::sync::Arc::new(deployment(sb));
    let p = Pipeline::new("check", "pg-test")
        .step(
            Step::wait("pg-test has a running leader", |ctx| async move {
                let l = sandbox().leader("pg-test").await;
                ctx.note(format!("leader: {l:?}"));
                Ok(l.is_ok())
            })
            .poll_every(Duration::from_millis(500))
            .timeout(Duration::from_secs(120)),
        )
        .step(Step::deferred("on the leader", move |ctx| {
            let d = d.clone();
            async move {
                let sb = sandbox();
                let leader = sb.leader("pg-test").await?;
                ctx.note(format!("running on {leader}"));
                Ok(vec![(
                    target(sb, &d, sb.member(&leader)),
                    RemoteCommand::dbsu("echo \"$PIGSTY_INSTANCE\"; psql -AtXc 'select 1'"),
                )])
            }
        }))
        .step(
            Step::wait("never true", |_| async { Ok(false) })
                .timeout(Duration::from_secs(2))
                .allow_failure(),
        );
    let (task, _events) = runner.start(p).unwrap();
    assert_eq!(
        task.wait().await,
        TaskStatus::Succeeded,
        "{:#?}",
        task.state().steps
    );
    let s = task.state();
    assert_eq!(s.steps[0].status, StepStatus::Succeeded);
    assert_eq!(s.steps[2].status, StepStatus::TimedOut);
    let leader = s.steps[1].hosts[0].host.clone();
    assert!(leader.starts_with("pg-test-"), "{leader}");
    let out: Vec<&str> = s.output[&leader].lines().map(|l| l.text.as_str()).collect();
    assert_eq!(out, vec![leader.as_str(), "1"]);
    assert!(
        s.output["local"]
            .lines()
            .any(|l| l.text == format!("running on {leader}"))
    );
}

#[tokio::test]
async fn task_logs_and_the_audit_log_hold_every_run() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let runner = TaskRunner::ssh(SshPool::new(config(sb, home.path())), state.path());
    let all = targets(sb);

    let ok = Pipeline::new("inspect", "sandbox").step(Step::fan_out(
        "uptime",
        all.clone(),
        RemoteCommand::admin("echo \"up on $PIGSTY_NODE\""),
    ));
    let bad = Pipeline::new("break", "pg-test")
        .step(Step::command(
            "secret",
            all[1].clone(),
            RemoteCommand::dbsu("echo 'token=hunter2' >/dev/null; echo done")
                .with_display("set the token (hidden)"),
        ))
        .step(Step::command(
            "fails",
            all[1].clone(),
            RemoteCommand::admin("echo about to fail >&2; exit 5"),
        ))
        .step(Step::command(
            "skipped",
            all[1].clone(),
            RemoteCommand::admin("true"),
        ));
    let (t1, _) = runner.start(ok).unwrap();
    assert_eq!(t1.wait().await, TaskStatus::Succeeded);
    let (t2, _) = runner.start(bad).unwrap();
    assert_eq!(t2.wait().await, TaskStatus::Failed);

    // Logs: every host's output, step results.
    let log1 = std::fs::read_to_string(t1.log_path()).unwrap();
    for m in &sb.members {
        assert!(
            log1.contains(&format!("{} out| up on {}", m.instance, m.node)),
            "{log1}"
        );
    }
    let log2 = std::fs::read_to_string(t2.log_path()).unwrap();
    assert!(log2.contains("err| about to fail"), "{log2}");
    assert!(log2.contains("failed, exit 5"), "{log2}");
    assert!(log2.contains("set the token (hidden)"), "{log2}");
    assert!(!log2.contains("hunter2"), "{log2}");
    assert_eq!(t1.log_path().parent().unwrap(), state.path().join("tasks"));

    // Audit: a start and a finish record per run, no secret.
    let text = std::fs::read_to_string(state.path().join("audit.jsonl")).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let recs = runner.audit().read_all().unwrap();
    assert_eq!(recs.len(), 4, "{text}");
    let who = pigsty_tui::tasks::local_user();
    for (rec, (id, event, status)) in recs.iter().zip([
        (t1.id(), "start", "running"),
        (t1.id(), "finish", "succeeded"),
        (t2.id(), "start", "running"),
        (t2.id(), "finish", "failed"),
    ]) {
        assert_eq!(
            (rec.id.as_str(), rec.event.as_str(), rec.status.as_str()),
            (id, event, status)
        );
        assert_eq!(rec.who, who);
    }
    assert_eq!(recs[1].action, "inspect");
    assert_eq!(recs[1].hosts.len(), 4);
    assert_eq!(recs[1].commands.len(), 4);
    assert!(recs[1].duration_ms.is_some());
    assert_eq!(recs[3].target, "pg-test");
    assert_eq!(recs[3].commands[0].command, "set the token (hidden)");
    assert_eq!(recs[3].commands[0].user, "postgres");
    assert_eq!(recs[3].steps[1].hosts[0].exit.as_deref(), Some("exit 5"));
    assert_eq!(recs[3].steps[2].status, "skipped");
}
