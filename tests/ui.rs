//! Screens of the console rendered on a `TestBackend` and compared with
//! insta snapshots (the buffer as plain text), plus key-handling tests.
//!
//! Review changed snapshots with `cargo insta review` (or set
//! `INSTA_UPDATE=always` and inspect the diff of `tests/snapshots/`).

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pigsty_tui::app::tree::TreeItem;
use pigsty_tui::app::{AppState, ClusterTab, Focus, Outcome, Overlay, handle_key};
use pigsty_tui::model::*;
use pigsty_tui::snapshot::Snapshot;
use pigsty_tui::ui;
use pigsty_tui::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "ui/recorded.rs"]
mod recorded;
#[path = "ui/recorded_triage.rs"]
mod recorded_triage;

// ---------------------------------------------------------------- fixtures

/// The four-node sandbox of Pigsty's architecture notes (`meta` at
/// 10.10.10.10 with infra and pg-meta-1, pg-test on 10.10.10.11-13), as the
/// inventory loader reads it.
fn sandbox() -> Deployment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/sandbox.yml");
    let mut d = pigsty_tui::inventory::load(&path).expect("inventory/sandbox.yml loads");
    // Shown as given on the command line, independent of the checkout.
    d.source = PathBuf::from("inventory/sandbox.yml");
    d
}

/// The sandbox with two inventory warnings.
fn sandbox_with_warnings() -> Deployment {
    let mut d = sandbox();
    d.warnings = vec![
        Warning {
            scope: Some("pg-test".into()),
            message: "pg-test-3 has pg_offline_query but is not declared offline".into(),
        },
        Warning {
            scope: None,
            message: "dcs_servers names meta-1, but no such node is in the meta group".into(),
        },
    ];
    d
}

/// `clusters` clusters of `per_cluster` instances, for scale tests.
fn large(clusters: usize, per_cluster: usize) -> Deployment {
    let mut d = sandbox();
    let template = d.clusters[1].instances[0].clone();
    d.clusters = (0..clusters)
        .map(|c| Cluster {
            name: format!("pg-c{c:03}"),
            instances: (0..per_cluster)
                .map(|i| Instance {
                    name: format!("pg-c{c:03}-{}", i + 1),
                    cluster: format!("pg-c{c:03}"),
                    ip: format!("10.{}.{}.{}", c / 250, c % 250, i + 1),
                    seq: i as u32 + 1,
                    role: if i == 0 {
                        DeclaredRole::Primary
                    } else {
                        DeclaredRole::Replica
                    },
                    ..template.clone()
                })
                .collect(),
            services: Vec::new(),
        })
        .collect();
    d
}

// ---------------------------------------------------------------- helpers

/// Renders one frame and returns the screen as text (trailing blanks cut).
fn render(app: &AppState, d: &Deployment, width: u16, height: u16) -> String {
    render_with(app, d, &Snapshot::empty(), width, height)
}

fn render_with(
    app: &AppState,
    d: &Deployment,
    snapshot: &Snapshot,
    width: u16,
    height: u16,
) -> String {
    let mut app = app.clone();
    app.resize(width, height);
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ui::draw(frame, &app, d, snapshot, &theme))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut AppState, d: &Deployment, code: KeyCode) -> Outcome {
    handle_key(app, d, &Snapshot::empty(), key(code))
}

fn type_text(app: &mut AppState, d: &Deployment, text: &str) {
    for c in text.chars() {
        press(app, d, KeyCode::Char(c));
    }
}

fn new_app(d: &Deployment) -> AppState {
    let mut app = AppState::new(d);
    app.resize(80, 24);
    app
}

/// The app with `item` selected.
fn selecting(d: &Deployment, item: TreeItem) -> AppState {
    let mut app = new_app(d);
    assert!(app.select_item(d, item), "{item:?}");
    app
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snapshot_at_sizes(name: &str, app: &AppState, d: &Deployment) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(app, d, w, h));
    }
}

/// Both sizes, with a live snapshot.
fn live_at_sizes(name: &str, app: &AppState, d: &Deployment, snapshot: &Snapshot) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(
            format!("{name}_{w}x{h}"),
            render_with(app, d, snapshot, w, h)
        );
    }
}

fn press_live(app: &mut AppState, d: &Deployment, s: &Snapshot, code: KeyCode) -> Outcome {
    handle_key(app, d, s, key(code))
}

/// pg-test selected, showing section `tab`.
fn pg_test_tab(d: &Deployment, tab: ClusterTab) -> AppState {
    let mut app = selecting(d, TreeItem::Cluster(1));
    app.cluster_tab = tab;
    app
}

fn pg_test_instance(d: &Deployment, i: usize) -> AppState {
    selecting(
        d,
        TreeItem::Instance {
            cluster: 1,
            instance: i,
        },
    )
}

// ---------------------------------------------------------------- screens

#[test]
fn cluster_selected() {
    // With warnings: the cluster's own is shown under its summary.
    let d = sandbox_with_warnings();
    let app = selecting(&d, TreeItem::Cluster(1));
    snapshot_at_sizes("cluster_selected", &app, &d);
}

#[test]
fn instance_selected() {
    let d = sandbox();
    let app = selecting(
        &d,
        TreeItem::Instance {
            cluster: 1,
            instance: 0,
        },
    );
    snapshot_at_sizes("instance_selected", &app, &d);
}

#[test]
fn infra_node_selected() {
    let d = sandbox();
    let app = selecting(&d, TreeItem::InfraNode(0));
    snapshot_at_sizes("infra_node_selected", &app, &d);
}

#[test]
fn infra_group_selected() {
    let d = sandbox();
    let app = selecting(&d, TreeItem::InfraGroup);
    snapshot_at_sizes("infra_group_selected", &app, &d);
}

#[test]
fn clusters_group_selected() {
    let d = sandbox();
    let app = selecting(&d, TreeItem::ClustersGroup);
    insta::assert_snapshot!("clusters_group_selected_80x24", render(&app, &d, 80, 24));
}

#[test]
fn help_popup() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char('?'));
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    snapshot_at_sizes("help_popup", &app, &d);
}

#[test]
fn palette_with_completions() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "cluster pg");
    snapshot_at_sizes("palette", &app, &d);
}

#[test]
fn palette_unknown_command() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "frobnicate");
    press(&mut app, &d, KeyCode::Enter);
    insta::assert_snapshot!("palette_error_80x24", render(&app, &d, 80, 24));
}

#[test]
fn filter_active() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "10.10.10.1");
    // Still typing: the bar has the cursor.
    snapshot_at_sizes("filter_editing", &app, &d);
    press(&mut app, &d, KeyCode::Enter);
    type_text(&mut app, &d, "j");
    snapshot_at_sizes("filter_applied", &app, &d);
}

#[test]
fn warnings_popup() {
    let d = sandbox_with_warnings();
    let mut app = new_app(&d);
    app.notices.push(
        "invalid theme my.yml: header: unknown colour 'purple'; using the built-in default theme"
            .into(),
    );
    press(&mut app, &d, KeyCode::Char('w'));
    insta::assert_snapshot!("warnings_popup_80x24", render(&app, &d, 80, 24));
}

#[test]
fn live_status_is_shown() {
    use pigsty_tui::snapshot::{Health, ServiceObservation};
    let d = sandbox();
    let app = selecting(
        &d,
        TreeItem::Instance {
            cluster: 1,
            instance: 0,
        },
    );
    let mut snapshot = Snapshot::empty();
    snapshot.services.insert(
        ("10.10.10.11".into(), 5432),
        ServiceObservation {
            health: Health::Up,
            latency: Some(std::time::Duration::from_micros(1250)),
            ..Default::default()
        },
    );
    snapshot.services.insert(
        ("10.10.10.11".into(), 6432),
        ServiceObservation {
            health: Health::Down,
            error: Some("connection refused".into()),
            ..Default::default()
        },
    );
    let screen = render_with(&app, &d, &snapshot, 160, 48);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.contains(&format!("│{name} ")) || l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} row in\n{screen}"))
            .to_string()
    };
    assert!(row("Postgres").contains("up 1.2ms"), "{}", row("Postgres"));
    assert!(row("Pgbouncer").contains("down"), "{}", row("Pgbouncer"));
    assert!(row("Patroni").contains("unknown"), "{}", row("Patroni"));
}

#[test]
fn every_size_renders_without_panic() {
    let d = sandbox();
    let mut app = new_app(&d);
    for (w, h) in [
        (1, 1),
        (10, 3),
        (20, 5),
        (40, 12),
        (59, 20),
        (60, 20),
        (200, 60),
    ] {
        render(&app, &d, w, h);
    }
    press(&mut app, &d, KeyCode::Char('?'));
    for (w, h) in [(1, 1), (10, 3), (40, 12)] {
        render(&app, &d, w, h);
    }
    app.overlay = None;
    press(&mut app, &d, KeyCode::Char(':'));
    for (w, h) in [(1, 1), (10, 3), (40, 12)] {
        render(&app, &d, w, h);
    }
}

// ---------------------------------------------------------------- live screens

