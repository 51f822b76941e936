//! The right pane: the detail of whatever the tree has selected.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::layout::Screen;
use super::theme::Theme;
use super::{Component, KeyHint, View, cluster_view, node_view, overview};
use crate::app::state::{AppState, Focus, Outcome};
use crate::app::tree::TreeItem;
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The detail pane component.
pub struct DetailPane;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j", "scroll"),
    KeyHint::new("PgUp/C-u PgDn/C-d", "scroll a page"),
    KeyHint::new("Home/g End/G", "top / bottom"),
    KeyHint::new("Esc/←/h", "back to the tree"),
    KeyHint::new("1-6", "cluster section (topology … findings)"),
    KeyHint::new("[ ]", "previous / next cluster section"),
];

/// What the detail pane shows for the current selection.
pub struct Content {
    pub title: String,
    /// A line kept at the top while the rest scrolls (the cluster view's
    /// section bar).
    pub sticky: Option<Line<'static>>,
    pub lines: Vec<Line<'static>>,
}

impl Content {
    fn plain(title: impl Into<String>, lines: Vec<Line<'static>>) -> Self {
        Content {
            title: title.into(),
            sticky: None,
            lines,
        }
    }
}

/// Title and content of the detail pane for the current selection.
pub fn content(view: &View, width: usize) -> Content {
    let d = view.deployment;
    match view.app.tree.selected() {
        None => Content::plain(
            " Detail ",
            vec![Line::styled("Nothing selected.", view.theme.dim)],
        ),
        Some(TreeItem::InfraGroup) => {
            Content::plain(" Infrastructure ", overview::infra(view, width))
        }
        Some(TreeItem::ClustersGroup) => {
            Content::plain(" Clusters ", overview::clusters(view, width))
        }
        Some(TreeItem::Cluster(c)) => match d.clusters.get(c) {
            Some(cluster) => Content {
                title: format!(" Cluster {} ", cluster.name),
                sticky: Some(cluster_view::tab_bar(view, cluster, width)),
                lines: cluster_view::lines(view, cluster, width),
            },
            None => Content::plain(" Detail ", Vec::new()),
        },
        Some(TreeItem::InfraNode(n)) => match d.infra.get(n) {
            Some(node) => Content::plain(
                format!(" Infra node {} ", node.name),
                node_view::lines(view, &node.ip, width),
            ),
            None => Content::plain(" Detail ", Vec::new()),
        },
        Some(TreeItem::Instance { cluster, instance }) => {
            match d
                .clusters
                .get(cluster)
                .and_then(|c| c.instances.get(instance))
            {
                Some(i) => Content::plain(
                    format!(" Instance {} ", i.name),
                    node_view::lines(view, &i.ip, width),
                ),
                None => Content::plain(" Detail ", Vec::new()),
            }
        }
    }
}

/// Number of scrollable content lines for the current selection and the
/// rows they scroll in.
fn content_size(app: &AppState, deployment: &Deployment, snapshot: &Snapshot) -> (usize, usize) {
    let theme = Theme::unstyled();
    let view = View {
        app,
        deployment,
        snapshot,
        theme: &theme,
    };
    let width = Screen::new(app.screen).detail.width.saturating_sub(2) as usize;
    let c = content(&view, width);
    let rows = app
        .detail_viewport_rows()
        .saturating_sub(usize::from(c.sticky.is_some()));
    (c.lines.len(), rows)
}

impl Component for DetailPane {
    fn name(&self) -> &'static str {
        "Detail (right pane)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let focused = view.app.focus == Focus::Detail && view.app.overlay.is_none();
        let inner_w = area.width.saturating_sub(2) as usize;
        let Content {
            title,
            sticky,
            lines,
        } = content(view, inner_w);
        let inner_h =
            (area.height.saturating_sub(2) as usize).saturating_sub(usize::from(sticky.is_some()));
        let max_scroll = lines.len().saturating_sub(inner_h);
        let scroll = (view.app.detail_scroll as usize).min(max_scroll);
        let mut block = Block::bordered()
            .border_style(if focused { t.border_focused } else { t.border })
            .title(Span::styled(title, t.title));
        if max_scroll > 0 {
            let more = format!(
                " {}-{}/{} ",
                scroll + 1,
                (scroll + inner_h).min(lines.len()),
                lines.len()
            );
            block = block.title_bottom(Line::styled(more, t.dim).right_aligned());
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut body = inner;
        if let Some(bar) = sticky
            && inner.height > 0
        {
            frame.render_widget(Paragraph::new(bar), Rect { height: 1, ..inner });
            body = Rect {
                y: inner.y + 1,
                height: inner.height - 1,
                ..inner
            };
        }
        let para = Paragraph::new(lines).scroll((scroll.min(u16::MAX as usize) as u16, 0));
        frame.render_widget(para, body);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome {
        if cluster_view::tab_key(app, key) {
            return Outcome::Handled;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let (height, viewport) = content_size(app, deployment, snapshot);
        let max_scroll = height.saturating_sub(viewport);
        let current = (app.detail_scroll as usize).min(max_scroll);
        let page = viewport.max(1);
        let target = match key.code {
            KeyCode::Up | KeyCode::Char('k') => current.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => current + 1,
            KeyCode::PageUp => current.saturating_sub(page),
            KeyCode::PageDown => current + page,
            KeyCode::Char('u') if ctrl => current.saturating_sub(page / 2),
            KeyCode::Char('d') if ctrl => current + page / 2,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => max_scroll,
            KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => {
                app.focus = Focus::Tree;
                return Outcome::Handled;
            }
            _ => return Outcome::Ignored,
        };
        app.detail_scroll = target.min(max_scroll).min(u16::MAX as usize) as u16;
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        let mut hints = vec![KeyHint::new("j/k", "scroll")];
        if matches!(app.tree.selected(), Some(TreeItem::Cluster(_))) {
            hints.push(cluster_view::TAB_HINT);
        }
        hints.push(KeyHint::new("Esc", "tree"));
        hints
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
