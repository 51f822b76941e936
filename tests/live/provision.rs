//! Provisioning through `pigsty-tui run provision …` against the sandbox's
//! Pigsty home on its meta node (real Ansible playbooks over SSH): create a
//! user and log in with it, a failing task named with its host and message
//! (and the saved run reopened), and the guided setup headless.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::{META_IP, PG_ADMIN, PG_PORT, PGBOUNCER_PORT, Sandbox, psql, sandbox};

/// The Pigsty home of the admin user on the meta node.
const PIGSTY_YML: &str = "~/pigsty/pigsty.yml";

/// `pigsty-tui -i INVENTORY ARGS` with the sandbox known_hosts and a private
/// state dir.
fn cli(sb: &Sandbox, inventory: &Path, state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pigsty-tui"))
        .arg("-i")
        .arg(inventory)
        .args(args)
        .env("XDG_STATE_HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .env("PIGSTY_TUI_KNOWN_HOSTS", &sb.known_hosts)
        .output()
        .expect("run pigsty-tui")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `inventory` with `entry` added to the `pg_users` of `cluster` (flow
/// `[{…}]` or block `- …` style, as the two sandbox inventories write it).
fn with_user(inventory: &str, cluster: &str, entry: &str) -> String {
    let at = inventory
        .find(&format!("pg_cluster: {cluster}"))
        .expect("cluster vars in the inventory");
    let users = at
        + inventory[at..]
            .find("pg_users:")
            .expect("pg_users of the cluster");
    let line_end = users + inventory[users..].find('\n').unwrap();
    let line = &inventory[users..line_end];
    match line.find('[') {
        Some(i) => format!(
            "{}{entry}, {}",
            &inventory[..users + i + 1],
            &inventory[users + i + 1..]
        ),
        None => {
            let indent = inventory[..users].rsplit('\n').next().unwrap().len();
            format!(
                "{}\n{}  - {entry}{}",
                &inventory[..line_end],
                " ".repeat(indent),
                &inventory[line_end..]
            )
        }
    }
}

/// Puts the pigsty.yml of the meta node back when dropped.
struct RestoreConfig<'a> {
    sb: &'a Sandbox,
    original: String,
}

impl Drop for RestoreConfig<'_> {
    fn drop(&mut self) {
        write_remote_config(self.sb, &self.original);
    }
}

fn read_remote_config(sb: &Sandbox) -> String {
    sb.ssh_ok(META_IP, &format!("cat {PIGSTY_YML}"))
        .unwrap_or_else(|e| panic!("the sandbox has no Pigsty home on meta: {e}"))
        + "\n"
}

fn write_remote_config(sb: &Sandbox, text: &str) {
    let b64 = pigsty_tui::encoding::b64_encode(text.as_bytes());
    sb.ssh_ok(
        META_IP,
        &format!(
            "printf '%s' '{b64}' | base64 -d > {PIGSTY_YML}.tmp && mv {PIGSTY_YML}.tmp {PIGSTY_YML}"
        ),
    )
    .expect("write pigsty.yml on meta");
}

#[tokio::test]
async fn create_user_through_the_playbook_then_log_in() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let name = format!("dbuser_live{}", std::process::id());
    let password = "Live.Pass.1";
    let entry = format!(
        "{{ name: {name}, password: {password}, pgbouncer: true, roles: [ dbrole_readonly ] }}"
    );

    // As with Pigsty: declare the user in pigsty.yml (on the admin node and
    // in the inventory pigsty-tui reads), then run the playbook.
    let original = read_remote_config(sb);
    let _restore = RestoreConfig {
        sb,
        original: original.clone(),
    };
    write_remote_config(sb, &with_user(&original, "pg-test", &entry));
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("pigsty.yml");
    let local = std::fs::read_to_string(&sb.inventory).unwrap();
    std::fs::write(&inv, with_user(&local, "pg-test", &entry)).unwrap();

    let out = cli(
        sb,
        &inv,
        dir.path(),
        &["run", "provision", "create-user", "-c", "pg-test", &name],
    );
    let t = text(&out);
    assert!(out.status.success(), "create-user failed:\n{t}");
    assert!(
        t.contains(&format!("create-user pg-test/{name}: succeeded")),
        "{t}"
    );
    // progress, not raw Ansible output: tasks and per-host results
    assert!(t.contains("TASK "), "{t}");
    assert!(t.contains("recap of "), "{t}");
    assert!(!t.contains("@@pigsty-tui@@"), "event lines leaked:\n{t}");

    // log in: Postgres directly, and through pgbouncer
    let primary = sb.primary_of("pg-test").ip;
    let who = psql(
        primary,
        PG_PORT,
        (&name, password),
        "postgres",
        "select current_user",
    )
    .expect("log in on 5432 with the new user");
    assert_eq!(who, name);
    let one = psql(
        primary,
        PGBOUNCER_PORT,
        (&name, password),
        "test",
        "select 1",
    );
    let drop_role = psql(
        primary,
        PG_PORT,
        PG_ADMIN,
        "postgres",
        &format!("drop role if exists \"{name}\""),
    );
    assert_eq!(
        one.expect("log in through pgbouncer with the new user"),
        "1"
    );
    drop_role.expect("drop the test role");
    x.release().await;
}

