//! TestBackend snapshots of the provisioning views: the guided setup's
//! screens (`pigsty-tui setup`) and the playbook view of a provisioning task
//! reopened from recorded runs (tests/fixtures/playbook/*.log, captured from
//! the sandbox's pgsql-user.yml).

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pigsty_tui::app::{AppState, Overlay, handle_key};
use pigsty_tui::setup::checks::{NodeCheck, Verdict};
use pigsty_tui::setup::verify::VerifyLine;
use pigsty_tui::setup::wizard::{Wizard, WizardEvent};
use pigsty_tui::setup::{SetupInputs, SetupState, SetupStep};
use pigsty_tui::snapshot::Snapshot;
use pigsty_tui::ui;
use pigsty_tui::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(backend: &TestBackend) -> String {
    let buf = backend.buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn render_wizard(w: &Wizard, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| ui::setup_wizard::draw(f, w, &Theme::unstyled()))
        .unwrap();
    screen(t.backend())
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn wizard(dir: &Path) -> Wizard {
    let mut w = Wizard::new(
        SetupState::new(SetupInputs::default()),
        dir.to_path_buf(),
        Path::new("pigsty.yml").to_path_buf(),
    );
    // the sandbox's SSH key exists only while the sandbox is up
    w.key_exists = |_| true;
    w.handle_key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL));
    w
}

fn check(
    node: &str,
    name: &'static str,
    verdict: Verdict,
    detail: &str,
    fix: Option<&str>,
) -> NodeCheck {
    NodeCheck {
        node: node.into(),
        check: name,
        verdict,
        detail: detail.into(),
        fix: fix.map(str::to_string),
    }
}

fn checks() -> Vec<NodeCheck> {
    let mut v = vec![
        check(
            "127.0.0.10",
            "ssh",
            Verdict::Pass,
            "dba@127.0.0.10:22 reachable, host key known",
            None,
        ),
        check(
            "127.0.0.10",
            "sudo",
            Verdict::Pass,
            "passwordless sudo works",
            None,
        ),
        check(
            "127.0.0.10",
            "os",
            Verdict::Pass,
            "Debian GNU/Linux 12 (bookworm)",
            None,
        ),
        check(
            "127.0.0.10",
            "disk",
            Verdict::Pass,
            "17.9 GiB free on /",
            None,
        ),
        check(
            "127.0.0.10",
            "clock",
            Verdict::Pass,
            "clock -0.08s from here (±0.22s)",
            None,
        ),
        check(
            "127.0.0.10",
            "ansible",
            Verdict::Pass,
            "ansible-playbook [core 2.14.18]",
            None,
        ),
        check(
            "127.0.0.10",
            "pigsty",
            Verdict::Pass,
            "~/pigsty holds Pigsty's playbooks",
            None,
        ),
        check(
            "127.0.0.11",
            "host key",
            Verdict::Fail,
            "unknown host key ssh-ed25519 SHA256:3bH1c0y4ZfQ2x8Kp1Vv0mE2rWcX1yq7u9tA5sD6fG8h",
            Some(
                "compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the node, then press `a` to trust it",
            ),
        ),
    ];
    for n in ["127.0.0.12", "127.0.0.13"] {
        v.push(check(
            n,
            "ssh",
            Verdict::Pass,
            &format!("dba@{n}:22 reachable, host key known"),
            None,
        ));
        v.push(check(
            n,
            "sudo",
            Verdict::Pass,
            "passwordless sudo works",
            None,
        ));
        v.push(check(
            n,
            "clock",
            Verdict::Warn,
            "clock +1.42s from here (±0.05s)",
            Some("enable NTP (chronyd / systemd-timesyncd) on every node"),
        ));
    }
    v
}

#[test]
fn wizard_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let w = wizard(dir.path());
    insta::assert_snapshot!("setup_nodes_80x24", render_wizard(&w, 80, 24));
}

#[test]
fn wizard_nodes_with_problems() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::new(
        SetupState::new(SetupInputs::default()),
        dir.path().to_path_buf(),
        "pigsty.yml".into(),
    );
    for c in "10.10.10.10".chars() {
        w.handle_key(key(KeyCode::Char(c)));
    }
    w.handle_key(key(KeyCode::Tab));
    for c in "10.10.10.11 10.10.10.x".chars() {
        w.handle_key(key(KeyCode::Char(c)));
    }
    insta::assert_snapshot!("setup_nodes_problems_80x24", render_wizard(&w, 80, 24));
}

#[test]
fn wizard_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = wizard(dir.path());
    w.submit_nodes();
    w.on_event(WizardEvent::Checked(checks()));
    w.handle_key(key(KeyCode::Enter)); // refused: a check failed
    assert_eq!(w.step(), SetupStep::Check);
    insta::assert_snapshot!("setup_check_80x24", render_wizard(&w, 80, 24));
    insta::assert_snapshot!("setup_check_120x40", render_wizard(&w, 120, 40));
}

#[test]
fn wizard_config_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = wizard(dir.path());
    w.submit_nodes();
    w.on_event(WizardEvent::Checked(Vec::new()));
    w.handle_key(key(KeyCode::Enter));
    assert_eq!(w.step(), SetupStep::Config);
    insta::assert_snapshot!("setup_config_80x24", render_wizard(&w, 80, 24));
    // an edit that breaks the YAML: saved nothing, the error names the place
    for c in ": [".chars() {
        w.handle_key(key(KeyCode::Char(c)));
    }
    w.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    assert_eq!(w.step(), SetupStep::Config);
    assert!(w.config_error.is_some());
    insta::assert_snapshot!("setup_config_error_80x24", render_wizard(&w, 80, 24));
}

