//! The events view (`e`, `:events`): the triage timeline kept by the
//! recorder, newest first, filtered by text (`/`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::text::truncate;
use super::{Component, KeyHint, View};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The events popup component.
pub struct EventsView;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "scroll (newest first)"),
    KeyHint::new("/", "filter the events by text"),
    KeyHint::new("Esc / e / q", "close"),
];

/// The event lines matching `filter` (any case), newest first; `None`
/// when no timeline is kept (live polling off).
pub fn event_lines(app: &AppState, filter: &str) -> Option<Vec<String>> {
    let state = app.triage.as_ref()?;
    let st = state.lock().unwrap_or_else(|p| p.into_inner());
    let needle = filter.to_lowercase();
    Some(
        st.timeline
            .events()
            .rev()
            .map(|e| e.line())
            .filter(|l| needle.is_empty() || l.to_lowercase().contains(&needle))
            .collect(),
    )
}

impl Component for EventsView {
    fn name(&self) -> &'static str {
        "Events (e)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let Some(Overlay::Events {
            scroll,
            filter,
            editing,
        }) = &view.app.overlay
        else {
            return;
        };
        let popup = centered(
            area,
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        );
        let inner_w = (popup.width as usize).saturating_sub(2);
        let inner_h = (popup.height as usize).saturating_sub(2);
        let mut lines = Vec::new();
        let show_filter = *editing || !filter.is_empty();
        if show_filter {
            lines.push(Line::from(vec![
                Span::styled("/", t.footer_key),
                Span::styled(
                    format!("{filter}{}", if *editing { "▏" } else { "" }),
                    t.input,
                ),
            ]));
        }
        let body_h = inner_h.saturating_sub(lines.len());
        let (count, body): (usize, Vec<Line>) = match event_lines(view.app, filter) {
            None => (
                0,
                vec![Line::styled(
                    "No event timeline: live polling is off.",
                    t.dim,
                )],
            ),
            Some(list) if list.is_empty() => (
                0,
                vec![Line::styled(
                    if filter.is_empty() {
                        "No event recorded yet."
                    } else {
                        "No event matches the filter."
                    },
                    t.dim,
                )],
            ),
            Some(list) => (
                list.len(),
                list.iter()
                    .skip(*scroll)
                    .take(body_h)
                    .map(|l| Line::styled(truncate(l, inner_w).into_owned(), t.popup))
                    .collect(),
            ),
        };
        lines.extend(body);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(format!(" Events ({count}) "), t.title))
            .title_bottom(Line::styled(" / filter  Esc closes ", t.dim).right_aligned());
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let Some(Overlay::Events {
            scroll,
            filter,
            editing,
        }) = &mut app.overlay
        else {
            return Outcome::Ignored;
        };
        let page = (app.screen.height as usize / 2).max(1);
        if *editing {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => *editing = false,
                KeyCode::Backspace => {
                    filter.pop();
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    filter.clear()
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    filter.push(c);
                    *scroll = 0;
                }
                _ => {}
            }
            return Outcome::Handled;
        }
        match key.code {
            KeyCode::Esc if !filter.is_empty() => {
                filter.clear();
                *scroll = 0;
            }
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('e') => app.overlay = None,
            KeyCode::Char('/') => *editing = true,
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *scroll += 1,
            KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
            KeyCode::PageDown => *scroll += page,
            KeyCode::Home | KeyCode::Char('g') => *scroll = 0,
            _ => {}
        }
        // Keep the last page in view.
        if let Some(Overlay::Events { scroll, filter, .. }) = &app.overlay {
            let n = event_lines(app, filter).map_or(0, |l| l.len());
            let max = n.saturating_sub(1);
            if *scroll > max
                && let Some(Overlay::Events { scroll, .. }) = &mut app.overlay
            {
                *scroll = max;
            }
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        if let Some(Overlay::Events { editing: true, .. }) = app.overlay {
            return vec![KeyHint::new("Enter", "keep the filter")];
        }
        vec![
            KeyHint::new("↑↓", "scroll"),
            KeyHint::new("/", "filter"),
            KeyHint::new("Esc", "close"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
