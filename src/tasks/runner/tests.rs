//! Pipeline semantics, with a scripted executor and the local one.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;

use super::*;
use crate::tasks::exec::ExecError;

/// An executor driven by the script text: `ok`, `fail`, `exit:N`,
/// `sleep:MS` (then ok), `out:TEXT`, `error:TEXT` (cannot run), `hang`.
#[derive(Default)]
struct Scripted {
    running: AtomicUsize,
    max_running: AtomicUsize,
    started: Mutex<Vec<String>>,
}

impl Executor for Arc<Scripted> {
    fn execute(
        &self,
        target: Target,
        command: RemoteCommand,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ExecOutcome, crate::tasks::exec::ExecError>> {
        let me = self.clone();
        Box::pin(async move {
            me.started.lock().unwrap().push(target.name.clone());
            let now = me.running.fetch_add(1, Ordering::SeqCst) + 1;
            me.max_running.fetch_max(now, Ordering::SeqCst);
            let script = command.script.clone();
            let (verb, arg) = script.split_once(':').unwrap_or((&script, ""));
            let r = match verb {
                "ok" => Ok(ExecOutcome::Exited(ExitStatus::Code(0))),
                "fail" => Ok(ExecOutcome::Exited(ExitStatus::Code(1))),
                "exit" => Ok(ExecOutcome::Exited(ExitStatus::Code(arg.parse().unwrap()))),
                "out" => {
                    output.emit(Stream::Stdout, arg.as_bytes());
                    output.emit(Stream::Stderr, b"e\n");
                    Ok(ExecOutcome::Exited(ExitStatus::Code(0)))
                }
                "error" => Err(ExecError::Io(std::io::Error::other(arg.to_string()))),
                "sleep" => {
                    let ms = arg.parse().unwrap();
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(ms)) => Ok(ExecOutcome::Exited(ExitStatus::Code(0))),
                        _ = cancel.cancelled() => Ok(ExecOutcome::Cancelled(CancelReport::Killed { pgid: 42 })),
                    }
                }
                "hang" => {
                    cancel.cancelled().await;
                    Ok(ExecOutcome::Cancelled(CancelReport::Killed { pgid: 42 }))
                }
                other => panic!("bad script {other}"),
            };
            me.running.fetch_sub(1, Ordering::SeqCst);
            r
        })
    }

    fn run_as_user(&self, target: &Target, command: &RemoteCommand) -> String {
        command.effective_user("dba", &target.dbsu).to_string()
    }
}

fn scripted(dir: &Path) -> (TaskRunner, Arc<Scripted>) {
    let ex = Arc::new(Scripted::default());
    let runner = TaskRunner::new(Arc::new(ex.clone()), dir).with_who("tester");
    (runner, ex)
}

fn host(n: usize) -> Target {
    Target::new(format!("10.0.0.{n}")).with_name(format!("h{n}"))
}

async fn collect(mut rx: mpsc::UnboundedReceiver<TaskEvent>) -> Vec<TaskEvent> {
    let mut v = Vec::new();
    while let Some(e) = rx.recv().await {
        v.push(e);
    }
    v
}

fn step_statuses(t: &TaskHandle) -> Vec<StepStatus> {
    t.state().steps.iter().map(|s| s.status).collect()
}