#[test]
fn live_healthy() {
    let d = sandbox();
    let s = recorded::healthy(&d);
    assert!(s.findings.is_empty(), "{:#?}", s.findings);
    live_at_sizes(
        "live_healthy_topology",
        &pg_test_tab(&d, ClusterTab::Topology),
        &d,
        &s,
    );
    live_at_sizes(
        "live_healthy_members",
        &pg_test_tab(&d, ClusterTab::Members),
        &d,
        &s,
    );
    live_at_sizes(
        "live_healthy_history",
        &pg_test_tab(&d, ClusterTab::History),
        &d,
        &s,
    );
    live_at_sizes(
        "live_healthy_metrics",
        &pg_test_tab(&d, ClusterTab::Metrics),
        &d,
        &s,
    );
    live_at_sizes(
        "live_healthy_routing",
        &pg_test_tab(&d, ClusterTab::Routing),
        &d,
        &s,
    );
    live_at_sizes("live_healthy_instance", &pg_test_instance(&d, 2), &d, &s);
    live_at_sizes(
        "live_healthy_infra",
        &selecting(&d, TreeItem::InfraGroup),
        &d,
        &s,
    );
    live_at_sizes(
        "live_healthy_clusters",
        &selecting(&d, TreeItem::ClustersGroup),
        &d,
        &s,
    );
}

#[test]
fn live_after_switchover() {
    let d = sandbox();
    let s = recorded::switchover(&d);
    // The detector reports the drift (info) and the stale HAProxy (error).
    let kinds: Vec<String> = s.findings.iter().map(|f| format!("{:?}", f.kind)).collect();
    assert!(kinds.contains(&"RoleDrift".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"HaproxyRouting".to_string()), "{kinds:?}");
    let app = pg_test_tab(&d, ClusterTab::Topology);
    let screen = render_with(&app, &d, &s, 160, 48);
    // The new leader is the root of the tree.
    let root = screen
        .lines()
        .find(|l| l.contains("──► "))
        .unwrap_or_else(|| panic!("no diagram in\n{screen}"));
    assert!(root.contains("│pg-test-2"), "{root}");
    live_at_sizes("live_switchover_topology", &app, &d, &s);
    live_at_sizes(
        "live_switchover_members",
        &pg_test_tab(&d, ClusterTab::Members),
        &d,
        &s,
    );
    live_at_sizes(
        "live_switchover_routing",
        &pg_test_tab(&d, ClusterTab::Routing),
        &d,
        &s,
    );
    live_at_sizes(
        "live_switchover_findings",
        &pg_test_tab(&d, ClusterTab::Findings),
        &d,
        &s,
    );
    live_at_sizes(
        "live_switchover_history",
        &pg_test_tab(&d, ClusterTab::History),
        &d,
        &s,
    );
}

#[test]
fn live_member_down() {
    let d = sandbox();
    let s = recorded::member_down(&d);
    live_at_sizes(
        "live_member_down_topology",
        &pg_test_tab(&d, ClusterTab::Topology),
        &d,
        &s,
    );
    live_at_sizes(
        "live_member_down_members",
        &pg_test_tab(&d, ClusterTab::Members),
        &d,
        &s,
    );
    live_at_sizes(
        "live_member_down_instance",
        &pg_test_instance(&d, 2),
        &d,
        &s,
    );
}

#[test]
fn live_dcs_failing() {
    let d = sandbox();
    let s = recorded::dcs_failing(&d);
    let screen = render_with(&pg_test_tab(&d, ClusterTab::Topology), &d, &s, 80, 24);
    let header = screen.lines().next().unwrap();
    assert!(
        header.contains("etcd✗45s") || header.contains("etcd ✗ 45s"),
        "{header}"
    );
    live_at_sizes(
        "live_dcs_failing_topology",
        &pg_test_tab(&d, ClusterTab::Topology),
        &d,
        &s,
    );
    live_at_sizes(
        "live_dcs_failing_members",
        &pg_test_tab(&d, ClusterTab::Members),
        &d,
        &s,
    );
}

#[test]
fn live_prometheus_failing() {
    let d = sandbox();
    let s = recorded::prometheus_failing(&d);
    let app = pg_test_tab(&d, ClusterTab::Metrics);
    for (w, h) in SIZES {
        let screen = render_with(&app, &d, &s, w, h);
        assert!(
            screen.contains("no data: prometheus http://10.10.10.10:9090"),
            "{screen}"
        );
        assert!(
            !screen.contains('▁'),
            "no sparkline while Prometheus fails\n{screen}"
        );
    }
    live_at_sizes("live_prometheus_failing_metrics", &app, &d, &s);
    live_at_sizes(
        "live_prometheus_failing_members",
        &pg_test_tab(&d, ClusterTab::Members),
        &d,
        &s,
    );
}

#[test]
fn live_alerts() {
    let d = sandbox();
    let s = recorded::with_alerts(&d);
    let mut app = new_app(&d);
    press_live(&mut app, &d, &s, KeyCode::Char('a'));
    assert!(matches!(app.overlay, Some(Overlay::Alerts { .. })));
    live_at_sizes("live_alerts_popup", &app, &d, &s);
    live_at_sizes(
        "live_alerts_cluster_findings",
        &pg_test_tab(&d, ClusterTab::Findings),
        &d,
        &s,
    );
    // Enter goes to the instance of the selected (most severe) alert.
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 2
        })
    );
}

#[test]
fn live_findings_popup() {
    let d = sandbox();
    let s = recorded::switchover(&d);
    let mut app = new_app(&d);
    press_live(&mut app, &d, &s, KeyCode::Char('f'));
    assert!(matches!(app.overlay, Some(Overlay::Findings { .. })));
    live_at_sizes("live_findings_popup", &app, &d, &s);
    // The first (most severe) finding is the stale HAProxy route.
    press_live(&mut app, &d, &s, KeyCode::Char('j'));
    press_live(&mut app, &d, &s, KeyCode::Char('k'));
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert!(
        matches!(
            app.tree.selected(),
            Some(TreeItem::Instance { cluster: 1, .. })
        ),
        "{:?}",
        app.tree.selected()
    );
    // From the palette too.
    press_live(&mut app, &d, &s, KeyCode::Char(':'));
    type_text(&mut app, &d, "findings");
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Findings { .. })));
    press_live(&mut app, &d, &s, KeyCode::Esc);
    press_live(&mut app, &d, &s, KeyCode::Char(':'));
    type_text(&mut app, &d, "alerts");
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Alerts { .. })));
}

#[test]
fn live_consul_node_view() {
    use pigsty_tui::snapshot::Health;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/local-v1.yml");
    let mut d = pigsty_tui::inventory::load(&path).expect("inventory/local-v1.yml loads");
    d.source = PathBuf::from("inventory/local-v1.yml");
    let mut s = Snapshot::empty();
    s.taken_at = Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(recorded::NOW));
    s.interval = std::time::Duration::from_secs(2);
    let ip = "127.0.0.12";
    let node = d.node(ip).expect("node-2");
    for svc in node.services() {
        let consul = match svc.port {
            5432 | 6432 | 8008 | 5433 | 5434 | 5436 | 5438 | 9101 | 9630 | 9100 => {
                Some(if svc.port == 6432 {
                    Health::Down
                } else {
                    Health::Up
                })
            }
            _ => None,
        };
        s.services.insert(
            (ip.to_string(), svc.port),
            pigsty_tui::snapshot::ServiceObservation {
                health: Health::Up,
                latency: Some(std::time::Duration::from_micros(800)),
                consul,
                prometheus_up: matches!(svc.port, 8008 | 8500 | 9101 | 9630 | 9100).then_some(true),
                source: Some(format!("probe {ip}").into()),
                ..Default::default()
            },
        );
    }
    let mut app = AppState::new(&d);
    app.resize(80, 24);
    assert!(app.select_item(
        &d,
        TreeItem::Instance {
            cluster: 1,
            instance: 1
        }
    ));
    let screen = render_with(&app, &d, &s, 160, 48);
    let row = screen.lines().find(|l| l.contains("Pgbouncer")).unwrap();
    assert!(row.contains("up 0.8ms") && row.contains("down"), "{row}");
    assert!(
        screen.contains("CONSUL") && screen.contains("PROM"),
        "{screen}"
    );
    live_at_sizes("live_consul_instance", &app, &d, &s);
}

