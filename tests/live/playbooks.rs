//! Live tests of the sandbox's Pigsty home (`~dba/pigsty` on meta, see
//! tests/sandbox/README.md): real Ansible playbooks run on the admin node over
//! ssh as the admin user, like an operator runs Pigsty's. node-4 (127.0.0.14,
//! a bare machine) joins pg-test as pg-test-4 with `pgsql.yml` and leaves with
//! `pgsql-rm.yml` + `node-rm.yml`; `pgsql-user.yml` / `pgsql-db.yml` create
//! what the inventory defines; failures come back as Ansible errors. In
//! consul mode (Pigsty v1 inventory) the v1 playbook names are used.

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{
    Dcs, META_IP, PG_ADMIN, PG_PORT, PGBOUNCER_PORT, Sandbox, b64_encode, brief, get_json, http,
    port_open, psql, sandbox, wait_for,
};

const NODE4: &str = "127.0.0.14";
/// Inventory overlay written by `sandbox up`: declares node-4 as pg-test-4.
const NODE4_OVERLAY: &str = "conf/sandbox-node-4.yml";
const T: Duration = Duration::from_secs(60);

/// The playbook names of the sandbox's mode: Pigsty v3 (etcd) or v1 (consul).
struct Names {
    rm: &'static str,
    node_rm: &'static str,
    user: &'static str,
    user_var: &'static str,
    db: &'static str,
    db_var: &'static str,
}

fn names(dcs: Dcs) -> Names {
    match dcs {
        Dcs::Etcd => Names {
            rm: "./pgsql-rm.yml",
            node_rm: "./node-rm.yml",
            user: "./pgsql-user.yml",
            user_var: "username",
            db: "./pgsql-db.yml",
            db_var: "dbname",
        },
        Dcs::Consul => Names {
            rm: "./pgsql-remove.yml",
            node_rm: "./nodes-remove.yml",
            user: "./pgsql-createuser.yml",
            user_var: "pg_user",
            db: "./pgsql-createdb.yml",
            db_var: "pg_database",
        },
    }
}

/// Exit code and output (stdout + stderr) of a playbook run.
struct Play {
    cmd: String,
    code: i32,
    out: String,
}