#[tokio::test]
async fn steps_run_in_order_and_everything_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, ex) = scripted(dir.path());
    let p = Pipeline::new("demo", "pg-test")
        .step(Step::command(
            "one",
            host(1),
            RemoteCommand::admin("out:hello\nwor"),
        ))
        .step(Step::command("two", host(2), RemoteCommand::dbsu("ok")));
    let (t, rx) = runner.start(p).unwrap();
    let events = collect(rx).await;
    assert_eq!(t.wait().await, TaskStatus::Succeeded);
    assert_eq!(*ex.started.lock().unwrap(), vec!["h1", "h2"]);
    assert_eq!(
        step_statuses(&t),
        vec![StepStatus::Succeeded, StepStatus::Succeeded]
    );
    // Events: step 0 start, host start, output…, host end, step end, step 1…, finished.
    assert_eq!(
        events[0],
        TaskEvent::StepStarted {
            step: 0,
            host: None
        }
    );
    assert!(matches!(
        events.last(),
        Some(TaskEvent::Finished {
            status: TaskStatus::Succeeded,
            ..
        })
    ));
    assert!(events.iter().any(|e| matches!(e, TaskEvent::Output { host, bytes, .. } if host == "h1" && bytes == b"hello\nwor")));

    let s = t.state();
    assert_eq!(s.who, "tester");
    assert_eq!(s.steps[1].hosts[0].user, "postgres");
    assert_eq!(s.steps[0].hosts[0].exit, Some(ExitStatus::Code(0)));
    let lines: Vec<&str> = s.output["h1"].lines().map(|l| l.text.as_str()).collect();
    // The unfinished "wor" was flushed when the host finished.
    assert_eq!(lines, vec!["hello", "e", "wor"]);

    let log = std::fs::read_to_string(&s.log_path).unwrap();
    assert!(s.log_path.starts_with(dir.path().join("tasks")));
    assert!(log.contains("# action demo on pg-test"), "{log}");
    assert!(log.contains("h1 out| hello"), "{log}");
    assert!(log.contains("h1 out| wor"), "{log}");
    assert!(log.contains("--> h2 (as postgres): ok"), "{log}");
    assert!(log.contains("task succeeded"), "{log}");

    let audit = runner.audit().read_all().unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].event, "start");
    assert_eq!(audit[0].status, "running");
    assert_eq!(audit[1].event, "finish");
    assert_eq!(audit[1].status, "succeeded");
    assert_eq!(audit[1].id, t.id());
    assert_eq!(audit[1].hosts, vec!["h1", "h2"]);
    assert_eq!(audit[1].commands[1].user, "postgres");
    assert_eq!(audit[1].steps[0].hosts[0].exit.as_deref(), Some("exit 0"));
    assert!(audit[1].duration_ms.is_some());
}

#[tokio::test]
async fn a_failed_step_stops_the_pipeline_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, ex) = scripted(dir.path());
    let p = Pipeline::new("a", "t")
        .step(Step::command("may fail", host(1), RemoteCommand::admin("exit:3")).allow_failure())
        .step(Step::command(
            "must pass",
            host(2),
            RemoteCommand::admin("fail"),
        ))
        .step(Step::command("never", host(3), RemoteCommand::admin("ok")));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(
        step_statuses(&t),
        vec![StepStatus::Failed, StepStatus::Failed, StepStatus::Skipped]
    );
    assert_eq!(*ex.started.lock().unwrap(), vec!["h1", "h2"]);
    assert_eq!(t.state().steps[0].hosts[0].exit, Some(ExitStatus::Code(3)));
    assert_eq!(t.state().steps[2].hosts[0].status, StepStatus::Skipped);
    let log = std::fs::read_to_string(t.log_path()).unwrap();
    assert!(log.contains("(failure allowed)"), "{log}");
}

#[tokio::test]
async fn executor_errors_fail_the_step_with_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = scripted(dir.path());
    let p = Pipeline::new("a", "t").step(Step::command(
        "x",
        host(1),
        RemoteCommand::admin("error:ssh dba@10.0.0.1:22: connection refused"),
    ));
    let (t, rx) = runner.start(p).unwrap();
    let events = collect(rx).await;
    assert_eq!(t.wait().await, TaskStatus::Failed);
    let s = t.state();
    assert_eq!(
        s.steps[0].hosts[0].message.as_deref(),
        Some("ssh dba@10.0.0.1:22: connection refused")
    );
    assert_eq!(s.steps[0].message, s.steps[0].hosts[0].message);
    assert!(events.iter().any(|e| matches!(e,
        TaskEvent::StepFinished { host: Some(h), status: StepStatus::Failed, message: Some(m), .. }
        if h == "h1" && m.contains("connection refused"))));
}

#[tokio::test]
async fn fan_out_respects_the_concurrency_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, ex) = scripted(dir.path());
    let p = Pipeline::new("a", "t").step(
        Step::fan_out("all", (1..=6).map(host), RemoteCommand::admin("sleep:50")).concurrency(2),
    );
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Succeeded);
    assert_eq!(ex.max_running.load(Ordering::SeqCst), 2);
    assert_eq!(ex.started.lock().unwrap().len(), 6);
    assert!(
        t.state().steps[0]
            .hosts
            .iter()
            .all(|h| h.status == StepStatus::Succeeded)
    );
}

#[tokio::test]
async fn fan_out_failures_and_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, ex) = scripted(dir.path());
    let runs = vec![
        (host(1), RemoteCommand::admin("ok")),
        (host(2), RemoteCommand::admin("fail")),
        (host(3), RemoteCommand::admin("ok")),
    ];
    // Without fail-fast every host runs; the step fails.
    let p = Pipeline::new("a", "t").step(Step::fan_out_each("s", runs.clone()).concurrency(1));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(ex.started.lock().unwrap().len(), 3);
    assert_eq!(
        t.state().steps[0].message.as_deref(),
        Some("1 of 3 hosts failed")
    );
    // With fail-fast, h3 is skipped.
    ex.started.lock().unwrap().clear();
    let p = Pipeline::new("a", "t").step(Step::fan_out_each("s", runs).concurrency(1).fail_fast());
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(*ex.started.lock().unwrap(), vec!["h1", "h2"]);
    let hosts: Vec<StepStatus> = t.state().steps[0].hosts.iter().map(|h| h.status).collect();
    assert_eq!(
        hosts,
        vec![
            StepStatus::Succeeded,
            StepStatus::Failed,
            StepStatus::Skipped
        ]
    );
}

