//! Unit tests of the action catalog, the pre-checks (on constructed
//! snapshots), the wait conditions, the pgBackRest parser (on a fixture
//! recorded from the sandbox) and inspection.

use std::path::Path;
use std::time::SystemTime;

use serde_json::json;

use super::catalog::{BackupMethod, BackupType, Catalog};
use super::live::Progress;
use super::*;
use crate::model::{Deployment, Generation};
use crate::snapshot::{ClusterLive, Fact, MemberLive, ServiceRouting, Snapshot};

fn load(name: &str) -> Deployment {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("inventory")
        .join(name);
    crate::inventory::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Pigsty v3 format (`inventory/local.yml`).
fn v3() -> Deployment {
    load("local.yml")
}

/// Pigsty v1 format (`inventory/local-v1.yml`).
fn v1() -> Deployment {
    load("local-v1.yml")
}

fn fact<T>(v: T) -> Option<Fact<T>> {
    Some(Fact {
        value: v,
        source: "test".into(),
        observed_at: SystemTime::now(),
        age_ms: 0,
        stale: false,
    })
}

fn member(name: &str, role: &str, state: &str, tl: u64, lag: u64) -> MemberLive {
    MemberLive {
        name: name.into(),
        declared: true,
        role: fact(role.to_string()),
        state: fact(state.to_string()),
        timeline: fact(tl),
        lag_bytes: fact(lag),
        paused: fact(false),
        reachable: Some(true),
        streaming: if role == "leader" { None } else { Some(true) },
        ..Default::default()
    }
}

fn down(name: &str) -> MemberLive {
    MemberLive {
        name: name.into(),
        declared: true,
        reachable: Some(false),
        error: Some("connection refused".into()),
        state: fact("unreachable".to_string()),
        ..Default::default()
    }
}

fn cluster(members: Vec<MemberLive>) -> ClusterLive {
    let leader = members
        .iter()
        .find(|m| m.is_leader())
        .map(|m| m.name.clone());
    ClusterLive {
        name: "pg-test".into(),
        leader: crate::snapshot::LeaderViews {
            patroni: leader.clone().and_then(fact),
            dcs: leader.and_then(fact),
            ..Default::default()
        },
        paused: fact(false),
        timeline: members
            .iter()
            .filter_map(|m| m.timeline.as_ref().map(|f| f.value))
            .max()
            .and_then(fact),
        members,
        ..Default::default()
    }
}

fn healthy() -> ClusterLive {
    cluster(vec![
        member("pg-test-1", "leader", "running", 7, 0),
        member("pg-test-2", "replica", "running", 7, 0),
        member("pg-test-3", "replica", "running", 7, 0),
    ])
}

fn snap(cl: ClusterLive) -> Snapshot {
    Snapshot {
        clusters: vec![cl],
        ..Default::default()
    }
}

fn switchover(candidate: Option<&str>) -> Action {
    Action::Switchover {
        cluster: "pg-test".into(),
        candidate: candidate.map(str::to_string),
        scheduled: None,
    }
}

fn plan(a: &Action, d: &Deployment, cl: ClusterLive) -> Result<ActionPlan, Refusal> {
    a.plan(d, &snap(cl), &PlanOptions::default())
}

fn refusal(a: &Action, d: &Deployment, cl: ClusterLive) -> Refusal {
    match plan(a, d, cl) {
        Ok(p) => panic!("expected a refusal, got {}", p.to_text()),
        Err(r) => r,
    }
}

fn commands(p: &ActionPlan) -> Vec<String> {
    p.commands.iter().map(|c| c.command.clone()).collect()
}

// ---------------------------------------------------------------------------
// Catalog

#[test]
fn catalog_defaults_per_generation() {
    let c1 = Catalog::for_generation(Generation::V1);
    assert_eq!(c1.patronictl_configs, ["/pg/bin/patroni.yml"]);
    assert_eq!(c1.leader_flag, "--master");
    assert_eq!(c1.backup_method, BackupMethod::Basebackup);
    let c2 = Catalog::for_generation(Generation::V2);
    assert_eq!(c2.patronictl_configs, ["/pg/bin/patroni.yml"]);
    assert_eq!(c2.leader_flag, "--leader");
    assert_eq!(c2.backup_method, BackupMethod::Pgbackrest);
    for g in [Generation::V3, Generation::V4] {
        let c = Catalog::for_generation(g);
        assert_eq!(
            c.patronictl_configs,
            ["/etc/patroni/patroni.yml", "/pg/bin/patroni.yml"]
        );
        assert_eq!(c.leader_flag, "--leader");
        assert_eq!(c.backup_script, "/pg/bin/pg-backup");
        assert_eq!(c.pigsty_home, "~/pigsty");
    }
    assert_eq!(
        catalog::META_PATRONICTL_CONFIG,
        "/etc/pigsty/patronictl.yml"
    );
}

/// Without the sandbox's extra host vars, the generation's defaults apply.
#[test]
fn catalog_commands_with_pigsty_defaults() {
    for (mut d, flag) in [(v3(), "--leader"), (v1(), "--master")] {
        let gen_ = d.generation;
        let i = &mut d
            .clusters
            .iter_mut()
            .find(|c| c.name == "pg-test")
            .unwrap()
            .instances[0];
        i.vars = crate::model::Vars::new();
        let d2 = d.clone();
        let i = d2.instance("pg-test-1").unwrap();
        let h = Catalog::of(&d2).host(&d2, i);
        assert_eq!(h.dbsu, "postgres");
        assert_eq!(h.pgbackrest_config, None);
        assert_eq!(h.stanza, "pg-test");
        let s = h.switchover("pg-test", "pg-test-1", "pg-test-2", None);
        assert_eq!(s.run_as, crate::tasks::RunAs::Dbsu);
        let cmd = s.script;
        if gen_ == Generation::V1 {
            assert!(
                cmd.contains("patronictl -c /pg/bin/patroni.yml switchover pg-test --master pg-test-1 --candidate pg-test-2 --force"),
                "{cmd}"
            );
            assert_eq!(h.backup_method, BackupMethod::Basebackup);
            let b = h.basebackup().script;
            assert!(b.starts_with("d=/pg/backup/backup_pg-test_$(date"), "{b}");
            assert!(b.contains("pg_basebackup"), "{b}");
        } else {
            assert!(
                cmd.contains("c=/etc/patroni/patroni.yml; for x in /etc/patroni/patroni.yml /pg/bin/patroni.yml; do [ -r \"$x\" ] && { c=$x; break; }; done; patronictl -c \"$c\" switchover pg-test --leader pg-test-1 --candidate pg-test-2 --force"),
                "{cmd}"
            );
            assert_eq!(h.backup_method, BackupMethod::Pgbackrest);
            assert_eq!(
                h.pgbackrest_backup(BackupType::Diff).script,
                "pgbackrest --stanza=pg-test --type=diff backup"
            );
        }
        assert!(cmd.contains(flag));
        assert!(cmd.starts_with("set -o pipefail; "), "{cmd}");
    }
}

#[test]
fn catalog_sandbox_overrides() {
    let d = v3();
    let i = d.instance("pg-test-2").unwrap();
    let h = Catalog::of(&d).host(&d, i);
    assert_eq!(
        h.patronictl_configs,
        ["/tmp/pigsty-sandbox/127.0.0.12/pg/bin/patroni.yml"]
    );
    assert_eq!(
        h.pause("pg-test").script,
        "set -o pipefail; patronictl -c /tmp/pigsty-sandbox/127.0.0.12/pg/bin/patroni.yml pause pg-test --wait 2>&1 | awk '{ print; fflush() } /^Error: |[Ff]ailed: |[Ff]ailed, details/ { bad = 1 } END { exit bad }'"
    );
    assert_eq!(
        h.pgbackrest_backup(BackupType::Full).script,
        "pgbackrest --config=/tmp/pigsty-sandbox/127.0.0.12/etc/pgbackrest/pgbackrest.conf --stanza=pg-test --type=full backup"
    );
    assert_eq!(
        h.pgbackrest_info().script,
        "pgbackrest --config=/tmp/pigsty-sandbox/127.0.0.12/etc/pgbackrest/pgbackrest.conf --stanza=pg-test --output=json info"
    );
    // v1 with pgbackrest_config set: pgBackRest, not pg_basebackup.
    let d = v1();
    let h = Catalog::of(&d).host(&d, d.instance("pg-test-1").unwrap());
    assert_eq!(h.backup_method, BackupMethod::Pgbackrest);
    assert_eq!(h.leader_flag, "--master");
}

#[test]
fn catalog_var_overrides_per_host() {
    let mut d = v3();
    {
        let i = &mut d
            .clusters
            .iter_mut()
            .find(|c| c.name == "pg-test")
            .unwrap()
            .instances[1];
        for (k, v) in [
            ("pg_dbsu", json!("pgdba")),
            ("patronictl_config", json!("/etc/pigsty/patronictl.yml")),
            ("patronictl_bin", json!("/opt/patroni/bin/patronictl")),
            ("patronictl_leader_flag", json!("--primary")),
            ("pgbackrest_stanza", json!("main")),
            ("pgbackrest_bin", json!("/usr/local/bin/pgbackrest")),
            ("pg_backup_method", json!("basebackup")),
            ("pg_backup_dir", json!("/data/backups/pg test")),
            ("pigsty_home", json!("/opt/pigsty")),
            ("pg_rpo", json!(0)),
            ("pg_bin_dir", json!("/usr/pgsql-16/bin")),
        ] {
            i.vars.insert(k.into(), v);
        }
    }
    let cat = Catalog::of(&d);
    let h = cat.host(&d, d.instance("pg-test-2").unwrap());
    assert_eq!(h.dbsu, "pgdba");
    assert_eq!(h.stanza, "main");
    assert_eq!(h.pigsty_home, "/opt/pigsty");
    assert_eq!(h.max_lag, 0);
    assert_eq!(h.backup_method, BackupMethod::Basebackup);
    assert!(
        h.switchover("pg-test", "a", "b", Some("2030-01-01T03:00+00:00"))
            .script
            .contains("/opt/patroni/bin/patronictl -c /etc/pigsty/patronictl.yml switchover pg-test --primary a --candidate b --force --scheduled 2030-01-01T03:00+00:00"),
    );
    let b = h.basebackup().script;
    assert!(
        b.starts_with("d='/data/backups/pg test'/backup_pg-test_$(date"),
        "{b}"
    );
    assert!(b.contains("/usr/pgsql-16/bin/pg_basebackup -h /tmp/pigsty-sandbox/127.0.0.12/run/postgresql -p 5432"), "{b}");
    assert!(
        h.pgbackrest_info()
            .script
            .starts_with("/usr/local/bin/pgbackrest --config=")
    );
    // Other hosts keep the defaults.
    let h1 = cat.host(&d, d.instance("pg-test-1").unwrap());
    assert_eq!(h1.dbsu, "postgres");
    assert_eq!(h1.stanza, "pg-test");
    // The target of a plan runs as the overridden dbsu.
    let t = crate::tasks::ssh::Target::from_instance(d.instance("pg-test-2").unwrap());
    assert_eq!(t.dbsu, "pgdba");
}

/// Names with shell metacharacters reach patronictl as single words.
#[test]
fn catalog_quotes_every_word() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("argv");
    std::fs::write(&bin, "#!/bin/sh\nfor a; do printf '[%s]\\n' \"$a\"; done\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut d = v3();
    {
        let i = &mut d
            .clusters
            .iter_mut()
            .find(|c| c.name == "pg-test")
            .unwrap()
            .instances[0];
        i.vars
            .insert("patronictl_bin".into(), json!(bin.display().to_string()));
        i.vars
            .insert("patronictl_config".into(), json!("/tmp/it's here.yml"));
    }
    let h = Catalog::of(&d).host(&d, d.instance("pg-test-1").unwrap());
    let cmd = h.switchover("pg test", "it's", "$(id) `id`; rm -rf /", None);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&cmd.script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[-c]\n[/tmp/it's here.yml]\n[switchover]\n[pg test]\n[--leader]\n[it's]\n[--candidate]\n[$(id) `id`; rm -rf /]\n[--force]\n"
    );
}