impl std::fmt::Debug for Play {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` exited {}:\n{}", self.cmd, self.code, self.out)
    }
}

impl Play {
    /// The PLAY RECAP line of a host.
    fn recap(&self, host: &str) -> Option<&str> {
        self.out
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.split_whitespace().next() == Some(host))
    }

    /// `<key>=N` of a host's recap (ok, changed, failed, ...).
    fn count(&self, host: &str, key: &str) -> Option<u32> {
        self.recap(host)?
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .and_then(|n| n.parse().ok())
    }

    fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "{self:?}");
        assert!(self.out.contains("PLAY RECAP"), "{self:?}");
        assert!(!self.out.contains("failed=1"), "{self:?}");
        self
    }
}

/// Run `CMD` in the Pigsty home on meta as the admin user (over ssh).
fn play(sb: &Sandbox, cmd: &str) -> Play {
    let out = sb.ssh(META_IP, &format!("cd ~/pigsty && {cmd} 2>&1"));
    Play {
        cmd: cmd.to_string(),
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Write a file on meta as the admin user (the inventory overlays of a test).
fn write_on_meta(sb: &Sandbox, path: &str, content: &str) {
    let mut child = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", sb.known_hosts.display()))
        .arg("-i")
        .arg(&sb.ssh_key)
        .args(["-p", &sb.ssh_port.to_string()])
        .arg(format!("{}@{META_IP}", sb.admin_user))
        .arg(format!("cat > {path}"))
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot run ssh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    let st = child.wait().unwrap();
    assert!(st.success(), "writing {path} on meta failed: {st}");
}

/// Services the sandbox reports running on node-4 (`sandbox status`).
fn node4_services(sb: &Sandbox) -> Vec<String> {
    let status = sb.script_ok(&["status"]).unwrap();
    status
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(NODE4))
        .filter(|l| l.contains(" up "))
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

/// Exclusive access with the sandbox as this checkout's `sandbox up` builds
/// it (its Pigsty home, node-4's host key), node-4 a bare machine again if a
/// previous run left it provisioned.
async fn exclusive_fresh(sb: &'static Sandbox) -> crate::harness::Exclusive {
    let x = sb.exclusive().await;
    sb.script_ok(&["up"]).unwrap();
    if node4_services(sb) != ["sshd"] {
        eprintln!("[playbooks] node-4 is not bare: removing what a previous run left");
        drop(Node4Cleanup { sb, armed: true });
    }
    x
}

fn assert_node4_bare(sb: &Sandbox) {
    assert_eq!(node4_services(sb), ["sshd"], "node-4 runs only sshd");
    assert!(
        !sb.dir.join(NODE4).join("pg/bin/patroni.yml").exists(),
        "node-4 has no patroni config"
    );
}

/// Makes node-4 bare again if a test stops half way (before the
/// exclusive guard restores the sandbox).
struct Node4Cleanup<'a> {
    sb: &'a Sandbox,
    armed: bool,
}

impl Drop for Node4Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            let n = names(self.sb.dcs);
            for pb in [n.rm, n.node_rm] {
                let p = play(
                    self.sb,
                    &format!("{pb} -i pigsty.yml -i {NODE4_OVERLAY} -l {NODE4}"),
                );
                if p.code != 0 {
                    eprintln!("[playbooks] cleanup of node-4 failed: {p:?}");
                }
            }
            // the playbooks could not: the sandbox's own reset (no Ansible)
            if node4_services(self.sb) != ["sshd"]
                && let Err(e) = self.sb.script_ok(&["reset-node", "node-4"])
            {
                eprintln!("[playbooks] sandbox reset-node node-4 failed: {e}");
            }
        }
    }
}

/// Is `/pg/pg-test/members/<ins>` in the DCS?
async fn dcs_has_member(sb: &Sandbox, ins: &str) -> Result<bool, String> {
    let key = format!("/pg/pg-test/members/{ins}");
    match sb.dcs {
        Dcs::Etcd => {
            let url = format!("{}/v3/kv/range", sb.dcs_url());
            let v: Value = http()
                .post(&url)
                .json(&json!({ "key": b64_encode(key.as_bytes()) }))
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?
                .json()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            Ok(v["count"].as_str().unwrap_or("0") != "0")
        }
        Dcs::Consul => {
            let url = format!("{}/v1/kv{key}", sb.dcs_url());
            let resp = http()
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            Ok(resp.status().is_success())
        }
    }
}

/// Replication of the pg-test leader: `(application_name, state)`.
async fn leader_replication(sb: &Sandbox) -> Result<Vec<(String, String)>, String> {
    let leader = sb.leader("pg-test").await?;
    let p = get_json(&sb.patroni_url(sb.member(&leader).ip, "/patroni")).await?;
    Ok(p["replication"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["application_name"].as_str().unwrap_or("").to_string(),
                        r["state"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

#[tokio::test]
async fn pgsql_yml_adds_node4_as_a_streaming_replica_and_pgsql_rm_removes_it() {
    let sb = sandbox();
    let x = exclusive_fresh(sb).await;
    let n = names(sb.dcs);
    assert_node4_bare(sb);
    let mut cleanup = Node4Cleanup { sb, armed: true };

    // add: the overlay declares 127.0.0.14 in pg-test (like editing pigsty.yml)
    let add = play(
        sb,
        &format!("./pgsql.yml -i pigsty.yml -i {NODE4_OVERLAY} -l {NODE4}"),
    );
    add.assert_ok();
    assert!(add.count(NODE4, "changed").unwrap_or(0) > 0, "{add:?}");
    assert!(
        add.out.contains("pg-test-4"),
        "patronictl list in the output: {add:?}"
    );

    // Patroni: pg-test-4 is a running replica, streaming from the leader
    let c = sb.cluster("pg-test").await.unwrap();
    let m4: Vec<&Value> = c["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "pg-test-4")
        .collect();
    assert_eq!(m4.len(), 1, "{}", brief(&c));
    assert_eq!(m4[0]["role"], "replica", "{}", brief(&c));
    assert_eq!(m4[0]["state"], "running", "{}", brief(&c));
    assert_eq!(m4[0]["host"], NODE4, "{}", brief(&c));
    let repl = wait_for("pg-test-4 streaming from the leader", T, || async {
        let r = leader_replication(sb).await?;
        if r.iter().any(|(a, s)| a == "pg-test-4" && s == "streaming") {
            Ok(r)
        } else {
            Err(format!("{r:?}"))
        }
    })
    .await;
    assert_eq!(repl.len(), 3, "three replicas stream: {repl:?}");
    assert!(dcs_has_member(sb, "pg-test-4").await.unwrap());

    // postgres on node-4 answers, read-only; its pgbouncer too
    assert_eq!(
        psql(
            NODE4,
            PG_PORT,
            PG_ADMIN,
            "postgres",
            "SELECT pg_is_in_recovery()"
        )
        .unwrap(),
        "t"
    );
    assert_eq!(
        psql(
            NODE4,
            PGBOUNCER_PORT,
            PG_ADMIN,
            "test",
            "SELECT inet_server_addr()"
        )
        .unwrap(),
        NODE4
    );
    // patronictl on node-4 (as Pigsty: ssh dba@node, sudo -iu postgres)
    let list = sb
        .ssh_ok(NODE4, "sudo -iu postgres patronictl list pg-test")
        .unwrap();
    assert!(
        list.lines()
            .any(|l| l.contains("pg-test-4") && l.contains("Replica")),
        "{list}"
    );
    // node-4 runs its services under the sandbox's service manager
    let mut svcs = node4_services(sb);
    svcs.sort();
    assert_eq!(
        svcs,
        [
            "haproxy",
            "node_exporter",
            "patroni",
            "pg_exporter",
            "pgbouncer",
            "postgres",
            "sshd"
        ]
        .into_iter()
        .chain((sb.dcs == Dcs::Consul).then_some("consul"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
    );
    // the sandbox's stop / start work on node-4 now
    sb.script_ok(&["stop", "node-4", "pgbouncer"]).unwrap();
    assert!(
        !port_open(NODE4, PGBOUNCER_PORT),
        "pgbouncer of node-4 stopped"
    );
    sb.script_ok(&["start", "node-4", "pgbouncer"]).unwrap();
    wait_for("pgbouncer of node-4 back", T, || async {
        if port_open(NODE4, PGBOUNCER_PORT) {
            Ok(())
        } else {
            Err("closed".to_string())
        }
    })
    .await;
    // prometheus scrapes the exporter and patroni of pg-test-4 (file_sd targets on meta)
    let up = sb.prom_query("up{ins=\"pg-test-4\"}").await.unwrap();
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(up.iter().all(|s| s["value"][1] == "1"), "{up:?}");
    // the other members' haproxy routes to pg-test-4 too (replica service)
    let csv = http()
        .get("http://127.0.0.11:9101/;csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("pg-test-replica,pg-test-4,") && l.contains(",UP")),
        "{csv}"
    );
    // the sandbox counts pg-test-4 as a member: healthy with 4 members
    sb.script_ok(&["wait"]).unwrap();

    // remove: the instance goes, the node keeps its node services
    let rm = play(
        sb,
        &format!("{} -i pigsty.yml -i {NODE4_OVERLAY} -l {NODE4}", n.rm),
    );
    rm.assert_ok();
    let leader = sb.wait_cluster_healthy("pg-test", T).await;
    assert_eq!(leader, "pg-test-1");
    let members = sb.cluster("pg-test").await.unwrap();
    assert_eq!(
        members["members"].as_array().unwrap().len(),
        3,
        "{}",
        brief(&members)
    );
    assert!(!dcs_has_member(sb, "pg-test-4").await.unwrap());
    assert!(
        !sb.dir.join(NODE4).join("pg").exists(),
        "data of pg-test-4 removed"
    );
    wait_for("the replication slot of pg-test-4 dropped", T, || async {
        let n = psql(
            "127.0.0.11",
            PG_PORT,
            PG_ADMIN,
            "postgres",
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg_test_4'",
        )?;
        if n == "0" { Ok(()) } else { Err(n) }
    })
    .await;
    wait_for("prometheus drops pg-test-4", T, || async {
        let up = sb.prom_query("up{ins=\"pg-test-4\"}").await?;
        if up.is_empty() {
            Ok(())
        } else {
            Err(format!("{up:?}"))
        }
    })
    .await;
    let mut svcs = node4_services(sb);
    svcs.sort();
    assert!(
        !svcs.iter().any(|s| s == "patroni" || s == "postgres"),
        "{svcs:?}"
    );
    sb.script_ok(&["wait"]).unwrap();

    // and back to a bare machine
    play(
        sb,
        &format!("{} -i pigsty.yml -i {NODE4_OVERLAY} -l {NODE4}", n.node_rm),
    )
    .assert_ok();
    assert_node4_bare(sb);
    cleanup.armed = false;
    drop(cleanup);
    x.release().await;
}

#[tokio::test]
async fn pgsql_user_and_db_yml_create_what_the_inventory_defines() {
    let sb = sandbox();
    let x = exclusive_fresh(sb).await;
    let n = names(sb.dcs);
    let (user, db) = ("dbuser_playbook", "db_playbook");
    let overlay = "conf/test-playbooks-user.yml";
    let inv = |pass: &str| {
        format!(
            "all:\n  children:\n    pg-test:\n      vars:\n        pg_users:\n          \
             - {{ name: test, password: test, pgbouncer: true, roles: [ dbrole_admin ] }}\n          \
             - {{ name: {user}, password: '{pass}', pgbouncer: true, roles: [ dbrole_readwrite ], comment: playbook test user }}\n        \
             pg_databases:\n          - {{ name: test }}\n          \
             - {{ name: {db}, owner: {user}, comment: playbook test db }}\n"
        )
    };
    let run_user = |pass: &str| {
        write_on_meta(sb, &format!("pigsty/{overlay}"), &inv(pass));
        play(
            sb,
            &format!(
                "{} -i pigsty.yml -i {overlay} -l pg-test -e {}={user}",
                n.user, n.user_var
            ),
        )
    };

    // create: login on the leader's postgres and through every member's pgbouncer
    run_user("Pass.One").assert_ok();
    assert_eq!(
        psql(
            "127.0.0.11",
            PG_PORT,
            (user, "Pass.One"),
            "postgres",
            "SELECT current_user"
        )
        .unwrap(),
        user
    );
    for ip in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        assert_eq!(
            psql(
                ip,
                PGBOUNCER_PORT,
                (user, "Pass.One"),
                "test",
                "SELECT current_user"
            )
            .unwrap(),
            user,
            "pgbouncer of {ip}"
        );
    }
    // update: the new password works, the old one no longer
    run_user("Pass.Two").assert_ok();
    psql(
        "127.0.0.11",
        PG_PORT,
        (user, "Pass.Two"),
        "postgres",
        "SELECT 1",
    )
    .unwrap();
    let old = psql(
        "127.0.0.11",
        PG_PORT,
        (user, "Pass.One"),
        "postgres",
        "SELECT 1",
    );
    assert!(old.is_err(), "old password refused: {old:?}");
    psql(
        "127.0.0.12",
        PGBOUNCER_PORT,
        (user, "Pass.Two"),
        "test",
        "SELECT 1",
    )
    .unwrap();

    // a database defined in pg_databases, owned by the user, reachable through pgbouncer
    let dbp = play(
        sb,
        &format!(
            "{} -i pigsty.yml -i {overlay} -l pg-test -e {}={db}",
            n.db, n.db_var
        ),
    );
    dbp.assert_ok();
    assert_eq!(
        psql(
            "127.0.0.11",
            PGBOUNCER_PORT,
            (user, "Pass.Two"),
            db,
            "SELECT current_database() || ' ' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
        .unwrap(),
        format!("{db} {user}")
    );

    // Pigsty's semantics: a user / database must be defined in the inventory first
    let undefined = play(
        sb,
        &format!("{} -l pg-test -e {}=dbuser_not_defined", n.user, n.user_var),
    );
    assert_ne!(undefined.code, 0, "{undefined:?}");
    assert!(
        undefined
            .out
            .contains("define user dbuser_not_defined in pg_users of pg-test first"),
        "{undefined:?}"
    );
    let undefined = play(
        sb,
        &format!("{} -l pg-test -e {}=db_not_defined", n.db, n.db_var),
    );
    assert_ne!(undefined.code, 0, "{undefined:?}");
    assert!(
        undefined
            .out
            .contains("define database db_not_defined in pg_databases of pg-test first"),
        "{undefined:?}"
    );
    sb.ssh_ok(META_IP, &format!("rm -f pigsty/{overlay}"))
        .unwrap();
    x.release().await;
}

#[tokio::test]
async fn playbooks_fail_clearly_on_undeclared_hosts_and_taken_ports() {
    let sb = sandbox();
    let x = exclusive_fresh(sb).await;
    assert_node4_bare(sb);

    // an IP the inventory does not declare: Ansible refuses, nothing runs
    for cmd in ["./pgsql.yml -l 127.0.0.99", "./pgsql.yml -l 127.0.0.14"] {
        let p = play(sb, cmd);
        assert_ne!(p.code, 0, "{p:?}");
        assert!(
            p.out.contains("Could not match supplied host pattern") && p.out.contains("no hosts"),
            "{p:?}"
        );
    }
    assert_node4_bare(sb);

    // node-4 declared, but its postgres port is taken: the preflight fails before any change
    let listener = TcpListener::bind((NODE4, PG_PORT)).expect("bind 127.0.0.14:5432");
    let mut cleanup = Node4Cleanup { sb, armed: true };
    let p = play(
        sb,
        &format!("./pgsql.yml -i pigsty.yml -i {NODE4_OVERLAY} -l {NODE4}"),
    );
    drop(listener);
    assert_ne!(p.code, 0, "{p:?}");
    assert!(
        p.out.contains("port already in use on 127.0.0.14") && p.out.contains("127.0.0.14:5432"),
        "{p:?}"
    );
    assert_eq!(p.count(NODE4, "changed"), Some(0), "{p:?}");
    assert_node4_bare(sb);
    cleanup.armed = false;
    x.release().await;
}

#[tokio::test]
async fn infra_yml_runs_real_tasks_and_is_idempotent() {
    let sb = sandbox();
    let x = exclusive_fresh(sb).await;
    let first = play(sb, "./infra.yml");
    first.assert_ok();
    assert!(first.count(META_IP, "ok").unwrap_or(0) > 10, "{first:?}");
    let second = play(sb, "./infra.yml");
    second.assert_ok();
    assert_eq!(second.count(META_IP, "changed"), Some(0), "{second:?}");
    // the DCS server and prometheus kept running
    match sb.dcs {
        Dcs::Etcd => assert!(
            second.out.contains("wait for etcd to be healthy"),
            "{second:?}"
        ),
        Dcs::Consul => assert!(second.out.contains("consul"), "{second:?}"),
    }
    get_json(&format!("{}/api/v1/status/config", sb.prometheus_url()))
        .await
        .unwrap();
    x.release().await;
}

/// The playbooks render byte-for-byte the configs `sandbox up` writes:
/// `pgsql.yml --check` on the running clusters changes nothing.
#[tokio::test]
async fn pgsql_yml_check_mode_finds_no_config_drift() {
    let sb = sandbox();
    let x = exclusive_fresh(sb).await;
    let p = play(
        sb,
        "./pgsql.yml -l pg-meta,pg-test -t pg_config,haproxy,node_register,pg_register --check --diff",
    );
    p.assert_ok();
    for m in &sb.members {
        assert_eq!(p.count(m.ip, "changed"), Some(0), "{} drifted: {p:?}", m.ip);
    }
    x.release().await;
}
