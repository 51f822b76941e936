//! The left pane: "Infra" (meta / infra nodes) and "Clusters" (each cluster
//! and its instances), filterable. Only the visible rows are formatted.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::live::{self, MarkKind};
use super::text::{pad, truncate, width};
use super::theme::Theme;
use super::{Component, KeyHint, View, cluster_view};
use crate::app::state::{AppState, Focus, Outcome};
use crate::app::tree::{TreeItem, TreeRow, visible_offset};
use crate::model::{DeclaredRole, Deployment};
use crate::snapshot::{Severity, Snapshot};

/// The tree pane component.
pub struct TreePane;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j", "move up / down"),
    KeyHint::new("PgUp/C-u PgDn/C-d", "move a page"),
    KeyHint::new("Home/g End/G", "first / last row"),
    KeyHint::new("Enter/Space", "expand / collapse, or focus detail"),
    KeyHint::new("→/l", "expand, enter, or focus detail"),
    KeyHint::new("←/h", "collapse, or go to parent"),
    KeyHint::new("Esc", "clear the filter"),
    KeyHint::new("1-6 [ ]", "cluster section (on a cluster)"),
];

impl Component for TreePane {
    fn name(&self) -> &'static str {
        "Tree (left pane)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let app = view.app;
        let t = view.theme;
        let focused = app.focus == Focus::Tree && app.overlay.is_none();
        let title = if app.tree.filter().is_empty() {
            " Deployment ".to_string()
        } else {
            format!(" Deployment · {} shown ", app.tree.rows().len())
        };
        let block = Block::bordered()
            .border_style(if focused { t.border_focused } else { t.border })
            .title(Span::styled(title, t.title));
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let show_filter = app.filter_editing || !app.tree.filter().is_empty();
        let rows_h = inner.height.saturating_sub(u16::from(show_filter)) as usize;
        let rows = app.tree.rows();
        let offset = visible_offset(
            app.tree.offset(),
            app.tree.selected_index(),
            rows.len(),
            rows_h,
        );
        let columns = Columns::new(app, inner.width as usize, live::has_live(view.snapshot));
        let mut lines: Vec<Line> = Vec::with_capacity(rows_h);
        for (i, row) in rows.iter().enumerate().skip(offset).take(rows_h) {
            let selected = i == app.tree.selected_index();
            let mut line = row_line(row, view, &columns);
            if selected {
                // The whole row in the selection style, full width.
                let style = if focused {
                    t.selection
                } else {
                    t.selection_inactive
                };
                let mut text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                let fill = (inner.width as usize).saturating_sub(width(&text));
                text.extend(std::iter::repeat_n(' ', fill));
                line = Line::styled(text, style);
            }
            lines.push(line);
        }
        if rows.is_empty() {
            lines.push(Line::styled(
                format!(" no match for '{}'", app.tree.filter()),
                t.dim,
            ));
        }
        let rows_area = Rect::new(inner.x, inner.y, inner.width, rows_h as u16);
        frame.render_widget(Paragraph::new(lines), rows_area);

