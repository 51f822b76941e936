//! The warnings popup (`w`): the inventory's warnings and the console's own
//! notices (a theme that failed to load…).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::layout::centered;
use super::{Component, KeyHint, View};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The warnings popup component.
pub struct WarningsPopup;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j", "scroll"),
    KeyHint::new("Esc / w / q", "close"),
];

/// Every warning as one text, notices first.
pub fn warning_texts(app: &AppState, deployment: &Deployment) -> Vec<String> {
    app.notices
        .iter()
        .cloned()
        .chain(deployment.warnings.iter().map(|w| w.to_string()))
        .collect()
}

impl Component for WarningsPopup {
    fn name(&self) -> &'static str {
        "Warnings (w)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let scroll = match &view.app.overlay {
            Some(Overlay::Warnings { scroll }) => *scroll,
            _ => 0,
        };
        let t = view.theme;
        let texts = warning_texts(view.app, view.deployment);
        let w = area.width.saturating_sub(4).min(100);
        let inner_w = (w as usize).saturating_sub(2).max(1);
        // Wrapped height: each warning takes its width over the inner width.
        let wrapped: usize = texts
            .iter()
            .map(|w| (super::text::width(w) + 2).div_ceil(inner_w).max(1))
            .sum::<usize>()
            .max(1);
        let lines: Vec<Line> = if texts.is_empty() {
            vec![Line::styled("No warnings.", t.dim)]
        } else {
            texts
                .into_iter()
                .map(|w| {
                    Line::from(vec![
                        Span::styled("⚠ ", t.warning),
                        Span::styled(w, t.popup),
                    ])
                })
                .collect()
        };
        let h = (wrapped + 2).min(area.height.saturating_sub(2) as usize) as u16;
        let popup = centered(area, w, h);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(" Warnings ", t.title))
            .title(Line::styled(" Esc closes ", t.dim).right_aligned());
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            popup,
        );
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let count = warning_texts(app, deployment).len() as u16;
        let Some(Overlay::Warnings { scroll }) = &mut app.overlay else {
            return Outcome::Ignored;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('w') | KeyCode::Char('q') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                *scroll = (*scroll + 1).min(count.saturating_sub(1))
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![KeyHint::new("j/k", "scroll"), KeyHint::new("Esc", "close")]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
