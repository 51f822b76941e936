//! Property tests of the inventory loader (`pigsty_tui::inventory::parse`):
//! whatever the text — random, a soup of YAML tokens, or (mostly) a valid
//! inventory with its lines edited — it never panics, and it either loads
//! or fails with every problem located at `file:line:column` inside the
//! text. What loads also renders (tree and overview) without a panic.
//!
//! `PROPTEST_CASES=N` runs more cases (default 256 per property).

use std::path::{Path, PathBuf};

use pigsty_tui::app::AppState;
use pigsty_tui::app::tree::TreeItem;
use pigsty_tui::inventory::{self, InventoryError};
use pigsty_tui::snapshot::Snapshot;
use pigsty_tui::ui;
use pigsty_tui::ui::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "support/mutate.rs"]
mod mutate;

const FILE: &str = "fuzz/pigsty.yml";

/// Every inventory the repository holds: fixtures, the sandbox's, and the
/// real-world corpus.
fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        "tests/fixtures/inventory",
        "tests/fixtures/inventory/corpus",
        "inventory",
    ] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 6, "inventory seeds missing: {files:?}");
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// The properties every outcome must have.
fn check(text: &str) -> Result<(), TestCaseError> {
    match inventory::parse(text, Path::new(FILE)) {
        Ok(d) => {
            render_all(&d)?;
            Ok(())
        }
        Err(e) => {
            let InventoryError::Invalid(diags) = &e else {
                return Err(TestCaseError::fail(format!(
                    "parse gave a non-located error: {e}"
                )));
            };
            prop_assert!(!diags.is_empty(), "an Invalid error without problems");
            // Lines as YAML counts them: \n, \r\n or a lone \r ends one.
            let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count() as u32;
            for d in diags {
                prop_assert_eq!(d.file.as_path(), Path::new(FILE));
                let (Some(l), Some(c)) = (d.line, d.column) else {
                    return Err(TestCaseError::fail(format!("unlocated problem: {d}")));
                };
                // A position inside the text (the end of the text counts).
                prop_assert!(l >= 1 && l <= lines + 1, "line {l} of {lines}: {d}");
                prop_assert!(c >= 1, "column {c}: {d}");
                prop_assert!(!d.message.trim().is_empty(), "empty message: {d}");
                prop_assert!(
                    d.to_string().starts_with(&format!("{FILE}:{l}:{c}: ")),
                    "{d}"
                );
            }
            Ok(())
        }
    }
}

/// Draw the first screens of a loaded deployment: overview, then the first
/// cluster and instance selected, at a normal and a tiny size.
fn render_all(d: &pigsty_tui::model::Deployment) -> Result<(), TestCaseError> {
    let theme = Theme::default();
    let snap = Snapshot::empty();
    let mut apps = vec![AppState::new(d)];
    if !d.clusters.is_empty() {
        let mut a = AppState::new(d);
        a.select_item(d, TreeItem::Cluster(0));
        apps.push(a);
        if !d.clusters[0].instances.is_empty() {
            let mut a = AppState::new(d);
            a.select_item(
                d,
                TreeItem::Instance {
                    cluster: 0,
                    instance: 0,
                },
            );
            apps.push(a);
        }
    }
    for mut app in apps {
        for (w, h) in [(80, 24), (20, 5)] {
            app.resize(w, h);
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| ui::draw(f, &app, d, &snap, &theme))
                .map_err(|e| TestCaseError::fail(format!("draw: {e}")))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// Valid inventories with lines deleted, moved, re-indented, their
    /// values replaced, YAML tokens appended, or cut anywhere.
    #[test]
    fn mutated_inventories_load_or_fail_located(text in mutate::text_input(seeds(), ": ")) {
        check(&text)?;
    }

    /// Arbitrary bytes, read as (lossy) UTF-8.
    #[test]
    fn arbitrary_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    /// Well-formed YAML of the right shape with arbitrary host keys and
    /// values: host patterns, IPv6, names, numbers where strings go, …
    #[test]
    fn generated_clusters_load_or_fail_located(
        clusters in prop::collection::vec(
            (
                prop_oneof![Just("pg-test".to_string()), "[a-z][a-z0-9-]{0,8}", "\\PC{0,6}"],
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("10.10.10.11".to_string()),
                            Just("10.10.10.[11:13]".to_string()),
                            Just("fd00::11".to_string()),
                            Just("'[fd00::12]'".to_string()),
                            Just("db-[a:c].example.com".to_string()),
                            Just("node-[01:03]".to_string()),
                            Just("x[1:2][3:4][5:6]".to_string()),
                            Just("x[0:99999999999]".to_string()),
                            Just("x[1:9:0]".to_string()),
                            Just("x[".to_string()),
                            "[a-z0-9.:\\[\\]-]{1,16}",
                        ],
                        prop_oneof![Just("1".to_string()), Just("-1".to_string()), Just("x".to_string()),
                                    Just("4294967296".to_string()), Just("~".to_string()), "[0-9]{1,3}"],
                        prop::sample::select(&["primary", "replica", "offline", "delayed", "standby", "?", ""][..]),
                    ),
                    0..4,
                ),
            ),
            0..4,
        ),
        version in prop::sample::select(&["v1.5.1", "v2.7.0", "v3.6.1", "v4.0.0", "v0", "x", ""][..]),
        dcs in prop::sample::select(&["etcd", "consul", "zk", ""][..]),
    ) {
        let mut y = String::from("all:\n  children:\n");
        y.push_str("    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }\n");
        y.push_str("    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }\n");
        for (i, (name, hosts)) in clusters.iter().enumerate() {
            y.push_str(&format!("    group{i}:\n      vars: {{ pg_cluster: {name:?} }}\n      hosts:\n"));
            if hosts.is_empty() {
                y.push_str("        {}\n");
            }
            for (host, seq, role) in hosts {
                y.push_str(&format!("        {host}: {{ pg_seq: {seq}, pg_role: {role:?} }}\n"));
            }
        }
        y.push_str(&format!("  vars:\n    version: {version:?}\n    pg_dcs_type: {dcs:?}\n"));
        check(&y)?;
    }
}

/// Deep nesting (flow and block) and alias bombs are refused with a
/// located error, not a stack overflow or an allocation failure.
#[test]
fn deep_nesting_and_alias_bombs_are_errors() {
    for text in [
        "[".repeat(100_000),
        format!("all: {}{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!("all: {}1{}", "{a: ".repeat(20_000), "}".repeat(20_000)),
        (0..20_000)
            .map(|i| format!("{}- x\n", " ".repeat(i % 200)))
            .collect::<String>(),
        {
            let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
            for i in 1..12 {
                let p = i - 1;
                s.push_str(&format!(
                    "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
                ));
            }
            s
        },
    ] {
        let r = std::panic::catch_unwind(|| check_plain(&text));
        assert!(r.is_ok(), "panicked on {}…", &text[..text.len().min(60)]);
    }
}

fn check_plain(text: &str) {
    if let Err(e) = inventory::parse(text, Path::new(FILE)) {
        for d in e.diagnostics() {
            assert!(d.line.is_some() && d.column.is_some(), "{d}");
        }
    }
}