/// patronictl reporting a failure with exit 0 fails the command.
#[test]
fn catalog_patronictl_failure_lines_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = v3();
    let cases = [
        (
            "echo 'Switchover failed, details: 412, candidate name does not match'",
            false,
        ),
        (
            "echo 'Failed: restart for member pg-test-2, status code=503'",
            false,
        ),
        ("echo 'Error: Cluster is already paused' >&2; exit 1", false),
        ("echo 'Successfully switched over to \"pg-test-2\"'", true),
        ("echo '| pg-test-2 | start failed |'", true),
    ];
    for (n, (body, ok)) in cases.iter().enumerate() {
        let bin = dir.path().join(format!("p{n}"));
        std::fs::write(&bin, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let i = &mut d
            .clusters
            .iter_mut()
            .find(|c| c.name == "pg-test")
            .unwrap()
            .instances[0];
        i.vars
            .insert("patronictl_bin".into(), json!(bin.display().to_string()));
        let h = Catalog::of(&d).host(&d, d.instance("pg-test-1").unwrap());
        let st = std::process::Command::new("bash")
            .arg("-c")
            .arg(h.resume("pg-test").script)
            .output()
            .unwrap();
        assert_eq!(st.status.success(), *ok, "{body}: {st:?}");
    }
}

#[test]
fn haproxy_check_hides_the_password() {
    let d = v3();
    let h = Catalog::of(&d).host(&d, d.instance("pg-test-1").unwrap());
    let c = h.haproxy_primary_check("127.0.0.11", 5433, "test", "dbuser_dba", "S3cret'x");
    assert!(
        c.script.contains("PGPASSWORD='S3cret'\\''x'"),
        "{}",
        c.script
    );
    assert!(!c.shown().contains("S3cret"));
    assert!(c.shown().contains("PGPASSWORD=***"));
    assert!(
        c.shown()
            .contains("host=127.0.0.11 port=5433 dbname=test user=dbuser_dba")
    );
}

