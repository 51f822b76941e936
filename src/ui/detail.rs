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
];

/// Title and content of the detail pane for the current selection.
pub fn content(view: &View, width: usize) -> (String, Vec<Line<'static>>) {
    let d = view.deployment;
    match view.app.tree.selected() {
        None => (
            " Detail ".to_string(),
            vec![Line::styled("Nothing selected.", view.theme.dim)],
        ),
        Some(TreeItem::InfraGroup) => {
            (" Infrastructure ".to_string(), overview::infra(view, width))
        }
        Some(TreeItem::ClustersGroup) => {
            (" Clusters ".to_string(), overview::clusters(view, width))
        }
        Some(TreeItem::Cluster(c)) => match d.clusters.get(c) {
            Some(cluster) => (
                format!(" Cluster {} ", cluster.name),
                cluster_view::lines(view, cluster, width),
            ),
            None => (" Detail ".to_string(), Vec::new()),
        },
        Some(TreeItem::InfraNode(n)) => match d.infra.get(n) {
            Some(node) => (
                format!(" Infra node {} ", node.name),
                node_view::lines(view, &node.ip, width),
            ),
            None => (" Detail ".to_string(), Vec::new()),
        },
        Some(TreeItem::Instance { cluster, instance }) => {
            match d
                .clusters
                .get(cluster)
                .and_then(|c| c.instances.get(instance))
            {
                Some(i) => (
                    format!(" Instance {} ", i.name),
                    node_view::lines(view, &i.ip, width),
                ),
                None => (" Detail ".to_string(), Vec::new()),
            }
        }
    }
}

/// Number of content lines for the current selection (for scroll limits).
fn content_height(app: &AppState, deployment: &Deployment) -> usize {
    let theme = Theme::unstyled();
    let snapshot = Snapshot::empty();
    let view = View {
        app,
        deployment,
        snapshot: &snapshot,
        theme: &theme,
    };
    let width = Screen::new(app.screen).detail.width.saturating_sub(2) as usize;
    content(&view, width).1.len()
}

impl Component for DetailPane {
    fn name(&self) -> &'static str {
        "Detail (right pane)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let focused = view.app.focus == Focus::Detail && view.app.overlay.is_none();
        let inner_w = area.width.saturating_sub(2) as usize;
        let (title, lines) = content(view, inner_w);
        let inner_h = area.height.saturating_sub(2) as usize;
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
        let para = Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(u16::MAX as usize) as u16, 0));
        frame.render_widget(para, area);
    }

    fn handle_key(&self, key: KeyEvent, app: &mut AppState, deployment: &Deployment) -> Outcome {
        let viewport = app.detail_viewport_rows();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let max_scroll = content_height(app, deployment).saturating_sub(viewport);
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

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![KeyHint::new("j/k", "scroll"), KeyHint::new("Esc", "tree")]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