#[tokio::test]
async fn a_failing_task_is_shown_with_its_host_and_message_and_the_run_reopens() {
    let sb = sandbox();
    let _s = sb.shared().await;
    // Declared in the inventory pigsty-tui reads, but not in the admin
    // node's pigsty.yml: the playbook's own check fails on every member.
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("pigsty.yml");
    let local = std::fs::read_to_string(&sb.inventory).unwrap();
    std::fs::write(
        &inv,
        with_user(
            &local,
            "pg-test",
            "{ name: dbuser_ghost, password: Ghost.1 }",
        ),
    )
    .unwrap();
    let out = cli(
        sb,
        &inv,
        dir.path(),
        &[
            "run",
            "provision",
            "create-user",
            "-c",
            "pg-test",
            "dbuser_ghost",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let failed = t
        .lines()
        .find(|l| l.starts_with("FAILED: "))
        .unwrap_or_else(|| panic!("no FAILED line:\n{t}"));
    let primary = sb.primary_of("pg-test").ip;
    assert!(failed.contains(" failed on 127.0.0."), "{failed}");
    assert!(failed.contains("dbuser_ghost"), "{failed}");
    assert!(
        t.contains(&format!("failed      {primary}")) || t.contains("failed      127.0.0."),
        "{t}"
    );

    // the run artifact reopens with the same failure
    let id = t
        .lines()
        .find_map(|l| l.split("reopen: pigsty-tui run provision show ").nth(1))
        .map(|s| s.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("no artifact line:\n{t}"));
    let shown = cli(sb, &inv, dir.path(), &["run", "provision", "show", &id]);
    let st = text(&shown);
    assert_eq!(shown.status.code(), Some(1), "{st}");
    assert!(st.contains(failed.trim_start_matches("FAILED: ")), "{st}");
    assert!(st.contains("RECAP"), "{st}");
}

#[test]
fn users_are_added_in_both_inventory_styles() {
    let flow = "        pg_cluster: pg-test\n        pg_users:  [{ name: test }]\n";
    assert_eq!(
        with_user(flow, "pg-test", "{ name: x }"),
        "        pg_cluster: pg-test\n        pg_users:  [{ name: x }, { name: test }]\n"
    );
    let block = "        pg_cluster: pg-test\n        pg_users:\n          - name: test\n";
    let added = with_user(block, "pg-test", "{ name: x }");
    assert_eq!(
        added,
        "        pg_cluster: pg-test\n        pg_users:\n          - { name: x }\n          - name: test\n"
    );
}

/// `inventory` with pg-test-4 on 127.0.0.14 declared in pg-test, a copy of
/// pg-test-3's host block (the sandbox's per-host vars point at the node's
/// own directories), without its offline flag.
fn with_fourth_member(inventory: &str) -> String {
    let start = inventory
        .find("        127.0.0.13:")
        .expect("pg-test-3's host block");
    let end = start
        + inventory[start..]
            .find("\n      vars:")
            .expect("the end of pg-test's hosts");
    let block = inventory[start..end]
        .replace("127.0.0.13", "127.0.0.14")
        .replace("node-3", "node-4")
        .replace("pg_seq: 3", "pg_seq: 4")
        .lines()
        .filter(|l| !l.contains("pg_offline_query"))
        .collect::<Vec<_>>()
        .join("\n");
    format!("{}\n{block}{}", &inventory[..end], &inventory[end..])
}

/// Removes pg-test-4 with the playbook if a failed test left it running.
struct RemoveFourth<'a> {
    sb: &'a Sandbox,
    armed: bool,
}

impl Drop for RemoveFourth<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self
                .sb
                .ssh(META_IP, "cd ~/pigsty && ./pgsql-rm.yml -l 127.0.0.14");
        }
        // pgsql-rm.yml leaves a managed node (node_exporter, haproxy and
        // their Prometheus targets), as in Pigsty: make it bare again.
        let node_rm = match self.sb.dcs {
            crate::harness::Dcs::Etcd => "./node-rm.yml",
            crate::harness::Dcs::Consul => "./nodes-remove.yml",
        };
        let out = self
            .sb
            .ssh(META_IP, &format!("cd ~/pigsty && {node_rm} -l 127.0.0.14"));
        if !out.status.success() {
            eprintln!(
                "warning: {node_rm} -l 127.0.0.14 failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

fn status_json(sb: &Sandbox, inv: &Path, state: &Path) -> (Option<i32>, serde_json::Value) {
    let out = cli(
        sb,
        inv,
        state,
        &["status", "-c", "pg-test", "--format", "json"],
    );
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status JSON: {e}\n{}", text(&out)));
    (out.status.code(), v)
}

fn instance<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["instances"].as_array().into_iter().flatten())
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in status: {status}"))
}