#[test]
fn header_fits_every_width() {
    let d = sandbox_with_warnings();
    for s in [
        recorded::healthy(&d),
        recorded::dcs_failing(&d),
        recorded::with_alerts(&d),
        recorded::prometheus_failing(&d),
    ] {
        for w in [200u16, 160, 120, 100, 80, 60, 40, 20] {
            let app = new_app(&d);
            let screen = render_with(&app, &d, &s, w, 24);
            let header = screen.lines().next().unwrap();
            assert!(
                unicode_width::UnicodeWidthStr::width(header) <= w as usize,
                "{w}: {header}"
            );
            if w >= 60 {
                // A failing source is never left out.
                for failing in s.sources.iter().filter(|x| !x.ok) {
                    let kind = match failing.kind {
                        pigsty_tui::sources::SourceKind::Etcd => "etcd",
                        pigsty_tui::sources::SourceKind::Prometheus => "prom",
                        pigsty_tui::sources::SourceKind::Patroni => "pat",
                        other => panic!("unexpected {other}"),
                    };
                    assert!(
                        header.to_lowercase().contains(kind) && header.contains('✗'),
                        "{w}: {header}"
                    );
                }
            }
        }
    }
    // Every badge with its age when there is room.
    let s = recorded::healthy(&d);
    let screen = render_with(&new_app(&d), &d, &s, 200, 24);
    let header = screen.lines().next().unwrap();
    assert!(header.contains("Patroni ✓ 0.3s"), "{header}");
    assert!(header.contains("alerts 0"), "{header}");
}

#[test]
fn section_keys_switch_the_cluster_view() {
    let d = sandbox();
    let s = recorded::healthy(&d);
    let mut app = selecting(&d, TreeItem::Cluster(1));
    assert_eq!(app.cluster_tab, ClusterTab::Topology);
    press_live(&mut app, &d, &s, KeyCode::Char('2'));
    assert_eq!(app.cluster_tab, ClusterTab::Members);
    press_live(&mut app, &d, &s, KeyCode::Char(']'));
    assert_eq!(app.cluster_tab, ClusterTab::History);
    press_live(&mut app, &d, &s, KeyCode::Char('['));
    press_live(&mut app, &d, &s, KeyCode::Char('['));
    assert_eq!(app.cluster_tab, ClusterTab::Topology);
    press_live(&mut app, &d, &s, KeyCode::Char('6'));
    assert_eq!(app.cluster_tab, ClusterTab::Findings);
    // In the detail pane too, and the section stays for the next cluster.
    press_live(&mut app, &d, &s, KeyCode::Tab);
    press_live(&mut app, &d, &s, KeyCode::Char('5'));
    assert_eq!(app.cluster_tab, ClusterTab::Routing);
    press_live(&mut app, &d, &s, KeyCode::Esc);
    press_live(&mut app, &d, &s, KeyCode::Char('g'));
    app.select_item(&d, TreeItem::Cluster(0));
    assert_eq!(app.cluster_tab, ClusterTab::Routing);
    // Digits mean nothing on other rows.
    app.select_item(&d, TreeItem::InfraGroup);
    assert_eq!(
        press_live(&mut app, &d, &s, KeyCode::Char('3')),
        Outcome::Ignored
    );
    assert_eq!(app.cluster_tab, ClusterTab::Routing);
    // The footer lists the keys on a cluster.
    let app = selecting(&d, TreeItem::Cluster(1));
    let footer = render_with(&app, &d, &s, 80, 24)
        .lines()
        .nth(23)
        .unwrap()
        .to_string();
    assert!(footer.contains("1-6 section"), "{footer}");
    // :tab from the palette.
    let mut app = selecting(&d, TreeItem::Cluster(1));
    press_live(&mut app, &d, &s, KeyCode::Char(':'));
    type_text(&mut app, &d, "tab metrics");
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert_eq!(app.cluster_tab, ClusterTab::Metrics);
}

#[test]
fn tree_marks_live_roles() {
    let d = sandbox();
    let s = recorded::member_down(&d);
    let app = new_app(&d);
    let screen = render_with(&app, &d, &s, 80, 24);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.starts_with('│') && l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{screen}"))
            .to_string()
    };
    assert!(row("pg-test-1").contains('★'), "{}", row("pg-test-1"));
    assert!(row("pg-test-2").contains('●'), "{}", row("pg-test-2"));
    assert!(row("pg-test-3").contains('✗'), "{}", row("pg-test-3"));
    let wide = render_with(&app, &d, &s, 160, 48);
    assert!(wide.contains("pg-test-2 10.10.10.12 R sync"), "{wide}");
    assert!(wide.contains("pg-test-3 10.10.10.13 R down"), "{wide}");
}

#[test]
fn live_views_render_at_every_size() {
    let d = sandbox();
    for s in [
        recorded::healthy(&d),
        recorded::switchover(&d),
        recorded::with_alerts(&d),
        recorded::dcs_failing(&d),
        recorded::prometheus_failing(&d),
    ] {
        for tab in ClusterTab::ALL {
            let app = pg_test_tab(&d, tab);
            for (w, h) in [(1, 1), (20, 5), (40, 12), (59, 20), (60, 20), (200, 60)] {
                render_with(&app, &d, &s, w, h);
            }
        }
        for overlay in [
            Overlay::Alerts { selected: 9 },
            Overlay::Findings { selected: 9 },
        ] {
            let mut app = new_app(&d);
            app.overlay = Some(overlay);
            for (w, h) in [(1, 1), (20, 5), (40, 12), (200, 60)] {
                render_with(&app, &d, &s, w, h);
            }
        }
    }
}

/// One frame of 1,000 instances with a live snapshot of every member:
/// `cargo test --release --test ui -- --ignored frame_time`.
#[test]
#[ignore = "timing; run in release"]
fn frame_time_1000_instances_live() {
    let d = large(100, 10);
    let base = recorded::healthy(&sandbox());
    let template = base.clusters[1].clone();
    let mut s = base.clone();
    s.clusters = d
        .clusters
        .iter()
        .map(|c| {
            let mut l = template.clone();
            l.name = c.name.clone();
            l.members = c
                .instances
                .iter()
                .enumerate()
                .map(|(k, i)| {
                    let mut m = template.members[k.min(2)].clone();
                    m.name = i.name.clone();
                    m.ip = Some(i.ip.clone());
                    m
                })
                .collect();
            l
        })
        .collect();
    let theme = Theme::default();
    for (w, h) in SIZES {
        let mut app = new_app(&d);
        app.tree.set_all_clusters_expanded(&d, true);
        app.resize(w, h);
        app.select_item(&d, TreeItem::Cluster(50));
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        let frames = 200;
        let start = std::time::Instant::now();
        for _ in 0..frames {
            terminal
                .draw(|f| ui::draw(f, &app, &d, &s, &theme))
                .unwrap();
        }
        let per_frame = start.elapsed() / frames;
        eprintln!("{w}x{h}: {per_frame:?} per frame");
        assert!(
            per_frame < std::time::Duration::from_millis(2),
            "{per_frame:?}"
        );
    }
}

// ---------------------------------------------------------------- keys

#[test]
fn starts_on_the_first_cluster() {
    let d = sandbox();
    let app = new_app(&d);
    assert_eq!(app.tree.selected(), Some(TreeItem::Cluster(0)));
    assert_eq!(app.focus, Focus::Tree);
}

#[test]
fn arrows_and_hjkl_move_through_the_tree() {
    let d = sandbox();
    let mut app = new_app(&d);
    // Rows: Infra, meta, Clusters, pg-meta, pg-meta-1, pg-test, pg-test-1..3
    press(&mut app, &d, KeyCode::Char('j'));
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 0,
            instance: 0
        })
    );
    press(&mut app, &d, KeyCode::Down);
    assert_eq!(app.tree.selected(), Some(TreeItem::Cluster(1)));
    press(&mut app, &d, KeyCode::Char('k'));
    press(&mut app, &d, KeyCode::Up);
    assert_eq!(app.tree.selected(), Some(TreeItem::Cluster(0)));
    // h on an expanded cluster collapses it, h again goes to the parent.
    press(&mut app, &d, KeyCode::Char('h'));
    assert!(!app.tree.is_expanded(TreeItem::Cluster(0)));
    press(&mut app, &d, KeyCode::Left);
    assert_eq!(app.tree.selected(), Some(TreeItem::ClustersGroup));
    // G / g jump to the ends.
    press(&mut app, &d, KeyCode::Char('G'));
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 2
        })
    );
    press(&mut app, &d, KeyCode::Char('g'));
    assert_eq!(app.tree.selected(), Some(TreeItem::InfraGroup));
}

#[test]
fn enter_toggles_groups_and_focuses_the_detail_on_nodes() {
    let d = sandbox();
    let mut app = new_app(&d);
    let rows = app.tree.rows().len();
    press(&mut app, &d, KeyCode::Enter); // collapse pg-meta
    assert_eq!(app.tree.rows().len(), rows - 1);
    press(&mut app, &d, KeyCode::Enter); // expand again
    assert_eq!(app.tree.rows().len(), rows);
    press(&mut app, &d, KeyCode::Char('j'));
    press(&mut app, &d, KeyCode::Enter); // on pg-meta-1
    assert_eq!(app.focus, Focus::Detail);
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.focus, Focus::Tree);
}

#[test]
fn tab_switches_pane_focus() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Detail);
    press(&mut app, &d, KeyCode::BackTab);
    assert_eq!(app.focus, Focus::Tree);
}

