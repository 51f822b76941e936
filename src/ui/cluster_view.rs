//! Detail of one cluster, in sections switched with `1`..`6` or `[` / `]`
//! (listed in the footer): Topology (summary, live replication tree drawn
//! from the live leader, leader per source), Members (patronictl-style),
//! History (timelines), Metrics (sparklines), Routing (HAProxy) and Findings
//! (disagreements and alerts of the cluster).
//!
//! Without live data the replication tree is the declared one, as in
//! Pigsty's architecture notes:
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

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::live::{self, MarkKind};
use super::text::{Cell, TextGrid, fit_columns, fit_line, table, width, wrap_words};
use super::theme::Theme;
use super::{KeyHint, View, alerts, findings};
use crate::app::state::{AppState, ClusterTab};
use crate::app::tree::TreeItem;
use crate::model::{Cluster, DeclaredRole, Instance};
use crate::snapshot::{ClusterLive, Fact, MemberLive, Severity};
use crate::sources::SourceKind;
use crate::sources::prometheus::SeriesKind;

/// The footer hint for the section keys.
pub const TAB_HINT: KeyHint = KeyHint::new("1-6", "section");

/// Switches the cluster view's section when a cluster is selected and the
/// key is `1`..`6`, `[` or `]`. Returns whether it did.
pub fn tab_key(app: &mut AppState, key: KeyEvent) -> bool {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        || !matches!(app.tree.selected(), Some(TreeItem::Cluster(_)))
    {
        return false;
    }
    let tab = match key.code {
        KeyCode::Char('[') => app.cluster_tab.cycle(-1),
        KeyCode::Char(']') => app.cluster_tab.cycle(1),
        KeyCode::Char(c) => match ClusterTab::from_digit(c) {
            Some(tab) => tab,
            None => return false,
        },
        _ => return false,
    };
    app.set_cluster_tab(tab);
    true
}

/// Findings of warning or error severity of a cluster, and all of them.
fn finding_counts(view: &View, cluster: &str) -> (usize, usize) {
    let of = view
        .snapshot
        .findings
        .iter()
        .filter(|f| f.cluster.as_deref() == Some(cluster));
    let all = of.clone().count();
    let serious = of.filter(|f| f.severity >= Severity::Warning).count();
    (serious, all)
}

/// The section bar: every name when it fits, else the numbers with the
/// active section named.
pub fn tab_bar(view: &View, cluster: &Cluster, max: usize) -> Line<'static> {
    let t = view.theme;
    let active = view.app.cluster_tab;
    let (serious, all) = finding_counts(view, &cluster.name);
    let alerts = live_cluster(view, cluster).map_or(0, |l| l.alerts.len());
    let label = |tab: ClusterTab, named: bool| -> String {
        let n = tab.index() + 1;
        if !named {
            return format!(" {n} ");
        }
        let count = if tab == ClusterTab::Findings && all + alerts > 0 {
            format!(" ({})", all + alerts)
        } else {
            String::new()
        };
        format!(" {n} {}{count} ", tab.title())
    };
    let build = |all_named: bool| -> Vec<Span<'static>> {
        ClusterTab::ALL
            .iter()
            .map(|&tab| {
                let style = if tab == active {
                    t.tab_active
                } else if tab == ClusterTab::Findings && serious > 0 {
                    t.warning
                } else {
                    t.tab
                };
                Span::styled(label(tab, all_named || tab == active), style)
            })
            .collect()
    };
    let mut spans = build(true);
    if spans.iter().map(|s| width(&s.content)).sum::<usize>() > max {
        spans = build(false);
    }
    fit_line(Line::from(spans), max)
}

/// The live view of a declared cluster.
fn live_cluster<'a>(view: &View<'a>, cluster: &Cluster) -> Option<&'a ClusterLive> {
    let c = view
        .deployment
        .clusters
        .iter()
        .position(|c| c.name == cluster.name)?;
    live::cluster_at(view.snapshot, c, cluster)
}

/// Lines of the active section of `cluster`'s view.
pub fn lines(view: &View, cluster: &Cluster, width: usize) -> Vec<Line<'static>> {
    let lc = live_cluster(view, cluster);
    match view.app.cluster_tab {
        ClusterTab::Topology => topology(view, cluster, lc, width),
        ClusterTab::Members => members(view, cluster, lc, width),
        ClusterTab::History => history(view, cluster, lc, width),
        ClusterTab::Metrics => metrics(view, cluster, lc, width),
        ClusterTab::Routing => routing(view, cluster, lc, width),
        ClusterTab::Findings => cluster_findings(view, cluster, lc, width),
    }
}

// ------------------------------------------------------------ summary