#[tokio::test]
async fn step_timeout_kills_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = scripted(dir.path());
    let p = Pipeline::new("a", "t")
        .step(
            Step::command("slow", host(1), RemoteCommand::admin("hang"))
                .timeout(Duration::from_millis(100)),
        )
        .step(Step::command("after", host(1), RemoteCommand::admin("ok")));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(
        step_statuses(&t),
        vec![StepStatus::TimedOut, StepStatus::Skipped]
    );
    let msg = t.state().steps[0].hosts[0].message.clone().unwrap();
    assert!(
        msg.starts_with("timed out after 0.10s: process group 42 killed"),
        "{msg}"
    );
}

#[tokio::test]
async fn cancel_stops_running_commands_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = scripted(dir.path());
    let p = Pipeline::new("a", "t")
        .step(Step::fan_out(
            "long",
            [host(1), host(2)],
            RemoteCommand::admin("hang"),
        ))
        .step(Step::command("after", host(1), RemoteCommand::admin("ok")));
    let (t, rx) = runner.start(p).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(t.status(), TaskStatus::Running);
    assert_eq!(t.state().current_step(), Some(0));
    t.cancel();
    assert_eq!(t.wait().await, TaskStatus::Cancelled);
    assert!(t.state().cancel_requested);
    assert_eq!(
        step_statuses(&t),
        vec![StepStatus::Cancelled, StepStatus::Skipped]
    );
    for h in &t.state().steps[0].hosts {
        assert_eq!(h.status, StepStatus::Cancelled);
        assert_eq!(
            h.message.as_deref(),
            Some("cancelled: process group 42 killed")
        );
    }
    let events = collect(rx).await;
    assert!(matches!(
        events.last(),
        Some(TaskEvent::Finished {
            status: TaskStatus::Cancelled,
            ..
        })
    ));
    let audit = runner.audit().read_all().unwrap();
    assert_eq!(audit.last().unwrap().status, "cancelled");
}

#[tokio::test]
async fn wait_steps_poll_until_true_fail_on_error_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = scripted(dir.path());
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let p = Pipeline::new("a", "t").step(
        Step::wait("third time lucky", move |ctx| {
            let n = p2.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                ctx.note(format!("poll {n}"));
                Ok(n >= 3)
            }
        })
        .poll_every(Duration::from_millis(10)),
    );
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Succeeded);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    let notes: Vec<String> = t.state().output[LOCAL_HOST]
        .lines()
        .map(|l| l.text.clone())
        .collect();
    assert_eq!(notes, vec!["poll 1", "poll 2", "poll 3"]);

    let p = Pipeline::new("a", "t").step(Step::wait("broken", |_| async {
        Err("leader vanished".to_string())
    }));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(
        t.state().steps[0].message.as_deref(),
        Some("leader vanished")
    );

    let p = Pipeline::new("a", "t").step(
        Step::wait("never", |_| async { Ok(false) })
            .poll_every(Duration::from_millis(10))
            .timeout(Duration::from_millis(80)),
    );
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(step_statuses(&t), vec![StepStatus::TimedOut]);
    assert_eq!(
        t.state().steps[0].message.as_deref(),
        Some("condition not met within 0.08s")
    );

    // A slow predicate is bounded by the timeout too, and cancel works.
    let p = Pipeline::new("a", "t").step(Step::wait("slow", |_| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(true)
    }));
    let (t, _rx) = runner.start(p).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    t.cancel();
    assert_eq!(t.wait().await, TaskStatus::Cancelled);
}

#[test]
fn scrollback_is_bounded_and_splits_lines() {
    let mut sb = Scrollback::new(3);
    sb.push(0, Stream::Stdout, b"a\nb");
    sb.push(0, Stream::Stderr, b"x");
    sb.push(0, Stream::Stdout, b"c\r\nd\ne\n");
    let texts: Vec<&str> = sb.lines().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, vec!["bc", "d", "e"]);
    assert_eq!(sb.dropped(), 1);
    assert_eq!(sb.pending().map(|l| l.text).collect::<Vec<_>>(), vec!["x"]);
    sb.flush(0);
    assert_eq!(sb.lines().last().unwrap().text, "x");
    assert_eq!(sb.lines().last().unwrap().stream, Stream::Stderr);
    assert_eq!(sb.pending().count(), 0);
}

