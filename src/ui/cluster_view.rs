//! Detail of one cluster: its replication tree (primary → replicas), its
//! HAProxy services and its members with their live status.
//!
//! The diagram follows the one in Pigsty's architecture notes:
//!
//! ```text
//! pg-test-1 ────┬──► pg-test-2
//! (primary)     │    (replica)
//! 10.10.10.11   │    10.10.10.12
//!               │
//!               └──► pg-test-3
//!                    (replica)
//!                    10.10.10.13
//! ```

use ratatui::text::{Line, Span};

use super::View;
use super::node_view::status_cell;
use super::text::{Cell, TextGrid, table, width};
use super::theme::Theme;
use crate::model::{Cluster, DeclaredRole, Instance};

/// Lines describing `cluster`.
pub fn lines(view: &View, cluster: &Cluster, width: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut out = Vec::new();

    let mut summary = vec![
        Span::styled(cluster.name.clone(), t.title),
        Span::styled(
            format!(
                "  {} instance{}",
                cluster.instances.len(),
                if cluster.instances.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            t.text,
        ),
    ];
    match cluster.declared_primary() {
        Some(p) => {
            summary.push(Span::styled(" · primary ", t.dim));
            summary.push(Span::styled(p.name.clone(), t.role_primary));
        }
        None => summary.push(Span::styled(" · no primary declared", t.warning)),
    }
    out.push(Line::from(summary));
    for w in view
        .deployment
        .warnings
        .iter()
        .filter(|w| w.scope.as_deref() == Some(cluster.name.as_str()))
    {
        out.push(Line::styled(format!("⚠ {}", w.message), t.warning));
    }
    out.push(Line::default());

    out.push(Line::styled("Replication", t.table_header));
    out.extend(replication_diagram(cluster, t));
    out.push(Line::default());

    out.push(Line::styled(
        "Services (HAProxy, on every member)",
        t.table_header,
    ));
    if cluster.services.is_empty() {
        out.push(Line::styled("No services declared.", t.dim));
    } else {
        let rows: Vec<Vec<Cell>> = cluster
            .services
            .iter()
            .map(|s| {
                vec![
                    (format!("{}-{}", cluster.name, s.name), t.text),
                    (s.port.to_string(), t.text),
                    (s.dest.clone(), t.text),
                    (s.check.clone().unwrap_or_else(|| "-".into()), t.dim),
                    (s.selector.clone().unwrap_or_else(|| "-".into()), t.dim),
                ]
            })
            .collect();
        let header = ["NAME", "PORT", "DEST", "CHECK", "SELECTOR"];
        // The section heading says what this is; the column titles stay plain.
        out.extend(table(&header, &rows, 4, width, t.dim));
    }
    out.push(Line::default());

    out.push(Line::styled("Members", t.table_header));
    let rows: Vec<Vec<Cell>> = cluster
        .instances
        .iter()
        .map(|i| {
            let pg = view.snapshot.service(&i.ip, i.pg_port());
            let patroni = view.snapshot.service(&i.ip, i.patroni_port());
            let mut note = Vec::new();
            if i.offline_query {
                note.push("offline query".to_string());
            }
            if let Some(u) = &i.upstream {
                note.push(format!("upstream {u}"));
            }
            vec![
                (i.name.clone(), t.text),
                (i.ip.clone(), t.dim),
                (i.role.to_string(), t.role(i.role)),
                live_role_cell(view, cluster, i),
                status_cell(&pg, t),
                status_cell(&patroni, t),
                (note.join(", "), t.dim),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "IP",
        "ROLE",
        "LIVE ROLE",
        "POSTGRES",
        "PATRONI",
        "NOTE",
    ];
    out.extend(table(&header, &rows, 6, width, t.dim));
    out
}

/// Patroni's live role of instance `i` (`leader`, `replica`, …), `unknown`
/// until the snapshot has it; a stale role is marked.
fn live_role_cell(view: &View, cluster: &Cluster, i: &Instance) -> Cell {
    let t = view.theme;
    let role = view
        .snapshot
        .cluster(&cluster.name)
        .and_then(|c| c.member(&i.name))
        .and_then(|m| m.role.as_ref());
    match role {
        None => ("unknown".to_string(), t.status_unknown),
        Some(fact) if fact.stale => (format!("{} (stale)", fact.value), t.status_unknown),
        Some(fact) => {
            let style = match fact.value.as_str() {
                "leader" | "standby_leader" => t.role_primary,
                "replica" | "sync_standby" => t.role_replica,
                _ => t.warning,
            };
            (fact.value.clone(), style)
        }
    }
}

/// Who replicates from whom: each instance's parent is its `upstream`
/// (by IP or name) when that is a member, else the primary.
struct ReplicationTree<'a> {
    instances: &'a [Instance],
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
    /// An upstream outside the cluster (standby cluster), by root.
    external_upstream: Vec<(usize, String)>,
}

impl<'a> ReplicationTree<'a> {
    fn new(cluster: &'a Cluster) -> Self {
        let instances = cluster.instances.as_slice();
        let n = instances.len();
        let member = |key: &str| {
            instances
                .iter()
                .position(|i| i.ip == key || i.name == key || i.nodename.as_deref() == Some(key))
        };
        let mut roots: Vec<usize> = (0..n)
            .filter(|&i| instances[i].role == DeclaredRole::Primary)
            .collect();
        if roots.is_empty() {
            // A standby cluster: the leader is whoever follows an outside upstream.
            roots = (0..n)
                .filter(|&i| {
                    instances[i]
                        .upstream
                        .as_deref()
                        .is_none_or(|u| member(u).is_none())
                })
                .take(1)
                .collect();
        }
        if roots.is_empty() && n > 0 {
            roots.push(0);
        }
        let parent_of = |i: usize| {
            if roots.contains(&i) {
                return None;
            }
            instances[i]
                .upstream
                .as_deref()
                .and_then(member)
                .filter(|&p| p != i)
                .or(roots.first().copied())
        };
        let mut parent: Vec<Option<usize>> = (0..n).map(parent_of).collect();
        // Break cycles: whatever cannot reach a root hangs under the first.
        for i in 0..n {
            let mut seen = 0;
            let mut cur = i;
            while let Some(p) = parent[cur] {
                cur = p;
                seen += 1;
                if seen > n {
                    parent[i] = roots.first().copied();
                    break;
                }
            }
        }
        let mut children = vec![Vec::new(); n];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                children[p].push(i);
            }
        }
        let external_upstream = roots
            .iter()
            .filter_map(|&r| {
                let u = instances[r].upstream.as_deref()?;
                member(u).is_none().then(|| (r, u.to_string()))
            })
            .collect();
        ReplicationTree {
            instances,
            roots,
            children,
            external_upstream,
        }
    }

    /// Draws instance `i` and its followers at `(x, y)`; returns the height used.
    fn place(&self, grid: &mut TextGrid, theme: &Theme, i: usize, x: usize, y: usize) -> usize {
        let inst = &self.instances[i];
        let role_style = theme.role(inst.role);
        let role = format!("({})", inst.role);
        grid.put(x, y, &inst.name, role_style);
        grid.put(x, y + 1, &role, role_style);
        grid.put(x, y + 2, &inst.ip, theme.dim);
        let block_w = width(&inst.name).max(width(&role)).max(width(&inst.ip));
        let kids = &self.children[i];
        if kids.is_empty() {
            return 3;
        }
        let junction = x + block_w + 3;
        let child_x = junction + 5;
        let dash_from = x + width(&inst.name) + 1;
        grid.put(
            dash_from,
            y,
            &"─".repeat(junction - dash_from),
            theme.connector,
        );
        let mut cy = y;
        let mut prev_y = y;
        for (k, &kid) in kids.iter().enumerate() {
            let last = k + 1 == kids.len();
            let joint = match (k == 0, last) {
                (true, true) => "─",
                (true, false) => "┬",
                (false, true) => "└",
                (false, false) => "├",
            };
            for r in prev_y + 1..cy {
                grid.put(junction, r, "│", theme.connector);
            }
            grid.put(junction, cy, joint, theme.connector);
            grid.put(junction + 1, cy, "──► ", theme.connector);
            let h = self.place(grid, theme, kid, child_x, cy);
            prev_y = cy;
            cy += h + 1;
        }
        (cy - y - 1).max(3)
    }
}

