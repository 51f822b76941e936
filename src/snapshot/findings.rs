//! The disagreement detector: where two sources (or the inventory and a
//! source) disagree. Only fresh facts are compared; each finding names both
//! sources and their values.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ClusterLive, Fact, Health, Snapshot};
use crate::model::{DeclaredRole, Deployment};
use crate::sources::SourceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The DCS leader key names another member than Patroni's leader.
    DcsLeaderMismatch,
    /// Two members claim to be primary.
    SplitBrain,
    /// Prometheus' `pg_in_recovery` disagrees with Patroni's role.
    RecoveryMismatch,
    /// HAProxy's primary service routes to a non-leader (or nowhere).
    HaproxyRouting,
    /// The inventory's `pg_role` differs from the live role (expected after
    /// a switchover).
    RoleDrift,
    /// Running members are on different timelines.
    TimelineDivergence,
    /// A member's Patroni answers but cannot read the DCS (`/cluster` fails).
    PatroniDcsError,
    /// Consul's health checks disagree with the port probe.
    ConsulHealthMismatch,
}

/// One source's value in a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opinion {
    pub source: String,
    pub value: String,
}

impl Opinion {
    fn new(source: impl AsRef<str>, value: impl Into<String>) -> Self {
        Opinion {
            source: source.as_ref().to_string(),
            value: value.into(),
        }
    }

