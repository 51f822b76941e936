//! The verify step of the wizard: one poll of every source against the new
//! inventory — every service of every node answers (the seed's tables, as
//! the inventory enables them) and every cluster has a running leader with
//! its replicas streaming.

use std::sync::Arc;

use serde::Serialize;

use crate::actions::checks;
use crate::model::Deployment;
use crate::snapshot::{Health, Snapshot};
use crate::sources::SourcesConfig;

/// One verified fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyLine {
    /// Node IP or cluster name.
    pub scope: String,
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl VerifyLine {
    pub fn line(&self) -> String {
        format!(
            "{} {:<15} {:<22} {}",
            if self.ok { "✓" } else { "✗" },
            self.scope,
            self.what,
            self.detail
        )
    }
}

/// Evaluate a snapshot of `d`.
pub fn evaluate(d: &Deployment, snap: &Snapshot) -> Vec<VerifyLine> {
    let mut out = Vec::new();
    for ip in d.node_ips() {
        let Some(node) = d.node(ip) else { continue };
        for s in node.services() {
            let obs = snap.service(ip, s.port);
            if obs.not_probed {
                continue;
            }
            let ok = obs.health == Health::Up;
            out.push(VerifyLine {
                scope: ip.to_string(),
                what: format!("{} :{}", s.name, s.port),
                ok,
                detail: if ok {
                    obs.latency
                        .map(|l| format!("up ({:.1} ms)", l.as_secs_f64() * 1000.0))
                        .unwrap_or_else(|| "up".into())
                } else {
                    obs.error.as_deref().unwrap_or(obs.status_str()).to_string()
                },
            });
        }
    }
    for c in &d.clusters {
        let Some(cl) = snap.cluster(&c.name) else {
            out.push(VerifyLine {
                scope: c.name.clone(),
                what: "leader".into(),
                ok: false,
                detail: "no live state (Patroni unreachable)".into(),
            });
            continue;
        };
        match checks::healthy_leader(cl) {
            Ok(l) => out.push(VerifyLine {
                scope: c.name.clone(),
                what: "leader".into(),
                ok: true,
                detail: format!("{} runs as leader", l.name),
            }),
            Err(e) => out.push(VerifyLine {
                scope: c.name.clone(),
                what: "leader".into(),
                ok: false,
                detail: e,
            }),
        }
        let leader = cl.leader().map(str::to_string);
        for m in &cl.members {
            if Some(&m.name) == leader.as_ref() {
                continue;
            }
            let ok = m.streaming == Some(true)
                || m.state.as_ref().is_some_and(|s| s.value == "streaming");
            out.push(VerifyLine {
                scope: c.name.clone(),
                what: format!("{} streams", m.name),
                ok,
                detail: if ok {
                    m.lag_bytes
                        .as_ref()
                        .map(|l| format!("streaming, lag {} B", l.value))
                        .unwrap_or_else(|| "streaming".into())
                } else {
                    checks::not_running_reason(m)
                },
            });
        }
    }
    out
}

/// What verify polls: every source with port probes (unlike the actions'
/// wait steps), no DCS watches and no sparkline range queries.
pub fn sources_config() -> SourcesConfig {
    let mut c = SourcesConfig {
        watch_dcs: false,
        ..SourcesConfig::default()
    };
    c.queries.range.clear();
    c
}

/// Poll `d` once and evaluate it.
pub async fn verify(d: &Deployment, cfg: SourcesConfig) -> Vec<VerifyLine> {
    let snap = crate::sources::poll_once(Arc::new(d.clone()), cfg).await;
    evaluate(d, &snap)
}

/// Everything verified.
pub fn all_ok(lines: &[VerifyLine]) -> bool {
    !lines.is_empty() && lines.iter().all(|l| l.ok)
}
