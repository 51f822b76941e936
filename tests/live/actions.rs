//! Live tests of the operator actions through the real binary
//! (`pigsty-tui run …`) against the sandbox, in whichever DCS mode it runs
//! (etcd: `inventory/local.yml`, Pigsty v3; consul: `inventory/local-v1.yml`,
//! Pigsty v1): switchover (HAProxy follows), pre-check refusals, failover of
//! a paused cluster whose leader was killed, pgBackRest backup and listing,
//! inspection of a stopped member, dry run, read-only mode, confirmation and
//! the audit log.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pigsty_tui::tasks::audit::{AuditLog, AuditRecord};
use serde_json::Value;

use crate::harness::{PG_ADMIN, PORT_PRIMARY, Sandbox, port_open, psql, sandbox, wait_for};

/// The result of one `pigsty-tui` run.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `pigsty-tui run ARGS -i <inventory>` with the sandbox's known_hosts and
/// ssh port, a private state dir (`XDG_STATE_HOME`), config dir and home
/// (no ~/.ssh/config, no agent).
pub(crate) async fn run(sb: &Sandbox, state: &Path, args: &[&str]) -> Run {
    run_with(sb, &sb.inventory, state, args).await
}

/// [`run`] with another inventory.
async fn run_with(sb: &Sandbox, inventory: &Path, state: &Path, args: &[&str]) -> Run {
    let home = state.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pigsty-tui"))
        .arg("run")
        .args(args)
        .arg("-i")
        .arg(inventory)
        .arg("--ssh-port")
        .arg(sb.ssh_port.to_string())
        .env("XDG_STATE_HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .env("HOME", &home)
        .env("PIGSTY_TUI_KNOWN_HOSTS", &sb.known_hosts)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run pigsty-tui");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("$ pigsty-tui run {}\n{r:?}", args.join(" "));
    r
}

fn audit(state: &Path) -> Vec<AuditRecord> {
    AuditLog::new(&state.join("pigsty-tui"))
        .read_all()
        .expect("audit log")
}

/// What a session through HAProxy `primary` on `ip` lands on: (in recovery, server address).
fn via_haproxy(ip: &str) -> Result<(String, String), String> {
    let r = psql(
        ip,
        PORT_PRIMARY,
        PG_ADMIN,
        "postgres",
        "select pg_is_in_recovery(), inet_server_addr()",
    )?;
    let (a, b) = r
        .split_once('|')
        .ok_or_else(|| format!("unexpected: {r}"))?;
    Ok((a.to_string(), b.to_string()))
}

/// Resumes pg-test if a test panics while it is paused (before the
/// exclusive guard restores the sandbox: Patroni does not restart a killed
/// member's Postgres in maintenance mode).
struct ResumeOnDrop {
    armed: bool,
}

impl Drop for ResumeOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let sb = sandbox();
        for m in sb.cluster_members("pg-test") {
            let o = sb.ssh(
                m.ip,
                "sudo -iu postgres patronictl resume pg-test --wait 2>&1 || true",
            );
            if o.status.success() {
                eprintln!(
                    "[actions] resumed pg-test via {}: {}",
                    m.instance,
                    String::from_utf8_lossy(&o.stdout)
                );
                return;
            }
        }
    }
}