// ---------------------------------------------------------------------------
// Pre-checks

#[test]
fn switchover_plan_on_a_healthy_cluster() {
    let d = v3();
    let p = plan(&switchover(Some("pg-test-2")), &d, healthy()).unwrap();
    assert!(p.mutating);
    assert!(p.needs_typed_confirmation);
    assert_eq!(p.confirmation.as_deref(), Some("pg-test"));
    assert!(!p.confirms("pg-tes"));
    assert!(p.confirms(" pg-test\n"));
    assert_eq!(p.hosts, ["pg-test-1", "pg-test-2", "pg-test-3"]);
    assert_eq!(p.commands[0].host, "pg-test-1");
    assert_eq!(p.commands[0].user, "postgres");
    assert_eq!(p.commands[0].address, "127.0.0.11");
    assert!(
        p.commands[0]
            .command
            .contains("switchover pg-test --leader pg-test-1 --candidate pg-test-2 --force")
    );
    let pipeline = p.pipeline();
    let steps: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        steps,
        [
            "switchover pg-test-1 -> pg-test-2",
            "pg-test-2 leads on a timeline above 7",
            "HAProxy 5433 (primary) on every node routes to pg-test-2 only",
            "connect through HAProxy 5433 on every node: a primary answers",
            "replicas stream from pg-test-2",
        ]
    );
    // Secrets never reach the display form.
    assert!(!p.to_text().contains("DBUser.DBA"), "{}", p.to_text());
    assert!(p.to_text().contains("PGPASSWORD=***"));
}

#[test]
fn switchover_chooses_the_healthiest_replica() {
    let d = v3();
    // pg-test-3 is declared pg_offline_query: pg-test-2 is preferred.
    let p = plan(&switchover(None), &d, healthy()).unwrap();
    assert!(
        commands(&p)[0].contains("--candidate pg-test-2"),
        "{:?}",
        commands(&p)
    );
    // pg-test-2 lagging too much: pg-test-3.
    let mut cl = healthy();
    cl.members[1].lag_bytes = fact(5 << 20);
    let p = plan(&switchover(None), &d, cl).unwrap();
    assert!(commands(&p)[0].contains("--candidate pg-test-3"));
    // Nobody fit.
    let cl = cluster(vec![
        member("pg-test-1", "leader", "running", 7, 0),
        down("pg-test-2"),
        member("pg-test-3", "replica", "running", 6, 0),
    ]);
    let r = refusal(&switchover(None), &d, cl);
    assert_eq!(r.kind, RefusalKind::PreCheck);
    let all = r.reasons.join("\n");
    assert!(all.contains("no healthy switchover candidate"), "{all}");
    assert!(all.contains("pg-test-2 is not running"), "{all}");
    assert!(all.contains("pg-test-3 is on timeline 6"), "{all}");
}

#[test]
fn switchover_refuses_a_candidate_that_is_down() {
    let d = v3();
    let cl = cluster(vec![
        member("pg-test-1", "leader", "running", 7, 0),
        member("pg-test-2", "replica", "running", 7, 0),
        down("pg-test-3"),
    ]);
    let r = refusal(&switchover(Some("pg-test-3")), &d, cl);
    assert_eq!(r.reasons.len(), 1, "{r}");
    assert!(
        r.reasons[0].contains("candidate pg-test-3 is not running")
            && r.reasons[0].contains("connection refused"),
        "{r}"
    );
    assert!(r.to_string().starts_with("switchover pg-test refused: "));
    // A member that is stopped but whose Patroni answers.
    let cl = cluster(vec![
        member("pg-test-1", "leader", "running", 7, 0),
        member("pg-test-2", "replica", "stopped", 7, 0),
        member("pg-test-3", "replica", "running", 7, 0),
    ]);
    let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
    assert!(
        r.reasons[0].contains("pg-test-2 is not running: its state is 'stopped'"),
        "{r}"
    );
}

#[test]
fn switchover_refuses_a_lagging_candidate() {
    let d = v3();
    let mut cl = healthy();
    cl.members[1].lag_bytes = fact(2 << 20);
    let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
    assert!(
        r.reasons[0].contains("pg-test-2 lags 2097152 bytes")
            && r.reasons[0].contains("maximum_lag_on_failover (1048576 bytes)"),
        "{r}"
    );
    // Within pg_rpo.
    let mut cl = healthy();
    cl.members[1].lag_bytes = fact(1 << 20);
    assert!(plan(&switchover(Some("pg-test-2")), &d, cl).is_ok());
    // Unknown lag: a warning, not a refusal.
    let mut cl = healthy();
    cl.members[1].lag_bytes = None;
    let p = plan(&switchover(Some("pg-test-2")), &d, cl).unwrap();
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("lag of pg-test-2 is unknown"))
    );
}

#[test]
fn switchover_refuses_a_paused_cluster() {
    let d = v3();
    let mut cl = healthy();
    cl.paused = fact(true);
    let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
    assert!(
        r.reasons.iter().any(|x| x.contains("pg-test is paused")),
        "{r}"
    );
}

#[test]
fn switchover_refuses_another_timeline() {
    let d = v3();
    let mut cl = healthy();
    cl.members[1].timeline = fact(6);
    let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
    assert!(
        r.reasons[0].contains("pg-test-2 is on timeline 6, the leader is on timeline 7"),
        "{r}"
    );
}

#[test]
fn switchover_refuses_nofailover() {
    let d = v3();
    for tags in [
        json!({"nofailover": true}),
        json!({"nofailover": "true"}),
        json!({"failover_priority": 0}),
    ] {
        let mut cl = healthy();
        cl.members[1].tags = Some(tags.clone());
        let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
        assert!(
            r.reasons[0].contains("pg-test-2 is tagged nofailover"),
            "{tags}: {r}"
        );
    }
    let mut cl = healthy();
    cl.members[1].tags = Some(json!({"nofailover": false, "clonefrom": true}));
    assert!(plan(&switchover(Some("pg-test-2")), &d, cl).is_ok());
}

#[test]
fn switchover_needs_a_leader() {
    let d = v3();
    let cl = cluster(vec![
        down("pg-test-1"),
        member("pg-test-2", "replica", "running", 7, 0),
        member("pg-test-3", "replica", "running", 7, 0),
    ]);
    let r = refusal(&switchover(Some("pg-test-2")), &d, cl);
    assert!(r.reasons[0].contains("has no leader"), "{r}");
    assert!(r.reasons[0].contains("failover"), "{r}");
    // Candidate is the leader; unknown candidate.
    let r = refusal(&switchover(Some("pg-test-1")), &d, healthy());
    assert!(r.reasons[0].contains("already the leader"), "{r}");
    let r = refusal(&switchover(Some("pg-test-9")), &d, healthy());
    assert!(
        r.reasons[0].contains("pg-test-9 is not a member of pg-test"),
        "{r}"
    );
}

