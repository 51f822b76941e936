//! Details of the two group rows: the infrastructure as a whole (DCS,
//! endpoints, infra nodes) and the list of clusters.

use ratatui::text::{Line, Span};

use super::View;
use super::live;
use super::text::{Cell, fit_columns, table, wrap_words};
use crate::model::DeclaredRole;
use crate::snapshot::Severity;

/// Detail of the "Infra" row.
pub fn infra(view: &View, width: usize) -> Vec<Line<'static>> {
    let d = view.deployment;
    let t = view.theme;
    let mut out = Vec::new();
    let generation = match &d.version {
        Some(v) => format!("Pigsty {} ({v})", d.generation),
        None => format!("Pigsty {}", d.generation),
    };
    out.push(Line::from(vec![
        Span::styled(d.name.clone(), t.title),
        Span::styled(format!("  {generation}"), t.text),
    ]));
    out.push(Line::default());

    out.push(Line::styled(
        format!("Infra nodes ({})", d.infra.len()),
        t.table_header,
    ));
    if d.infra.is_empty() {
        out.push(Line::styled("No meta / infra node declared.", t.dim));
    } else {
        let rows: Vec<Vec<Cell>> = d
            .infra
            .iter()
            .map(|n| {
                vec![
                    (n.name.clone(), t.text),
                    (n.ip.clone(), t.dim),
                    (n.seq.to_string(), t.dim),
                    (n.services.len().to_string(), t.dim),
                ]
            })
            .collect();
        out.extend(table(
            &["NAME", "IP", "SEQ", "SERVICES"],
            &rows,
            0,
            width,
            t.dim,
        ));
    }
    out.push(Line::default());

    out.push(Line::styled(
        format!("DCS: {} (namespace {})", d.dcs.kind, d.dcs.namespace),
        t.table_header,
    ));
    if d.dcs.servers.is_empty() {
        out.push(Line::styled("No DCS server declared.", t.warning));
    } else {
        let rows: Vec<Vec<Cell>> = d
            .dcs
            .servers
            .iter()
            .map(|s| {
                vec![
                    (s.name.clone(), t.text),
                    (s.ip.clone(), t.dim),
                    (s.port.to_string(), t.text),
                    {
                        let obs = view.snapshot.service(&s.ip, s.port);
                        super::node_view::status_cell(&obs, t)
                    },
                ]
            })
            .collect();
        out.extend(table(
            &["NAME", "IP", "PORT", "STATUS"],
            &rows,
            0,
            width,
            t.dim,
        ));
    }
    out.push(Line::default());

    out.push(Line::styled("Endpoints", t.table_header));
    let endpoints = [
        ("Prometheus", &d.endpoints.prometheus),
        ("Alertmanager", &d.endpoints.alertmanager),
        ("Grafana", &d.endpoints.grafana),
    ];
    let rows: Vec<Vec<Cell>> = endpoints
        .iter()
        .map(|(name, e)| {
            let (url, status) = match e {
                Some(e) => (
                    e.url(),
                    super::node_view::status_cell(&view.snapshot.service(&e.host, e.port), t),
                ),
                None => ("not declared".to_string(), ("-".to_string(), t.dim)),
            };
            vec![(name.to_string(), t.text), (url, t.dim), status]
        })
        .collect();
    out.extend(table(&["NAME", "URL", "STATUS"], &rows, 1, width, t.dim));
    out.push(Line::default());
    out.extend(sources(view, width));
    out
}

/// Every live source: whether it answers, how fresh its data is, and why
/// it fails.
fn sources(view: &View, width: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    let failing = s.sources.iter().filter(|x| !x.ok).count();
    let mut out = vec![Line::styled(
        if failing == 0 {
            format!("Live sources ({})", s.sources.len())
        } else {
            format!("Live sources ({}, {failing} failing)", s.sources.len())
        },
        t.table_header,
    )];
    if s.sources.is_empty() {
        out.push(Line::styled("no live data yet", t.dim));
        return out;
    }
    let rows: Vec<Vec<Cell>> = s
        .sources
        .iter()
        .map(|x| {
            let stale = live::source_stale(s, x);
            let (status, style) = if !x.ok {
                (format!("✗ {}", x.failures), t.status_down)
            } else if stale {
                ("~ok".to_string(), t.stale)
            } else {
                ("✓".to_string(), t.status_up)
            };
            vec![
                (x.name.to_string(), t.text),
                (status, style),
                (
                    x.age_ms.map(live::age).unwrap_or_else(|| "never".into()),
                    if stale || !x.ok { t.warning } else { t.dim },
                ),
                (
                    x.latency.map(live::latency).unwrap_or_else(|| "-".into()),
                    t.dim,
                ),
            ]
        })
        .collect();
    let header = ["SOURCE", "OK", "AGE", "TOOK"];
    let (header, rows) = fit_columns(&header, &rows, &[3], width, usize::MAX);
    out.extend(table(&header, &rows, 0, width, t.dim));
    for x in s.sources.iter().filter(|x| !x.ok) {
        out.extend(
            wrap_words(&format!("✗ {}: {}", x.name, live::source_error(x)), width)
                .into_iter()
                .map(|l| Line::styled(l, t.error)),
        );
    }
    out
}

