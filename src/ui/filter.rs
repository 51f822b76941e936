//! The filter bar at the bottom of the tree pane (`/`): narrows the tree to
//! names and IPs containing the typed text.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::width;
use super::{Component, KeyHint, View};
use crate::app::state::{AppState, Outcome};
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The filter bar component; it has the keys while the filter is edited.
pub struct FilterBar;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("text", "filter by name or IP (any case)"),
    KeyHint::new("Enter", "keep the filter, back to the tree"),
    KeyHint::new("Esc", "clear the filter"),
    KeyHint::new("↑ ↓", "move in the filtered tree"),
    KeyHint::new("C-u", "erase the text"),
];

impl Component for FilterBar {
    fn name(&self) -> &'static str {
        "Filter (/)"
    }

    /// Draws the one-line bar; `area` is its line.
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let text = view.app.tree.filter();
        let line = if view.app.filter_editing {
            let shown = tail(text, (area.width as usize).saturating_sub(2));
            let cursor_x = area.x + 1 + width(&shown) as u16;
            if area.width > 0 {
                frame.set_cursor_position(Position::new(
                    cursor_x.min(area.right().saturating_sub(1)),
                    area.y,
                ));
            }
            Line::from(vec![
                Span::styled("/", t.footer_key),
                Span::styled(shown, t.input),
            ])
        } else {
            Line::from(vec![
                Span::styled("filter: ", t.dim),
                Span::styled(text.to_string(), t.input),
                Span::styled("  Esc clears", t.dim),
            ])
        };
        frame.render_widget(Paragraph::new(line), area);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                app.filter_editing = false;
                app.set_filter(deployment, "");
            }
            KeyCode::Enter => app.filter_editing = false,
            KeyCode::Backspace => {
                let mut text = app.tree.filter().to_string();
                text.pop();
                app.set_filter(deployment, &text);
            }
            KeyCode::Char('u') if ctrl => app.set_filter(deployment, ""),
            KeyCode::Up | KeyCode::Down => {
                let viewport = app.tree_viewport_rows();
                let before = app.tree.selected();
                app.tree
                    .move_by(if key.code == KeyCode::Up { -1 } else { 1 }, viewport);
                if app.tree.selected() != before {
                    app.selection_changed();
                }
            }
            KeyCode::Char(c) if !ctrl => {
                let mut text = app.tree.filter().to_string();
                text.push(c);
                app.set_filter(deployment, &text);
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![
            KeyHint::new("Enter", "keep"),
            KeyHint::new("Esc", "clear"),
            KeyHint::new("↑↓", "move"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}

/// The end of `s` that fits in `max` columns (the part being typed).
fn tail(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out: Vec<char> = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out.into_iter().rev().collect()
}
