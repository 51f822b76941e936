//! `pigsty-tui status`: the deployment as a table or as JSON.

use crate::model::Deployment;

use super::Format;

/// Print the deployment (optionally one cluster); returns the exit code.
pub fn run(deployment: &Deployment, cluster: Option<&str>, format: Format) -> i32 {
    if let Some(name) = cluster
        && deployment.cluster(name).is_none()
    {
        let known: Vec<&str> = deployment.clusters.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "error: no cluster '{name}' in {}; clusters: {}",
            deployment.source.display(),
            known.join(", ")
        );
        return 2;
    }
    match format {
        Format::Json => {
            let doc = json(deployment, cluster);
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON of plain values"));
        }
        Format::Text => print!("{}", text(deployment, cluster)),
    }
    0
}

/// The JSON document of `status` (a documented contract, see README).
pub fn json(d: &Deployment, cluster: Option<&str>) -> serde_json::Value {
    use serde_json::json;
    let clusters: Vec<_> = d
        .clusters
        .iter()
        .filter(|c| cluster.is_none_or(|n| n == c.name))
        .map(|c| {
            json!({
                "name": c.name,
                "instances": c.instances.iter().map(|i| json!({
                    "name": i.name,
                    "ip": i.ip,
                    "seq": i.seq,
                    "role": i.role,
                    "offline_query": i.offline_query,
                    "nodename": i.nodename,
                    "services": i.services.iter().map(|s| json!({"name": s.name, "port": s.port, "proto": s.proto})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "services": c.services,
            })
        })
        .collect();
    let infra: Vec<_> = d
        .infra
        .iter()
        .map(|n| {
            json!({
                "name": n.name,
                "ip": n.ip,
                "services": n.services.iter().map(|s| json!({"name": s.name, "port": s.port, "proto": s.proto})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "deployment": d.name,
        "inventory": d.source,
        "generation": d.generation,
        "version": d.version,
        "dcs": d.dcs,
        "clusters": clusters,
        "infra": infra,
        "warnings": d.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}

/// The text table of `status`.
pub fn text(d: &Deployment, cluster: Option<&str>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) Pigsty {} DCS {}",
        d.name,
        d.source.display(),
        d.generation,
        d.dcs.kind
    );
    if cluster.is_none() {
        for n in &d.infra {
            let ports: Vec<String> = n.services.iter().map(|s| format!("{}:{}", s.name, s.port)).collect();
            let _ = writeln!(out, "infra {:<10} {:<15} {}", n.name, n.ip, ports.join(" "));
        }
    }
    let _ = writeln!(out, "{:<12} {:<14} {:<15} {:>3}  {:<8}", "CLUSTER", "INSTANCE", "IP", "SEQ", "ROLE");
    for c in d.clusters.iter().filter(|c| cluster.is_none_or(|n| n == c.name)) {
        for i in &c.instances {
            let _ = writeln!(out, "{:<12} {:<14} {:<15} {:>3}  {:<8}", c.name, i.name, i.ip, i.seq, i.role);
        }
    }
    for w in &d.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
