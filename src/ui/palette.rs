//! The command palette popup (`:`): an input line, completions, and the
//! error of the last command.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::{pad, truncate, width, wrap_words};
use super::{Component, KeyHint, View};
use crate::app::palette::{COMMANDS, completions};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The palette component; it has the keys while open.
pub struct Palette;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("text", "type a command"),
    KeyHint::new("Tab", "complete the highlighted suggestion"),
    KeyHint::new("↑ ↓ / C-p C-n", "move the highlight"),
    KeyHint::new("Enter", "run the command"),
    KeyHint::new("C-w / C-u", "erase a word / the line"),
    KeyHint::new("Esc", "close"),
];

/// Most completion lines the popup shows at once.
const VISIBLE_COMPLETIONS: usize = 8;

impl Component for Palette {
    fn name(&self) -> &'static str {
        "Command palette (:)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let Some(Overlay::Palette(p)) = &view.app.overlay else {
            return;
        };
        let t = view.theme;
        let found = completions(view.deployment, &p.input);
        let room = (area.height as usize).saturating_sub(6).max(1);
        let shown = found.len().min(VISIBLE_COMPLETIONS).min(room);
        let w = area.width.saturating_sub(4).clamp(20.min(area.width), 72);
        let error_lines = p
            .error
            .as_deref()
            .map(|e| wrap_words(e, (w as usize).saturating_sub(2)))
            .unwrap_or_default();
        let error_h = error_lines.len().min(3);
        let height = (3 + shown + error_h) as u16;
        let popup = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + 2.min(area.height.saturating_sub(height)),
            w,
            height.min(area.height),
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(" Command ", t.title));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let inner_w = inner.width as usize;

        let mut lines = Vec::with_capacity(shown + 2);
        let input_shown = truncate(&p.input, inner_w.saturating_sub(2)).into_owned();
        lines.push(Line::from(vec![
            Span::styled(":", t.footer_key),
            Span::styled(input_shown.clone(), t.input),
        ]));
        if inner.height > 0 {
            let x = inner.x + 1 + width(&input_shown) as u16;
            frame.set_cursor_position(Position::new(
                x.min(inner.right().saturating_sub(1)),
                inner.y,
            ));
        }
        let selected = p.selected.min(found.len().saturating_sub(1));
        let first = (selected + 1).saturating_sub(shown.max(1));
        let label_w = found
            .iter()
            .skip(first)
            .take(shown)
            .map(|c| width(&c.label))
            .max()
            .unwrap_or(0)
            .min(inner_w / 2);
        for (i, c) in found.iter().enumerate().skip(first).take(shown) {
            let text = format!(" {}  {}", pad(&c.label, label_w), c.note);
            let text = pad(&text, inner_w);
            let style = if i == selected {
                t.completion_selected
            } else {
                t.dim
            };
            lines.push(Line::styled(text, style));
        }
        if found.is_empty() && !p.input.trim().is_empty() && p.error.is_none() {
            lines.push(Line::styled(" no suggestion", t.dim));
        }
        for e in error_lines.into_iter().take(error_h) {
            lines.push(Line::styled(e, t.error));
        }
        frame.render_widget(Paragraph::new(lines).style(t.popup), inner);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome {
        let Some(Overlay::Palette(p)) = &mut app.overlay else {
            return Outcome::Ignored;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => app.overlay = None,
            KeyCode::Enter => {
                if p.browsing {
                    let found = completions(deployment, &p.input);
                    p.complete(&found);
                    // A command that still wants its argument: keep typing.
                    if p.input.ends_with(' ') {
                        return Outcome::Handled;
                    }
                }
                return app.submit_palette(deployment, snapshot);
            }
            KeyCode::Tab => {
                let found = completions(deployment, &p.input);
                p.complete(&found);
            }
            KeyCode::Down => {
                let n = completions(deployment, &p.input).len();
                p.move_selection(1, n);
            }
            KeyCode::Char('n') if ctrl => {
                let n = completions(deployment, &p.input).len();
                p.move_selection(1, n);
            }
            KeyCode::Up | KeyCode::BackTab => {
                let n = completions(deployment, &p.input).len();
                p.move_selection(-1, n);
            }
            KeyCode::Char('p') if ctrl => {
                let n = completions(deployment, &p.input).len();
                p.move_selection(-1, n);
            }
            KeyCode::Backspace => {
                if p.input.is_empty() {
                    app.overlay = None;
                } else {
                    p.backspace();
                }
            }
            KeyCode::Char('w') if ctrl => p.delete_word(),
            KeyCode::Char('u') if ctrl => p.clear(),
            KeyCode::Char(c) if !ctrl => p.insert(c),
            _ => {}
        }
        // The palette is modal: every other key is swallowed.
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![
            KeyHint::new("Enter", "run"),
            KeyHint::new("Tab", "complete"),
            KeyHint::new("↑↓", "choose"),
            KeyHint::new("Esc", "close"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}

/// The palette commands as help lines: `cluster NAME`, description.
pub fn command_help() -> Vec<(String, &'static str)> {
    COMMANDS
        .iter()
        .map(|c| {
            let mut names = c.name.to_string();
            for a in c.aliases {
                names.push_str(" | ");
                names.push_str(a);
            }
            if !c.argument.is_empty() {
                names.push(' ');
                names.push_str(c.argument);
            }
            (format!(":{names}"), c.description)
        })
        .collect()
}
