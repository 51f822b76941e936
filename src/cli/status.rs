//! `pigsty-tui status`: the health summary and the deployment with its live
//! state, as a table or as JSON (`snapshot::status_json`, a documented
//! contract, plus a top-level `health` array `[{cluster, level, reasons}]`),
//! once or `--watch`.
//!
//! The text output starts with one line per cluster, worst first
//! (`pg-test DEGRADED: pg-test-2 down 3m12s`, see `triage::health` for the
//! rules). Exit codes (one-shot):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every cluster (or the `-c` cluster) HEALTHY |
//! | 1 | a cluster DEGRADED or UNKNOWN (no live data), none DOWN; also any other error |
//! | 2 | a cluster DOWN |
//! | 3 | `-c` names no cluster of the inventory |
//!
//! `--watch` records the event timeline (`<state dir>/events.jsonl`) while
//! it runs and exits 0 on Ctrl-C. `--no-poll` prints no health lines (an
//! empty `health` array) and exits 0.

use std::fmt::Write;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::model::Deployment;
use crate::snapshot::{Snapshot, status_json};
use crate::sources::{self, SourcesConfig};
use crate::triage::health::{self, ClusterHealth, DownSince, HealthTracker, NoHistory};
use crate::triage::{Timeline, spawn_recorder};

use super::Format;

/// Options of one `status` run.
pub struct StatusOptions<'a> {
    pub cluster: Option<&'a str>,
    pub format: Format,
    pub watch: bool,
    /// Declared state only: no polling (`--no-poll`).
    pub no_poll: bool,
    pub sources: SourcesConfig,
    /// The event timeline (`<state dir>/events.jsonl`): read for "down
    /// since", written by `--watch`. `None`: neither.
    pub events_path: Option<PathBuf>,
}

/// Exit code for an unknown `-c` cluster.
pub const EXIT_UNKNOWN_CLUSTER: i32 = 3;

/// Poll every source once (or every interval with `watch`), print; returns
/// the exit code.
pub fn run(deployment: Deployment, opts: StatusOptions<'_>) -> color_eyre::Result<i32> {
    if let Some(name) = opts.cluster
        && deployment.cluster(name).is_none()
    {
        let known: Vec<&str> = deployment
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        eprintln!(
            "error: no cluster '{name}' in {}; clusters: {}",
            deployment.source.display(),
            known.join(", ")
        );
        return Ok(EXIT_UNKNOWN_CLUSTER);
    }
    let timeline = match &opts.events_path {
        Some(p) => Timeline::load(p).unwrap_or_else(|e| {
            eprintln!(
                "warning: cannot read the event timeline {}: {e}",
                p.display()
            );
            Timeline::in_memory()
        }),
        None => Timeline::in_memory(),
    };
    let deployment = Arc::new(deployment);
    // One round of requests is I/O-bound: a single-threaded runtime starts
    // no worker threads and hands no request between threads (on a busy
    // 2-core machine each hand-off can wait for a time slice). `--watch`
    // keeps the sources running side by side with the printing.
    let runtime = if opts.watch {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        if opts.no_poll {
            // Nothing is known live: no health lines.
            print!(
                "{}",
                render_with_health(
                    &deployment,
                    &Snapshot::empty(),
                    opts.cluster,
                    opts.format,
                    &[]
                )
            );
            return Ok(0);
        }
        if !opts.watch {
            // One round, only what is printed: the chosen cluster's sources,
            // no sparkline range queries, the history from the DCS key (the
            // rows Patroni's /history serves). The `-c` table shows no port
            // states (only the full one lists the infra ports), so it does
            // not probe ports: probing them (HAProxy and Postgres fork a
            // backend per connect) took half of its time on the sandbox.
            // Findings that need probes (Consul's health against the port)
            // are in the full table, the JSON and the console.
            let mut cfg = opts.sources.clone();
            cfg.queries.range.clear();
            cfg.patroni_history = false;
            if opts.format == Format::Text && opts.cluster.is_some() {
                cfg.enable.probes = false;
            }
            let polled = Arc::new(crate::actions::live::scoped(&deployment, opts.cluster));
            let snap = sources::poll_once(polled, cfg).await;
            let summary = summary_of(&deployment, &snap, &timeline, opts.cluster);
            print!(
                "{}",
                render_with_health(&deployment, &snap, opts.cluster, opts.format, &summary)
            );
            return Ok(health::exit_code(&summary));
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut rx = sources::spawn(deployment.clone(), opts.sources.clone(), cancel.clone());
        let recorder = opts
            .events_path
            .clone()
            .map(|p| spawn_recorder(deployment.clone(), rx.clone(), p));
        let mut tracker = HealthTracker::from_timeline(&timeline);
        let mut ticker = tokio::time::interval(opts.sources.interval);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    cancel.cancel();
                    if let Some(r) = recorder { r.abort(); }
                    return Ok(0);
                }
                _ = ticker.tick() => {
                    let snap = rx.borrow_and_update().clone();
                    if snap.taken_at.is_none() {
                        continue; // nothing polled yet
                    }
                    tracker.observe(&snap);
                    let summary = summary_of(&deployment, &snap, &tracker, opts.cluster);
                    let frame = if opts.format == Format::Text {
                        let out = render_with_health(&deployment, &snap, opts.cluster, opts.format, &summary);
                        // Clear the screen between frames, like `watch`.
                        format!("\x1b[H\x1b[2J{out}")
                    } else {
                        // JSON lines: one compact document per interval.
                        format!("{}\n", document(&deployment, &snap, opts.cluster, &summary))
                    };
                    // A closed pipe (`| head`) ends the watch quietly.
                    let mut stdout = std::io::stdout().lock();
                    if stdout.write_all(frame.as_bytes()).and_then(|()| stdout.flush()).is_err() {
                        cancel.cancel();
                        if let Some(r) = recorder { r.abort(); }
                        return Ok(0);
                    }
                }
            }
        }
    })
}