#[test]
fn unknown_cluster_and_member_are_invalid() {
    let d = v3();
    let a = Action::Pause {
        cluster: "pg-nope".into(),
    };
    let r = refusal(&a, &d, healthy());
    assert_eq!(r.kind, RefusalKind::Invalid);
    assert!(r.reasons[0].contains("no cluster 'pg-nope'") && r.reasons[0].contains("pg-test"));
    let a = Action::Reinit {
        cluster: "pg-test".into(),
        member: "pg-test-7".into(),
    };
    let r = refusal(&a, &d, healthy());
    assert_eq!(r.kind, RefusalKind::Invalid);
    assert!(r.reasons[0].contains("no member 'pg-test-7'"), "{r}");
}

#[test]
fn readonly_refuses_mutating_actions_only() {
    let d = v3();
    let opts = PlanOptions {
        readonly: true,
        ..Default::default()
    };
    let s = snap(healthy());
    for a in [
        switchover(None),
        Action::Pause {
            cluster: "pg-test".into(),
        },
        Action::Backup {
            cluster: "pg-test".into(),
            kind: BackupType::Full,
        },
        Action::Restart {
            cluster: "pg-test".into(),
            member: None,
        },
    ] {
        let r = a.plan(&d, &s, &opts).unwrap_err();
        assert_eq!(r.kind, RefusalKind::ReadOnly);
        assert!(r.reasons[0].contains("read-only"), "{r}");
    }
    for a in [
        Action::Backups {
            cluster: "pg-test".into(),
        },
        Action::Inspect { cluster: None },
    ] {
        let p = a.plan(&d, &s, &opts).unwrap();
        assert!(!p.mutating && !p.needs_typed_confirmation);
    }
}

#[test]
fn failover_plan_and_refusals() {
    let d = v3();
    let fo = |c: &str| Action::Failover {
        cluster: "pg-test".into(),
        candidate: c.into(),
    };
    // A healthy leader: use switchover.
    let r = refusal(&fo("pg-test-2"), &d, healthy());
    assert!(
        r.reasons[0].contains("already has a healthy leader pg-test-1: use switchover"),
        "{r}"
    );
    // The leader is down: runs on the candidate.
    let dead = || {
        let mut cl = cluster(vec![
            down("pg-test-1"),
            member("pg-test-2", "replica", "running", 7, 0),
            member("pg-test-3", "replica", "running", 7, 0),
        ]);
        cl.leader.dcs = fact("pg-test-1".to_string());
        cl
    };
    let p = plan(&fo("pg-test-2"), &d, dead()).unwrap();
    assert_eq!(p.commands[0].host, "pg-test-2");
    assert!(
        p.commands[0]
            .command
            .contains("failover pg-test --candidate pg-test-2 --force")
    );
    assert!(p.needs_typed_confirmation);
    // The candidate must be healthy too.
    let r = refusal(&fo("pg-test-1"), &d, dead());
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("candidate pg-test-1 is not running")),
        "{r}"
    );
    let mut cl = dead();
    cl.members[2].tags = Some(json!({"nofailover": true}));
    let r = refusal(&fo("pg-test-3"), &d, cl);
    assert!(r.reasons[0].contains("nofailover"), "{r}");
    let a = Action::Failover {
        cluster: "pg-test".into(),
        candidate: String::new(),
    };
    assert_eq!(refusal(&a, &d, dead()).kind, RefusalKind::Invalid);
}

#[test]
fn member_and_cluster_actions() {
    let d = v3();
    let cl3 = || {
        cluster(vec![
            member("pg-test-1", "leader", "running", 7, 0),
            member("pg-test-2", "replica", "running", 7, 0),
            down("pg-test-3"),
        ])
    };
    // reinit: not the leader, the member answers.
    let a = Action::Reinit {
        cluster: "pg-test".into(),
        member: "pg-test-1".into(),
    };
    assert!(refusal(&a, &d, healthy()).reasons[0].contains("is the leader"));
    let a = Action::Reinit {
        cluster: "pg-test".into(),
        member: "pg-test-3".into(),
    };
    assert!(refusal(&a, &d, cl3()).reasons[0].contains("pg-test-3 cannot be reinitialized"));
    let p = plan(&a, &d, healthy()).unwrap();
    assert!(p.needs_typed_confirmation);
    assert!(commands(&p)[0].contains("reinit pg-test pg-test-3 --force --wait"));
    // restart of the whole cluster needs every member; of one member only it.
    let a = Action::Restart {
        cluster: "pg-test".into(),
        member: None,
    };
    assert!(refusal(&a, &d, cl3()).reasons[0].contains("pg-test-3 cannot be restarted"));
    let p = plan(&a, &d, healthy()).unwrap();
    assert!(!p.needs_typed_confirmation && p.mutating);
    assert!(commands(&p)[0].contains("restart pg-test --force"));
    let a = Action::Reload {
        cluster: "pg-test".into(),
        member: Some("pg-test-2".into()),
    };
    let p = plan(&a, &d, cl3()).unwrap();
    assert_eq!(p.target, "pg-test-2");
    assert!(commands(&p)[0].contains("reload pg-test pg-test-2 --force"));
    assert_eq!(p.pipeline().steps.len(), 1);
    // pause / resume follow the live state.
    let pause = Action::Pause {
        cluster: "pg-test".into(),
    };
    let resume = Action::Resume {
        cluster: "pg-test".into(),
    };
    assert!(refusal(&resume, &d, healthy()).reasons[0].contains("is not paused"));
    let p = plan(&pause, &d, healthy()).unwrap();
    assert!(commands(&p)[0].contains("pause pg-test --wait"));
    let mut cl = healthy();
    cl.paused = fact(true);
    assert!(refusal(&pause, &d, cl.clone()).reasons[0].contains("already paused"));
    assert!(plan(&resume, &d, cl).is_ok());
    // Nobody answers at all.
    let cl = cluster(vec![
        down("pg-test-1"),
        down("pg-test-2"),
        down("pg-test-3"),
    ]);
    let r = refusal(&pause, &d, cl);
    assert!(r.reasons[0].contains("no member of pg-test answers"), "{r}");
}

