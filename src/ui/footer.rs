//! The footer line: key hints of the focused component, or a status message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::live;
use super::text::{truncate, width};
use super::{KeyHint, View, focused_component};
use crate::app::state::Overlay;

/// Global hints appended after the focused pane's own.
const PANE_GLOBALS: &[KeyHint] = &[
    KeyHint::new("Tab", "pane"),
    KeyHint::new("/", "filter"),
    KeyHint::new(":", "command"),
    KeyHint::new("q", "quit"),
];

/// Always shown, at the end, when there is room for anything.
const HELP: KeyHint = KeyHint::new("?", "help");

pub fn draw(frame: &mut Frame, area: Rect, view: &View) {
    frame.render_widget(Paragraph::new(footer_line(view, area.width as usize)), area);
}

pub fn footer_line(view: &View, max: usize) -> Line<'static> {
    let t = view.theme;
    if let Some(status) = &view.app.status {
        let style = if status.is_error { t.error } else { t.warning };
        let text = format!(" {}", truncate(&status.text, max.saturating_sub(1)));
        let fill = max.saturating_sub(width(&text));
        return Line::from(vec![
            Span::styled(text, style),
            Span::styled(" ".repeat(fill), t.footer),
        ]);
    }
    let component = focused_component(view.app);
    let mut hints = component.commands(view.app, view.deployment);
    let modal = !view.app.prompts.is_empty();
    let in_pane = view.app.overlay.is_none() && !view.app.filter_editing && !modal;
    if in_pane {
        // Live problems first: they are what the operator came for.
        if live::active_alerts(view.snapshot) > 0 {
            hints.push(KeyHint::new("a", "alerts"));
        }
        if !view.snapshot.findings.is_empty() {
            hints.push(KeyHint::new("f", "findings"));
        }
        hints.extend_from_slice(PANE_GLOBALS);
    }
    let show_help = !matches!(view.app.overlay, Some(Overlay::Help { .. })) && !modal;

    let hint_width = |h: &KeyHint| width(h.keys) + 1 + width(h.action) + 2;
    let reserved = if show_help { hint_width(&HELP) } else { 0 };
    let mut spans = vec![Span::styled(" ", t.footer)];
    let mut used = 1;
    let push = |spans: &mut Vec<Span<'static>>, h: &KeyHint| {
        spans.push(Span::styled(h.keys, t.footer_key));
        spans.push(Span::styled(format!(" {}  ", h.action), t.footer));
    };
    for h in &hints {
        if used + hint_width(h) + reserved > max {
            break;
        }
        push(&mut spans, h);
        used += hint_width(h);
    }
    if show_help && used + reserved <= max {
        push(&mut spans, &HELP);
        used += reserved;
    }
    if used < max {
        spans.push(Span::styled(" ".repeat(max - used), t.footer));
    }
    Line::from(spans)
}