#[test]
fn detail_scrolls_within_its_content() {
    let d = sandbox();
    let mut app = selecting(&d, TreeItem::InfraNode(0));
    press(&mut app, &d, KeyCode::Tab);
    for _ in 0..100 {
        press(&mut app, &d, KeyCode::Char('j'));
    }
    let bottom = app.detail_scroll;
    assert!(bottom > 0);
    press(&mut app, &d, KeyCode::Char('j'));
    assert_eq!(app.detail_scroll, bottom, "scrolling stops at the end");
    press(&mut app, &d, KeyCode::Char('k'));
    assert_eq!(app.detail_scroll, bottom - 1);
    // A new selection starts at the top.
    press(&mut app, &d, KeyCode::Esc);
    press(&mut app, &d, KeyCode::Char('j'));
    assert_eq!(app.detail_scroll, 0);
}

#[test]
fn filter_narrows_the_tree_and_esc_clears_it() {
    let d = sandbox();
    let mut app = new_app(&d);
    let all = app.tree.rows().len();
    press(&mut app, &d, KeyCode::Char('/'));
    assert!(app.filter_editing);
    type_text(&mut app, &d, "TEST-2");
    let items: Vec<TreeItem> = app.tree.rows().iter().map(|r| r.item).collect();
    assert_eq!(
        items,
        vec![
            TreeItem::ClustersGroup,
            TreeItem::Cluster(1),
            TreeItem::Instance {
                cluster: 1,
                instance: 1
            }
        ]
    );
    // The match is selected.
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 1
        })
    );
    // Keys are text while editing: q does not quit.
    assert_eq!(press(&mut app, &d, KeyCode::Char('q')), Outcome::Handled);
    assert_eq!(app.tree.filter(), "TEST-2q");
    press(&mut app, &d, KeyCode::Backspace);
    press(&mut app, &d, KeyCode::Enter);
    assert!(!app.filter_editing);
    assert_eq!(app.tree.filter(), "TEST-2");
    // By IP.
    app.set_filter(&d, "10.10.10.13");
    assert!(app.tree.rows().iter().any(|r| r.item
        == TreeItem::Instance {
            cluster: 1,
            instance: 2
        }));
    assert!(
        !app.tree
            .rows()
            .iter()
            .any(|r| r.item == TreeItem::Cluster(0))
    );
    // Esc in the tree clears it.
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.tree.filter(), "");
    assert_eq!(app.tree.rows().len(), all);
}

#[test]
fn filter_esc_while_editing_clears() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "nothing-matches-this");
    assert!(app.tree.rows().is_empty());
    assert!(render(&app, &d, 160, 48).contains("no match for 'nothing-matches-this'"));
    press(&mut app, &d, KeyCode::Esc);
    assert!(!app.filter_editing);
    assert_eq!(app.tree.filter(), "");
    assert!(!app.tree.rows().is_empty());
}

#[test]
fn palette_selects_clusters_and_nodes() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "cluster pg-test");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert_eq!(app.tree.selected(), Some(TreeItem::Cluster(1)));

    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "node 10.10.10.12");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 1
        })
    );

    // An infra node by name, and an instance by name with the alias.
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, &format!("node {}", d.infra[0].name));
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.tree.selected(), Some(TreeItem::InfraNode(0)));
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "n pg-test-3");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 2
        })
    );
}

#[test]
fn palette_selection_reveals_collapsed_and_filtered_items() {
    let d = sandbox();
    let mut app = new_app(&d);
    app.set_filter(&d, "meta");
    app.tree.set_expanded(&d, TreeItem::ClustersGroup, false);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "node pg-test-3");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.tree.filter(), "", "the filter that hid it is cleared");
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 1,
            instance: 2
        })
    );
}

#[test]
fn palette_reports_errors_and_stays_open() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "cluster pg-nope");
    press(&mut app, &d, KeyCode::Enter);
    match &app.overlay {
        Some(Overlay::Palette(p)) => {
            assert_eq!(p.error.as_deref(), Some("no cluster 'pg-nope'"));
        }
        other => panic!("palette closed: {other:?}"),
    }
    // Typing clears the error; Esc closes.
    press(&mut app, &d, KeyCode::Backspace);
    assert!(matches!(&app.overlay, Some(Overlay::Palette(p)) if p.error.is_none()));
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
}

#[test]
fn palette_completes_with_tab_and_arrows() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "cl");
    press(&mut app, &d, KeyCode::Tab);
    let input = |app: &AppState| match &app.overlay {
        Some(Overlay::Palette(p)) => p.input.clone(),
        _ => panic!("palette closed"),
    };
    assert_eq!(input(&app), "cluster ");
    type_text(&mut app, &d, "te");
    press(&mut app, &d, KeyCode::Tab);
    assert_eq!(input(&app), "cluster pg-test");
    // Arrows pick among suggestions; Enter takes the highlighted one.
    press(&mut app, &d, KeyCode::Backspace);
    for _ in 0..5 {
        press(&mut app, &d, KeyCode::Backspace);
    }
    assert_eq!(input(&app), "cluster p");
    press(&mut app, &d, KeyCode::Down);
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert_eq!(app.tree.selected(), Some(TreeItem::Cluster(1)));
}

#[test]
fn quit_keys() {
    let d = sandbox();
    let mut app = new_app(&d);
    assert_eq!(press(&mut app, &d, KeyCode::Char('q')), Outcome::Quit);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        handle_key(&mut app, &d, &Snapshot::empty(), ctrl_c),
        Outcome::Quit
    );
    // Ctrl-C quits even from a popup or the filter bar.
    press(&mut app, &d, KeyCode::Char(':'));
    assert_eq!(
        handle_key(&mut app, &d, &Snapshot::empty(), ctrl_c),
        Outcome::Quit
    );
    app.overlay = None;
    press(&mut app, &d, KeyCode::Char('/'));
    assert_eq!(
        handle_key(&mut app, &d, &Snapshot::empty(), ctrl_c),
        Outcome::Quit
    );
    // :q and :quit.
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "q");
    assert_eq!(press(&mut app, &d, KeyCode::Enter), Outcome::Quit);
    press(&mut app, &d, KeyCode::Esc);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "quit");
    assert_eq!(press(&mut app, &d, KeyCode::Enter), Outcome::Quit);
}

#[test]
fn popups_close_with_esc() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char('?'));
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    // q closes the help rather than quitting.
    assert_eq!(press(&mut app, &d, KeyCode::Char('q')), Outcome::Handled);
    assert_eq!(app.overlay, None);
    press(&mut app, &d, KeyCode::Char('?'));
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    press(&mut app, &d, KeyCode::Char('w'));
    assert!(matches!(app.overlay, Some(Overlay::Warnings { .. })));
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
}

#[test]
fn help_lists_every_binding_of_every_component() {
    let d = sandbox();
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char('?'));
    // Tall enough to show the whole help at once.
    let screen = render(&app, &d, 160, 120);
    for c in ui::all_components() {
        assert!(screen.contains(c.name()), "help lacks section {}", c.name());
        for b in c.bindings() {
            assert!(
                screen.contains(b.keys),
                "help lacks {} of {}",
                b.keys,
                c.name()
            );
            assert!(
                screen.contains(b.action),
                "help lacks '{}' of {}",
                b.action,
                c.name()
            );
        }
    }
    for b in ui::GLOBAL_BINDINGS {
        assert!(
            screen.contains(b.action),
            "help lacks global '{}'",
            b.action
        );
    }
    for c in pigsty_tui::app::palette::COMMANDS {
        assert!(
            screen.contains(&format!(":{}", c.name)),
            "help lacks :{}",
            c.name
        );
    }
}

#[test]
fn footer_shows_the_focused_components_hints() {
    let d = sandbox();
    let mut app = new_app(&d);
    let footer = |app: &AppState| render(app, &d, 80, 24).lines().nth(23).unwrap().to_string();
    assert!(footer(&app).contains("Enter collapse"), "{}", footer(&app));
    assert!(footer(&app).contains("? help"), "{}", footer(&app));
    press(&mut app, &d, KeyCode::Tab);
    assert!(footer(&app).contains("j/k scroll"), "{}", footer(&app));
    press(&mut app, &d, KeyCode::Char(':'));
    assert!(footer(&app).contains("Tab complete"), "{}", footer(&app));
}

#[test]
fn a_thousand_instances_scroll_and_filter() {
    let d = large(100, 10);
    let mut app = new_app(&d);
    // Clusters start collapsed at this size.
    assert_eq!(app.tree.rows().len(), 2 + 1 + 100);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "expand");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.tree.rows().len(), 2 + 1 + 100 + 1000);
    press(&mut app, &d, KeyCode::Char('G'));
    let screen = render(&app, &d, 80, 24);
    assert!(screen.contains("pg-c099-10"), "{screen}");
    app.set_filter(&d, "pg-c042-7");
    assert_eq!(
        app.tree.selected(),
        Some(TreeItem::Instance {
            cluster: 42,
            instance: 6
        })
    );
    let screen = render(&app, &d, 160, 48);
    assert!(screen.contains("pg-c042-7"), "{screen}");
}

// ---------------------------------------------------------------- actions and tasks

fn press_char(app: &mut AppState, d: &Deployment, s: &Snapshot, c: char) -> Outcome {
    press_live(app, d, s, KeyCode::Char(c))
}