#[test]
fn backup_plans() {
    let d = v3();
    let a = Action::Backup {
        cluster: "pg-test".into(),
        kind: BackupType::Incr,
    };
    let p = plan(&a, &d, healthy()).unwrap();
    assert_eq!(p.hosts, ["pg-test-1"]);
    assert!(commands(&p)[0].ends_with("--stanza=pg-test --type=incr backup"));
    assert!(!p.needs_typed_confirmation);
    // On the live leader, not the declared primary.
    let cl = cluster(vec![
        member("pg-test-1", "replica", "running", 8, 0),
        member("pg-test-2", "leader", "running", 8, 0),
        member("pg-test-3", "replica", "running", 8, 0),
    ]);
    assert_eq!(plan(&a, &d, cl).unwrap().hosts, ["pg-test-2"]);
    // No leader: refused.
    let cl = cluster(vec![
        down("pg-test-1"),
        member("pg-test-2", "replica", "running", 7, 0),
    ]);
    assert!(refusal(&a, &d, cl).reasons[0].contains("no leader"));
    // pg_basebackup (v1 without pgBackRest): full only.
    let mut d1 = v1();
    for c in &mut d1.clusters {
        for i in &mut c.instances {
            i.vars
                .insert("pg_backup_method".into(), json!("basebackup"));
        }
    }
    assert!(refusal(&a, &d1, healthy()).reasons[0].contains("need pgBackRest"));
    let full = Action::Backup {
        cluster: "pg-test".into(),
        kind: BackupType::Full,
    };
    assert!(commands(&plan(&full, &d1, healthy()).unwrap())[0].contains("pg_basebackup"));
}

// ---------------------------------------------------------------------------
// Wait conditions

#[test]
fn new_leader_waits_for_the_timeline() {
    assert!(matches!(
        new_leader_progress(&healthy(), "pg-test-2", Some(7)),
        Progress::Waiting(m) if m.contains("the leader is pg-test-1")
    ));
    let cl = cluster(vec![
        member("pg-test-1", "replica", "running", 7, 0),
        member("pg-test-2", "leader", "running", 7, 0),
    ]);
    assert!(matches!(
        new_leader_progress(&cl, "pg-test-2", Some(7)),
        Progress::Waiting(_)
    ));
    let cl = cluster(vec![
        member("pg-test-1", "replica", "running", 8, 0),
        member("pg-test-2", "leader", "running", 8, 0),
    ]);
    assert_eq!(
        new_leader_progress(&cl, "pg-test-2", Some(7)),
        Progress::Done("pg-test-2 leads on timeline 8".into())
    );
}

fn route(ip: &str, to: &[&str]) -> ServiceRouting {
    ServiceRouting {
        service: "primary".into(),
        port: Some(5433),
        proxy: "pg-test-primary".into(),
        haproxy: ip.into(),
        backend_status: Some("UP".into()),
        routes_to: to.iter().map(|s| s.to_string()).collect(),
        servers: Vec::new(),
        source: "test".into(),
        observed_at: SystemTime::now(),
        stale: false,
    }
}

#[test]
fn routing_waits_for_every_haproxy() {
    let nodes: Vec<(String, String)> = (1..=3)
        .map(|n| (format!("pg-test-{n}"), format!("127.0.0.1{n}")))
        .collect();
    let mut cl = healthy();
    cl.routing = vec![
        route("127.0.0.11", &["pg-test-2"]),
        route("127.0.0.12", &["pg-test-1"]),
    ];
    match routing_progress(&cl, &nodes, "primary", "pg-test-2", true) {
        Progress::Waiting(m) => assert!(
            m.contains("HAProxy primary on pg-test-2 -> pg-test-1"),
            "{m}"
        ),
        p => panic!("{p:?}"),
    }
    cl.routing[1] = route("127.0.0.12", &["pg-test-2"]);
    match routing_progress(&cl, &nodes, "primary", "pg-test-2", true) {
        Progress::Waiting(m) => assert!(m.contains("no HAProxy stats from pg-test-3"), "{m}"),
        p => panic!("{p:?}"),
    }
    // Failover: silent nodes are skipped.
    assert!(matches!(
        routing_progress(&cl, &nodes, "primary", "pg-test-2", false),
        Progress::Done(m) if m.contains("skipped")
    ));
    cl.routing.push(route("127.0.0.13", &["pg-test-2"]));
    assert!(matches!(
        routing_progress(&cl, &nodes, "primary", "pg-test-2", true),
        Progress::Done(_)
    ));
}

#[test]
fn members_running_and_paused_conditions() {
    let names = vec!["pg-test-3".to_string()];
    let cl = cluster(vec![
        member("pg-test-1", "leader", "running", 7, 0),
        down("pg-test-3"),
    ]);
    assert!(matches!(
        members_running_progress(&cl, &names),
        Progress::Waiting(_)
    ));
    let mut cl = healthy();
    cl.members[2].streaming = Some(false);
    assert!(matches!(
        members_running_progress(&cl, &names),
        Progress::Waiting(m) if m.contains("not streaming")
    ));
    assert!(matches!(
        members_running_progress(&healthy(), &names),
        Progress::Done(_)
    ));
    let mut cl = healthy();
    cl.members[0].paused = fact(true);
    assert!(
        matches!(paused_progress(&cl, true), Progress::Waiting(m) if m.contains("pg-test-2, pg-test-3"))
    );
    for m in &mut cl.members {
        m.paused = fact(true);
    }
    assert!(matches!(paused_progress(&cl, true), Progress::Done(_)));
}

// ---------------------------------------------------------------------------
// pgBackRest info

#[test]
fn pgbackrest_info_fixture() {
    let text = include_str!("../../tests/fixtures/actions/pgbackrest-info.json");
    let (status, rows) = backup::parse_pgbackrest_info(text, Some("pg-test")).unwrap();
    assert_eq!(status.as_deref(), Some("ok"));
    assert!(rows.len() >= 2, "{rows:?}");
    let full = &rows[0];
    assert_eq!(full.kind, "full");
    assert!(full.label.ends_with('F'), "{}", full.label);
    assert!(full.start.unwrap() <= full.stop.unwrap());
    assert!(full.size.unwrap() > full.repo_size.unwrap());
    assert_eq!(full.size, full.delta);
    assert_eq!(full.wal_start.as_deref().map(str::len), Some(24));
    assert!(full.lsn_start.as_deref().unwrap().contains('/'));
    assert_eq!(full.prior, None);
    let incr = &rows[1];
    assert_eq!(incr.kind, "incr");
    assert_eq!(incr.prior.as_deref(), Some(full.label.as_str()));
    assert!(incr.delta.unwrap() < incr.size.unwrap());
    assert!(!incr.error);
    let listing = BackupListing {
        cluster: "pg-test".into(),
        method: BackupMethod::Pgbackrest,
        host: "pg-test-1".into(),
        stanza: Some("pg-test".into()),
        status,
        backups: rows.clone(),
    };
    let t = listing.to_text();
    assert!(
        t.contains(&full.label) && t.contains("full") && t.contains("MiB"),
        "{t}"
    );
    let j: serde_json::Value = serde_json::from_str(&listing.to_json()).unwrap();
    assert_eq!(j["backups"][0]["type"], "full");
    assert_eq!(j["backups"][0]["label"], full.label.as_str());
    // A stanza without backups.
    let empty = r#"[{"archive":[],"backup":[],"cipher":"none","db":[],"name":"pg-test","repo":[],"status":{"code":2,"message":"no valid backups"}}]"#;
    let (status, rows) = backup::parse_pgbackrest_info(empty, Some("pg-test")).unwrap();
    assert_eq!(status.as_deref(), Some("no valid backups"));
    assert!(rows.is_empty());
}

