//! Details of the two group rows: the infrastructure as a whole (DCS,
//! endpoints, infra nodes) and the list of clusters.

use ratatui::text::{Line, Span};

use super::View;
use super::text::{Cell, table};
use crate::model::DeclaredRole;

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
    let rows: Vec<Vec<Cell>> = d
        .clusters
        .iter()
        .map(|c| {
            let count = |r: DeclaredRole| c.instances.iter().filter(|i| i.role == r).count();
            let primary = c
                .declared_primary()
                .map(|p| (p.name.clone(), t.role_primary))
                .unwrap_or_else(|| ("none".to_string(), t.warning));
            vec![
                (c.name.clone(), t.group),
                (c.instances.len().to_string(), t.text),
                primary,
                (count(DeclaredRole::Replica).to_string(), t.text),
                (c.services.len().to_string(), t.dim),
            ]
        })
        .collect();
    out.extend(table(
        &["CLUSTER", "INSTANCES", "PRIMARY", "REPLICAS", "SERVICES"],
        &rows,
        0,
        width,
        t.table_header,
    ));
    out
}
