//! `pigsty-tui status`: the deployment with its live state, as a table or as
//! JSON (`snapshot::status_json`, a documented contract), once or `--watch`.

use std::fmt::Write;
use std::sync::Arc;

use serde_json::Value;

use crate::model::Deployment;
use crate::snapshot::{Snapshot, status_json};
use crate::sources::{self, SourcesConfig};

use super::Format;

/// Options of one `status` run.
pub struct StatusOptions<'a> {
    pub cluster: Option<&'a str>,
    pub format: Format,
    pub watch: bool,
    /// Declared state only: no polling (`--no-poll`).
    pub no_poll: bool,
    pub sources: SourcesConfig,
}

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
        return Ok(2);
    }
    let deployment = Arc::new(deployment);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if opts.no_poll {
            print!(
                "{}",
                render(&deployment, &Snapshot::empty(), opts.cluster, opts.format)
            );
            return Ok(0);
        }
        if !opts.watch {
            let snap = sources::poll_once(deployment.clone(), opts.sources.clone()).await;
            print!("{}", render(&deployment, &snap, opts.cluster, opts.format));
            return Ok(0);
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut rx = sources::spawn(deployment.clone(), opts.sources.clone(), cancel.clone());
        let mut ticker = tokio::time::interval(opts.sources.interval);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => { cancel.cancel(); return Ok(0); }
                _ = ticker.tick() => {
                    let snap = rx.borrow_and_update().clone();
                    let out = render(&deployment, &snap, opts.cluster, opts.format);
                    if opts.format == Format::Text {
                        // Clear the screen between frames, like `watch`.
                        print!("\x1b[H\x1b[2J{out}");
                    } else {
                        // JSON lines: one compact document per interval.
                        println!("{}", out.trim_end().replace('\n', ""));
                    }
                }
            }
        }
    })
}

/// The document or table for one snapshot.
pub fn render(d: &Deployment, snap: &Snapshot, cluster: Option<&str>, format: Format) -> String {
    let mut doc = status_json(d, snap);
    if let Some(name) = cluster
        && let Some(Value::Array(clusters)) = doc.get_mut("clusters")
    {
        clusters.retain(|c| c["name"] == name);
    }
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
            s.push('\n');
            s
        }
        Format::Text => text(&doc, cluster.is_none()),
    }
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
        .map(|s| format!("{}: {}", cell(&s["name"]), cell(&s["error"])))
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