/// `pg-test  3 instances · leader pg-test-2 ≠ declared pg-test-1 · TL 4 · paused`,
/// wrapped to `width`.
fn summary(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let n = cluster.instances.len();
    let mut spans = vec![
        Span::styled(cluster.name.clone(), t.title),
        Span::styled(
            format!("  {n} instance{}", if n == 1 { "" } else { "s" }),
            t.text,
        ),
    ];
    let declared = cluster.declared_primary().map(|p| p.name.clone());
    let leader = lc.and_then(|l| l.leader());
    match (lc, leader) {
        (Some(l), Some(leader)) => {
            let stale = l.leader.patroni.as_ref().is_some_and(|f| f.stale);
            spans.push(Span::styled(" · leader ", t.dim));
            spans.push(Span::styled(
                live::stale_text(leader.to_string(), stale),
                if stale { t.stale } else { t.role_primary },
            ));
            if let Some(p) = &declared
                && p != leader
            {
                spans.push(Span::styled(format!(" ≠ declared {p}"), t.warning));
            }
        }
        (Some(l), None) if l.members.iter().any(|m| m.role.is_some()) => {
            spans.push(Span::styled(" · no leader", t.error));
        }
        _ => match &declared {
            Some(p) => {
                spans.push(Span::styled(" · primary ", t.dim));
                spans.push(Span::styled(p.clone(), t.role_primary));
            }
            None => spans.push(Span::styled(" · no primary declared", t.warning)),
        },
    }
    if let Some(l) = lc {
        if let Some(tl) = &l.timeline {
            spans.push(Span::styled(
                format!(" · TL {}", live::stale_text(tl.value.to_string(), tl.stale)),
                if tl.stale { t.stale } else { t.text },
            ));
        }
        if l.paused.as_ref().is_some_and(|p| p.value) {
            spans.push(Span::styled(" · paused", t.warning));
        }
        if !l.sync_standby.is_empty() {
            spans.push(Span::styled(
                format!(" · sync {}", l.sync_standby.join(", ")),
                t.dim,
            ));
        }
    }
    super::text::wrap_spans(spans, width)
}

fn cluster_warnings(view: &View, cluster: &Cluster) -> Vec<Line<'static>> {
    view.deployment
        .warnings
        .iter()
        .filter(|w| w.scope.as_deref() == Some(cluster.name.as_str()))
        .map(|w| Line::styled(format!("⚠ {}", w.message), view.theme.warning))
        .collect()
}

// ------------------------------------------------------------ topology

fn topology(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut out = summary(view, cluster, lc, width);
    out.extend(cluster_warnings(view, cluster));
    out.push(Line::default());
    let has_roles = lc.is_some_and(|l| l.members.iter().any(|m| m.role.is_some()));
    match lc {
        Some(l) if has_roles => {
            out.push(Line::styled("Replication (live)", t.table_header));
            out.extend(live_replication_diagram(view, cluster, l));
        }
        _ => {
            if live::has_live(view.snapshot) {
                out.push(Line::styled("Replication (declared)", t.table_header));
                let why = match live::kind_problem(view.snapshot, SourceKind::Patroni) {
                    Some(e) => format!("no live roles: {e}"),
                    None => "no live roles yet".to_string(),
                };
                out.extend(
                    wrap_words(&why, width)
                        .into_iter()
                        .map(|l| Line::styled(l, t.dim)),
                );
            } else {
                out.push(Line::styled("Replication", t.table_header));
            }
            out.extend(replication_diagram(cluster, t));
        }
    }
    if let Some(l) = lc {
        out.push(Line::default());
        out.push(Line::styled("Leader by source", t.table_header));
        out.extend(leader_table(view, cluster, l, width));
    }
    out
}

/// Each source's idea of the leader, with the inventory's.
fn leader_table(
    view: &View,
    cluster: &Cluster,
    l: &ClusterLive,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    let reference = l.leader().map(str::to_string);
    let row = |label: &str, fact: Option<&Fact<String>>, kind: Option<SourceKind>| -> Vec<Cell> {
        match fact {
            Some(f) => {
                let differs = reference.as_deref().is_some_and(|r| r != f.value);
                // A stale value of a failing source: say why it is old.
                let source = match kind.and_then(|k| live::kind_problem(s, k)) {
                    Some(e) if f.stale => (e, t.error),
                    _ => (f.source.to_string(), t.dim),
                };
                let style = if f.stale {
                    t.stale
                } else if differs {
                    t.warning
                } else {
                    t.text
                };
                vec![
                    (label.to_string(), t.text),
                    (live::stale_text(f.value.clone(), f.stale), style),
                    (live::age(f.age_ms), if f.stale { t.stale } else { t.dim }),
                    source,
                ]
            }
            None => {
                let problem = kind.and_then(|k| live::kind_problem(s, k));
                match problem {
                    Some(e) => vec![
                        (label.to_string(), t.text),
                        ("✗".to_string(), t.status_down),
                        ("-".to_string(), t.dim),
                        (e, t.error),
                    ],
                    None => vec![
                        (label.to_string(), t.text),
                        ("-".to_string(), t.status_unknown),
                        ("-".to_string(), t.dim),
                        ("no data".to_string(), t.dim),
                    ],
                }
            }
        }
    };
    let mut rows = vec![
        row(
            "Patroni",
            l.leader.patroni.as_ref(),
            Some(SourceKind::Patroni),
        ),
        row(
            "DCS key",
            l.leader.dcs.as_ref(),
            Some(live::dcs_kind(view.deployment)),
        ),
        row("/cluster", l.leader.cluster_api.as_ref(), None),
        row(
            "Prometheus",
            l.leader.prometheus.as_ref(),
            view.deployment
                .endpoints
                .prometheus
                .as_ref()
                .map(|_| SourceKind::Prometheus),
        ),
    ];
    let declared = cluster.declared_primary().map(|p| p.name.clone());
    let differs = declared.is_some() && reference.is_some() && declared != reference;
    rows.push(vec![
        ("Inventory".to_string(), t.text),
        (
            declared.unwrap_or_else(|| "-".into()),
            if differs { t.warning } else { t.text },
        ),
        ("".to_string(), t.dim),
        (
            format!("declared in {}", view.deployment.source.display()),
            t.dim,
        ),
    ]);
    table(&["VIEW", "LEADER", "AGE", "SOURCE"], &rows, 3, width, t.dim)
}