// ---------------------------------------------------------------------------
// Inspection

fn inspect_host(d: &Deployment, name: &str, live_role: Option<&str>) -> inspect::InspectHost {
    let mut s = Snapshot::default();
    if let Some(r) = live_role {
        let mut cl = healthy();
        cl.members.retain(|m| m.name == name);
        cl.members[0].role = fact(r.to_string());
        s.clusters.push(cl);
    }
    let i = Inspection::new(d, &s, Some("pg-test")).unwrap();
    i.hosts.into_iter().find(|h| h.host == name).unwrap()
}

const PRIMARY_FACTS: &str = "@@ role\nf\n@@rc 0\n@@ replication\npg-test-2|streaming|async|0\npg-test-3|streaming|async|2097152\n@@rc 0\n@@ slots\npg_test_2|physical|t\npg_test_3|physical|f\n@@rc 0\n@@ disk\n/dev/sda1 270000000000 230000000000 40000000000 85% /\n@@rc 0\n@@ load\n0.50 0.40 0.30 1/200 1234\n2\n@@rc 0\n@@ memory\n               total        used        free      shared  buff/cache   available\nMem:     25000000000  2000000000 20000000000    10000000  3000000000 23000000000\nSwap:              0           0           0\n@@rc 0\n@@ patroni\n200\n@@rc 0\n@@ ports\nLISTEN 0 244 127.0.0.11:5432 0.0.0.0:*\nLISTEN 0 128 127.0.0.11:6432 0.0.0.0:*\nLISTEN 0 5 127.0.0.11:8008 0.0.0.0:*\nLISTEN 0 4096 *:9100 *:*\nLISTEN 0 4096 127.0.0.12:9630 0.0.0.0:*\nLISTEN 0 4096 [::]:9101 [::]:*\n@@rc 0\n";

#[test]
fn inspection_evaluates_a_primary() {
    let d = v3();
    let h = inspect_host(&d, "pg-test-1", Some("leader"));
    let checks = inspect::evaluate(&h, PRIMARY_FACTS);
    let by = |n: &str| checks.iter().find(|c| c.check == n).unwrap().clone();
    assert_eq!(by("postgres").status, CheckStatus::Pass);
    assert!(by("postgres").detail.starts_with("primary"));
    let r = by("replication");
    assert_eq!(r.status, CheckStatus::Warn, "{r:?}");
    assert!(r.detail.contains("pg-test-3 lags 2.0 MiB"), "{r:?}");
    let s = by("slots");
    assert_eq!(s.status, CheckStatus::Warn);
    assert!(s.detail.contains("inactive: pg_test_3"), "{s:?}");
    assert_eq!(by("disk").status, CheckStatus::Warn);
    assert_eq!(by("load").status, CheckStatus::Pass);
    assert_eq!(by("memory").status, CheckStatus::Pass);
    assert_eq!(by("patroni").status, CheckStatus::Pass);
    // 9630 listens on another node's IP only; the HAProxy ports are missing.
    let p = by("ports");
    assert_eq!(p.status, CheckStatus::Fail, "{p:?}");
    assert!(
        p.detail.contains("9630") && p.detail.contains("5433"),
        "{p:?}"
    );
    assert!(
        !p.detail.contains("9100") && !p.detail.contains("9101") && !p.detail.contains(" 5432"),
        "{p:?}"
    );
}

#[test]
fn inspection_running_backup_is_not_a_replica_and_disk_thresholds_are_variables() {
    let d = v3();
    let mut h = inspect_host(&d, "pg-test-1", Some("leader"));
    let facts = PRIMARY_FACTS.replace(
        "pg-test-3|streaming|async|2097152\n",
        "pg-test-3|streaming|async|0\npg_basebackup|backup|async|0\npg_basebackup|streaming|async|0\n",
    );
    let checks = inspect::evaluate(&h, &facts);
    let by = |c: &[inspect::CheckResult], n: &str| c.iter().find(|x| x.check == n).unwrap().clone();
    let r = by(&checks, "replication");
    assert_eq!(r.status, CheckStatus::Pass, "{r:?}");
    assert!(
        r.detail.ends_with("; backup running: pg_basebackup")
            && !r.detail.contains("not streaming"),
        "{r:?}"
    );
    // 85 % used: warn with the defaults, pass or fail as the inventory says.
    assert_eq!(by(&checks, "disk").status, CheckStatus::Warn);
    let mut d2 = v3();
    for c in &mut d2.clusters {
        for i in &mut c.instances {
            i.vars
                .insert("inspect_disk_warn_pct".into(), serde_json::json!(90));
            i.vars
                .insert("inspect_disk_fail_pct".into(), serde_json::json!("95%"));
        }
    }
    h = inspect_host(&d2, "pg-test-1", Some("leader"));
    assert_eq!(
        (h.settings.disk_warn_pct, h.settings.disk_fail_pct),
        (90, 95)
    );
    assert_eq!(
        by(&inspect::evaluate(&h, &facts), "disk").status,
        CheckStatus::Pass
    );
    h.settings.disk_fail_pct = 85;
    assert_eq!(
        by(&inspect::evaluate(&h, &facts), "disk").status,
        CheckStatus::Fail
    );
}

/// The checks read the step's captured stdout, not the display scrollback:
/// facts are evaluated however few lines the scrollback kept; facts cut at
/// the capture limit, or missing, are one clear failing check.
#[test]
fn inspection_reads_the_captured_facts_not_the_scrollback() {
    use crate::tasks::Stream;
    use crate::tasks::runner::{
        CapturedStdout, HostState, Scrollback, StepKindTag, StepState, TaskState, TaskStatus,
    };
    let d = v3();
    let insp = Inspection::new(&d, &Snapshot::default(), Some("pg-test")).unwrap();
    assert_eq!(insp.step().capture_stdout, Some(inspect::FACTS_LIMIT));
    let host = |h: &str, stdout: Option<CapturedStdout>| HostState {
        host: h.into(),
        user: "postgres".into(),
        command: "…".into(),
        status: StepStatus::Succeeded,
        exit: None,
        message: None,
        started: None,
        duration: None,
        stdout,
    };
    let facts = || CapturedStdout {
        bytes: PRIMARY_FACTS.as_bytes().to_vec(),
        cut: 0,
    };
    let mut output = std::collections::BTreeMap::new();
    for h in &insp.hosts {
        // A scrollback that dropped nearly everything.
        let mut sb = Scrollback::new(5);
        sb.push(0, Stream::Stdout, PRIMARY_FACTS.as_bytes());
        assert!(sb.dropped() > 0);
        output.insert(h.host.clone(), sb);
    }
    let names: Vec<&str> = insp.hosts.iter().map(|h| h.host.as_str()).collect();
    let hosts = vec![
        host(names[0], Some(facts())),
        host(
            names[1],
            Some(CapturedStdout {
                cut: 123,
                ..facts()
            }),
        ),
        host(names[2], None),
    ];
    let state = TaskState {
        id: "t".into(),
        action: "inspect".into(),
        target: "pg-test".into(),
        who: "test".into(),
        started: time::OffsetDateTime::now_utc(),
        finished: None,
        duration: None,
        status: TaskStatus::Succeeded,
        cancel_requested: false,
        steps: vec![StepState {
            name: "collect facts".into(),
            kind: StepKindTag::FanOut,
            status: StepStatus::Succeeded,
            allow_failure: false,
            started: None,
            duration: None,
            hosts,
            message: None,
        }],
        output,
        log_path: "/dev/null".into(),
    };
    let report = insp.report(&state, 0);
    let checks = |i: usize| -> Vec<(&str, CheckStatus)> {
        report.hosts[i]
            .checks
            .iter()
            .map(|c| (c.check.as_str(), c.status))
            .collect()
    };
    assert!(checks(0).len() > 3, "{:?}", report.hosts[0]);
    assert!(checks(0).iter().all(|(c, _)| *c != "facts"));
    assert_eq!(checks(1), [("facts", CheckStatus::Fail)]);
    assert!(
        report.hosts[1].checks[0].detail.contains("123 bytes more"),
        "{:?}",
        report.hosts[1]
    );
    assert_eq!(checks(2), [("facts", CheckStatus::Fail)]);
    assert!(report.hosts[2].checks[0].detail.contains("no facts"));
}