#[test]
fn action_menu_lists_the_actions_of_the_selection() {
    let d = sandbox();
    let s = recorded::healthy(&d);
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    press_char(&mut app, &d, &s, 'x');
    assert_eq!(app.overlay, Some(Overlay::ActionMenu { selected: 0 }));
    insta::assert_snapshot!(
        "action_menu_cluster_80x24",
        render_with(&app, &d, &s, 80, 24)
    );
    press_live(&mut app, &d, &s, KeyCode::Esc);
    assert_eq!(app.overlay, None);

    let mut app = pg_test_instance(&d, 1);
    press_char(&mut app, &d, &s, 'x');
    insta::assert_snapshot!(
        "action_menu_instance_80x24",
        render_with(&app, &d, &s, 80, 24)
    );

    // Read-only: only listing and inspection are offered.
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    app.readonly = true;
    press_char(&mut app, &d, &s, 'x');
    insta::assert_snapshot!(
        "action_menu_readonly_80x24",
        render_with(&app, &d, &s, 80, 24)
    );
    let items = ui::tasks::menu_items(&app, &d);
    assert!(items.iter().all(|i| !i.action.is_mutating()), "{items:?}");

    // Nothing selected that actions apply to: a message, no menu.
    let mut app = selecting(&d, TreeItem::InfraNode(0));
    press_char(&mut app, &d, &s, 'x');
    assert_eq!(app.overlay, None);
    assert!(app.status.is_some());
}

#[test]
fn switchover_runs_only_when_the_cluster_name_is_typed() {
    let d = sandbox();
    let s = recorded::healthy(&d);
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    press_char(&mut app, &d, &s, 'x');
    press_char(&mut app, &d, &s, 's');
    assert_eq!(app.overlay, Some(Overlay::Confirm));
    let pending = app.pending.as_ref().expect("a pending action");
    let plan = pending.plan.as_ref().expect("switchover planned");
    assert!(plan.needs_typed_confirmation);

    // A wrong name: Enter refuses and says what to type.
    type_text(&mut app, &d, "pg-tes");
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, Some(Overlay::Confirm));
    assert!(app.pending.as_ref().unwrap().error.is_some());
    insta::assert_snapshot!(
        "confirm_switchover_mismatch_80x24",
        render_with(&app, &d, &s, 80, 24)
    );
    // The right name: Enter runs (no runner in this test: a message).
    type_text(&mut app, &d, "t");
    insta::assert_snapshot!(
        "confirm_switchover_match_80x24",
        render_with(&app, &d, &s, 80, 24)
    );
    insta::assert_snapshot!(
        "confirm_switchover_match_160x48",
        render_with(&app, &d, &s, 160, 48)
    );
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert!(app.pending.is_none());
    assert!(app.status.as_ref().unwrap().text.contains("no task runner"));

    // Esc abandons.
    press_char(&mut app, &d, &s, 'x');
    press_char(&mut app, &d, &s, 's');
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    assert!(app.pending.is_none());
}

#[test]
fn refusals_are_shown_with_their_reasons() {
    let d = sandbox();
    let s = recorded::healthy(&d);
    // Failover with a healthy leader: refused by the pre-checks.
    let mut app = pg_test_instance(&d, 1);
    press_char(&mut app, &d, &s, 'x');
    press_char(&mut app, &d, &s, 'f');
    assert_eq!(app.overlay, Some(Overlay::Confirm));
    assert!(app.pending.as_ref().unwrap().plan.is_err());
    insta::assert_snapshot!("confirm_refused_80x24", render_with(&app, &d, &s, 80, 24));
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, None);

    // Read-only: a mutating palette command is refused with a message.
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    app.readonly = true;
    press_char(&mut app, &d, &s, ':');
    type_text(&mut app, &d, "switchover");
    press_live(&mut app, &d, &s, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    assert!(app.pending.is_none());
    let status = app.status.as_ref().expect("a refusal message");
    assert!(
        status.is_error && status.text.contains("read-only"),
        "{status:?}"
    );
    insta::assert_snapshot!("readonly_refusal_80x24", render_with(&app, &d, &s, 80, 24));
}

fn local_pipeline() -> pigsty_tui::tasks::Pipeline {
    use pigsty_tui::tasks::{Pipeline, RemoteCommand, Step, Target};
    Pipeline::new("inspect", "pg-test")
        .step(Step::command(
            "hello",
            Target::new("localhost").with_name("pg-test-1"),
            RemoteCommand::admin("printf '\\033[31mred\\033[0m line\\n'; echo two")
                .with_display("printf hello"),
        ))
        .step(
            Step::command(
                "fails",
                Target::new("localhost").with_name("pg-test-2"),
                RemoteCommand::admin("echo bye; exit 3").with_display("exit 3"),
            )
            .allow_failure(),
        )
}

#[tokio::test(flavor = "multi_thread")]
async fn task_view_and_list_show_a_local_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = sandbox();
    let mut app = new_app(&d);
    app.runner = Some(pigsty_tui::tasks::TaskRunner::local(dir.path()));
    app.start_pipeline(local_pipeline(), None);
    assert!(matches!(
        app.overlay,
        Some(Overlay::Task {
            index: 0,
            follow: true,
            ..
        })
    ));
    let handle = app.tasks[0].handle.clone();
    handle.wait().await;
    let out: Vec<String> = ui::tasks::output_lines(&handle.state())
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(out, ["red line", "two", "bye"]);
    insta::assert_snapshot!("task_view_80x24", render(&app, &d, 80, 24));
    // Scrolling up leaves follow mode; End follows again.
    press(&mut app, &d, KeyCode::Up);
    assert!(matches!(
        app.overlay,
        Some(Overlay::Task {
            scroll: 1,
            follow: false,
            ..
        })
    ));
    press(&mut app, &d, KeyCode::End);
    assert!(matches!(
        app.overlay,
        Some(Overlay::Task { follow: true, .. })
    ));
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, Some(Overlay::Tasks { selected: 0 }));
    insta::assert_snapshot!("task_list_80x24", render(&app, &d, 80, 24));
    press(&mut app, &d, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Task { index: 0, .. })));
    press(&mut app, &d, KeyCode::Esc);
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    // `t` reopens the list from anywhere.
    press(&mut app, &d, KeyCode::Char('t'));
    assert_eq!(app.overlay, Some(Overlay::Tasks { selected: 0 }));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_task_asks_first() {
    use pigsty_tui::tasks::{Pipeline, RemoteCommand, Step, Target, TaskStatus};
    let dir = tempfile::tempdir().unwrap();
    let d = sandbox();
    let mut app = new_app(&d);
    app.runner = Some(pigsty_tui::tasks::TaskRunner::local(dir.path()));
    let p = Pipeline::new("backup", "pg-test").step(Step::command(
        "long",
        Target::new("localhost"),
        RemoteCommand::admin("sleep 30"),
    ));
    app.start_pipeline(p, None);
    let handle = app.tasks[0].handle.clone();
    press(&mut app, &d, KeyCode::Char('c'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Task {
            confirm_cancel: true,
            ..
        })
    ));
    // Anything but y keeps the task.
    press(&mut app, &d, KeyCode::Char('n'));
    assert_eq!(handle.status(), TaskStatus::Running);
    press(&mut app, &d, KeyCode::Char('c'));
    press(&mut app, &d, KeyCode::Char('y'));
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), handle.wait())
        .await
        .expect("cancelled in time");
    assert_eq!(status, TaskStatus::Cancelled);
}

fn triage_with_events() -> std::sync::Arc<std::sync::Mutex<pigsty_tui::triage::events::TriageState>>
{
    use pigsty_tui::triage::events::{Event, EventKind, Timeline, TriageState};
    let at = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000 + s);
    let mut timeline = Timeline::in_memory();
    timeline
        .append(&[
            Event::new(
                at(0),
                EventKind::MemberLost,
                "patroni 10.10.10.13:8008",
                "pg-test-3 down",
            )
            .cluster(Some("pg-test"))
            .instance(Some("pg-test-3")),
            Event::new(
                at(60),
                EventKind::AlertFiring,
                "alertmanager",
                "PgsqlDown firing",
            )
            .cluster(Some("pg-test"))
            .instance(Some("pg-test-3")),
            Event::new(
                at(120),
                EventKind::MemberBack,
                "patroni 10.10.10.13:8008",
                "pg-test-3 back",
            )
            .cluster(Some("pg-test"))
            .instance(Some("pg-test-3")),
            Event::new(
                at(180),
                EventKind::LeaderChanged,
                "patroni 10.10.10.10:8008",
                "pg-meta-1 leads",
            )
            .cluster(Some("pg-meta")),
        ])
        .unwrap();
    std::sync::Arc::new(std::sync::Mutex::new(TriageState {
        timeline,
        tracker: Default::default(),
    }))
}

