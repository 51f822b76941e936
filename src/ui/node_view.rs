//! Detail of one node (an infra node or an instance's database node): who it
//! is and the table of its services with their live status.

use ratatui::text::{Line, Span};

use super::View;
use super::live;
use super::text::{Cell, fit_columns, table, wrap_words};
use super::theme::Theme;
use crate::model::{Proto, SshTarget};
use crate::snapshot::{Health, ServiceObservation};
use crate::sources::SourceKind;

/// The status cell of a service: `unknown`, `up 1.2ms`, `down`,
/// `not probed` (UDP), with `(stale)` when the observation is old.
pub fn status_cell(obs: &ServiceObservation, theme: &Theme) -> Cell {
    if obs.not_probed {
        return ("not probed".to_string(), theme.status_unknown);
    }
    let text = match obs.health {
        Health::Unknown => "unknown".to_string(),
        Health::Up => match obs.latency {
            Some(l) if l.as_micros() < 10_000 => format!("up {:.1}ms", l.as_secs_f64() * 1000.0),
            Some(l) => format!("up {}ms", l.as_millis()),
            None => "up".to_string(),
        },
        Health::Down => "down".to_string(),
    };
    if obs.stale && obs.health != Health::Unknown {
        return (format!("{text} (stale)"), theme.status_unknown);
    }
    (text, theme.health(obs.health))
}

/// Lines describing the node with this IP.
pub fn lines(view: &View, ip: &str, width: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let Some(node) = view.deployment.node(ip) else {
        return vec![Line::styled(
            format!("No node {ip} in the inventory."),
            t.dim,
        )];
    };
    let mut out = Vec::new();

    // Who the node is.
    let sep = || Span::styled(" · ", t.dim);
    let mut first = vec![
        Span::styled(node.name(), t.title),
        Span::raw("  "),
        Span::styled(node.ip.to_string(), t.text),
    ];
    if let Some(i) = node.instance {
        first.push(sep());
        first.push(Span::styled(i.role.to_string(), t.role(i.role)));
        first.push(Span::styled(format!(" of {}", i.cluster), t.text));
    }
    if let Some(n) = node.infra {
        first.push(sep());
        first.push(Span::styled(format!("infra node {}", n.seq), t.group));
    }
    out.push(Line::from(first));

    let mut facts: Vec<String> = Vec::new();
    if let Some(i) = node.instance {
        facts.push(format!("instance {} (seq {})", i.name, i.seq));
        if i.offline_query {
            facts.push("offline query".to_string());
        }
        if let Some(u) = &i.upstream {
            facts.push(format!("upstream {u}"));
        }
    }
    let ssh = node.instance.map(|i| &i.ssh).or(node.infra.map(|n| &n.ssh));
    if let Some(ssh) = ssh {
        facts.push(format!("ssh {}", ssh_text(ssh)));
    }
    if !facts.is_empty() {
        out.push(Line::styled(facts.join(" · "), t.dim));
    }
    out.push(Line::default());

    // Live Patroni view of the instance, and what is wrong with it.
    if let Some(i) = node.instance {
        out.extend(patroni_lines(view, i, width));
    }

    // Services, with the port probe's, Consul's and Prometheus' opinions.
    let services: Vec<_> = node
        .services()
        .map(|s| (s, view.snapshot.service(node.ip, s.port)))
        .collect();
    let consul = view.deployment.dcs.kind == crate::model::DcsKind::Consul
        || services.iter().any(|(_, o)| o.consul.is_some());
    let prom = services.iter().any(|(_, o)| o.prometheus_up.is_some());
    let rows: Vec<Vec<Cell>> = services
        .iter()
        .map(|(s, obs)| {
            let mut row = vec![
                (s.name.to_string(), t.text),
                (s.port.to_string(), t.text),
                (
                    match s.proto {
                        Proto::Tcp => "tcp",
                        Proto::Udp => "udp",
                    }
                    .to_string(),
                    t.dim,
                ),
                status_cell(obs, t),
            ];
            if consul {
                row.push(opinion_cell(
                    obs.consul.map(|h| h == Health::Up),
                    obs.stale,
                    t,
                ));
            }
            if prom {
                row.push(opinion_cell(obs.prometheus_up, obs.stale, t));
            }
            row.push((s.purpose.to_string(), t.dim));
            row
        })
        .collect();
    if rows.is_empty() {
        out.push(Line::styled("No services declared for this node.", t.dim));
    } else {
        let mut header = vec!["COMPONENT", "PORT", "PROTO", "STATUS"];
        if consul {
            header.push("CONSUL");
        }
        if prom {
            header.push("PROM");
        }
        header.push("PURPOSE");
        // Narrow panes: the protocol goes first (UDP says "not probed"),
        // then the purpose.
        let purpose = header.len() - 1;
        let (header, rows) = fit_columns(&header, &rows, &[2, purpose], width, 7);
        let flex = header.len() - 1;
        out.extend(table(&header, &rows, flex, width, t.table_header));
        if let Some(p) = probe_problem(view, node.ip) {
            out.push(Line::styled(p, t.error));
        }
    }
    out
}

/// `up` / `down` / `-` for another source's opinion of a service.
fn opinion_cell(up: Option<bool>, stale: bool, t: &Theme) -> Cell {
    match up {
        None => ("-".to_string(), t.dim),
        Some(_) if stale => (
            live::stale_text(if up == Some(true) { "up" } else { "down" }.into(), true),
            t.stale,
        ),
        Some(true) => ("up".to_string(), t.status_up),
        Some(false) => ("down".to_string(), t.status_down),
    }
}