/// Detail of the "Clusters" row: one line per cluster.
pub fn clusters(view: &View, width: usize) -> Vec<Line<'static>> {
    let d = view.deployment;
    let t = view.theme;
    let mut out = vec![
        Line::from(vec![
            Span::styled(format!("{} clusters", d.clusters.len()), t.title),
            Span::styled(format!("  {} instances", d.instance_count()), t.text),
        ]),
        Line::default(),
    ];
    let has_live = live::has_live(view.snapshot);
    let rows: Vec<Vec<Cell>> = d
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let count = |r: DeclaredRole| c.instances.iter().filter(|i| i.role == r).count();
            let primary = c
                .declared_primary()
                .map(|p| (p.name.clone(), t.role_primary))
                .unwrap_or_else(|| ("none".to_string(), t.warning));
            let mut row = vec![
                (c.name.clone(), t.group),
                (c.instances.len().to_string(), t.text),
                primary,
                (count(DeclaredRole::Replica).to_string(), t.text),
                (c.services.len().to_string(), t.dim),
            ];
            if has_live {
                let l = live::cluster_at(view.snapshot, i, c);
                let leader = l.and_then(|l| l.leader());
                let declared = c.declared_primary().map(|p| p.name.as_str());
                row.push(match (l, leader) {
                    (_, Some(name)) if declared.is_some_and(|p| p != name) => {
                        (format!("{name} ≠"), t.warning)
                    }
                    (_, Some(name)) => (name.to_string(), t.role_primary),
                    (Some(l), None) if l.members.iter().any(|m| m.role.is_some()) => {
                        ("none".to_string(), t.error)
                    }
                    _ => ("?".to_string(), t.status_unknown),
                });
                row.push(
                    l.and_then(|l| l.timeline.as_ref())
                        .map(|tl| {
                            (
                                live::stale_text(tl.value.to_string(), tl.stale),
                                if tl.stale { t.stale } else { t.text },
                            )
                        })
                        .unwrap_or_else(|| ("-".to_string(), t.dim)),
                );
                let running = l.map_or(0, |l| {
                    l.members
                        .iter()
                        .filter(|m| {
                            matches!(
                                live::member_mark(Some(m), t).kind,
                                live::MarkKind::Leader | live::MarkKind::Replica
                            )
                        })
                        .count()
                });
                let total = l.map_or(c.instances.len(), |l| {
                    l.members.len().max(c.instances.len())
                });
                row.push((
                    format!("{running}/{total}"),
                    if running < total {
                        t.warning
                    } else {
                        t.status_up
                    },
                ));
                let findings = view
                    .snapshot
                    .findings
                    .iter()
                    .filter(|f| f.cluster.as_deref() == Some(c.name.as_str()))
                    .collect::<Vec<_>>();
                let worst = findings.iter().map(|f| f.severity).max();
                row.push((
                    findings.len().to_string(),
                    match worst {
                        Some(Severity::Error) => t.error,
                        Some(Severity::Warning) => t.warning,
                        Some(Severity::Info) => t.info,
                        None => t.dim,
                    },
                ));
                let alerts = l.map_or(0, |l| l.alerts.len());
                row.push((
                    alerts.to_string(),
                    if alerts > 0 { t.warning } else { t.dim },
                ));
            }
            row
        })
        .collect();
    if has_live {
        let header = [
            "CLUSTER",
            "INSTANCES",
            "PRIMARY",
            "REPLICAS",
            "SERVICES",
            "LEADER",
            "TL",
            "UP",
            "FINDINGS",
            "ALERTS",
        ];
        let (header, rows) = fit_columns(&header, &rows, &[4, 3, 1, 2], width, usize::MAX);
        out.extend(table(&header, &rows, 0, width, t.table_header));
    } else {
        out.extend(table(
            &["CLUSTER", "INSTANCES", "PRIMARY", "REPLICAS", "SERVICES"],
            &rows,
            0,
            width,
            t.table_header,
        ));
    }
    out
}
