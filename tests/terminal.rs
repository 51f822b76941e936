//! Drives the real binary in a detached tmux session (80x24): waits for the
//! console, presses keys (tree, help, palette, cluster sections, alerts and
//! findings popups, logs pane, activity view), reads the screen with
//! `capture-pane`, quits, and checks the terminal was restored (normal
//! screen, canonical mode, echo). The live console test against the
//! sandbox is in tests/live/triage.rs.
//!
//! Needs tmux (`apt-get install tmux`). Without it the test is skipped,
//! except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Tmux, have_tmux};

/// Inventories to start the console on, first existing wins.
const INVENTORIES: &[&str] = &["inventory/sandbox.yml", "inventory/local.yml"];

fn inventory() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    INVENTORIES
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("none of {INVENTORIES:?} exists"))
}

/// Whether tmux is there; without it the test is skipped, except under CI.
fn tmux_or_skip() -> bool {
    if have_tmux() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("tmux is required for this test (apt-get install tmux)");
    }
    eprintln!("skipping: tmux not found (apt-get install tmux)");
    false
}

/// The console without polling; after it exits, its exit status and the
/// two terminal modes raw mode turns off (`-icanon -echo` if not
/// restored), then the pane stays so it can be read. tmux runs this with
/// `sh -c`.
fn console_script() -> String {
    format!(
        "{guard}=1 '{bin}' --no-poll -i '{}'; echo EXITED:$?; \
         echo MODE: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)'); \
         sleep 30",
        inventory().display(),
        bin = env!("CARGO_BIN_EXE_pigsty-tui"),
        guard = pigsty_tui::net_guard::ENV,
    )
}

#[test]
fn console_runs_in_a_real_terminal_and_restores_it() {
    if !tmux_or_skip() {
        return;
    }
    let tmux = Tmux::start(&console_script(), 80, 24);

    // The header: the DCS kind is on it whatever the deployment is called.
    let screen = tmux.wait_for("the header", |s| {
        s.contains("dcs ") && s.contains("Deployment")
    });
    assert!(screen.contains("Clusters"), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "runs on the alternate screen"
    );

    // j: from the first cluster (pg-meta) to its first instance; Enter focuses its detail.
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the instance detail", |s| s.contains("Instance pg-meta-1"));

    tmux.keys(&["?"]);
    tmux.wait_for("the help popup", |s| {
        s.contains("┌ Keys") && s.contains("L      logs of the instance")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help popup to close", |s| !s.contains("┌ Keys"));

    tmux.keys(&[":"]);
    tmux.wait_for("the palette", |s| s.contains("Command"));
    tmux.type_text("cluster pg-test");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the cluster detail", |s| s.contains("Cluster pg-test"));
    assert!(screen.contains("Replication"), "{screen}");
    assert!(screen.contains("(primary)"), "{screen}");

    // Section keys: 2 shows the members table, [ goes back to the topology.
    tmux.keys(&["2"]);
    let screen = tmux.wait_for("the members section", |s| s.contains("2 Members"));
    assert!(screen.contains("Member"), "{screen}");
    tmux.keys(&["["]);
    tmux.wait_for("the topology section", |s| s.contains("1 Topology"));

    // a: alerts, f: findings (whatever the sources answer, they open).
    tmux.keys(&["a"]);
    tmux.wait_for("the alerts popup", |s| s.contains("Alerts ·"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the alerts popup to close", |s| !s.contains("Alerts ·"));
    tmux.keys(&["f"]);
    tmux.wait_for("the findings popup", |s| s.contains("┌ Findings"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the findings popup to close", |s| !s.contains("┌ Findings"));

    // L: the logs pane of an instance. The guard refuses the SSH connection
    // to the inventory's 10.10.10.x (no traffic leaves): the pane says so.
    tmux.keys(&[":"]);
    tmux.wait_for("the palette", |s| s.contains("Command"));
    tmux.type_text("node pg-test-2");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the instance detail", |s| s.contains("Instance pg-test-2"));
    tmux.keys(&["L"]);
    let screen = tmux.wait_for("the logs pane refusing the connection", |s| {
        s.contains("Logs pg-test-2 · postgres · tail") && s.contains("not sent")
    });
    assert!(
        screen.contains("1 postgres 2 patroni 3 pgbouncer"),
        "{screen}"
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the Patroni log chosen", |s| {
        s.contains("Logs pg-test-2 · patroni · tail")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the logs pane to close", |s| !s.contains("Logs pg-test-2"));
    // A: its sessions; the listing is refused the same way.
    tmux.keys(&["A"]);
    tmux.wait_for("the activity view", |s| {
        s.contains("Activity pg-test-2 (pg-test)") && s.contains("not sent")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the activity view to close", |s| {
        !s.contains("Activity pg-test-2")
    });

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the console to exit", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "exit status:\n{screen}");
    // Raw mode was left: canonical input and echo are back on.
    let screen = tmux.wait_for("the terminal modes", |s| s.contains("MODE:"));
    assert!(
        screen.contains("MODE: icanon echo"),
        "terminal still in raw mode:\n{screen}"
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "alternate screen left"
    );
}

/// The console ends cleanly on SIGTERM and SIGHUP (a killed SSH session, a
/// closed terminal, `kill`): exit status 0 and the terminal restored.
#[test]
fn console_restores_the_terminal_when_killed() {
    if !tmux_or_skip() {
        return;
    }
    for signal in ["TERM", "HUP"] {
        let tmux = Tmux::start(&console_script(), 80, 24);
        tmux.wait_for("the header", |s| {
            s.contains("dcs ") && s.contains("Deployment")
        });
        // The console is the shell's only child.
        let shell = tmux.display("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("children of the pane's shell");
        let pid = children
            .split_whitespace()
            .next()
            .expect("the console's pid");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_eq!(comm.trim(), "pigsty-tui");
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), pid])
            .status()
            .unwrap();
        assert!(status.success());
        let screen = tmux.wait_for("the console to exit", |s| s.contains("EXITED:"));
        assert!(screen.contains("EXITED:0"), "SIG{signal}:\n{screen}");
        let screen = tmux.wait_for("the terminal modes", |s| s.contains("MODE:"));
        assert!(
            screen.contains("MODE: icanon echo"),
            "SIG{signal}: terminal still in raw mode:\n{screen}"
        );
        assert_eq!(tmux.display("#{alternate_on}"), "0", "SIG{signal}");
    }
}
