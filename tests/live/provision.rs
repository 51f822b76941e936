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