        if show_filter && inner.height > 0 {
            let filter_area = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
            super::filter::FilterBar.draw(frame, filter_area, view);
        }
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        if cluster_view::tab_key(app, key) {
            return Outcome::Handled;
        }
        let viewport = app.tree_viewport_rows();
        let before = app.tree.selected();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let page = viewport.max(1) as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => app.tree.move_by(-1, viewport),
            KeyCode::Down | KeyCode::Char('j') => app.tree.move_by(1, viewport),
            KeyCode::PageUp => app.tree.move_by(-page, viewport),
            KeyCode::PageDown => app.tree.move_by(page, viewport),
            KeyCode::Char('u') if ctrl => app.tree.move_by(-page / 2, viewport),
            KeyCode::Char('d') if ctrl => app.tree.move_by(page / 2, viewport),
            KeyCode::Home | KeyCode::Char('g') => app.tree.select_first(viewport),
            KeyCode::End | KeyCode::Char('G') => app.tree.select_last(viewport),
            KeyCode::Enter | KeyCode::Char(' ') => {
                if !app.tree.toggle_selected(deployment) && app.tree.selected().is_some() {
                    app.focus = Focus::Detail;
                }
                app.tree.scroll_into_view(viewport);
            }
            KeyCode::Right | KeyCode::Char('l') => match app.tree.selected() {
                // Expand a collapsed row; on an expanded one, enter it.
                Some(item) if item.has_children() => {
                    let expanded_now = app.tree.set_expanded(deployment, item, true);
                    if !expanded_now {
                        app.tree.move_by(1, viewport);
                    }
                }
                Some(_) => app.focus = Focus::Detail,
                None => {}
            },
            KeyCode::Left | KeyCode::Char('h') => match app.tree.selected() {
                Some(item) if item.has_children() && app.tree.is_expanded(item) => {
                    app.tree.set_expanded(deployment, item, false);
                    app.tree.scroll_into_view(viewport);
                }
                _ => {
                    app.tree.select_parent(viewport);
                }
            },
            KeyCode::Esc if !app.tree.filter().is_empty() => app.set_filter(deployment, ""),
            _ => return Outcome::Ignored,
        }
        if app.tree.selected() != before {
            app.selection_changed();
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        let mut hints = vec![KeyHint::new("j/k", "move")];
        match app.tree.selected() {
            Some(item) if item.has_children() => {
                if app.tree.is_expanded(item) {
                    hints.push(KeyHint::new("Enter", "collapse"));
                } else {
                    hints.push(KeyHint::new("Enter", "expand"));
                }
            }
            Some(_) => hints.push(KeyHint::new("Enter", "detail")),
            None => {}
        }
        if matches!(app.tree.selected(), Some(TreeItem::Cluster(_))) {
            hints.push(cluster_view::TAB_HINT);
        }
        if !app.tree.filter().is_empty() {
            hints.push(KeyHint::new("Esc", "clear filter"));
        }
        hints
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}

/// Column layout of node rows, computed once per frame from the pane width.
struct Columns {
    /// Width of the name column of instance rows (infra rows get 2 more).
    name: usize,
    /// Width of the IP column; 0 when the pane is too narrow for it.
    ip: usize,
    /// Whether declared roles are written out ("primary") or abbreviated ("P").
    long_roles: bool,
    /// Width of the live role column (`leader`, `~replica`, `down`); 0 when
    /// it is left out (the marker before the name still shows the live role).
    live: usize,
    /// Whether live data exists (markers are drawn).
    has_live: bool,
}

const INSTANCE_INDENT: usize = 6;
const LONG_ROLE: usize = 7;
const LIVE_ROLE: usize = 8;

impl Columns {
    fn new(app: &AppState, pane: usize, has_live: bool) -> Self {
        let ip = app.tree.ip_width().min(15);
        let want_name = app.tree.name_width().max(4);
        let base = INSTANCE_INDENT + 1 + ip + 1;
        let live_w = if has_live { 1 + LIVE_ROLE } else { 0 };
        // Richest first: both roles in words, then the live word with the
        // declared letter, then the declared word alone, then the letter.
        let candidates = [
            (LONG_ROLE, true, live_w),
            (1, false, live_w),
            (LONG_ROLE, true, 0),
            (1, false, 0),
        ];
        for (role_w, long_roles, live) in candidates {
            if pane >= base + role_w + live + want_name {
                return Columns {
                    name: want_name,
                    ip,
                    long_roles,
                    live: live.saturating_sub(1),
                    has_live,
                };
            }
        }
        if pane >= base + 1 + 4 {
            Columns {
                name: (pane - base - 1).min(want_name),
                ip,
                long_roles: false,
                live: 0,
                has_live,
            }
        } else {
            Columns {
                name: pane.saturating_sub(INSTANCE_INDENT + 2),
                ip: 0,
                long_roles: false,
                live: 0,
                has_live,
            }
        }
    }
}

fn role_label(role: DeclaredRole, long: bool) -> &'static str {
    if long {
        role.as_str()
    } else {
        match role {
            DeclaredRole::Primary => "P",
            DeclaredRole::Replica => "R",
            DeclaredRole::Offline => "O",
            DeclaredRole::Delayed => "D",
            DeclaredRole::Standby => "S",
        }
    }
}