#[tokio::test]
async fn add_a_member_with_pgsql_yml_see_it_streaming_then_remove_it() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let original = read_remote_config(sb);
    let _restore = RestoreConfig {
        sb,
        original: original.clone(),
    };
    write_remote_config(sb, &with_fourth_member(&original));
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("pigsty.yml");
    let local = std::fs::read_to_string(&sb.inventory).unwrap();
    std::fs::write(&inv, with_fourth_member(&local)).unwrap();

    // declared but not provisioned: status shows it down
    let (code, before) = status_json(sb, &inv, dir.path());
    assert_ne!(code, Some(0), "{before}");
    assert_eq!(instance(&before, "pg-test-4")["live"]["role"], "unknown");

    let mut cleanup = RemoveFourth { sb, armed: true };
    let out = cli(
        sb,
        &inv,
        dir.path(),
        &[
            "run",
            "provision",
            "add-instance",
            "-c",
            "pg-test",
            "127.0.0.14",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "add-instance failed:\n{t}");
    assert!(
        t.contains("pg-test-4 streaming"),
        "the wait step saw it streaming:\n{t}"
    );

    // `status` sees the new member streaming, the cluster healthy
    let (code, after) = status_json(sb, &inv, dir.path());
    let m = instance(&after, "pg-test-4");
    assert_eq!(m["live"]["role"], "replica", "{m}");
    assert!(
        m["live"]["state"] == "streaming" || m["live"]["state"] == "running",
        "{m}"
    );
    assert_eq!(code, Some(0), "pg-test healthy with four members: {after}");
    let primary = sb.primary_of("pg-test").ip;
    let streaming = psql(
        primary,
        PG_PORT,
        PG_ADMIN,
        "postgres",
        "select count(*) from pg_stat_replication where application_name = 'pg-test-4' and state = 'streaming'",
    )
    .unwrap();
    assert_eq!(streaming, "1", "pg-test-4 streams from the leader");

    // remove it: typed confirmation headless is --yes
    let refused = cli(
        sb,
        &inv,
        dir.path(),
        &[
            "run",
            "provision",
            "remove-instance",
            "-c",
            "pg-test",
            "127.0.0.14",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let out = cli(
        sb,
        &inv,
        dir.path(),
        &[
            "run",
            "provision",
            "remove-instance",
            "-c",
            "pg-test",
            "127.0.0.14",
            "--yes",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "remove-instance failed:\n{t}");
    cleanup.armed = false;
    drop(cleanup);
    let gone = psql(
        primary,
        PG_PORT,
        PG_ADMIN,
        "postgres",
        "select count(*) from pg_stat_replication where application_name = 'pg-test-4'",
    )
    .unwrap();
    assert_eq!(gone, "0");
    // back to the three declared members: healthy
    let (code, back) = status_json(sb, &sb.inventory, dir.path());
    assert_eq!(code, Some(0), "{back}");
    drop(_restore);
    x.release().await;
}

#[test]
fn a_fourth_member_is_declared_like_the_third() {
    let local =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/inventory/local.yml"))
            .unwrap();
    let text = with_fourth_member(&local);
    let d = pigsty_tui::inventory::parse(&text, Path::new("four.yml")).unwrap();
    let c = d.cluster("pg-test").unwrap();
    assert_eq!(c.instances.len(), 4);
    let i = &c.instances[3];
    assert_eq!(
        (i.name.as_str(), i.ip.as_str(), i.offline_query),
        ("pg-test-4", "127.0.0.14", false)
    );
    assert_eq!(
        pigsty_tui::model::var_str(&i.vars, "pg_data").as_deref(),
        Some("/tmp/pigsty-sandbox/127.0.0.14/pg/data")
    );
    let v1 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/inventory/local-v1.yml"
    ))
    .unwrap();
    let d1 =
        pigsty_tui::inventory::parse(&with_fourth_member(&v1), Path::new("four-v1.yml")).unwrap();
    assert_eq!(d1.cluster("pg-test").unwrap().instances.len(), 4);
}

// ---------------------------------------------------------------- the wizard in a terminal

use crate::tmux;

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `pigsty-tui setup` at 80x24 in tmux with a private state dir, the
/// sandbox's known_hosts, and `args`.
fn wizard_in_tmux(sb: &Sandbox, dir: &Path, args: &str) -> tmux::Tmux {
    wizard_in_tmux_with(&sb.known_hosts, dir, args)
}

/// [`wizard_in_tmux`] with a known_hosts file (the bare sandbox has no
/// [`Sandbox`] yet).
pub(crate) fn wizard_in_tmux_with(known_hosts: &Path, dir: &Path, args: &str) -> tmux::Tmux {
    assert!(
        tmux::have_tmux(),
        "the wizard test needs tmux (apt-get install tmux)"
    );
    let script = format!(
        "cd {dir} && env -u SSH_AUTH_SOCK {guard}=1 XDG_STATE_HOME={dir} \
         XDG_CONFIG_HOME={dir}/config PIGSTY_TUI_KNOWN_HOSTS={kh} \
         {bin} setup {args}; echo EXITED:$?; sleep 30",
        guard = pigsty_tui::net_guard::ENV,
        dir = sh_quote(&dir.display().to_string()),
        kh = sh_quote(&known_hosts.display().to_string()),
        bin = sh_quote(env!("CARGO_BIN_EXE_pigsty-tui")),
    );
    tmux::Tmux::start(&script, 80, 24)
}

/// Where the wizard test points the Pigsty home: a directory of its own on
/// the meta node (the sandbox's `~/pigsty` is left alone).
const WIZARD_HOME: &str = "~/pigsty-wizard-test";

/// Walks every screen of the wizard in a real terminal against the sandbox:
/// the form (Ctrl-L fills the sandbox's nodes, the Pigsty home is set to a
/// directory of the test's own), the SSH checks of the four nodes (the
/// missing Pigsty home is a failed check with its fix; `!` goes on anyway),
/// the config editor (an edit that breaks the YAML is refused with its
/// place; Ctrl-R regenerates), Ctrl-S saves and installs (the config is
/// uploaded; the install playbooks this home lacks are skipped), verify
/// polls the sandbox. In consul mode (the wizard writes Pigsty's current,
/// etcd-based format) it stops at the config, quits, and checks that a
/// second run resumes there.
#[tokio::test]
async fn wizard_in_a_terminal_walks_every_screen() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let _ = sb.ssh(META_IP, &format!("rm -rf {WIZARD_HOME}"));
    let dir = tempfile::tempdir().unwrap();
    let t = wizard_in_tmux(sb, dir.path(), "");
    t.wait_for("the nodes form", |s| {
        s.contains("1 Nodes: where Pigsty goes")
    });
    t.keys(&["C-l"]);
    t.wait_for("the sandbox's nodes", |s| {
        s.contains("127.0.0.11 127.0.0.12 127.0.0.13")
    });
    // the Pigsty home field: clear it and type the test's own
    for _ in 0..6 {
        t.keys(&["Tab"]);
    }
    t.keys(&["End"]);
    for _ in 0..12 {
        t.keys(&["BSpace"]);
    }
    t.type_text(WIZARD_HOME);
    t.wait_for("the home typed", |s| s.contains(WIZARD_HOME));
    t.keys(&["Tab", "Enter"]);
    let long = std::time::Duration::from_secs(60);
    let checks = t.wait_for_within("the node checks", long, |s| s.contains("checks on 4 nodes"));
    assert!(checks.contains("1 failed"), "{checks}");
    assert!(checks.contains("pigsty    FAIL"), "{checks}");
    assert!(checks.contains("127.0.0.13      ✓ ssh, sudo"), "{checks}");
    t.keys(&["Enter"]);
    t.wait_for("the refusal", |s| s.contains("1 check(s) failed"));
    t.keys(&["!"]);
    t.wait_for("the config editor", |s| s.contains("3 Config: pigsty.yml"));
    // break the YAML: refused with the place
    t.type_text(": [");
    t.keys(&["C-s"]);
    t.wait_for("the YAML error", |s| {
        s.contains("✗ ") && s.contains("pigsty.yml:")
    });
    t.keys(&["C-r"]);
    t.wait_for("the config generated again", |s| {
        s.contains("generated again")
    });
    if sb.dcs == crate::harness::Dcs::Consul {
        t.keys(&["C-c"]);
        t.wait_for("the wizard to quit", |s| s.contains("EXITED:0"));
        drop(t);
        let again = wizard_in_tmux(sb, dir.path(), "");
        again.wait_for("the resumed config step", |s| {
            s.contains("3 Config: pigsty.yml")
        });
        again.keys(&["C-c"]);
        return;
    }
    t.keys(&["C-s"]);
    let installed = t.wait_for_within("the install to end", long, |s| {
        // the step's box title, not the step bar (which names every step)
        s.contains("5 Verify: services")
            || s.contains("Pigsty is installed")
            || s.contains("install stopped")
    });
    assert!(!installed.contains("install stopped"), "{installed}");
    let uploaded = sb
        .ssh_ok(
            META_IP,
            &format!("grep -c 'written by pigsty-tui setup' {WIZARD_HOME}/pigsty.yml"),
        )
        .unwrap();
    assert_eq!(uploaded, "1");
    let done = t.wait_for_within("verified", std::time::Duration::from_secs(120), |s| {
        // (the step bar always names "6 Done")
        s.contains("Pigsty is installed and verified.")
    });
    assert!(done.contains("Pigsty is installed and verified."), "{done}");
    let saved = std::fs::read_to_string(dir.path().join("pigsty.yml")).unwrap();
    pigsty_tui::setup::config::validate(&saved, Path::new("pigsty.yml")).unwrap();
    t.keys(&["q"]);
    t.wait_for("the wizard to quit", |s| s.contains("EXITED:0"));
    let _ = sb.ssh(META_IP, &format!("rm -rf {WIZARD_HOME}"));
}