/// The health summary, of one cluster when given.
pub fn summary_of(
    d: &Deployment,
    snap: &Snapshot,
    history: &dyn DownSince,
    cluster: Option<&str>,
) -> Vec<ClusterHealth> {
    let mut summary = health::summarize(d, snap, history);
    if let Some(name) = cluster {
        summary.retain(|h| h.cluster == name);
    }
    summary
}

/// The document or table for one snapshot (health without "down since"
/// durations).
pub fn render(d: &Deployment, snap: &Snapshot, cluster: Option<&str>, format: Format) -> String {
    let summary = summary_of(d, snap, &NoHistory, cluster);
    render_with_health(d, snap, cluster, format, &summary)
}

/// The document or table for one snapshot with its health summary.
pub fn render_with_health(
    d: &Deployment,
    snap: &Snapshot,
    cluster: Option<&str>,
    format: Format,
    summary: &[ClusterHealth],
) -> String {
    let doc = document(d, snap, cluster, summary);
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
            s.push('\n');
            s
        }
        Format::Text => text(&doc, cluster.is_none()),
    }
}

/// The `status` JSON document: `status_json` narrowed to `cluster`, with
/// the `health` lines.
pub fn document(
    d: &Deployment,
    snap: &Snapshot,
    cluster: Option<&str>,
    summary: &[ClusterHealth],
) -> Value {
    let mut doc = status_json(d, snap);
    if let Some(name) = cluster
        && let Some(Value::Array(clusters)) = doc.get_mut("clusters")
    {
        clusters.retain(|c| c["name"] == name);
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "health".into(),
            serde_json::to_value(summary).unwrap_or(Value::Null),
        );
    }
    doc
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn human_bytes(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(b) if b < 1024.0 => format!("{b:.0} B"),
        Some(b) if b < 1024.0 * 1024.0 => format!("{:.1} KiB", b / 1024.0),
        Some(b) if b < 1024.0 * 1024.0 * 1024.0 => format!("{:.1} MiB", b / 1048576.0),
        Some(b) => format!("{:.1} GiB", b / 1073741824.0),
    }
}

/// The text table, built from the JSON document so both always agree.
fn text(doc: &Value, with_infra: bool) -> String {
    let mut out = String::new();
    for h in doc["health"].as_array().into_iter().flatten() {
        let reasons: Vec<String> = h["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        if reasons.is_empty() {
            let _ = writeln!(out, "{} {}", cell(&h["cluster"]), cell(&h["level"]));
        } else {
            let _ = writeln!(
                out,
                "{} {}: {}",
                cell(&h["cluster"]),
                cell(&h["level"]),
                reasons.join("; ")
            );
        }
    }
    let _ = writeln!(
        out,
        "{} ({}) Pigsty {} DCS {}",
        cell(&doc["deployment"]),
        cell(&doc["inventory"]),
        cell(&doc["generation"]),
        cell(&doc["dcs"]["kind"])
    );
    let sources = doc["sources"].as_array().cloned().unwrap_or_default();
    let failing: Vec<String> = sources
        .iter()
        .filter(|s| s["status"] != "ok")
        .map(|s| {
            // The error usually names its source already.
            let (name, error) = (cell(&s["name"]), cell(&s["error"]));
            if error.starts_with(&format!("{name}: ")) {
                error
            } else {
                format!("{name}: {error}")
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "sources: {} ok, {} failing",
        sources.len() - failing.len(),
        failing.len()
    );
    if with_infra {
        for n in doc["infra"].as_array().into_iter().flatten() {
            let services: Vec<String> = n["services"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    format!(
                        "{}:{}={}",
                        cell(&s["name"]),
                        cell(&s["port"]),
                        cell(&s["status"])
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "infra {} {}  {}",
                cell(&n["name"]),
                cell(&n["ip"]),
                services.join(" ")
            );
        }
    }
    let _ = writeln!(
        out,
        "{:<12} {:<14} {:<15} {:<8} {:<13} {:<10} {:>3} {:>10} {:>7}",
        "CLUSTER", "INSTANCE", "IP", "DECLARED", "ROLE", "STATE", "TL", "LAG", "LAG(s)"
    );
    for c in doc["clusters"].as_array().into_iter().flatten() {
        for i in c["instances"].as_array().into_iter().flatten() {
            let live = &i["live"];
            let _ = writeln!(
                out,
                "{:<12} {:<14} {:<15} {:<8} {:<13} {:<10} {:>3} {:>10} {:>7}",
                cell(&c["name"]),
                cell(&i["name"]),
                cell(&i["ip"]),
                cell(&i["role"]),
                cell(&live["role"]),
                cell(&live["state"]),
                cell(&live["timeline"]),
                human_bytes(&live["lag_bytes"]),
                cell(&live["lag_seconds"]),
            );
        }
        let _ = writeln!(
            out,
            "{:<12} leader: {}",
            cell(&c["name"]),
            cell(&c["leader"])
        );
    }
    for f in doc["findings"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "finding [{}] {}",
            cell(&f["severity"]),
            cell(&f["message"])
        );
    }
    for e in &failing {
        let _ = writeln!(out, "source error: {e}");
    }
    for w in doc["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "warning: {}", cell(w));
    }
    out
}