fn row_line(row: &TreeRow, view: &View, cols: &Columns) -> Line<'static> {
    let d = view.deployment;
    let t = view.theme;
    let marker = match row.expanded {
        Some(true) => "▾ ",
        Some(false) => "▸ ",
        None => "  ",
    };
    let indent = "  ".repeat(row.item.depth());
    let node = |name: &str, name_w: usize, ip: &str| -> Vec<Span<'static>> {
        let mut spans = vec![Span::styled(pad(name, name_w), t.text)];
        if cols.ip > 0 {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(pad(ip, cols.ip), t.dim));
        }
        spans
    };
    let mut spans = Vec::with_capacity(8);
    match row.item {
        TreeItem::InfraGroup => {
            spans.push(Span::raw(format!("{indent}{marker}")));
            spans.push(Span::styled("Infra", t.group));
            spans.push(Span::styled(format!(" ({})", d.infra.len()), t.dim));
        }
        TreeItem::ClustersGroup => {
            spans.push(Span::raw(format!("{indent}{marker}")));
            spans.push(Span::styled("Clusters", t.group));
            spans.push(Span::styled(format!(" ({})", d.clusters.len()), t.dim));
        }
        TreeItem::InfraNode(n) => {
            spans.push(Span::raw(format!("{indent}{marker}")));
            if let Some(n) = d.infra.get(n) {
                spans.extend(node(&n.name, cols.name + 2, &n.ip));
            }
        }
        TreeItem::Cluster(c) => {
            spans.push(Span::raw(format!("{indent}{marker}")));
            if let Some(c) = d.clusters.get(c) {
                spans.push(Span::styled(
                    truncate(&c.name, cols.name + 2 + cols.ip).into_owned(),
                    t.group,
                ));
                spans.push(Span::styled(format!(" ({})", c.instances.len()), t.dim));
                if let Some(badge) = cluster_badge(view.snapshot, &c.name, t) {
                    spans.push(badge);
                }
            }
        }
        TreeItem::Instance { cluster, instance } => {
            let Some(c) = d.clusters.get(cluster) else {
                return Line::default();
            };
            let Some(i) = c.instances.get(instance) else {
                return Line::default();
            };
            let member = live::cluster_at(view.snapshot, cluster, c)
                .and_then(|l| live::member_at(l, instance, &i.name));
            let mark = live::member_mark(member, t);
            if cols.has_live {
                spans.push(Span::raw(indent));
                spans.push(Span::styled(mark.glyph, mark.style));
                spans.push(Span::raw(" "));
            } else {
                spans.push(Span::raw(format!("{indent}{marker}")));
            }
            spans.extend(node(&i.name, cols.name, &i.ip));
            spans.push(Span::raw(" "));
            let drift = member.is_some_and(|m| live::role_drift(i.role, m));
            let declared_style = if drift { t.warning } else { t.role(i.role) };
            if cols.live > 0 {
                // Keep the live column aligned under short declared roles.
                let declared = role_label(i.role, cols.long_roles);
                let w = if cols.long_roles { LONG_ROLE } else { 1 };
                spans.push(Span::styled(pad(declared, w), declared_style));
                spans.push(Span::raw(" "));
                let label = if mark.kind == MarkKind::Unknown {
                    "?".to_string()
                } else {
                    mark.label
                };
                spans.push(Span::styled(
                    truncate(&label, cols.live).into_owned(),
                    mark.style,
                ));
            } else {
                spans.push(Span::styled(
                    role_label(i.role, cols.long_roles),
                    declared_style,
                ));
            }
        }
    }
    Line::from(spans)
}

/// ` ⚠2` after a cluster with findings of warning or error severity.
fn cluster_badge(snapshot: &Snapshot, cluster: &str, t: &Theme) -> Option<Span<'static>> {
    let mut count = 0;
    let mut worst = Severity::Info;
    for f in &snapshot.findings {
        if f.severity >= Severity::Warning && f.cluster.as_deref() == Some(cluster) {
            count += 1;
            worst = worst.max(f.severity);
        }
    }
    (count > 0).then(|| {
        let style = if worst == Severity::Error {
            t.error
        } else {
            t.warning
        };
        Span::styled(format!(" ⚠{count}"), style)
    })
}
