//! The `status --format json` document: the declared deployment with the
//! live state merged in (a contract scripts rely on; see README).

use serde_json::{Value, json};

use super::{Fact, MemberLive, Snapshot, rfc3339};
use crate::model::{Deployment, Service};

fn fact_json<T: serde::Serialize>(f: &Option<Fact<T>>) -> Value {
    match f {
        Some(f) => serde_json::to_value(f).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

fn value<T: serde::Serialize>(f: &Option<Fact<T>>) -> Value {
    f.as_ref()
        .map(|f| serde_json::to_value(&f.value).unwrap_or(Value::Null))
        .unwrap_or(Value::Null)
}

fn service_json(snap: &Snapshot, ip: &str, s: &Service) -> Value {
    let o = snap.service(ip, s.port);
    json!({
        "name": s.name,
        "kind": s.kind,
        "port": s.port,
        "proto": s.proto,
        "status": o.status_str(),
        "latency_ms": o.latency.map(|l| (l.as_secs_f64() * 1e6).round() / 1e3),
        "error": o.error,
        "age_ms": o.observed_at.and_then(|t| snap.taken_at?.duration_since(t).ok()).map(|a| a.as_millis() as u64),
        "stale": o.stale,
        "consul": o.consul,
        "prometheus_up": o.prometheus_up,
    })
}

/// The `live` object of one instance.
pub fn live_json(m: Option<&MemberLive>) -> Value {
    let Some(m) = m else {
        return json!({
            "role": "unknown", "state": null, "timeline": null, "lag_bytes": null,
            "lag_seconds": null, "pending_restart": null, "paused": null,
            "reachable": null, "source": null, "age_ms": null, "stale": null, "error": null,
        });
    };
    let main = m.role.as_ref().or(m.state.as_ref());
    json!({
        "role": m.role_str(),
        "state": value(&m.state),
        "timeline": value(&m.timeline),
        "lag_bytes": value(&m.lag_bytes),
        "lag_seconds": value(&m.lag_seconds),
        "pending_restart": value(&m.pending_restart),
        "paused": value(&m.paused),
        "reachable": m.reachable,
        "source": main.map(|f| f.source.clone()),
        "age_ms": main.map(|f| f.age_ms),
        "stale": main.map(|f| f.stale),
        "error": m.error,
        "cluster_error": m.cluster_error,
        "wal_position": value(&m.wal_position),
        "replication": m.replication,
        "streaming": m.streaming,
        "patroni_version": m.patroni_version,
        "dcs_role": m.dcs.as_ref().and_then(|d| d.role.clone()),
        "facts": {
            "role": fact_json(&m.role),
            "state": fact_json(&m.state),
            "timeline": fact_json(&m.timeline),
            "lag_bytes": fact_json(&m.lag_bytes),
            "lag_seconds": fact_json(&m.lag_seconds),
        },
        "prometheus": m.prometheus,
    })
}

/// The full `status` document: top-level `deployment`, `inventory`,
/// `generation`, `dcs`, `clusters` (each with `leader` and instances with a
/// `live` object), `infra`, `findings` and `sources`.
pub fn status_json(d: &Deployment, snap: &Snapshot) -> Value {
    let clusters: Vec<Value> = d
        .clusters
        .iter()
        .map(|c| {
            let live = snap.cluster(&c.name);
            let instances: Vec<Value> = c
                .instances
                .iter()
                .map(|i| {
                    json!({
                        "name": i.name,
                        "ip": i.ip,
                        "seq": i.seq,
                        "role": i.role,
                        "offline_query": i.offline_query,
                        "nodename": i.nodename,
                        "services": i.services.iter().map(|s| service_json(snap, &i.ip, s)).collect::<Vec<_>>(),
                        "live": live_json(live.and_then(|l| l.member(&i.name))),
                    })
                })
                .collect();
            let undeclared: Vec<Value> = live
                .map(|l| {
                    l.members
                        .iter()
                        .filter(|m| !m.declared)
                        .map(|m| json!({"name": m.name, "ip": m.ip, "live": live_json(Some(m))}))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": c.name,
                "leader": live.and_then(|l| l.leader()),
                "leader_views": live.map(|l| &l.leader),
                "timeline": live.and_then(|l| l.timeline.as_ref().map(|t| t.value)),
                "paused": live.and_then(|l| l.paused.as_ref().map(|t| t.value)),
                "sync_standby": live.map(|l| &l.sync_standby),
                "instances": instances,
                "undeclared_members": undeclared,
                "services": c.services,
                "routing": live.map(|l| &l.routing),
                "history": live.map(|l| &l.history),
                "alerts": live.map(|l| &l.alerts),
            })
        })
        .collect();
    let infra: Vec<Value> = d
        .infra
        .iter()
        .map(|n| {
            json!({
                "name": n.name,
                "ip": n.ip,
                "services": n.services.iter().map(|s| service_json(snap, &n.ip, s)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sources: Vec<Value> = snap
        .sources
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "kind": s.kind,
                "status": if s.ok { "ok" } else { "error" },
                "age_ms": s.age_ms,
                "error": if s.ok { None } else { s.last_error.clone() },
                "latency_ms": s.latency.map(|l| (l.as_secs_f64() * 1e6).round() / 1e3),
                "last_success": s.last_success.map(rfc3339),
                "last_error": s.last_error,
                "failures": s.failures,
            })
        })
        .collect();
    json!({
        "deployment": d.name,
        "inventory": d.source,
        "generation": d.generation,
        "version": d.version,
        "dcs": d.dcs,
        "taken_at": snap.taken_at.map(rfc3339),
        "seq": snap.seq,
        "clusters": clusters,
        "infra": infra,
        "findings": snap.findings,
        "sources": sources,
        "alerts": snap.alerts,
        "warnings": d.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}
