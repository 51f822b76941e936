//! Detail of one node (an infra node or an instance's database node): who it
//! is and the table of its services with their live status.

use ratatui::text::{Line, Span};

use super::View;
use super::text::{Cell, table};
use super::theme::Theme;
use crate::model::{Proto, SshTarget};
use crate::snapshot::{Health, ServiceObservation};

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

    // Services.
    let rows: Vec<Vec<Cell>> = node
        .services()
        .map(|s| {
            let obs = view.snapshot.service(node.ip, s.port);
            vec![
                (s.name.clone(), t.text),
                (s.port.to_string(), t.text),
                (
                    match s.proto {
                        Proto::Tcp => "tcp",
                        Proto::Udp => "udp",
                    }
                    .to_string(),
                    t.dim,
                ),
                status_cell(&obs, t),
                (s.purpose.clone(), t.dim),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push(Line::styled("No services declared for this node.", t.dim));
    } else {
        out.extend(table(
            &["COMPONENT", "PORT", "PROTO", "STATUS", "PURPOSE"],
            &rows,
            4,
            width,
            t.table_header,
        ));
    }
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