#[test]
fn inspection_evaluates_a_stopped_member_and_ssh_failures() {
    let d = v3();
    let h = inspect_host(&d, "pg-test-3", Some("replica"));
    let facts = "@@ role\npsql: error: connection to server on socket \"/tmp/x/.s.PGSQL.5432\" failed: No such file or directory\n@@rc 2\n@@ disk\n/dev/sda1 100 10 90 10% /\n@@rc 0\n@@ load\n9.0 1 1 1/1 1\n2\n@@rc 0\n@@ memory\nMem: 100 90 1 0 5 4\n@@rc 0\n@@ patroni\n000\n@@rc 7\n@@ ports\n@@rc 0\n";
    let checks = inspect::evaluate(&h, facts);
    let st: Vec<(&str, CheckStatus)> = checks
        .iter()
        .map(|c| (c.check.as_str(), c.status))
        .collect();
    assert_eq!(
        st,
        [
            ("postgres", CheckStatus::Fail),
            ("disk", CheckStatus::Pass),
            ("load", CheckStatus::Warn),
            ("memory", CheckStatus::Fail),
            ("patroni", CheckStatus::Fail),
            ("ports", CheckStatus::Fail),
        ]
    );
    assert!(checks[0].detail.contains("No such file"), "{:?}", checks[0]);
    // A replica seen as primary by Postgres but replica by Patroni: warn.
    let facts = "@@ role\nt\n@@rc 0\n@@ receiver\n|||\n@@rc 0\n";
    let h = inspect_host(&d, "pg-test-2", Some("leader"));
    let checks = inspect::evaluate(&h, facts);
    assert_eq!(checks[0].status, CheckStatus::Warn, "{checks:?}");
    let facts = "@@ role\nt\n@@rc 0\n@@ receiver\nstreaming|127.0.0.11|5432|pg_test_2\n@@rc 0\n";
    let h = inspect_host(&d, "pg-test-2", None);
    let checks = inspect::evaluate(&h, facts);
    assert_eq!(checks[1].status, CheckStatus::Pass, "{checks:?}");
    assert!(
        checks[1]
            .detail
            .contains("streaming from 127.0.0.11:5432 (slot pg_test_2)")
    );
}

#[test]
fn inspection_report_formats() {
    let d = v3();
    let h = inspect_host(&d, "pg-test-1", Some("leader"));
    let report = InspectionReport::new(
        "pg-test",
        vec![inspect::HostReport {
            host: h.host.clone(),
            cluster: h.cluster.clone(),
            ip: h.ip.clone(),
            checks: inspect::evaluate(&h, PRIMARY_FACTS),
        }],
    );
    assert!(report.failed());
    assert_eq!(report.status, CheckStatus::Fail);
    let t = report.to_text();
    assert!(
        t.contains("HOST") && t.contains("pg-test-1  postgres"),
        "{t}"
    );
    assert!(t.trim_end().ends_with(&format!(
        "fail: {} pass, {} warn, {} fail",
        report.summary.pass, report.summary.warn, report.summary.fail
    )));
    let md = report.to_markdown();
    assert!(md.starts_with("# Inspection of pg-test"), "{md}");
    assert!(md.contains("| Host | Check | Status | Detail |") && md.contains("**fail**"));
    let j: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(j["hosts"][0]["checks"][0]["check"], "postgres");
    assert_eq!(j["hosts"][0]["checks"][0]["status"], "pass");
    assert_eq!(j["status"], "fail");
}

#[test]
fn inspection_script_runs_as_dbsu_with_the_hosts_paths() {
    let d = v3();
    let h = inspect_host(&d, "pg-test-2", None);
    let s = inspect::script(&h);
    assert_eq!(s.run_as, crate::tasks::RunAs::Dbsu);
    assert!(
        s.script
            .contains("psql -h /tmp/pigsty-sandbox/127.0.0.12/run/postgresql -p 5432")
    );
    assert!(
        s.script
            .contains("df -P -B1 /tmp/pigsty-sandbox/127.0.0.12/pg/data")
    );
    assert!(s.script.contains("http://127.0.0.12:8008/health"));
    // The script itself is valid bash.
    let st = std::process::Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&s.script)
        .status()
        .unwrap();
    assert!(st.success());
}

// ---------------------------------------------------------------------------
// Provisioning

/// pg-test of `d` with `127.0.0.14` declared as pg-test-4 (a replica).
fn with_fourth_member(d: &Deployment) -> Deployment {
    let mut d = d.clone();
    let c = d.clusters.iter_mut().find(|c| c.name == "pg-test").unwrap();
    let mut i = c.instances[1].clone();
    i.name = "pg-test-4".into();
    i.ip = "127.0.0.14".into();
    i.seq = 4;
    c.instances.push(i);
    d
}

fn provision_commands(p: &ActionPlan) -> Vec<(String, String)> {
    p.commands
        .iter()
        .map(|c| (c.host.clone(), c.command.clone()))
        .collect()
}

#[test]
fn add_instance_runs_pgsql_yml_on_the_admin_node_then_waits() {
    let d = with_fourth_member(&v3());
    let a = Action::AddInstance {
        cluster: "pg-test".into(),
        ips: vec!["pg-test-4".into()], // by name: the limit is the IP
    };
    let p = plan(&a, &d, healthy()).unwrap();
    let cmds = provision_commands(&p);
    assert_eq!(cmds[0].0, "meta");
    assert_eq!(
        cmds[1],
        (
            "meta".into(),
            "cd ~/pigsty && ./pgsql.yml -l 127.0.0.14".into()
        )
    );
    assert!(
        p.commands[2].command.contains("pg-test-4 streams"),
        "{:?}",
        p.commands[2]
    );
    assert!(p.mutating && !p.needs_typed_confirmation);
    assert_eq!(p.commands[1].user, "dba");
}