fn verify_lines(ok: bool) -> Vec<VerifyLine> {
    let mut v = Vec::new();
    for (ip, svcs) in [
        (
            "127.0.0.10",
            &[
                "etcd :2379",
                "prometheus :9090",
                "alertmanager :9093",
                "postgres :5432",
                "patroni :8008",
            ][..],
        ),
        (
            "127.0.0.11",
            &[
                "postgres :5432",
                "pgbouncer :6432",
                "patroni :8008",
                "haproxy :5433",
            ][..],
        ),
        (
            "127.0.0.12",
            &[
                "postgres :5432",
                "pgbouncer :6432",
                "patroni :8008",
                "haproxy :5433",
            ][..],
        ),
    ] {
        for s in svcs {
            v.push(VerifyLine {
                scope: ip.into(),
                what: s.to_string(),
                ok: true,
                detail: "up (0.3 ms)".into(),
            });
        }
    }
    v.push(VerifyLine {
        scope: "pg-test".into(),
        what: "leader".into(),
        ok: true,
        detail: "pg-test-1 runs as leader".into(),
    });
    v.push(VerifyLine {
        scope: "pg-test".into(),
        what: "pg-test-2 streams".into(),
        ok: true,
        detail: "streaming, lag 0 B".into(),
    });
    v.push(VerifyLine {
        scope: "pg-test".into(),
        what: "pg-test-3 streams".into(),
        ok,
        detail: if ok {
            "streaming, lag 0 B".into()
        } else {
            "Patroni unreachable: connection refused (127.0.0.13:8008)".into()
        },
    });
    v
}

#[test]
fn wizard_verify_and_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = wizard(dir.path());
    w.submit_nodes();
    w.state.step = SetupStep::Verify;
    w.verify_since = Some(std::time::Instant::now() - std::time::Duration::from_secs(600));
    w.verifying = true;
    w.on_event(WizardEvent::Verified(verify_lines(false)));
    assert_eq!(w.step(), SetupStep::Verify);
    insta::assert_snapshot!("setup_verify_failed_80x24", render_wizard(&w, 80, 24));
    w.on_event(WizardEvent::Verified(verify_lines(true)));
    assert_eq!(w.step(), SetupStep::Done);
    insta::assert_snapshot!("setup_done_80x24", render_wizard(&w, 80, 24));
}

// ------------------------------------------------------------ playbook view

fn fixture(name: &str) -> String {
    // relative: the snapshots show the path (tests run in the crate's root)
    format!("tests/fixtures/playbook/{name}")
}

fn render_app(app: &AppState, d: &pigsty_tui::model::Deployment, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let snap = Snapshot::empty();
    t.draw(|f| ui::draw(f, app, d, &snap, &Theme::unstyled()))
        .unwrap();
    screen(t.backend())
}

fn sandbox_deployment() -> pigsty_tui::model::Deployment {
    pigsty_tui::inventory::load(Path::new("inventory/sandbox.yml")).unwrap()
}

#[test]
fn playbook_view_of_a_saved_run() {
    let d = sandbox_deployment();
    let mut app = AppState::new(&d);
    app.resize(80, 24);
    app.open_saved_run(&fixture("create-user.log")).unwrap();
    let s = render_app(&app, &d, 80, 24);
    assert!(s.contains("ok 41"), "{s}");
    insta::assert_snapshot!("playbook_saved_80x24", s);
    // o: Ansible's own output, without the event lines
    let snap = Snapshot::empty();
    handle_key(&mut app, &d, &snap, key(KeyCode::Char('o')));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Playbook { raw: true, .. })
    ));
    let raw = render_app(&app, &d, 80, 24);
    assert!(!raw.contains("@@pigsty-tui@@"), "{raw}");
    insta::assert_snapshot!("playbook_saved_raw_80x24", raw);
    handle_key(&mut app, &d, &snap, key(KeyCode::Esc));
    assert_eq!(app.overlay, None);
}

#[test]
fn playbook_view_highlights_the_failing_task() {
    let d = sandbox_deployment();
    let mut app = AppState::new(&d);
    app.resize(120, 40);
    app.open_saved_run(&fixture("create-user-failed.log"))
        .unwrap();
    let s = render_app(&app, &d, 120, 40);
    assert!(
        s.contains("✗ pg_user : validate user definition failed on 127.0.0.11"),
        "{s}"
    );
    insta::assert_snapshot!("playbook_failed_120x40", s);
}

#[test]
fn open_run_names_a_missing_or_foreign_log() {
    let d = sandbox_deployment();
    let mut app = AppState::new(&d);
    let e = app.open_saved_run("/nonexistent/run.log").unwrap_err();
    assert!(e.contains("/nonexistent/run.log"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.log");
    std::fs::write(
        &p,
        "12:00:00.000 ==> step 1/1 x\n12:00:00.001 meta out| hello\n",
    )
    .unwrap();
    let e = app.open_saved_run(p.to_str().unwrap()).unwrap_err();
    assert!(e.contains("no playbook progress"), "{e}");
}