#[test]
fn events_view_lists_newest_first_and_filters() {
    let d = sandbox();
    let mut app = new_app(&d);
    app.triage = Some(triage_with_events());
    press(&mut app, &d, KeyCode::Char('e'));
    assert!(matches!(app.overlay, Some(Overlay::Events { .. })));
    insta::assert_snapshot!("events_view_80x24", render(&app, &d, 80, 24));
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "PG-TEST-3");
    press(&mut app, &d, KeyCode::Enter);
    let lines = ui::events::event_lines(&app, "PG-TEST-3").unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].contains("back"), "{lines:?}");
    insta::assert_snapshot!("events_view_filtered_80x24", render(&app, &d, 80, 24));
    // Esc clears the filter, then closes.
    press(&mut app, &d, KeyCode::Esc);
    assert!(matches!(app.overlay, Some(Overlay::Events { ref filter, .. }) if filter.is_empty()));
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    // Without a recorder (no polling): says so.
    let mut app = new_app(&d);
    press(&mut app, &d, KeyCode::Char(':'));
    type_text(&mut app, &d, "events");
    press(&mut app, &d, KeyCode::Enter);
    assert!(render(&app, &d, 80, 24).contains("live polling is off"));
}

#[test]
fn y_copies_the_selected_dsn_with_osc52() {
    let d = sandbox();
    let mut app = pg_test_instance(&d, 1);
    press(&mut app, &d, KeyCode::Char('y'));
    let text = app.clipboard.clone().expect("something to copy");
    assert_eq!(text, "postgres://10.10.10.12:5432/postgres");
    assert!(app.status.as_ref().unwrap().text.contains("copied"));
    assert_eq!(
        ui::clipboard::osc52(&text),
        format!("\x1b]52;c;{}\x07", ui::clipboard::base64(text.as_bytes()))
    );
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    press(&mut app, &d, KeyCode::Char('y'));
    assert_eq!(app.clipboard.as_deref(), Some("pg-test"));
}

#[test]
fn report_needs_ssh_and_a_cluster() {
    let d = sandbox();
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    press(&mut app, &d, KeyCode::Char('R'));
    let status = app.status.clone().expect("a message");
    assert!(
        status.is_error && status.text.contains("no SSH"),
        "{status:?}"
    );
    let mut app = selecting(&d, TreeItem::InfraNode(0));
    press(&mut app, &d, KeyCode::Char('R'));
    assert!(app.status.unwrap().text.contains("select a cluster"));
}

// ---------------------------------------------------------------- SSH questions

fn host_key_question(other: bool) -> pigsty_tui::tasks::ssh::HostKeyQuestion {
    pigsty_tui::tasks::ssh::HostKeyQuestion {
        host: "10.10.10.11".into(),
        port: 22,
        key_type: "ssh-ed25519".into(),
        fingerprint: "SHA256:k3KqeTJkB7pY8WbW0Ql4nW2v5TzSx1h0nH4r8m5Zc9E".into(),
        known_hosts: Some("/home/dba/.ssh/known_hosts".into()),
        other_known_keys: if other {
            vec!["ecdsa-sha2-nistp256 SHA256:Xx (line 4 of /home/dba/.ssh/known_hosts)".into()]
        } else {
            vec![]
        },
    }
}

fn ask_host_key(
    app: &mut AppState,
    question: pigsty_tui::tasks::ssh::HostKeyQuestion,
) -> tokio::sync::oneshot::Receiver<pigsty_tui::tasks::ssh::HostKeyAnswer> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    app.prompts
        .push(pigsty_tui::tasks::ssh::PromptRequest::HostKey { question, reply });
    rx
}

fn ask_passphrase(
    app: &mut AppState,
    attempt: u32,
) -> tokio::sync::oneshot::Receiver<Option<pigsty_tui::tasks::ssh::Passphrase>> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    app.prompts
        .push(pigsty_tui::tasks::ssh::PromptRequest::Passphrase {
            question: pigsty_tui::tasks::ssh::PassphraseQuestion {
                key_file: "/home/dba/.ssh/id_ed25519".into(),
                connecting_to: "dba@10.10.10.11:22".into(),
                attempt,
            },
            reply,
        });
    rx
}

#[test]
fn host_key_dialog_asks_and_audits_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = sandbox();
    let mut app = new_app(&d);
    app.home = Some("/home/dba".into());
    app.state_dir = Some(dir.path().to_path_buf());
    let mut first = ask_host_key(&mut app, host_key_question(false));
    let mut second = ask_host_key(&mut app, host_key_question(true));
    snapshot_at_sizes("host_key_dialog", &app, &d);
    for (w, h) in [(20, 6), (40, 12), (60, 16)] {
        render(&app, &d, w, h);
    }
    // The dialog has every key: global ones do nothing.
    assert_eq!(press(&mut app, &d, KeyCode::Char('q')), Outcome::Handled);
    assert_eq!(press(&mut app, &d, KeyCode::Char('?')), Outcome::Handled);
    assert_eq!(app.overlay, None);
    assert!(first.try_recv().is_err(), "not answered yet");
    let footer = render(&app, &d, 80, 24)
        .lines()
        .nth(23)
        .unwrap()
        .to_string();
    assert!(footer.contains("a accept+save"), "{footer}");
    // `a` accepts and saves; the answer reaches the connection and the
    // audit log.
    press(&mut app, &d, KeyCode::Char('a'));
    assert_eq!(
        first.try_recv(),
        Ok(pigsty_tui::tasks::ssh::HostKeyAnswer::Accept)
    );
    let status = app.status.as_ref().unwrap().text.clone();
    assert_eq!(
        status,
        "host key of 10.10.10.11:22 accepted, recorded in ~/.ssh/known_hosts"
    );
    // The next question (other key types known: said loudly).
    insta::assert_snapshot!(
        "host_key_dialog_other_types_80x24",
        render(&app, &d, 80, 24)
    );
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(
        second.try_recv(),
        Ok(pigsty_tui::tasks::ssh::HostKeyAnswer::Reject)
    );
    assert!(app.prompts.is_empty());
    let audit = pigsty_tui::tasks::audit::AuditLog::new(dir.path())
        .read_all()
        .unwrap();
    let seen: Vec<(&str, &str, &str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r.event.as_str(),
                r.target.as_str(),
                r.status.as_str(),
                r.steps[0].name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "host_key",
                "10.10.10.11:22",
                "accepted",
                "ssh-ed25519 SHA256:k3KqeTJkB7pY8WbW0Ql4nW2v5TzSx1h0nH4r8m5Zc9E"
            ),
            (
                "host_key",
                "10.10.10.11:22",
                "rejected",
                "ssh-ed25519 SHA256:k3KqeTJkB7pY8WbW0Ql4nW2v5TzSx1h0nH4r8m5Zc9E"
            ),
        ]
    );
}

#[test]
fn passphrase_dialog_masks_the_input() {
    let d = sandbox();
    let mut app = new_app(&d);
    app.home = Some("/home/dba".into());
    let mut rx = ask_passphrase(&mut app, 2);
    type_text(&mut app, &d, "hunter2");
    let screen = render(&app, &d, 80, 24);
    assert!(!screen.contains("hunter2"), "{screen}");
    assert!(screen.contains("•••••••"), "{screen}");
    insta::assert_snapshot!("passphrase_dialog_80x24", screen);
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(
        rx.try_recv().unwrap().as_deref().map(String::as_str),
        Some("hunter2")
    );
    assert!(app.prompts.is_empty());
    // Esc skips the key.
    let mut rx = ask_passphrase(&mut app, 1);
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(rx.try_recv().unwrap(), None);
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "key ~/.ssh/id_ed25519 skipped (no passphrase)"
    );
}

#[test]
fn changed_host_key_alert_is_shown_until_closed() {
    let d = sandbox();
    let mut app = new_app(&d);
    app.prompts
        .push(pigsty_tui::tasks::ssh::PromptRequest::Alert {
            message: "ssh 10.10.10.12:22: HOST KEY CHANGED! /home/dba/.ssh/known_hosts:2 records \
                  SHA256:old, the server sent SHA256:new — refusing to connect"
                .into(),
        });
    insta::assert_snapshot!("host_key_changed_alert_80x24", render(&app, &d, 80, 24));
    press(&mut app, &d, KeyCode::Char('x'));
    assert!(!app.prompts.is_empty());
    press(&mut app, &d, KeyCode::Enter);
    assert!(app.prompts.is_empty());
}

// ---------------------------------------------------------------- task output search

/// A finished local task of 60 output lines, six of them red `ERROR`s
/// (lines 10, 20, …, 60), shown in the task view (following).
async fn task_with_errors(dir: &Path, d: &Deployment) -> AppState {
    use pigsty_tui::tasks::{Pipeline, RemoteCommand, Step, Target};
    let mut app = new_app(d);
    app.runner = Some(pigsty_tui::tasks::TaskRunner::local(dir));
    let p = Pipeline::new("inspect", "pg-test").step(Step::command(
        "log",
        Target::new("localhost").with_name("pg-test-1"),
        RemoteCommand::admin(
            "for i in $(seq 1 60); do if [ $((i % 10)) = 0 ]; then \
             printf '\\033[31mERROR\\033[0m at %d\\n' $i; else echo \"ok $i\"; fi; done",
        )
        .with_display("log"),
    ));
    app.start_pipeline(p, None);
    app.tasks[0].handle.clone().wait().await;
    app
}