#[test]
fn add_instance_refuses_undeclared_and_running_members() {
    let d = v3();
    let a = Action::AddInstance {
        cluster: "pg-test".into(),
        ips: vec!["127.0.0.14".into()],
    };
    let r = refusal(&a, &d, healthy());
    assert_eq!(r.kind, RefusalKind::Invalid);
    assert!(
        r.reasons[0].contains("127.0.0.14 is not declared in pg-test"),
        "{r}"
    );
    let a = Action::AddInstance {
        cluster: "pg-test".into(),
        ips: vec!["127.0.0.12".into()],
    };
    let r = refusal(&a, &d, healthy());
    assert!(r.reasons[0].contains("already runs"), "{r}");
}

#[test]
fn remove_instance_refuses_the_leader_and_needs_the_name_typed() {
    let d = v3();
    let leader = Action::RemoveInstance {
        cluster: "pg-test".into(),
        ips: vec!["127.0.0.11".into()],
    };
    let r = refusal(&leader, &d, healthy());
    assert!(r.reasons[0].contains("switch over first"), "{r}");
    let replica = Action::RemoveInstance {
        cluster: "pg-test".into(),
        ips: vec!["127.0.0.13".into()],
    };
    let p = plan(&replica, &d, healthy()).unwrap();
    assert!(p.needs_typed_confirmation);
    assert!(!p.confirms("pg-tes") && p.confirms("pg-test"));
    assert_eq!(
        provision_commands(&p)[1].1,
        "cd ~/pigsty && ./pgsql-rm.yml -l 127.0.0.13"
    );
    // v1 names its playbook pgsql-remove.yml
    let p1 = plan(&replica, &v1(), healthy()).unwrap();
    assert!(
        p1.commands[1]
            .command
            .ends_with("./pgsql-remove.yml -l 127.0.0.13")
    );
}

#[test]
fn create_user_and_database_need_a_declaration() {
    let d = v3();
    let ok = Action::CreateUser {
        cluster: "pg-test".into(),
        user: "test".into(),
    };
    let p = plan(&ok, &d, healthy()).unwrap();
    assert_eq!(
        provision_commands(&p)[1].1,
        "cd ~/pigsty && ./pgsql-user.yml -l pg-test -e username=test"
    );
    assert_eq!(p.commands[2].host, "pg-test-1", "checked on the leader");
    let r = refusal(
        &Action::CreateDatabase {
            cluster: "pg-test".into(),
            database: "nope".into(),
        },
        &d,
        healthy(),
    );
    assert!(r.reasons[0].contains("declared: test"), "{r}");
    let v1p = plan(
        &Action::CreateDatabase {
            cluster: "pg-test".into(),
            database: "test".into(),
        },
        &v1(),
        healthy(),
    )
    .unwrap();
    assert!(
        v1p.commands[1]
            .command
            .ends_with("./pgsql-createdb.yml -l pg-test -e pg_database=test")
    );
}

#[test]
fn create_cluster_refuses_a_running_cluster_and_readonly_refuses_provisioning() {
    let d = v3();
    let r = refusal(
        &Action::CreateCluster {
            cluster: "pg-test".into(),
        },
        &d,
        healthy(),
    );
    assert!(r.reasons[0].contains("already runs"), "{r}");
    let opts = PlanOptions {
        readonly: true,
        ..Default::default()
    };
    for a in [
        Action::Infra,
        Action::ReloadHba {
            cluster: "pg-test".into(),
        },
        Action::RemoveCluster {
            cluster: "pg-test".into(),
        },
    ] {
        let r = a.plan(&d, &snap(healthy()), &opts).unwrap_err();
        assert_eq!(r.kind, RefusalKind::ReadOnly, "{}", a.name());
    }
    let p = plan(
        &Action::RemoveCluster {
            cluster: "pg-test".into(),
        },
        &d,
        healthy(),
    )
    .unwrap();
    assert!(p.needs_typed_confirmation);
    assert!(
        p.warnings.iter().any(|w| w.contains("will be removed")),
        "{:?}",
        p.warnings
    );
}

// ---------------------------------------------------------------------------
// Cancel / terminate a backend (the activity view's c / k)

#[test]
fn signal_backend_plans_psql_on_the_member_and_refuses_bad_requests() {
    let d = v3();
    let terminate = Action::TerminateBackend {
        cluster: "pg-test".into(),
        member: "pg-test-2".into(),
        pid: 4242,
    };
    let p = plan(&terminate, &d, healthy()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.target.as_str()),
        ("terminate-backend", "pg-test-2")
    );
    assert!(p.mutating && !p.needs_typed_confirmation);
    assert_eq!(p.hosts, ["pg-test-2"]);
    assert_eq!(p.checks, ["Postgres of pg-test-2 is running"]);
    assert_eq!(p.commands.len(), 1);
    assert_eq!(p.commands[0].user, "postgres");
    assert_eq!(p.commands[0].address, "127.0.0.12");
    let cmd = &p.commands[0].command;
    assert!(
        cmd.starts_with(
            "r=$(psql -X -At -v ON_ERROR_STOP=1 -h /tmp/pigsty-sandbox/127.0.0.12/run/postgresql -p 5432 -d postgres -c 'SELECT pg_terminate_backend(4242)')"
        ),
        "{cmd}"
    );
    // Cancel: the other function; a member that is down is a warning only.
    let cancel = Action::CancelBackend {
        cluster: "pg-test".into(),
        member: "pg-test-3".into(),
        pid: 7,
    };
    let p = plan(
        &cancel,
        &d,
        cluster(vec![
            member("pg-test-1", "leader", "running", 7, 0),
            member("pg-test-2", "replica", "running", 7, 0),
            down("pg-test-3"),
        ]),
    )
    .unwrap();
    assert!(commands(&p)[0].contains("'SELECT pg_cancel_backend(7)'"));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    // Unknown member, bad pid, read-only: refused.
    let r = refusal(
        &Action::TerminateBackend {
            cluster: "pg-test".into(),
            member: "pg-test-9".into(),
            pid: 1,
        },
        &d,
        healthy(),
    );
    assert_eq!(r.kind, RefusalKind::Invalid);
    let r = refusal(
        &Action::CancelBackend {
            cluster: "pg-test".into(),
            member: "pg-test-1".into(),
            pid: 0,
        },
        &d,
        healthy(),
    );
    assert_eq!(r.kind, RefusalKind::Invalid);
    let ro = PlanOptions {
        readonly: true,
        ..PlanOptions::default()
    };
    let r = terminate.plan(&d, &snap(healthy()), &ro).unwrap_err();
    assert_eq!(r.kind, RefusalKind::ReadOnly);
}