fn probe_problem(view: &View, ip: &str) -> Option<String> {
    live::node_source_problem(view.snapshot, SourceKind::Probe, ip)
        .map(|e| format!("✗ probe {ip}: {e}"))
}

/// `Patroni: ★ leader · running · TL 3 · lag 0 B · patroni 10.10.10.11:8008 0.3s ago`,
/// or the error of its unreachable API; then its findings and alerts.
fn patroni_lines(view: &View, i: &crate::model::Instance, width: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    if !live::has_live(s) {
        return Vec::new();
    }
    let member = s.cluster(&i.cluster).and_then(|c| c.member(&i.name));
    let mark = live::member_mark(member, t);
    let mut spans = vec![
        Span::styled("Patroni ", t.table_header),
        Span::styled(format!("{} {}", mark.glyph, mark.label), mark.style),
    ];
    let mut out = Vec::new();
    match member {
        Some(m) if m.reachable == Some(false) => {
            out.push(Line::from(spans));
            let err = m.error.clone().unwrap_or_else(|| "unreachable".into());
            out.extend(
                wrap_words(&format!("✗ {err}"), width)
                    .into_iter()
                    .map(|l| Line::styled(l, t.error)),
            );
        }
        Some(m) => {
            let sep = || Span::styled(" · ", t.dim);
            if live::role_drift(i.role, m) {
                spans.push(Span::styled(format!(" ≠ declared {}", i.role), t.warning));
            }
            if let Some(st) = &m.state {
                spans.push(sep());
                spans.push(Span::styled(
                    live::stale_text(st.value.clone(), st.stale),
                    if st.stale { t.stale } else { t.text },
                ));
            }
            if let Some(tl) = &m.timeline {
                spans.push(sep());
                spans.push(Span::styled(
                    format!("TL {}", live::stale_text(tl.value.to_string(), tl.stale)),
                    if tl.stale { t.stale } else { t.text },
                ));
            }
            if !m.is_leader() {
                if let Some(b) = &m.lag_bytes {
                    spans.push(sep());
                    spans.push(Span::styled("lag ", t.text));
                    spans.extend(live::lag_bar(b.value, t));
                    spans.push(Span::styled(
                        format!(" {}", live::stale_text(live::bytes(b.value), b.stale)),
                        if b.stale { t.stale } else { t.text },
                    ));
                }
                if let Some(sec) = &m.lag_seconds {
                    spans.push(Span::styled(
                        format!(" {}", live::stale_text(live::seconds(sec.value), sec.stale)),
                        if sec.stale { t.stale } else { t.text },
                    ));
                }
            }
            if m.pending_restart.as_ref().is_some_and(|p| p.value) {
                spans.push(sep());
                spans.push(Span::styled("pending restart", t.warning));
            }
            let tags = super::cluster_view::tags_text(m);
            if !tags.is_empty() {
                spans.push(sep());
                spans.push(Span::styled(tags, t.dim));
            }
            out.push(super::text::fit_line(Line::from(spans), width));
            if let Some(f) = m.role.as_ref().or(m.state.as_ref()) {
                out.push(Line::styled(
                    format!("from {} {} ago", f.source, live::age(f.age_ms)),
                    if f.stale { t.stale } else { t.dim },
                ));
            }
            if let Some(e) = &m.cluster_error {
                out.extend(
                    wrap_words(&format!("⚠ GET /cluster fails: {e}"), width)
                        .into_iter()
                        .map(|l| Line::styled(l, t.warning)),
                );
            }
        }
        None => {
            out.push(Line::from(spans));
            if let Some(e) = live::node_source_problem(s, SourceKind::Patroni, &i.ip) {
                out.push(Line::styled(format!("✗ {e}"), t.error));
            }
        }
    }
    for f in s
        .findings
        .iter()
        .filter(|f| f.instance.as_deref() == Some(i.name.as_str()))
    {
        out.extend(super::findings::finding_lines(f, t, width, None));
    }
    for a in s
        .alerts
        .iter()
        .filter(|a| a.ins.as_deref() == Some(i.name.as_str()))
    {
        let text = format!(
            "{} {}{}",
            a.severity.as_deref().unwrap_or("ALERT"),
            a.name,
            a.summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
        out.extend(
            wrap_words(&text, width)
                .into_iter()
                .map(|l| Line::styled(l, live::alert_style(a.severity.as_deref(), t))),
        );
    }
    out.push(Line::default());
    out
}

fn ssh_text(ssh: &SshTarget) -> String {
    let mut s = String::new();
    if let Some(u) = &ssh.user {
        s.push_str(u);
        s.push('@');
    }
    s.push_str(&ssh.host);
    if let Some(p) = ssh.port {
        s.push_str(&format!(":{p}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn status_texts() {
        let t = Theme::unstyled();
        let obs = |health, latency: Option<u64>| ServiceObservation {
            health,
            latency: latency.map(Duration::from_micros),
            ..Default::default()
        };
        assert_eq!(status_cell(&obs(Health::Unknown, None), &t).0, "unknown");
        assert_eq!(status_cell(&obs(Health::Up, Some(1250)), &t).0, "up 1.2ms");
        assert_eq!(status_cell(&obs(Health::Up, Some(42_000)), &t).0, "up 42ms");
        assert_eq!(status_cell(&obs(Health::Down, None), &t).0, "down");
        let stale = ServiceObservation {
            stale: true,
            ..obs(Health::Down, None)
        };
        assert_eq!(status_cell(&stale, &t).0, "down (stale)");
        let udp = ServiceObservation {
            not_probed: true,
            ..Default::default()
        };
        assert_eq!(status_cell(&udp, &t).0, "not probed");
    }
}
