//! Drives the real binary in a detached tmux session (80x24): waits for the
//! console, presses keys (tree, help, palette, cluster sections, alerts and
//! findings popups), reads the screen with `capture-pane`, quits, and checks
//! the terminal was restored (normal screen, canonical mode, echo).
//!
//! Needs tmux (`apt-get install tmux`). Without it the test is skipped,
//! except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Inventories to start the console on, first existing wins.
const INVENTORIES: &[&str] = &["inventory/sandbox.yml", "inventory/local.yml"];

/// A tmux server of our own (private socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!("pigsty-tui-test-{}", std::process::id()),
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Presses tmux key names (`Enter`, `Escape`, `j`…).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "console"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", "console", "-l", text])
                .status
                .success()
        );
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "console"]).stdout)
            .into_owned()
    }

    fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display-message", "-p", "-t", "console", format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after 10 s.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn inventory() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    INVENTORIES
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("none of {INVENTORIES:?} exists"))
}

#[test]
fn console_runs_in_a_real_terminal_and_restores_it() {
    if !have_tmux() {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is required for this test (apt-get install tmux)");
        }
        eprintln!("skipping: tmux not found (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_pigsty-tui");
    let inventory = inventory();
    // After the console exits, print its exit status and the two terminal
    // modes raw mode turns off (`-icanon -echo` if not restored), then stay
    // so the pane can be read. tmux runs this with `sh -c`.
    let script = format!(
        "{guard}=1 '{bin}' --no-poll -i '{}'; echo EXITED:$?; \
         echo MODE: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)'); \
         sleep 30",
        inventory.display(),
        guard = pigsty_tui::net_guard::ENV,
    );
    let tmux = Tmux::start(&script, 80, 24);

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
    tmux.wait_for("the help popup", |s| s.contains("Tree (left pane)"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help popup to close", |s| {
        !s.contains("Tree (left pane)")
    });

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