/// Output without newlines (or with huge lines) is cut, and the ring holds
/// a bounded amount of text whatever the line lengths.
#[test]
fn scrollback_bounds_long_lines_and_total_bytes() {
    let mut sb = Scrollback::new(100_000);
    // 1 MiB in one line, fed in odd chunks, with multi-byte characters.
    let line = "é".repeat(512 << 10);
    for chunk in line.as_bytes().chunks(7777) {
        sb.push(0, Stream::Stdout, chunk);
        assert!(sb.pending().all(|l| l.text.len() <= MAX_LINE_BYTES));
    }
    sb.flush(0);
    let texts: Vec<&str> = sb.lines().map(|l| l.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .all(|t| t.len() <= MAX_LINE_BYTES && !t.contains('\u{fffd}'))
    );
    assert_eq!(
        texts.concat(),
        line,
        "cut at character boundaries, nothing lost"
    );
    // One huge line with a newline, then 64 MiB of lines: bounded text.
    let mut big = vec![b'x'; 3 * MAX_LINE_BYTES + 5];
    big.push(b'\n');
    sb.push(1, Stream::Stderr, &big);
    let block = vec![b'y'; 1 << 20];
    for _ in 0..64 {
        sb.push(1, Stream::Stdout, &block);
    }
    let total: usize = sb.lines().map(|l| l.text.len()).sum();
    assert!(total <= MAX_SCROLLBACK_BYTES, "{total}");
    assert!(sb.dropped() > 0);
    assert!(sb.lines().all(|l| l.text.len() <= MAX_LINE_BYTES));
}

#[test]
fn task_ids_are_unique_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let t = OffsetDateTime::from_unix_timestamp(1_764_132_612).unwrap();
    let (a, _, pa) = create_log(dir.path(), "Switch Over!", t).unwrap();
    let (b, _, _) = create_log(dir.path(), "Switch Over!", t).unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("20251126-045012-switch-over-"), "{a}");
    assert_eq!(pa, dir.path().join(format!("{a}.log")));
}