fn search_state(app: &AppState) -> (bool, usize, Option<pigsty_tui::app::OutputSearch>) {
    match &app.overlay {
        Some(Overlay::Task {
            follow,
            scroll,
            search,
            ..
        }) => (*follow, *scroll, search.clone()),
        other => panic!("not the task view: {other:?}"),
    }
}

fn current_line(app: &AppState) -> Option<String> {
    let (_, _, search) = search_state(app);
    let m = search?.current?;
    let task = &app.tasks[0];
    ui::tasks::shown_lines(task, &task.handle.state())
        .get(m)
        .map(|(_, t)| t.clone())
}

/// The screen's buffer, 80x24.
fn buffer(app: &AppState, d: &Deployment, theme: &Theme) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| ui::draw(f, app, d, &Snapshot::empty(), theme))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The cell where `needle` starts on screen.
fn cell_of(buf: &ratatui::buffer::Buffer, needle: &str) -> (u16, u16) {
    (0..buf.area.height)
        .find_map(|y| {
            let row: Vec<String> = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            let text: String = row.concat();
            text.find(needle)
                .map(|b| (text[..b].chars().count() as u16, y))
        })
        .unwrap_or_else(|| panic!("{needle} not on screen"))
}

#[tokio::test(flavor = "multi_thread")]
async fn task_output_search_jumps_between_matches() {
    let dir = tempfile::tempdir().unwrap();
    let d = sandbox();
    let theme = Theme::default();
    let mut app = task_with_errors(dir.path(), &d).await;
    assert!(search_state(&app).0, "following");
    // The remote's colours are kept on screen.
    let buf = buffer(&app, &d, &theme);
    let (x, y) = cell_of(&buf, "ERROR at 60");
    assert_eq!(buf[(x, y)].style().fg, Some(ratatui::style::Color::Red));
    // `/` opens the search input; typing goes there, not to the keys.
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "error");
    let (follow, _, search) = search_state(&app);
    assert!(follow, "still following while typing");
    let q = search.unwrap();
    assert!(q.editing);
    assert_eq!(q.query, "error");
    let footer = render(&app, &d, 80, 24)
        .lines()
        .nth(23)
        .unwrap()
        .to_string();
    assert!(footer.contains("Enter find"), "{footer}");
    // Enter: the first match after the top line shown (the view follows
    // the end, lines 45-60), and following stops.
    press(&mut app, &d, KeyCode::Enter);
    let (follow, _, search) = search_state(&app);
    assert!(!follow, "searching stops following");
    assert!(!search.as_ref().unwrap().editing);
    assert_eq!(current_line(&app).as_deref(), Some("ERROR at 50"));
    // n: next, wrapping to the top; N: previous.
    press(&mut app, &d, KeyCode::Char('n'));
    assert_eq!(current_line(&app).as_deref(), Some("ERROR at 60"));
    press(&mut app, &d, KeyCode::Char('n'));
    assert_eq!(current_line(&app).as_deref(), Some("ERROR at 10"));
    assert_eq!(
        search_state(&app).2.unwrap().note.as_deref(),
        Some("wrapped to the top")
    );
    press(&mut app, &d, KeyCode::Char('n'));
    assert_eq!(current_line(&app).as_deref(), Some("ERROR at 20"));
    let screen = render(&app, &d, 80, 24);
    assert!(screen.contains("match 2 of 6 lines"), "{screen}");
    let footer = screen.lines().nth(23).unwrap().to_string();
    assert!(
        footer.contains("n next") && footer.contains("N previous"),
        "{footer}"
    );
    insta::assert_snapshot!("task_view_search_80x24", screen);
    // The current match is highlighted in the selection style, the other
    // matches on screen in the header_warning style; the rest keeps its
    // own style.
    let buf = buffer(&app, &d, &theme);
    let (x, y) = cell_of(&buf, "ERROR at 20");
    assert_eq!(buf[(x, y)].style().bg, theme.selection.bg);
    let plain = |c: &ratatui::buffer::Cell| {
        c.style().bg != theme.selection.bg && c.style().bg != theme.header_warning.bg
    };
    assert!(plain(&buf[(x + 5, y)]), "only the match");
    let (x, y) = cell_of(&buf, "ERROR at 30");
    assert_eq!(buf[(x, y)].style().bg, theme.header_warning.bg);
    let (x, y) = cell_of(&buf, "ok 29");
    assert!(plain(&buf[(x, y)]));
    press(&mut app, &d, KeyCode::Char('N'));
    assert_eq!(current_line(&app).as_deref(), Some("ERROR at 10"));
    // y copies the current match.
    press(&mut app, &d, KeyCode::Char('y'));
    assert_eq!(app.clipboard.take().as_deref(), Some("ERROR at 10"));
    // Scrolling leaves the match (the query stays for n / N).
    press(&mut app, &d, KeyCode::Up);
    let (follow, _, search) = search_state(&app);
    assert!(!follow);
    assert_eq!(search.as_ref().unwrap().current, None);
    assert_eq!(search.unwrap().query, "error");
    press(&mut app, &d, KeyCode::Char('n'));
    assert!(current_line(&app).is_some());
    // F follows again.
    press(&mut app, &d, KeyCode::Char('F'));
    let (follow, scroll, search) = search_state(&app);
    assert!(follow);
    assert_eq!(scroll, 0);
    assert_eq!(search.unwrap().current, None);
    // Smart case: a capital makes it exact; no match is said, and the view
    // stays where it was (following).
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "ERROR AT");
    press(&mut app, &d, KeyCode::Enter);
    let (follow, _, search) = search_state(&app);
    assert!(follow);
    assert_eq!(
        search.unwrap().note.as_deref(),
        Some("no match for 'ERROR AT'")
    );
    // Esc ends the search, the next one goes back to the list.
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(search_state(&app).2, None);
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, Some(Overlay::Tasks { selected: 0 }));
}

/// Why a host failed (here: SSH refused) is shown in full under its row.
#[tokio::test(flavor = "multi_thread")]
async fn task_view_shows_why_a_host_failed() {
    use pigsty_tui::tasks::{Pipeline, RemoteCommand, SshConfig, SshPool, Step, Target};
    let dir = tempfile::tempdir().unwrap();
    let d = sandbox();
    let mut app = new_app(&d);
    let mut c = SshConfig::bare(dir.path().to_path_buf());
    c.use_agent = false;
    // Nothing listens on port 1 of the loopback: refused at once.
    app.runner = Some(pigsty_tui::tasks::TaskRunner::ssh(
        SshPool::new(c),
        dir.path(),
    ));
    let p = Pipeline::new("restart", "pg-test").step(Step::command(
        "restart pg-test-1",
        Target::new("127.0.0.1")
            .with_name("pg-test-1")
            .with_port(1)
            .with_user("dba"),
        RemoteCommand::dbsu("patronictl restart pg-test pg-test-1"),
    ));
    app.start_pipeline(p, None);
    app.tasks[0].handle.clone().wait().await;
    let screen = render(&app, &d, 80, 24);
    assert!(
        screen.contains("ssh dba@127.0.0.1:1: connection refused"),
        "{screen}"
    );
    insta::assert_snapshot!("task_view_ssh_error_80x24", screen);
}

// ---------------------------------------------------------------- logs pane and activity view

/// Fills the logs pane's columns with recorded lines, as their streams
/// would (this test has no SSH: nothing streams).
fn fill_logs(app: &mut AppState, file: &str, lines: &[(&str, &str)]) {
    let logs = app.logs.as_mut().expect("the logs pane is open");
    for col in &logs.columns {
        let text = lines
            .iter()
            .find(|(m, _)| *m == col.member)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no recorded lines for {}", col.member));
        let mut b = col.lock();
        b.reset();
        b.file = Some(file.to_string());
        b.state = pigsty_tui::app::logs::StreamState::Following;
        for l in text.lines() {
            b.push(l);
        }
    }
}

const PATRONI_LOGS: [(&str, &str); 3] = [
    ("pg-test-1", recorded_triage::PATRONI_PG_TEST_1),
    ("pg-test-2", recorded_triage::PATRONI_PG_TEST_2),
    ("pg-test-3", recorded_triage::PATRONI_PG_TEST_3),
];