/// The replication diagram of `cluster`.
pub fn replication_diagram(cluster: &Cluster, theme: &Theme) -> Vec<Line<'static>> {
    if cluster.instances.is_empty() {
        return vec![Line::styled("No instances declared.", theme.dim)];
    }
    let tree = ReplicationTree::new(cluster);
    let mut out = Vec::new();
    for (r, upstream) in &tree.external_upstream {
        out.push(Line::styled(
            format!(
                "{} replicates from {upstream} (outside this cluster)",
                tree.instances[*r].name
            ),
            theme.dim,
        ));
    }
    let mut grid = TextGrid::new();
    let mut y = 0;
    for &root in &tree.roots {
        y += tree.place(&mut grid, theme, root, 0, y) + 1;
    }
    out.extend(grid.into_lines());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterService, SshTarget};

    fn instance(name: &str, ip: &str, role: DeclaredRole, upstream: Option<&str>) -> Instance {
        Instance {
            name: name.into(),
            cluster: "pg-test".into(),
            ip: ip.into(),
            seq: 1,
            role,
            offline_query: false,
            upstream: upstream.map(String::from),
            nodename: None,
            services: Vec::new(),
            ssh: SshTarget {
                host: ip.into(),
                port: None,
                user: None,
                key_file: None,
            },
            vars: Default::default(),
        }
    }

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| l.to_string().trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn diagram_of_primary_and_two_replicas() {
        let c = Cluster {
            name: "pg-test".into(),
            instances: vec![
                instance("pg-test-1", "10.10.10.11", DeclaredRole::Primary, None),
                instance("pg-test-2", "10.10.10.12", DeclaredRole::Replica, None),
                instance("pg-test-3", "10.10.10.13", DeclaredRole::Replica, None),
            ],
            services: Vec::<ClusterService>::new(),
        };
        let got = text(&replication_diagram(&c, &Theme::unstyled()));
        let want = "\
pg-test-1 ────┬──► pg-test-2
(primary)     │    (replica)
10.10.10.11   │    10.10.10.12
              │
              └──► pg-test-3
                   (replica)
                   10.10.10.13";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn cascading_replica_hangs_under_its_upstream_and_cycles_terminate() {
        let c = Cluster {
            name: "pg-test".into(),
            instances: vec![
                instance("pg-test-1", "10.10.10.11", DeclaredRole::Primary, None),
                instance("pg-test-2", "10.10.10.12", DeclaredRole::Replica, None),
                instance(
                    "pg-test-3",
                    "10.10.10.13",
                    DeclaredRole::Replica,
                    Some("10.10.10.12"),
                ),
            ],
            services: Vec::new(),
        };
        let got = text(&replication_diagram(&c, &Theme::unstyled()));
        assert!(
            got.starts_with("pg-test-1 ───────► pg-test-2 ───────► pg-test-3"),
            "\n{got}"
        );

        let c = Cluster {
            name: "pg-loop".into(),
            instances: vec![
                instance("a", "1", DeclaredRole::Replica, Some("b")),
                instance("b", "2", DeclaredRole::Replica, Some("a")),
            ],
            services: Vec::new(),
        };
        let got = text(&replication_diagram(&c, &Theme::unstyled()));
        assert!(got.contains('a') && got.contains('b'), "\n{got}");
    }
}