/// The local executor runs real processes and kills the whole process
/// group on cancel.
#[tokio::test]
async fn local_executor_runs_and_kills_process_groups() {
    let dir = tempfile::tempdir().unwrap();
    let runner = TaskRunner::local(dir.path());
    // A unique sleep, and a pattern that does not match pgrep itself.
    let digits = format!(
        "{}{}",
        std::process::id(),
        OffsetDateTime::now_utc().nanosecond()
    );
    let pattern = format!("[s]leep 1000\\.{digits}");
    let p = Pipeline::new("local", "here")
        .step(Step::command(
            "echo",
            Target::new("localhost").with_name("me"),
            RemoteCommand::admin("echo \"host=$PIGSTY_TUI_HOST\"; echo oops >&2; exit 0"),
        ))
        .step(
            Step::command(
                "long",
                Target::new("localhost"),
                RemoteCommand::admin(format!("sleep 1000.{digits}; true"))
                    .with_display("sleep 1000"),
            )
            .timeout(Duration::from_secs(60)),
        );
    let (t, _rx) = runner.start(p).unwrap();
    // Wait for the sleep to run.
    let pgrep = || {
        std::process::Command::new("pgrep")
            .arg("-f")
            .arg(&pattern)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !pgrep() {
        assert!(std::time::Instant::now() < until, "sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.cancel();
    assert_eq!(t.wait().await, TaskStatus::Cancelled);
    assert!(!pgrep(), "process matching {pattern} survived");
    let s = t.state();
    // Two pipes: no order between stdout and stderr.
    let mut out: Vec<(Stream, &str)> = s.output["me"]
        .lines()
        .map(|l| (l.stream, l.text.as_str()))
        .collect();
    out.sort();
    assert_eq!(
        out,
        vec![(Stream::Stdout, "host=me"), (Stream::Stderr, "oops")]
    );
    assert_eq!(s.steps[1].hosts[0].command, "sleep 1000");
}

/// A step with `capture_stdout` keeps each host's stdout whole however
/// few lines the display scrollback keeps, up to its limit; other steps
/// capture nothing.
#[tokio::test]
async fn captured_stdout_is_whole_beyond_the_scrollback_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let runner = TaskRunner::local(dir.path()).with_scrollback(10);
    let here = || Target::new("localhost").with_name("me");
    let p = Pipeline::new("local", "here")
        .step(
            Step::command(
                "many lines",
                here(),
                RemoteCommand::admin("seq 1 20000; echo noise >&2"),
            )
            .capture_stdout(1 << 20),
        )
        .step(Step::command("cut", here(), RemoteCommand::admin("seq 1 1000")).capture_stdout(100))
        .step(Step::command(
            "not captured",
            here(),
            RemoteCommand::admin("echo x"),
        ));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Succeeded);
    let s = t.state();
    assert!(s.output["me"].dropped() > 0, "the scrollback dropped lines");
    let whole = s.steps[0].hosts[0].stdout.as_ref().expect("captured");
    assert!(whole.complete());
    let expected: String = (1..=20000).map(|n| format!("{n}\n")).collect();
    assert_eq!(whole.text(), expected, "stdout only, every line");
    let cut = s.steps[1].hosts[0].stdout.as_ref().expect("captured");
    assert_eq!(cut.bytes.len(), 100);
    assert!(!cut.complete());
    let all: usize = (1..=1000).map(|n: u32| n.to_string().len() + 1).sum();
    assert_eq!(cut.cut as usize, all - 100);
    assert_eq!(s.steps[2].hosts[0].stdout, None);
}

#[tokio::test]
async fn follow_prints_progress_for_headless_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = scripted(dir.path());
    let p = Pipeline::new("demo", "pg-test")
        .step(Step::command(
            "say",
            host(1),
            RemoteCommand::admin("out:hi\npart"),
        ))
        .step(Step::command(
            "fail",
            host(2),
            RemoteCommand::admin("exit:2"),
        ));
    let (t, rx) = runner.start(p).unwrap();
    let mut out = Vec::new();
    let st = follow(&t, rx, &mut out, true).await;
    assert_eq!(st, TaskStatus::Failed);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("task {}: demo on pg-test (log ", t.id())),
        "{text}"
    );
    assert_eq!(lines[1], "[1/2] say");
    assert_eq!(lines[2], "  h1: started");
    assert!(text.contains("    h1 | hi\n"), "{text}");
    assert!(text.contains("    h1 ! e\n"), "{text}");
    assert!(text.contains("    h1 | part\n"), "{text}");
    assert!(text.contains("  h2: failed (exit 2, "), "{text}");
    assert!(text.contains("[2/2] fail: failed in "), "{text}");
    assert!(
        lines.last().unwrap().starts_with("task failed in "),
        "{text}"
    );
}

#[tokio::test]
async fn deferred_steps_choose_their_hosts_when_they_start() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, ex) = scripted(dir.path());
    let chosen = Arc::new(Mutex::new(None::<usize>));
    let c2 = chosen.clone();
    let c3 = chosen.clone();
    let p = Pipeline::new("a", "t")
        .step(Step::wait("find the leader", move |_| {
            *c2.lock().unwrap() = Some(3);
            async { Ok(true) }
        }))
        .step(Step::deferred("on the leader", move |ctx| {
            let n = c3.lock().unwrap().unwrap();
            async move {
                ctx.note(format!("leader is h{n}"));
                Ok(vec![(host(n), RemoteCommand::dbsu("ok"))])
            }
        }))
        .step(Step::deferred("cannot choose", |_| async {
            Err::<Vec<(Target, RemoteCommand)>, _>("no leader".to_string())
        }));
    let (t, _rx) = runner.start(p).unwrap();
    assert_eq!(t.wait().await, TaskStatus::Failed);
    assert_eq!(*ex.started.lock().unwrap(), vec!["h3"]);
    {
        let s = t.state();
        assert_eq!(s.steps[1].kind, StepKindTag::Deferred);
        assert_eq!(s.steps[1].status, StepStatus::Succeeded);
        assert_eq!(s.steps[1].hosts[0].host, "h3");
        assert_eq!(s.steps[1].hosts[0].user, "postgres");
        assert_eq!(s.steps[2].status, StepStatus::Failed);
        assert_eq!(s.steps[2].message.as_deref(), Some("no leader"));
    }
    let audit = runner.audit().read_all().unwrap();
    let start: Vec<&str> = audit[0]
        .commands
        .iter()
        .map(|c| c.command.as_str())
        .collect();
    assert_eq!(
        start,
        vec![
            "wait: find the leader",
            "(hosts and commands chosen when the step starts)",
            "(hosts and commands chosen when the step starts)"
        ]
    );
    assert_eq!(audit[1].commands[1].host, "h3");
    assert_eq!(audit[1].commands[1].command, "ok");
    assert_eq!(audit[1].hosts, vec!["h3"]);
}