#[test]
fn logs_pane_shows_every_member_of_a_cluster() {
    let d = sandbox();
    let mut app = pg_test_tab(&d, ClusterTab::Topology);
    press(&mut app, &d, KeyCode::Char('L'));
    assert_eq!(app.overlay, Some(Overlay::Logs));
    // Without SSH every column says why nothing comes.
    assert!(render(&app, &d, 80, 24).contains("no SSH connection"));
    press(&mut app, &d, KeyCode::Char('2'));
    let logs = app.logs.as_ref().unwrap();
    assert_eq!(logs.kind, pigsty_tui::triage::logs::LogKind::Patroni);
    let members: Vec<&str> = logs.columns.iter().map(|c| c.member.as_str()).collect();
    assert_eq!(members, ["pg-test-1", "pg-test-2", "pg-test-3"]);
    fill_logs(&mut app, "/pg/log/patroni/patroni.log", &PATRONI_LOGS);
    // 80 columns: one member at a time with a switcher; 160: side by side.
    snapshot_at_sizes("logs_cluster_patroni", &app, &d);
    press(&mut app, &d, KeyCode::Right);
    assert_eq!(app.logs.as_ref().unwrap().focused, 1);
    insta::assert_snapshot!(
        "logs_cluster_patroni_second_80x24",
        render(&app, &d, 80, 24)
    );
    // The time window cycles (and restarts the streams: empty again).
    press(&mut app, &d, KeyCode::Char('t'));
    let screen = render(&app, &d, 80, 24);
    assert!(screen.contains("Logs pg-test · patroni · 5m"), "{screen}");
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    assert!(app.logs.is_none());
}

#[test]
fn logs_pane_jumps_to_errors_searches_wraps_and_copies() {
    let d = sandbox();
    let mut app = pg_test_instance(&d, 0);
    press(&mut app, &d, KeyCode::Char('L'));
    fill_logs(
        &mut app,
        "/pg/log/postgres/postgresql-2026-11-26.csv",
        &[("pg-test-1", recorded_triage::POSTGRES_PG_TEST_1)],
    );
    // Following: csvlog records in short, the newest at the bottom.
    insta::assert_snapshot!("logs_instance_postgres_80x24", render(&app, &d, 80, 24));
    // E: the previous ERROR line (the newest one), then the one before.
    press(&mut app, &d, KeyCode::Char('E'));
    press(&mut app, &d, KeyCode::Char('E'));
    let logs = app.logs.as_ref().unwrap();
    assert_eq!(logs.columns[0].cursor.line, Some(1));
    assert!(
        logs.selected_line().unwrap().contains(",ERROR,42704,"),
        "y copies the line as written"
    );
    insta::assert_snapshot!("logs_instance_error_80x24", render(&app, &d, 80, 24));
    // y copies it (as written in the file).
    press(&mut app, &d, KeyCode::Char('y'));
    let copied = app.clipboard.take().expect("copied");
    assert!(
        copied.starts_with("2026-11-26 07:34:45.645 UTC,\"replicator\"")
            && copied.contains("pg_test_2"),
        "{copied}"
    );
    // / TIMELINE Enter: the nearest match above; n the next one; matches
    // are highlighted and counted.
    press(&mut app, &d, KeyCode::Char('/'));
    type_text(&mut app, &d, "TIMELINE");
    press(&mut app, &d, KeyCode::Enter);
    let logs = app.logs.as_ref().unwrap();
    assert_eq!(logs.search, "TIMELINE");
    let line = logs.selected_line().unwrap();
    assert!(line.to_lowercase().contains("timeline"), "{line}");
    press(&mut app, &d, KeyCode::Char('n'));
    insta::assert_snapshot!("logs_instance_search_wrapped_160x48", {
        press(&mut app, &d, KeyCode::Char('w'));
        render(&app, &d, 160, 48)
    });
    // v: the records as written.
    press(&mut app, &d, KeyCode::Char('v'));
    let screen = render(&app, &d, 80, 24);
    assert!(screen.contains("UTC,,,"), "{screen}");
    // Esc clears the search, then closes.
    press(&mut app, &d, KeyCode::Esc);
    assert!(app.logs.as_ref().unwrap().search.is_empty());
    press(&mut app, &d, KeyCode::Esc);
    assert!(app.logs.is_none());
    // Nothing selected that has logs: a message.
    let mut app = selecting(&d, TreeItem::InfraNode(0));
    press(&mut app, &d, KeyCode::Char('L'));
    assert_eq!(app.overlay, None);
    assert!(app.status.unwrap().text.contains("select a cluster"));
}

/// The activity view of pg-test-1 with the recorded sessions.
fn activity_app(d: &Deployment) -> AppState {
    let mut app = pg_test_instance(d, 0);
    press(&mut app, d, KeyCode::Char('A'));
    assert_eq!(app.overlay, Some(Overlay::Activity));
    let a = app.activity.as_ref().unwrap();
    assert_eq!(
        (a.cluster.as_str(), a.instance.as_str()),
        ("pg-test", "pg-test-1")
    );
    let rows =
        pigsty_tui::triage::activity::parse_activity(recorded_triage::ACTIVITY_PG_TEST_1).unwrap();
    let mut data = a.lock();
    *data = pigsty_tui::app::activity::ActivityData {
        rows,
        updated: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_679_930)),
        error: None,
        polls: 1,
    };
    drop(data);
    app
}

#[test]
fn activity_view_shows_blocking_and_waiting_sessions() {
    let d = sandbox();
    // Without SSH it says why there is nothing.
    let mut app = pg_test_instance(&d, 0);
    press(&mut app, &d, KeyCode::Char('A'));
    assert!(render(&app, &d, 80, 24).contains("no SSH connection"));

    let mut app = activity_app(&d);
    let pids: Vec<i32> = app
        .activity
        .as_ref()
        .unwrap()
        .visible_rows()
        .iter()
        .map(|r| r.pid)
        .collect();
    // Idle sessions hidden; the blocker (idle in transaction) first.
    assert_eq!(pids, [12414, 12887, 12899, 13994]);
    snapshot_at_sizes("activity_lock_chain", &app, &d);
    // a: the idle ones too.
    press(&mut app, &d, KeyCode::Char('a'));
    assert_eq!(app.activity.as_ref().unwrap().visible_rows().len(), 7);
    press(&mut app, &d, KeyCode::Char('a'));
    // ↓↓: the waiter blocked by the blocker.
    press(&mut app, &d, KeyCode::Down);
    press(&mut app, &d, KeyCode::Down);
    let row = app.activity.as_ref().unwrap().selected_row().unwrap();
    assert_eq!((row.pid, row.blocked_by.clone()), (12899, vec![12414]));
    insta::assert_snapshot!("activity_waiter_selected_80x24", render(&app, &d, 80, 24));
    // y copies its query.
    press(&mut app, &d, KeyCode::Char('y'));
    assert_eq!(
        app.clipboard.take().as_deref(),
        Some("UPDATE pgbench_accounts_rec SET abalance = abalance + 5 WHERE aid = 42;")
    );
}

#[test]
fn terminating_a_session_asks_with_the_exact_command_and_host() {
    let d = sandbox();
    let mut app = activity_app(&d);
    // The blocker is selected first.
    assert_eq!(
        app.activity.as_ref().unwrap().selected_row().unwrap().pid,
        12414
    );
    press(&mut app, &d, KeyCode::Char('k'));
    assert_eq!(app.overlay, Some(Overlay::Confirm));
    let plan = app.pending.as_ref().unwrap().plan.clone().expect("planned");
    assert_eq!(plan.name, "terminate-backend");
    assert_eq!(plan.target, "pg-test-1");
    assert_eq!(plan.hosts, ["pg-test-1"]);
    assert!(plan.mutating && !plan.needs_typed_confirmation);
    assert_eq!(plan.commands.len(), 1);
    assert_eq!(plan.commands[0].user, "postgres");
    assert_eq!(plan.commands[0].address, "10.10.10.11");
    assert!(
        plan.commands[0]
            .command
            .contains("-c 'SELECT pg_terminate_backend(12414)'"),
        "{:?}",
        plan.commands[0]
    );
    insta::assert_snapshot!("activity_terminate_confirm_80x24", render(&app, &d, 80, 24));
    // Esc: back to the sessions, nothing pending.
    press(&mut app, &d, KeyCode::Esc);
    assert_eq!(app.overlay, Some(Overlay::Activity));
    assert!(app.pending.is_none());
    // c: cancel instead; Enter without a task runner says so and stays.
    press(&mut app, &d, KeyCode::Char('c'));
    let plan = app.pending.as_ref().unwrap().plan.clone().unwrap();
    assert_eq!(plan.name, "cancel-backend");
    assert!(
        plan.commands[0]
            .command
            .contains("pg_cancel_backend(12414)")
    );
    press(&mut app, &d, KeyCode::Enter);
    assert_eq!(app.overlay, Some(Overlay::Activity));
    assert!(app.status.as_ref().unwrap().text.contains("no task runner"));

    // Read-only: c and k are neither offered nor accepted.
    let mut app = activity_app(&d);
    app.readonly = true;
    let hints = ui::focused_component(&app).commands(&app, &d);
    assert!(
        hints.iter().all(|h| h.keys != "c" && h.keys != "k"),
        "{hints:?}"
    );
    press(&mut app, &d, KeyCode::Char('k'));
    assert_eq!(app.overlay, Some(Overlay::Activity));
    assert!(app.pending.is_none());
    let status = app.status.clone().unwrap();
    assert!(
        status.is_error && status.text.contains("read-only"),
        "{status:?}"
    );
    insta::assert_snapshot!("activity_readonly_refusal_80x24", render(&app, &d, 80, 24));
}