    fn of<T: std::fmt::Display>(f: &Fact<T>) -> Self {
        Opinion::new(&f.source, f.value.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    pub cluster: Option<String>,
    pub instance: Option<String>,
    pub message: String,
    pub sources: Vec<Opinion>,
}

/// Every disagreement in `s`, most severe first.
pub fn detect(d: &Deployment, s: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &s.clusters {
        cluster_findings(d, c, &mut out);
    }
    consul_findings(d, s, &mut out);
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
    out
}

fn fresh<T>(f: &Option<Fact<T>>) -> Option<&Fact<T>> {
    f.as_ref().filter(|f| !f.stale)
}

fn cluster_findings(d: &Deployment, c: &ClusterLive, out: &mut Vec<Finding>) {
    let cls = Some(c.name.clone());
    let finding = |severity, kind, instance: Option<&str>, message: String, sources| Finding {
        severity,
        kind,
        cluster: cls.clone(),
        instance: instance.map(str::to_string),
        message,
        sources,
    };

    // Split brain: more than one member says it is the leader.
    let claimers: Vec<(&str, &Fact<String>)> = c
        .members
        .iter()
        .filter(|m| m.is_leader())
        .filter_map(|m| fresh(&m.role).map(|r| (m.name.as_str(), r)))
        .collect();
    if claimers.len() > 1 {
        let names: Vec<&str> = claimers.iter().map(|(n, _)| *n).collect();
        out.push(finding(
            Severity::Error,
            FindingKind::SplitBrain,
            None,
            format!(
                "{}: {} members claim to be leader: {}",
                c.name,
                names.len(),
                names.join(", ")
            ),
            claimers
                .iter()
                .map(|(n, r)| Opinion::new(&r.source, format!("{n} is {}", r.value)))
                .collect(),
        ));
    }
    if let Some(p) = fresh(&c.leader.prometheus)
        && p.value.contains(',')
    {
        out.push(finding(
            Severity::Warning,
            FindingKind::SplitBrain,
            None,
            format!("{}: Prometheus sees several primaries: {}", c.name, p.value),
            vec![Opinion::of(p)],
        ));
    }

    // DCS leader key vs Patroni.
    if let Some(dl) = fresh(&c.leader.dcs) {
        if let Some(pl) = fresh(&c.leader.patroni)
            && pl.value != dl.value
        {
            out.push(finding(
                Severity::Warning,
                FindingKind::DcsLeaderMismatch,
                Some(&dl.value),
                format!(
                    "{}: DCS leader key says {}, Patroni says {}",
                    c.name, dl.value, pl.value
                ),
                vec![Opinion::of(dl), Opinion::of(pl)],
            ));
        } else if let Some(m) = c.member(&dl.value)
            && let Some(r) = fresh(&m.role)
            && !m.is_leader()
            && claimers.is_empty()
        {
            out.push(finding(
                Severity::Warning,
                FindingKind::DcsLeaderMismatch,
                Some(&m.name),
                format!(
                    "{}: DCS leader key names {} but it is {}",
                    c.name, dl.value, r.value
                ),
                vec![
                    Opinion::of(dl),
                    Opinion::new(&r.source, format!("{} is {}", m.name, r.value)),
                ],
            ));
        }
    }

    // Prometheus pg_in_recovery vs Patroni's role.
    for m in &c.members {
        let (Some(r), Some(rec)) = (fresh(&m.role), m.prometheus.in_recovery) else {
            continue;
        };
        if m.prometheus.stale || r.value == "unknown" {
            continue;
        }
        let patroni_primary = r.value == "leader";
        let prom_primary = rec < 0.5;
        if patroni_primary != prom_primary {
            out.push(finding(
                Severity::Warning,
                FindingKind::RecoveryMismatch,
                Some(&m.name),
                format!(
                    "{}: Patroni says {} but pg_in_recovery = {rec}",
                    m.name, r.value
                ),
                vec![
                    Opinion::of(r),
                    Opinion::new("prometheus", format!("pg_in_recovery = {rec}")),
                ],
            ));
        }
    }

    // HAProxy's primary service must route to the leader only.
    let decl = d.cluster(&c.name);
    let is_primary_service = |svc: &str| {
        svc == "primary"
            || decl.is_some_and(|dc| {
                dc.services
                    .iter()
                    .any(|s| s.name == svc && s.check.as_deref() == Some("/primary"))
            })
    };
    if let Some(pl) = fresh(&c.leader.patroni) {
        for r in c
            .routing
            .iter()
            .filter(|r| !r.stale && is_primary_service(&r.service))
        {
            let port = r.port.map(|p| format!(":{p}")).unwrap_or_default();
            let others: Vec<&String> = r.routes_to.iter().filter(|s| **s != pl.value).collect();
            if !others.is_empty() {
                out.push(finding(
                    Severity::Error,
                    FindingKind::HaproxyRouting,
                    Some(others[0]),
                    format!(
                        "{}: HAProxy {}{port} ({}) routes to {} but the leader is {}",
                        c.name,
                        r.haproxy,
                        r.proxy,
                        r.routes_to.join(", "),
                        pl.value
                    ),
                    vec![
                        Opinion::new(&r.source, r.routes_to.join(",")),
                        Opinion::of(pl),
                    ],
                ));
            } else if r.routes_to.is_empty() {
                out.push(finding(
                    Severity::Warning,
                    FindingKind::HaproxyRouting,
                    Some(&pl.value),
                    format!(
                        "{}: HAProxy {}{port} ({}) routes nowhere while the leader is {}",
                        c.name, r.haproxy, r.proxy, pl.value
                    ),
                    vec![Opinion::new(&r.source, "no server up"), Opinion::of(pl)],
                ));
            }
        }
    }

    // Inventory vs live role.
    if let Some(dc) = decl {
        for i in &dc.instances {
            let Some(m) = c.member(&i.name) else { continue };
            let Some(r) = fresh(&m.role) else { continue };
            let drift = match i.role {
                DeclaredRole::Primary => r.value != "leader" && r.value != "standby_leader",
                DeclaredRole::Standby => false,
                _ => m.is_leader(),
            };
            if drift {
                out.push(finding(
                    Severity::Info,
                    FindingKind::RoleDrift,
                    Some(&i.name),
                    format!(
                        "{}: declared {} in the inventory, live {} (expected after a switchover)",
                        i.name, i.role, r.value
                    ),
                    vec![
                        Opinion::new(format!("inventory {}", d.source.display()), i.role.as_str()),
                        Opinion::of(r),
                    ],
                ));
            }
        }
    }

    // Timeline divergence among running members.
    let mut tls: BTreeMap<u64, Vec<(&str, &Fact<u64>)>> = BTreeMap::new();
    for m in &c.members {
        let running =
            fresh(&m.state).is_some_and(|s| s.value == "running" || s.value == "streaming");
        if let (true, Some(t)) = (running, fresh(&m.timeline)) {
            tls.entry(t.value).or_default().push((&m.name, t));
        }
    }
    if tls.len() > 1 {
        let desc: Vec<String> = tls
            .iter()
            .map(|(tl, ms)| {
                let names: Vec<&str> = ms.iter().map(|(n, _)| *n).collect();
                format!("timeline {tl}: {}", names.join(", "))
            })
            .collect();
        let behind = tls.values().next().and_then(|v| v.first()).map(|(n, _)| *n);
        out.push(finding(
            Severity::Warning,
            FindingKind::TimelineDivergence,
            behind,
            format!(
                "{}: members on different timelines ({})",
                c.name,
                desc.join("; ")
            ),
            tls.values()
                .flatten()
                .map(|(n, t)| Opinion::new(&t.source, format!("{n} on timeline {}", t.value)))
                .collect(),
        ));
    }

    // Patroni up but blind to the DCS.
    for m in &c.members {
        if let (Some(true), Some(e)) = (m.reachable, &m.cluster_error) {
            let src = m
                .role
                .as_ref()
                .map(|r| r.source.clone())
                .unwrap_or_default();
            out.push(finding(
                Severity::Warning,
                FindingKind::PatroniDcsError,
                Some(&m.name),
                format!("{}: Patroni answers but GET /cluster fails: {e}", m.name),
                vec![
                    Opinion::new(src, "GET /patroni ok"),
                    Opinion::new("GET /cluster", e.clone()),
                ],
            ));
        }
    }
}

fn consul_findings(d: &Deployment, s: &Snapshot, out: &mut Vec<Finding>) {
    let consul_source = s
        .sources
        .iter()
        .find(|x| x.kind == SourceKind::Consul && !x.name.contains(" watch "))
        .map_or_else(|| "consul".to_string(), |x| x.name.to_string());
    for (k, o) in s.services.sorted() {
        let (Some(consul), false, false) = (o.consul, o.stale, o.not_probed) else {
            continue;
        };
        let (severity, what) = match (consul, o.health) {
            (Health::Up, Health::Down) => (
                Severity::Warning,
                "Consul says passing but the port probe fails",
            ),
            (Health::Down, Health::Up) => {
                (Severity::Info, "Consul's checks fail but the port answers")
            }
            _ => continue,
        };
        let instance = d.node(k.0).and_then(|n| n.instance).map(|i| i.name.clone());
        out.push(Finding {
            severity,
            kind: FindingKind::ConsulHealthMismatch,
            cluster: d
                .node(k.0)
                .and_then(|n| n.instance)
                .map(|i| i.cluster.clone()),
            instance,
            message: format!("{}:{}: {what}", k.0, k.1),
            sources: vec![
                Opinion::new(
                    &consul_source,
                    if consul == Health::Up {
                        "passing"
                    } else {
                        "critical"
                    },
                ),
                Opinion::new(
                    o.source.as_deref().unwrap_or("probe"),
                    o.error.as_deref().unwrap_or(o.status_str()),
                ),
            ],
        });
    }
}