/// One member's box in a diagram: its lines, the first being its name.
struct Block {
    lines: Vec<(String, Style)>,
}

/// Boxes joined by arrows from each one to its followers.
struct Diagram {
    blocks: Vec<Block>,
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl Diagram {
    /// `parent[i]` is whom block `i` follows; cycles are broken by hanging
    /// whatever cannot reach a root under the first root.
    fn new(blocks: Vec<Block>, roots: Vec<usize>, mut parent: Vec<Option<usize>>) -> Self {
        let n = blocks.len();
        for i in 0..n {
            let mut seen = 0;
            let mut cur = i;
            while let Some(p) = parent[cur] {
                cur = p;
                seen += 1;
                if seen > n {
                    parent[i] = roots.first().copied().filter(|&r| r != i);
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
        Diagram {
            blocks,
            roots,
            children,
        }
    }

    /// Draws block `i` and its followers at `(x, y)`; returns the height used.
    fn place(&self, grid: &mut TextGrid, theme: &Theme, i: usize, x: usize, y: usize) -> usize {
        let block = &self.blocks[i];
        for (k, (text, style)) in block.lines.iter().enumerate() {
            grid.put(x, y + k, text, *style);
        }
        let h = block.lines.len();
        let block_w = block
            .lines
            .iter()
            .map(|(s, _)| s.chars().count())
            .max()
            .unwrap_or(0);
        let kids = &self.children[i];
        if kids.is_empty() {
            return h;
        }
        let first_w = block.lines.first().map_or(0, |(s, _)| s.chars().count());
        let junction = x + block_w + 3;
        let child_x = junction + 5;
        let dash_from = x + first_w + 1;
        grid.put(
            dash_from,
            y,
            &"─".repeat(junction.saturating_sub(dash_from)),
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
            let kh = self.place(grid, theme, kid, child_x, cy);
            prev_y = cy;
            cy += kh + 1;
        }
        (cy - y - 1).max(h)
    }

    fn into_lines(self, theme: &Theme) -> Vec<Line<'static>> {
        let mut grid = TextGrid::new();
        let mut y = 0;
        for &root in &self.roots {
            y += self.place(&mut grid, theme, root, 0, y) + 1;
        }
        grid.into_lines()
    }
}

/// Who follows whom as declared: each instance's parent is its `upstream`
/// (by IP or name) when that is a member, else the primary. Returns the
/// roots and the parents.
fn declared_parents(instances: &[Instance]) -> (Vec<usize>, Vec<Option<usize>>) {
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
    let parent = (0..n)
        .map(|i| {
            if roots.contains(&i) {
                return None;
            }
            instances[i]
                .upstream
                .as_deref()
                .and_then(member)
                .filter(|&p| p != i)
                .or(roots.first().copied())
        })
        .collect();
    (roots, parent)
}

/// The declared replication diagram of `cluster`.
pub fn replication_diagram(cluster: &Cluster, theme: &Theme) -> Vec<Line<'static>> {
    if cluster.instances.is_empty() {
        return vec![Line::styled("No instances declared.", theme.dim)];
    }
    let instances = cluster.instances.as_slice();
    let (roots, parent) = declared_parents(instances);
    let mut out = Vec::new();
    for &r in &roots {
        if let Some(u) = instances[r].upstream.as_deref()
            && !instances
                .iter()
                .any(|i| i.ip == u || i.name == u || i.nodename.as_deref() == Some(u))
        {
            out.push(Line::styled(
                format!(
                    "{} replicates from {u} (outside this cluster)",
                    instances[r].name
                ),
                theme.dim,
            ));
        }
    }
    let blocks = instances
        .iter()
        .map(|i| {
            let style = theme.role(i.role);
            Block {
                lines: vec![
                    (i.name.clone(), style),
                    (format!("({})", i.role), style),
                    (i.ip.clone(), theme.dim),
                ],
            }
        })
        .collect();
    out.extend(Diagram::new(blocks, roots, parent).into_lines(theme));
    out
}

/// Names of the members the leader's `pg_stat_replication` shows streaming.
fn streaming_from(m: &MemberLive) -> impl Iterator<Item = &str> {
    m.replication
        .iter()
        .filter(|r| r.state.as_deref().is_none_or(|s| s == "streaming"))
        .map(|r| r.application_name.as_str())
}

/// Patroni tags worth showing (`nofailover`, `clonefrom`, …).
pub fn tags_text(m: &MemberLive) -> String {
    let Some(serde_json::Value::Object(tags)) = &m.tags else {
        return String::new();
    };
    tags.iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Bool(true) => Some(k.clone()),
            serde_json::Value::Bool(false) | serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(format!("{k}={s}")),
            other => Some(format!("{k}={other}")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tags that change how Patroni treats a member (left out of
/// elections, of load balancing, of synchronous replication…), for the
/// diagram; Pigsty sets `clonefrom` and `version` everywhere.
fn notable_tags(m: &MemberLive) -> String {
    let Some(serde_json::Value::Object(tags)) = &m.tags else {
        return String::new();
    };
    tags.iter()
        .filter_map(|(k, v)| match (k.as_str(), v) {
            (
                "nofailover" | "noloadbalance" | "nosync" | "nostream",
                serde_json::Value::Bool(true),
            ) => Some(k.clone()),
            ("replicatefrom", serde_json::Value::String(s)) => Some(format!("replicatefrom={s}")),
            ("failover_priority", serde_json::Value::Number(n)) if n.as_i64() == Some(0) => {
                Some("failover_priority=0".into())
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The replication tree as it is live: the live leader at the root, each
/// replica under whoever streams to it (else its declared upstream, else
/// the leader); differences from the inventory marked `≠`.
fn live_replication_diagram(view: &View, cluster: &Cluster, l: &ClusterLive) -> Vec<Line<'static>> {
    let t = view.theme;
    let members = &l.members;
    if members.is_empty() {
        return vec![Line::styled("No members.", t.dim)];
    }
    let n = members.len();
    let index = |name: &str| members.iter().position(|m| m.name == name);
    let declared = |m: &MemberLive| cluster.instances.iter().find(|i| i.name == m.name);
    let mut roots: Vec<usize> = (0..n).filter(|&i| members[i].is_leader()).collect();
    let leaderless = roots.is_empty();
    if leaderless {
        let (droots, _) = declared_parents(&cluster.instances);
        roots = droots
            .iter()
            .filter_map(|&r| index(&cluster.instances[r].name))
            .collect();
        if roots.is_empty() {
            roots.push(0);
        }
    }
    // Who streams to whom, per pg_stat_replication of each member.
    let mut sender: Vec<Option<usize>> = vec![None; n];
    for (p, m) in members.iter().enumerate() {
        for app in streaming_from(m) {
            if let Some(c) = index(app)
                && c != p
                && sender[c].is_none()
            {
                sender[c] = Some(p);
            }
        }
    }
    let leader_knows = roots
        .iter()
        .any(|&r| members[r].is_leader() && members[r].reachable != Some(false));
    let parent: Vec<Option<usize>> = (0..n)
        .map(|i| {
            if roots.contains(&i) {
                return None;
            }
            sender[i]
                .or_else(|| {
                    let u = declared(&members[i])?.upstream.as_deref()?;
                    members.iter().position(|m| {
                        m.name == u
                            || m.ip.as_deref() == Some(u)
                            || cluster
                                .instances
                                .iter()
                                .any(|x| x.name == m.name && x.nodename.as_deref() == Some(u))
                    })
                })
                .filter(|&p| p != i)
                .or(roots.first().copied())
        })
        .collect();
    let leader_tl = roots
        .first()
        .and_then(|&r| members[r].timeline.as_ref())
        .map(|f| f.value);
    let blocks = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let decl = declared(m);
            let mark = live::member_mark(Some(m), t);
            let drift = decl.is_some_and(|d| live::role_drift(d.role, m));
            let mut name = m.name.clone();
            if drift {
                name.push_str(" ≠");
            }
            let name_style = if drift { t.warning } else { mark.style };
            let mut lines = vec![
                (name, name_style),
                (format!("{} {}", mark.glyph, mark.label), mark.style),
                (
                    m.ip.clone()
                        .or_else(|| decl.map(|d| d.ip.clone()))
                        .unwrap_or_default(),
                    t.dim,
                ),
            ];
            let down = matches!(mark.kind, MarkKind::Down | MarkKind::Unknown);
            if m.is_leader() {
                if let Some(tl) = &m.timeline {
                    lines.push((
                        format!("TL {}", live::stale_text(tl.value.to_string(), tl.stale)),
                        if tl.stale { t.stale } else { t.dim },
                    ));
                }
            } else if !down {
                let mut lag = String::new();
                if let Some(b) = &m.lag_bytes {
                    let cells = live::lag_cells(b.value);
                    lag.push_str(&"█".repeat(cells));
                    lag.push_str(&"░".repeat(live::LAG_BAR - cells));
                    lag.push(' ');
                    lag.push_str(&live::stale_text(live::bytes(b.value), b.stale));
                }
                if let Some(s) = &m.lag_seconds {
                    if !lag.is_empty() {
                        lag.push(' ');
                    }
                    lag.push_str(&live::stale_text(live::seconds(s.value), s.stale));
                }
                if !lag.is_empty() {
                    let stale = m.lag_bytes.as_ref().is_some_and(|f| f.stale);
                    let style = match m.lag_bytes.as_ref().map(|b| live::lag_cells(b.value)) {
                        _ if stale => t.stale,
                        Some(0..=3) | None => t.lag_bar,
                        Some(4) => t.warning,
                        Some(_) => t.error,
                    };
                    lines.push((lag, style));
                }
                if let (Some(tl), Some(ltl)) = (&m.timeline, leader_tl)
                    && tl.value != ltl
                {
                    lines.push((format!("TL {} ≠ {ltl}", tl.value), t.warning));
                }
            }
            if drift && let Some(d) = decl {
                lines.push((format!("declared {}", d.role), t.warning));
            }
            if decl.is_none() {
                lines.push(("not in inventory".into(), t.warning));
            }
            if !m.is_leader() && !down && leader_knows && !roots.contains(&i) && sender[i].is_none()
            {
                lines.push(("not streaming".into(), t.warning));
            }
            if m.pending_restart.as_ref().is_some_and(|p| p.value) {
                lines.push(("pending restart".into(), t.warning));
            }
            let tags = notable_tags(m);
            if !tags.is_empty() {
                lines.push((tags, t.warning));
            }
            Block { lines }
        })
        .collect();
    let mut out = Vec::new();
    if leaderless {
        out.push(Line::styled("No live leader: drawn as declared.", t.error));
    } else if roots.len() > 1 {
        out.push(Line::styled(
            format!("{} members claim to be leader.", roots.len()),
            t.error,
        ));
    }
    out.extend(Diagram::new(blocks, roots, parent).into_lines(t));
    out
}

// ------------------------------------------------------------ members

fn members(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut out = summary(view, cluster, lc, width);
    out.push(Line::default());
    let empty = Vec::new();
    let live_members = lc.map_or(&empty, |l| &l.members);
    // Declared members without live data are listed too.
    let mut list: Vec<(String, Option<&MemberLive>)> = live_members
        .iter()
        .map(|m| (m.name.clone(), Some(m)))
        .collect();
    for i in &cluster.instances {
        if !list.iter().any(|(n, _)| *n == i.name) {
            list.push((i.name.clone(), None));
        }
    }
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .map(|(name, m)| {
            let decl = cluster.instances.iter().find(|i| &i.name == name);
            let host = m
                .and_then(|m| m.ip.clone())
                .or_else(|| decl.map(|d| d.ip.clone()))
                .unwrap_or_default();
            let Some(m) = m else {
                return vec![
                    (name.clone(), t.text),
                    (host, t.dim),
                    ("unknown".into(), t.status_unknown),
                    ("".into(), t.dim),
                    ("".into(), t.dim),
                    ("".into(), t.dim),
                    ("".into(), t.dim),
                    ("".into(), t.dim),
                    ("".into(), t.dim),
                ];
            };
            let mark = live::member_mark(Some(m), t);
            let drift = decl.is_some_and(|d| live::role_drift(d.role, m));
            let role = match &m.role {
                Some(r) if m.reachable != Some(false) => (
                    live::stale_text(live::role_title(&r.value), r.stale),
                    if r.stale {
                        t.stale
                    } else if drift {
                        t.warning
                    } else {
                        mark.style
                    },
                ),
                _ => ("unknown".into(), t.status_unknown),
            };
            let state = match &m.state {
                Some(s) => (
                    live::stale_text(s.value.clone(), s.stale),
                    if s.stale {
                        t.stale
                    } else if mark.kind == MarkKind::Down {
                        t.status_down
                    } else if mark.kind == MarkKind::Transition {
                        t.warning
                    } else {
                        t.text
                    },
                ),
                None => ("".into(), t.dim),
            };
            let fact_cell = |f: Option<String>, stale: bool| -> Cell {
                match f {
                    Some(v) => (
                        live::stale_text(v, stale),
                        if stale { t.stale } else { t.text },
                    ),
                    None => ("".into(), t.dim),
                }
            };
            let reachable = m.reachable != Some(false);
            let tl = fact_cell(
                m.timeline
                    .as_ref()
                    .filter(|_| reachable)
                    .map(|f| f.value.to_string()),
                m.timeline.as_ref().is_some_and(|f| f.stale),
            );
            let lag_mb = fact_cell(
                m.lag_bytes
                    .as_ref()
                    .filter(|_| !m.is_leader() && reachable)
                    .map(|f| live::megabytes(f.value)),
                m.lag_bytes.as_ref().is_some_and(|f| f.stale),
            );
            let lag_s = fact_cell(
                m.lag_seconds
                    .as_ref()
                    .filter(|_| !m.is_leader())
                    .map(|f| live::seconds(f.value)),
                m.lag_seconds.as_ref().is_some_and(|f| f.stale),
            );
            let pending = match &m.pending_restart {
                Some(p) if p.value && reachable => ("*".to_string(), t.warning),
                _ => ("".to_string(), t.dim),
            };
            vec![
                (name.clone(), if drift { t.warning } else { t.text }),
                (host, t.dim),
                role,
                state,
                tl,
                lag_mb,
                lag_s,
                pending,
                (tags_text(m), t.dim),
            ]
        })
        .collect();
    let header = [
        "Member", "Host", "Role", "State", "TL", "Lag MB", "Lag s", "Pending", "Tags",
    ];
    // Leave out columns nobody has a value in, then the least useful.
    let empty_cols: Vec<usize> = (5..header.len())
        .filter(|&c| rows.iter().all(|r| r[c].0.is_empty()))
        .collect();
    let mut drop: Vec<usize> = empty_cols;
    drop.extend([8, 1, 6, 7]);
    let (header, rows) = fit_columns(&header, &rows, &drop, width, 10);
    let flex = header.len() - 1;
    out.extend(table(&header, &rows, flex, width, t.table_header));

    // Why members answer nothing, or only half.
    let mut notes: Vec<Line<'static>> = Vec::new();
    for m in live_members {
        if let Some(e) = &m.error {
            notes.extend(
                wrap_words(&format!("✗ {}: {e}", m.name), width)
                    .into_iter()
                    .map(|l| Line::styled(l, t.error)),
            );
        }
        if let Some(e) = &m.cluster_error {
            notes.extend(
                wrap_words(&format!("⚠ {}: GET /cluster fails: {e}", m.name), width)
                    .into_iter()
                    .map(|l| Line::styled(l, t.warning)),
            );
        }
    }
    if lc.is_none()
        || live_members
            .iter()
            .all(|m| m.role.is_none() && m.error.is_none())
    {
        let text = match live::kind_problem(view.snapshot, SourceKind::Patroni) {
            Some(e) => format!("no data: {e}"),
            None if live::has_live(view.snapshot) => "no data from Patroni yet".to_string(),
            None => "no live data yet".to_string(),
        };
        notes.push(Line::styled(text, t.dim));
    }
    if !notes.is_empty() {
        out.push(Line::default());
        out.extend(notes);
    }
    // Where the numbers come from.
    if let Some(m) = live_members.iter().find(|m| m.role.is_some()) {
        let age = m.role.as_ref().map_or(0, |f| f.age_ms);
        let mut from = format!(
            "Patroni: role, state, TL, lag MB ({}, {} ago)",
            m.role.as_ref().map_or("", |f| &*f.source),
            live::age(age)
        );
        if live_members.iter().any(|m| m.lag_seconds.is_some()) {
            from.push_str(" · Prometheus: lag s");
        }
        out.push(Line::default());
        out.extend(
            wrap_words(&from, width)
                .into_iter()
                .map(|l| Line::styled(l, t.dim)),
        );
    }
    out
}

// ------------------------------------------------------------ history

fn history(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut out = Vec::new();
    let Some(l) = lc.filter(|l| !l.history.is_empty()) else {
        out.push(Line::styled("Timeline history", t.table_header));
        let text = match (lc, live::kind_problem(view.snapshot, SourceKind::Patroni)) {
            (_, Some(e)) if lc.is_none_or(|l| l.members.iter().all(|m| m.role.is_none())) => {
                format!("no data: {e}")
            }
            (Some(l), _) if l.members.iter().any(|m| m.role.is_some()) => format!(
                "No timeline history: {} has stayed on its first timeline.",
                cluster.name
            ),
            _ if live::has_live(view.snapshot) => "no data from Patroni yet".into(),
            _ => "no live data yet".into(),
        };
        out.push(Line::styled(text, t.dim));
        return out;
    };
    let mut heading = format!(
        "Timeline history · {} switch{}, newest first",
        l.history.len(),
        if l.history.len() == 1 { "" } else { "es" }
    );
    if let Some(src) = &l.history_source {
        heading.push_str(&format!(" · {src}"));
    }
    out.extend(
        wrap_words(&heading, width)
            .into_iter()
            .map(|s| Line::styled(s, t.table_header)),
    );
    if let Some(tl) = &l.timeline {
        let leader = l.leader().unwrap_or("?");
        out.push(Line::styled(
            format!(
                "now on timeline {} · leader {leader}",
                live::stale_text(tl.value.to_string(), tl.stale)
            ),
            if tl.stale { t.stale } else { t.text },
        ));
    }
    out.push(Line::default());
    let rows: Vec<Vec<Cell>> = l
        .history
        .iter()
        .rev()
        .map(|h| {
            let ts = h.timestamp.as_deref();
            vec![
                (h.timeline.to_string(), t.text),
                (live::lsn(h.lsn), t.dim),
                (
                    h.new_leader.clone().unwrap_or_else(|| "-".into()),
                    t.role_primary,
                ),
                (
                    live::age_of(view.snapshot, ts).unwrap_or_else(|| "-".into()),
                    t.text,
                ),
                (ts.map(live::short_time).unwrap_or_default(), t.dim),
                (h.reason.clone(), t.dim),
            ]
        })
        .collect();
    let header = ["TL", "LSN", "New leader", "Age", "Time", "Reason"];
    let (header, rows) = fit_columns(&header, &rows, &[4, 1], width, 12);
    let flex = header.len() - 1;
    out.extend(table(&header, &rows, flex, width, t.table_header));
    out
}

// ------------------------------------------------------------ metrics

fn series_title(kind: SeriesKind) -> &'static str {
    match kind {
        SeriesKind::Tps => "TPS (transactions/s)",
        SeriesKind::LagBytes => "Replication lag",
        SeriesKind::Connections => "Connections",
    }
}

fn series_value(kind: SeriesKind, v: f64) -> String {
    match kind {
        SeriesKind::Tps => {
            if v < 100.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        }
        SeriesKind::LagBytes => live::bytes(v.max(0.0) as u64),
        SeriesKind::Connections => format!("{v:.0}"),
    }
}

fn metrics(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    let prom: Vec<_> = s.sources_of(SourceKind::Prometheus).collect();
    // Why there is nothing to draw, if there is not.
    let no_data: Option<String> = if view.deployment.endpoints.prometheus.is_none() {
        Some("no data: no Prometheus in the inventory".into())
    } else if let Some(e) = live::kind_problem(s, SourceKind::Prometheus) {
        Some(format!("no data: {e}"))
    } else if prom.is_empty() {
        Some(if live::has_live(s) {
            "no data from Prometheus yet".into()
        } else {
            "no live data yet".into()
        })
    } else {
        None
    };
    let stale = prom.iter().any(|p| live::source_stale(s, p));
    let mut out = Vec::new();
    let name_w = cluster
        .instances
        .iter()
        .map(|i| width_of(&i.name))
        .max()
        .unwrap_or(4);
    for kind in [
        SeriesKind::Tps,
        SeriesKind::LagBytes,
        SeriesKind::Connections,
    ] {
        out.push(Line::styled(series_title(kind), t.table_header));
        if let Some(why) = &no_data {
            // The reason once, under the first heading.
            let text = if kind == SeriesKind::Tps {
                why.as_str()
            } else {
                "no data (see above)"
            };
            let style = if why.contains("yet") || kind != SeriesKind::Tps {
                t.dim
            } else {
                t.error
            };
            out.extend(
                wrap_words(text, width)
                    .into_iter()
                    .map(|l| Line::styled(l, style)),
            );
            out.push(Line::default());
            continue;
        }
        let series: Vec<_> = lc
            .map(|l| l.sparklines.iter().filter(|sp| sp.kind == kind).collect())
            .unwrap_or_default();
        if series.is_empty() {
            out.push(Line::styled(
                format!(
                    "no data: Prometheus has no such series for {}",
                    cluster.name
                ),
                t.dim,
            ));
            out.push(Line::default());
            continue;
        }
        // Declared order, then any other instance.
        let mut ordered: Vec<_> = cluster
            .instances
            .iter()
            .filter_map(|i| series.iter().find(|sp| sp.instance == i.name).copied())
            .collect();
        for sp in &series {
            if !ordered.iter().any(|o| o.instance == sp.instance) {
                ordered.push(sp);
            }
        }
        let values: Vec<(String, String)> = ordered
            .iter()
            .map(|sp| {
                let vals: Vec<f64> = sp.values.iter().map(|&v| f64::from(v)).collect();
                let now = vals
                    .last()
                    .map(|v| series_value(kind, *v))
                    .unwrap_or_default();
                let max = vals
                    .iter()
                    .copied()
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                    .map(|v| format!("max {}", series_value(kind, v)))
                    .unwrap_or_default();
                (now, max)
            })
            .collect();
        let now_w = values.iter().map(|v| width_of(&v.0)).max().unwrap_or(0);
        let max_w = values.iter().map(|v| width_of(&v.1)).max().unwrap_or(0);
        let points = ordered.iter().map(|sp| sp.values.len()).max().unwrap_or(0);
        let spark_w = width
            .saturating_sub(name_w.max(4) + 1 + 1 + now_w + 1 + max_w)
            .clamp(4, 60)
            .min(points.max(4));
        for (sp, (now, max)) in ordered.iter().zip(values) {
            let vals: Vec<f64> = sp.values.iter().map(|&v| f64::from(v)).collect();
            let line = Line::from(vec![
                Span::styled(super::text::pad(&sp.instance, name_w), t.text),
                Span::raw(" "),
                Span::styled(
                    super::text::pad(&live::sparkline(&vals, spark_w), spark_w),
                    if stale { t.stale } else { t.sparkline },
                ),
                Span::raw(" "),
                Span::styled(
                    format!("{now:>now_w$}"),
                    if stale { t.stale } else { t.text },
                ),
                Span::raw(" "),
                Span::styled(max, t.dim),
            ]);
            out.push(fit_line(line, width));
        }
        out.push(Line::default());
    }
    if stale && no_data.is_none() {
        out.push(Line::styled(
            "~ Prometheus has not answered for more than 3 poll intervals.",
            t.stale,
        ));
    }
    out
}

fn width_of(s: &str) -> usize {
    width(s)
}

// ------------------------------------------------------------ routing

/// Whether a service must go to the leader only.
fn is_primary_service(name: &str, check: Option<&str>) -> bool {
    name == "primary" || check == Some("/primary")
}

fn routing(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    let mut out = Vec::new();
    let routes = lc.map(|l| l.routing.as_slice()).unwrap_or_default();
    if routes.is_empty() && s.sources_of(SourceKind::Haproxy).next().is_none() {
        // Nothing live: the declared services.
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
            out.extend(table(&header, &rows, 4, width, t.dim));
        }
        out.push(Line::default());
        out.push(Line::styled(
            if live::has_live(s) {
                "no routing data from HAProxy yet"
            } else {
                "no live data yet"
            },
            t.dim,
        ));
        return out;
    }
    let leader = lc
        .and_then(|l| l.leader.patroni.as_ref())
        .filter(|f| !f.stale);
    // Declared services in order, then any other HAProxy reports.
    struct Svc {
        name: String,
        port: Option<u16>,
        dest: Option<String>,
        check: Option<String>,
    }
    let mut services: Vec<Svc> = cluster
        .services
        .iter()
        .map(|s| Svc {
            name: s.name.clone(),
            port: Some(s.port),
            dest: Some(s.dest.clone()),
            check: s.check.clone(),
        })
        .collect();
    for r in routes {
        if !services.iter().any(|s| s.name == r.service) {
            services.push(Svc {
                name: r.service.clone(),
                port: r.port,
                dest: None,
                check: None,
            });
        }
    }
    for Svc {
        name,
        port,
        dest,
        check,
    } in &services
    {
        let mut head = vec![Span::styled(name.clone(), t.title)];
        if let Some(p) = port {
            head.push(Span::styled(format!(" :{p}"), t.text));
        }
        if let Some(d) = dest {
            head.push(Span::styled(format!(" → {d}"), t.text));
        }
        if let Some(c) = check {
            head.push(Span::styled(format!(" · check {c}"), t.dim));
        }
        out.push(fit_line(Line::from(head), width));
        let rs: Vec<_> = routes.iter().filter(|r| &r.service == name).collect();
        if rs.is_empty() {
            out.push(Line::styled("  no HAProxy reports it", t.dim));
            out.push(Line::default());
            continue;
        }
        // Servers: members first, in order, then any other.
        let mut servers: Vec<String> = Vec::new();
        for m in cluster.instances.iter().map(|i| &i.name) {
            if rs.iter().any(|r| r.servers.iter().any(|s| &s.name == m)) {
                servers.push(m.clone());
            }
        }
        for r in &rs {
            for sv in &r.servers {
                if !servers.contains(&sv.name) {
                    servers.push(sv.name.clone());
                }
            }
        }
        let mut header: Vec<&str> = vec!["HAProxy"];
        header.extend(servers.iter().map(String::as_str));
        let rows: Vec<Vec<Cell>> = rs
            .iter()
            .map(|r| {
                let mut row: Vec<Cell> = vec![(
                    live::stale_text(r.haproxy.clone(), r.stale),
                    if r.stale { t.stale } else { t.text },
                )];
                for sv_name in &servers {
                    let cell = match r.servers.iter().find(|s| &s.name == sv_name) {
                        None => ("-".to_string(), t.dim),
                        Some(sv) => {
                            let mut text = sv.status.clone();
                            if !sv.active {
                                text.push_str(" (b)");
                            }
                            let style = if r.stale {
                                t.stale
                            } else if sv.is_up() {
                                t.status_up
                            } else if sv.status.starts_with("DOWN") {
                                t.status_down
                            } else {
                                t.warning
                            };
                            (text, style)
                        }
                    };
                    row.push(cell);
                }
                row
            })
            .collect();
        let flex = header.len() - 1;
        out.extend(
            table(&header, &rows, flex, width.saturating_sub(2), t.dim)
                .into_iter()
                .map(|l| {
                    let mut spans = vec![Span::raw("  ")];
                    spans.extend(l.spans);
                    Line::from(spans)
                }),
        );
        if is_primary_service(name, check.as_deref())
            && let Some(pl) = leader
        {
            for r in rs.iter().filter(|r| !r.stale) {
                let others: Vec<&String> = r.routes_to.iter().filter(|s| **s != pl.value).collect();
                let text = if !others.is_empty() {
                    Some(format!(
                        "✗ HAProxy {} sends {} to {}, not the leader {}",
                        r.haproxy,
                        port.map_or(name.clone(), |p| format!(":{p}")),
                        r.routes_to.join(", "),
                        pl.value
                    ))
                } else if r.routes_to.is_empty() {
                    Some(format!(
                        "✗ HAProxy {} routes {} nowhere (leader {})",
                        r.haproxy, name, pl.value
                    ))
                } else {
                    None
                };
                if let Some(text) = text {
                    out.extend(
                        wrap_words(&text, width.saturating_sub(2))
                            .into_iter()
                            .map(|l| Line::styled(format!("  {l}"), t.error)),
                    );
                }
            }
        }
        out.push(Line::default());
    }
    // HAProxy nodes of this cluster that do not answer.
    for i in &cluster.instances {
        if let Some(e) = live::node_source_problem(s, SourceKind::Haproxy, &i.ip) {
            out.extend(
                wrap_words(&format!("✗ haproxy {}: {e}", i.ip), width)
                    .into_iter()
                    .map(|l| Line::styled(l, t.error)),
            );
        }
    }
    out
}

// ------------------------------------------------------------ findings

fn cluster_findings(
    view: &View,
    cluster: &Cluster,
    lc: Option<&ClusterLive>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let s = view.snapshot;
    let list: Vec<_> = s
        .findings
        .iter()
        .filter(|f| f.cluster.as_deref() == Some(cluster.name.as_str()))
        .collect();
    let mut out = vec![Line::styled(
        format!("Findings ({})", list.len()),
        t.table_header,
    )];
    if list.is_empty() {
        out.push(Line::styled(
            if live::has_live(s) {
                "No disagreement between sources."
            } else {
                "no live data yet"
            },
            t.dim,
        ));
    }
    for f in list {
        out.extend(findings::finding_lines(f, t, width, None));
    }
    out.push(Line::default());
    let alerts: Vec<_> = lc.map(|l| l.alerts.iter().collect()).unwrap_or_default();
    out.push(Line::styled(
        format!("Alerts ({})", alerts.len()),
        t.table_header,
    ));
    out.extend(alerts::alert_section(view, &alerts, width, false));
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