#[tokio::test]
async fn dry_run_readonly_and_confirmation_change_nothing() {
    let sb = sandbox();
    // Alone, with the replicas caught up: the switchover precheck rightly
    // refuses a candidate more than 1 MiB behind, which a backup running
    // beside this test (its checkpoint and WAL switch) briefly makes one.
    let _s = sb.exclusive().await;
    replicas_caught_up(sb).await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let leader = sb.leader("pg-test").await.unwrap();

    // Dry run: the exact commands per host and user, exit 0.
    let r = run(
        sb,
        st,
        &[
            "switchover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-2",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let flag = match sb.dcs {
        crate::harness::Dcs::Etcd => "--leader",
        crate::harness::Dcs::Consul => "--master",
    };
    let want = format!(
        "postgres@{leader} ({}): set -o pipefail; patronictl -c /tmp/pigsty-sandbox/{}/pg/bin/patroni.yml switchover pg-test {flag} {leader} --candidate pg-test-2 --force",
        sb.member(&leader).ip,
        sb.member(&leader).ip
    );
    assert!(r.stdout.contains(&want), "want {want}\n{r:?}");
    assert!(r.stdout.contains("PGPASSWORD=***"), "{r:?}");
    assert!(!r.stdout.contains(PG_ADMIN.1), "password shown: {r:?}");
    assert!(r.stdout.contains("dry run: nothing was run"), "{r:?}");
    let r = run(
        sb,
        st,
        &[
            "switchover",
            "-c",
            "pg-test",
            "--scheduled",
            "2030-01-01T03:00+00:00",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("--candidate pg-test-2 --force --scheduled 2030-01-01T03:00+00:00"),
        "the healthiest replica, scheduled: {r:?}"
    );
    assert!(!r.stdout.contains("[2]"), "nothing to wait for: {r:?}");
    let r = run(
        sb,
        st,
        &["backup", "-c", "pg-test", "--type", "diff", "--dry-run"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "postgres@{leader} ({}): pgbackrest --config=/tmp/pigsty-sandbox/{}/etc/pgbackrest/pgbackrest.conf --stanza=pg-test --type=diff backup",
            sb.member(&leader).ip,
            sb.member(&leader).ip
        )),
        "{r:?}"
    );

    // Read-only: mutating actions refused, listing and inspection allowed.
    for args in [
        &["switchover", "-c", "pg-test", "--yes"][..],
        &["pause", "-c", "pg-test"],
        &["backup", "-c", "pg-test"],
        &["restart", "-c", "pg-test", "--member", "pg-test-2"],
    ] {
        let mut a = args.to_vec();
        a.push("--readonly");
        let r = run(sb, st, &a).await;
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("read-only mode refuses"), "{r:?}");
    }
    let r = run(sb, st, &["backups", "-c", "pg-test", "--readonly"]).await;
    assert_eq!(r.code, 0, "{r:?}");

    // No --yes and no terminal: refused, nothing run. (Tests running beside
    // this one write WAL — backups — and a replica lagging past 1 MiB makes
    // the pre-checks refuse first: wait until the candidate has caught up.)
    replicas_caught_up(sb).await;
    let r = run(
        sb,
        st,
        &["switchover", "-c", "pg-test", "--candidate", "pg-test-2"],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("needs the cluster name typed on a terminal, or --yes"),
        "{r:?}"
    );
    // On a terminal the cluster name must be typed: a wrong one refuses.
    replicas_caught_up(sb).await;
    let home = st.join("home");
    let cmd = format!(
        "{} run switchover -c pg-test --candidate pg-test-2 -i {} --ssh-port {}",
        env!("CARGO_BIN_EXE_pigsty-tui"),
        sb.inventory.display(),
        sb.ssh_port
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("XDG_STATE_HOME", st)
        .env("XDG_CONFIG_HOME", st.join("config"))
        .env("HOME", &home)
        .env("PIGSTY_TUI_KNOWN_HOSTS", &sb.known_hosts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"pg-tset\n").await.unwrap();
        // Keep stdin open until the prompt has been answered.
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("prompt answered")
            .unwrap();
        drop(stdin);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(
            text.contains("Type the cluster name (pg-test) to confirm"),
            "{text}"
        );
        assert!(text.contains("does not match the cluster name"), "{text}");
    }

    // `readonly: true` in the configuration file refuses like --readonly.
    let cfg = st.join("config/pigsty-tui");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.yml"), "readonly: true\n").unwrap();
    let r = run(sb, st, &["pause", "-c", "pg-test"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("read-only mode refuses pause"), "{r:?}");
    let r = run(sb, st, &["inspect", "-c", "pg-meta"]).await;
    // Allowed: the report is printed (it may fail on this machine's disk,
    // which inspection_of_a_healthy_deployment_passes judges).
    assert_ne!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("inspection of pg-meta"), "{r:?}");
    assert!(!r.stderr.contains("read-only"), "{r:?}");
    std::fs::remove_file(cfg.join("config.yml")).unwrap();

    // Unknown cluster / member; failover with a healthy leader.
    let r = run(sb, st, &["pause", "-c", "pg-nope"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no cluster 'pg-nope'"), "{r:?}");
    let r = run(
        sb,
        st,
        &["reinit", "-c", "pg-test", "--member", "pg-test-9", "--yes"],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no member 'pg-test-9'"), "{r:?}");
    let r = run(
        sb,
        st,
        &[
            "failover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-2",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "already has a healthy leader {leader}: use switchover"
        )),
        "{r:?}"
    );
    assert_eq!(sb.leader("pg-test").await.unwrap(), leader, "nothing moved");

    // Every run is in the audit log: dry runs, refusals, the listing.
    let recs = audit(st);
    let count = |event: &str, action: &str| {
        recs.iter()
            .filter(|r| r.event == event && r.action == action)
            .count()
    };
    assert_eq!(count("dry-run", "switchover"), 2, "{recs:#?}");
    assert_eq!(count("dry-run", "backup"), 1);
    assert_eq!(count("refused", "switchover"), 3);
    assert_eq!(count("refused", "pause"), 3);
    assert_eq!(count("finish", "inspect"), 1);
    assert_eq!(count("refused", "backup"), 1);
    assert_eq!(count("refused", "restart"), 1);
    assert_eq!(count("refused", "reinit"), 1);
    assert_eq!(count("refused", "failover"), 1);
    assert_eq!(count("start", "backups"), 1);
    assert_eq!(count("finish", "backups"), 1);
    let dry = recs.iter().find(|r| r.event == "dry-run").unwrap();
    assert!(
        dry.commands
            .iter()
            .any(|c| c.command.contains("switchover pg-test")),
        "{dry:?}"
    );
    let refused = recs
        .iter()
        .find(|r| r.event == "refused" && r.action == "failover")
        .unwrap();
    assert!(
        refused.steps[0]
            .message
            .as_deref()
            .unwrap()
            .contains("healthy leader"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn switchover_moves_the_leader_and_haproxy_follows() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    assert_eq!(sb.leader("pg-test").await.unwrap(), "pg-test-1");
    let before: u64 = sb.cluster("pg-test").await.unwrap()["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "pg-test-1")
        .and_then(|m| m["timeline"].as_u64())
        .unwrap();

    let t0 = std::time::Instant::now();
    let r = run(
        sb,
        st,
        &[
            "switchover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-2",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("task succeeded"), "{r:?}");
    assert!(
        r.stdout.contains("switchover pg-test: succeeded in"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("pg-test-2 leads on timeline {}", before + 1)),
        "{r:?}"
    );
    eprintln!("switchover took {:?}", t0.elapsed());

    // Patroni agrees, and HAProxy 5433 on every node reaches pg-test-2.
    assert_eq!(sb.leader("pg-test").await.unwrap(), "pg-test-2");
    for m in sb.cluster_members("pg-test") {
        let (rec, addr) = via_haproxy(m.ip).unwrap();
        assert_eq!(
            (rec.as_str(), addr.as_str()),
            ("f", "127.0.0.12"),
            "via {}",
            m.ip
        );
    }
    let recs = audit(st);
    let fin = recs
        .iter()
        .find(|r| r.event == "finish" && r.action == "switchover")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(fin.status, "succeeded");
    assert_eq!(fin.target, "pg-test");
    assert!(fin.hosts.contains(&"pg-test-1".to_string()));
    assert!(
        fin.commands.iter().any(|c| c.host == "pg-test-1"
            && c.user == "postgres"
            && c.command.contains("--candidate pg-test-2")),
        "{fin:?}"
    );
    assert!(fin.commands.iter().all(|c| !c.command.contains(PG_ADMIN.1)));
    assert!(recs.iter().any(|r| r.event == "start" && r.id == fin.id));
    assert!(Path::new(&fin.log).exists());
    x.release().await;
}

#[tokio::test]
async fn precheck_refuses_a_stopped_candidate_and_inspection_fails_it() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    sb.script_ok(&["stop", "node-3", "patroni"]).unwrap();
    wait_for(
        "pg-test-3's Patroni to stop",
        Duration::from_secs(30),
        || async {
            if port_open("127.0.0.13", 8008) {
                Err("still listening".to_string())
            } else {
                Ok(())
            }
        },
    )
    .await;

    let r = run(
        sb,
        st,
        &[
            "switchover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-3",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("candidate pg-test-3 is not running"),
        "{r:?}"
    );
    assert_eq!(
        sb.leader("pg-test").await.unwrap(),
        "pg-test-1",
        "nothing moved"
    );

    // Inspection reports pg-test-3 failed (Postgres stopped with its
    // Patroni), the others pass their Postgres check; exit 1.
    let r = run(sb, st, &["inspect", "-c", "pg-test", "--format", "json"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["status"], "fail");
    let host = |name: &str| {
        report["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == name)
            .cloned()
            .unwrap()
    };
    let status = |h: &Value, check: &str| {
        h["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == check)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    let h3 = host("pg-test-3");
    assert_eq!(status(&h3, "patroni").as_deref(), Some("fail"), "{h3}");
    assert_eq!(status(&h3, "ports").as_deref(), Some("fail"), "{h3}");
    let h1 = host("pg-test-1");
    assert_eq!(status(&h1, "postgres").as_deref(), Some("pass"), "{h1}");
    assert_eq!(status(&h1, "patroni").as_deref(), Some("pass"), "{h1}");
    let md = run(
        sb,
        st,
        &["inspect", "-c", "pg-test", "--format", "markdown"],
    )
    .await;
    assert_eq!(md.code, 1);
    assert!(
        md.stdout.contains("| pg-test-3 | patroni | **fail** |"),
        "{md:?}"
    );
    x.release().await;
}

#[tokio::test]
async fn failover_of_a_paused_cluster_after_killing_the_leader() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let mut resume = ResumeOnDrop { armed: false };
    let state = tempfile::tempdir().unwrap();
    let st = state.path();

    // Paused, Patroni does not fail over by itself: the failover is ours.
    let r = run(sb, st, &["pause", "-c", "pg-test"]).await;
    resume.armed = true;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(sb.cluster("pg-test").await.unwrap()["pause"], true);
    let r = run(sb, st, &["pause", "-c", "pg-test"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("already paused"), "{r:?}");

    sb.script_ok(&["kill", "node-1", "member"]).unwrap();
    let r = run(
        sb,
        st,
        &[
            "failover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-2",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("pg-test-2 leads on timeline"), "{r:?}");
    assert_eq!(sb.leader("pg-test").await.unwrap(), "pg-test-2");
    // The surviving nodes' HAProxy (and the dead member's, still running)
    // reach the new primary.
    for ip in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        let (rec, addr) = via_haproxy(ip).unwrap();
        assert_eq!(
            (rec.as_str(), addr.as_str()),
            ("f", "127.0.0.12"),
            "via {ip}"
        );
    }
    // A second failover: pg-test-2 is a healthy leader now.
    let r = run(
        sb,
        st,
        &[
            "failover",
            "-c",
            "pg-test",
            "--candidate",
            "pg-test-3",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("healthy leader pg-test-2"), "{r:?}");

    let r = run(sb, st, &["resume", "-c", "pg-test"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    resume.armed = false;
    assert_eq!(sb.cluster("pg-test").await.unwrap()["pause"], Value::Null);
    let recs = audit(st);
    for action in ["pause", "failover", "resume"] {
        assert!(
            recs.iter()
                .any(|r| r.event == "finish" && r.action == action && r.status == "succeeded"),
            "{action}: {recs:#?}"
        );
    }
    drop(resume);
    x.release().await;
}

#[tokio::test]
async fn pgbackrest_backup_appears_in_the_listing() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let labels = |r: &Run| -> Vec<String> {
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        assert_eq!(v["method"], "pgbackrest");
        assert_eq!(v["stanza"], "pg-test");
        v["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["label"].as_str().unwrap().to_string())
            .collect()
    };
    let r = run(sb, st, &["backups", "-c", "pg-test", "--format", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let before = labels(&r);

    let r = run(sb, st, &["backup", "-c", "pg-test", "--type", "full"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let leader = sb.leader("pg-test").await.unwrap();
    assert!(
        r.stdout.contains(&format!("{leader}: succeeded")),
        "ran on the leader: {r:?}"
    );

    let r = run(sb, st, &["backups", "-c", "pg-test", "--format", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let after = labels(&r);
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(new.len(), 1, "before {before:?} after {after:?}");
    let row = v["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| &b["label"].as_str().unwrap().to_string() == new[0])
        .unwrap();
    assert_eq!(row["type"], "full");
    assert!(row["size"].as_u64().unwrap() > 0);
    assert!(row["wal_start"].as_str().unwrap().len() == 24, "{row}");
    assert!(row["stop"].as_i64().unwrap() >= row["start"].as_i64().unwrap());
    // The text table names it too.
    let r = run(sb, st, &["backups", "-c", "pg-test"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(new[0].as_str()) && r.stdout.contains("LABEL"),
        "{r:?}"
    );
}

#[tokio::test]
async fn inspection_of_a_healthy_deployment_passes() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let state = tempfile::tempdir().unwrap();
    // Unknown host keys: refused, unless --accept-new-host-keys (recorded).
    let kh = state.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    let khs = kh.display().to_string();
    let r = run(
        sb,
        state.path(),
        &["inspect", "-c", "pg-test", "--known-hosts", &khs],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout.matches("unknown host key").count(), 3, "{r:?}");
    let r = run(
        sb,
        state.path(),
        &[
            "inspect",
            "-c",
            "pg-test",
            "--known-hosts",
            &khs,
            "--accept-new-host-keys",
        ],
    )
    .await;
    assert!(!r.stdout.contains("unknown host key"), "{r:?}");
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(recorded.lines().count(), 3, "{recorded}");

    let r = run(sb, state.path(), &["inspect", "--format", "json"]).await;
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let failed: Vec<&Value> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["checks"].as_array().unwrap().iter())
        .filter(|c| c["status"] == "fail")
        .collect();
    // The sandbox lives on this machine's disk: the disk check may fail only
    // when the filesystem really is 90 % full (the default threshold).
    let host_disk_full = host_disk_used_pct(&sb.dir) >= 90;
    let unexplained: Vec<&&Value> = failed
        .iter()
        .filter(|c| !(c["check"] == "disk" && host_disk_full))
        .collect();
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    assert_eq!(r.code, i32::from(!failed.is_empty()), "{r:?}");
    assert_eq!(report["hosts"].as_array().unwrap().len(), 4);
    let checks: Vec<&str> = report["hosts"][1]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "postgres",
            "replication",
            "slots",
            "disk",
            "load",
            "memory",
            "patroni",
            "ports"
        ]
    );
}

#[tokio::test]
async fn restart_reload_and_reinit_a_replica() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let started = || {
        psql(
            "127.0.0.13",
            crate::harness::PG_PORT,
            PG_ADMIN,
            "postgres",
            "select pg_postmaster_start_time()",
        )
        .unwrap()
    };
    let t0 = started();
    let r = run(
        sb,
        st,
        &["restart", "-c", "pg-test", "--member", "pg-test-3"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Success: restart on member pg-test-3"),
        "{r:?}"
    );
    assert_ne!(started(), t0, "postmaster restarted");

    let r = run(sb, st, &["reload", "-c", "pg-test"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for m in ["pg-test-1", "pg-test-2", "pg-test-3"] {
        assert!(
            r.stdout
                .contains(&format!("Reload request received for member {m}")),
            "{r:?}"
        );
    }

    // reinit of the leader is refused; of a replica rebuilds it.
    let r = run(
        sb,
        st,
        &["reinit", "-c", "pg-test", "--member", "pg-test-1", "--yes"],
    )
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("pg-test-1 is the leader"), "{r:?}");
    let marker = sb
        .ssh_ok(
            "127.0.0.13",
            "sudo -iu postgres bash -c 'touch /tmp/pigsty-sandbox/127.0.0.13/pg/data/reinit-marker && echo ok'",
        )
        .unwrap();
    assert_eq!(marker, "ok");
    let r = run(
        sb,
        st,
        &["reinit", "-c", "pg-test", "--member", "pg-test-3", "--yes"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Reinitialize is completed on: pg-test-3"),
        "{r:?}"
    );
    assert!(
        !Path::new("/tmp/pigsty-sandbox/127.0.0.13/pg/data/reinit-marker").exists(),
        "the data directory was rebuilt"
    );
    sb.wait_cluster_healthy("pg-test", Duration::from_secs(60))
        .await;
    let recs = audit(st);
    for action in ["restart", "reload", "reinit"] {
        assert!(
            recs.iter()
                .any(|r| r.event == "finish" && r.action == action && r.status == "succeeded"),
            "{action}: {recs:#?}"
        );
    }
    x.release().await;
}

/// A v1-style deployment without pgBackRest: `pg_backup_method:
/// basebackup` (and `pg_backup_dir`) set in `all.vars` of a copy of the
/// sandbox inventory.
#[tokio::test]
async fn basebackup_appears_in_the_listing() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let dir = format!(
        "/tmp/pigsty-sandbox/backups/basebackup-test-{}",
        std::process::id()
    );
    let text = std::fs::read_to_string(&sb.inventory).unwrap();
    let mut out = String::new();
    let mut added = false;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !added && line.starts_with("    version: ") {
            out.push_str(&format!(
                "    pg_backup_method: basebackup\n    pg_backup_dir: {dir}\n"
            ));
            added = true;
        }
    }
    assert!(added, "no all.vars.version in {}", sb.inventory.display());
    let inv = st.join("inventory.yml");
    std::fs::write(&inv, out).unwrap();

    let r = run_with(sb, &inv, st, &["backup", "-c", "pg-test", "--type", "diff"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("diff backups need pgBackRest"), "{r:?}");
    let r = run_with(sb, &inv, st, &["backup", "-c", "pg-test"]).await;
    let listed = run_with(
        sb,
        &inv,
        st,
        &["backups", "-c", "pg-test", "--format", "json"],
    )
    .await;
    let _ = sb.ssh(sb.member("pg-test-1").ip, &format!("sudo rm -rf {dir}"));
    assert_eq!(r.code, 0, "{r:?}");
    let leader = sb.leader("pg-test").await.unwrap();
    assert!(
        r.stdout.contains(&format!("{leader}: succeeded")),
        "on the leader: {r:?}"
    );
    assert!(
        r.stdout.contains("pg_basebackup: base backup completed"),
        "{r:?}"
    );
    assert_eq!(listed.code, 0, "{listed:?}");
    let v: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(v["method"], "basebackup");
    let rows = v["backups"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["type"], "basebackup");
    assert!(
        rows[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("backup_pg-test_"),
        "{v}"
    );
    assert!(rows[0]["size"].as_u64().unwrap() > 1_000_000, "{v}");
}

/// Percent used of the filesystem holding `dir`, as `df` says.
fn host_disk_used_pct(dir: &std::path::Path) -> u32 {
    let out = std::process::Command::new("df")
        .args(["-P", "-B1"])
        .arg(dir)
        .output()
        .expect("df");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|p| p.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("cannot read df of {}: {text}", dir.display()))
}

/// Wait until every pg-test replica is within 1 MiB of the leader
/// (`maximum_lag_on_failover`), as Patroni's /cluster reports it.
async fn replicas_caught_up(sb: &Sandbox) {
    wait_for(
        "pg-test replicas within 1 MiB",
        Duration::from_secs(60),
        || async {
            let c = sb.cluster("pg-test").await?;
            for m in crate::harness::members_of(&c) {
                if m["role"] == "leader" {
                    continue;
                }
                match m["lag"].as_u64() {
                    Some(l) if l <= 1 << 20 => {}
                    _ => return Err(format!("{} lag {}", m["name"], m["lag"])),
                }
            }
            Ok(())
        },
    )
    .await;
}
