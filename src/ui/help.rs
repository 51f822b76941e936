//! The help popup (`?`): every key binding of every component, and the
//! palette's commands. Built from the components' own binding lists.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::text::{fit_line, pad, width};
use super::theme::Theme;
use super::{Component, GLOBAL_BINDINGS, KeyHint, View, all_components, palette};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;

/// The help popup component.
pub struct HelpPopup;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "scroll"),
    KeyHint::new("Esc / ? / q", "close"),
];

/// What the live markers mean (tree, diagrams, tables, header).
pub const LEGEND: &[(&str, &str)] = &[
    ("★", "leader (Patroni's live role)"),
    ("●", "replica; 'sync' when synchronous"),
    ("◌", "starting, stopping or another state"),
    ("✗", "down: Patroni unreachable or Postgres stopped"),
    ("?", "unknown: no live data yet"),
    ("~", "stale: older than 3 poll intervals (dimmed)"),
    ("≠", "live role differs from the inventory"),
    ("█░", "replication lag, one cell per x16 from 16 KiB"),
    ("⚠N", "N findings on a cluster (f lists them)"),
];

/// One titled group of (keys, action) lines.
struct Section {
    title: &'static str,
    entries: Vec<(String, String)>,
}

fn sections() -> Vec<Section> {
    let hints = |list: &[KeyHint]| {
        list.iter()
            .map(|h| (h.keys.to_string(), h.action.to_string()))
            .collect()
    };
    let mut out = vec![Section {
        title: "Global",
        entries: hints(GLOBAL_BINDINGS),
    }];
    for c in all_components() {
        out.push(Section {
            title: c.name(),
            entries: hints(c.bindings()),
        });
    }
    out.push(Section {
        title: "Live markers",
        entries: LEGEND
            .iter()
            .map(|(k, a)| (k.to_string(), a.to_string()))
            .collect(),
    });
    out.push(Section {
        title: "Commands (type after :)",
        entries: palette::command_help()
            .into_iter()
            .map(|(k, a)| (k, a.to_string()))
            .collect(),
    });
    out
}

/// Width of the keys column.
fn keys_width(sections: &[Section]) -> usize {
    sections
        .iter()
        .flat_map(|s| s.entries.iter())
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(0)
}

/// The help text laid out in `columns` columns of `col_w` each.
fn help_lines(t: &Theme, columns: usize, col_w: usize) -> Vec<Line<'static>> {
    let sections = sections();
    // Keys are aligned per section: the long palette commands do not push
    // every other section's descriptions out of their column.
    let render = |s: &Section| -> Vec<Line<'static>> {
        let key_w = keys_width(std::slice::from_ref(s)).min(col_w / 2);
        let mut lines = vec![Line::styled(s.title.to_string(), t.table_header)];
        for (k, a) in &s.entries {
            lines.push(Line::from(vec![
                Span::styled(format!("  {}", pad(k, key_w)), t.footer_key),
                Span::styled(format!("  {a}"), t.popup),
            ]));
        }
        lines.push(Line::default());
        lines
    };
    let blocks: Vec<Vec<Line<'static>>> = sections.iter().map(render).collect();
    if columns < 2 {
        return blocks.into_iter().flatten().collect();
    }
    // Two columns: fill the left one up to half the total, the rest right.
    let total: usize = blocks.iter().map(Vec::len).sum();
    let mut left: Vec<Line<'static>> = Vec::new();
    let mut right: Vec<Line<'static>> = Vec::new();
    for b in blocks {
        if left.len() + b.len() / 2 <= total / 2 {
            left.extend(b);
        } else {
            right.extend(b);
        }
    }
    let rows = left.len().max(right.len());
    (0..rows)
        .map(|i| {
            let l = fit_line(left.get(i).cloned().unwrap_or_default(), col_w - 2);
            let used = l.width();
            let mut spans = l.spans;
            spans.push(Span::raw(" ".repeat(col_w.saturating_sub(used))));
            if let Some(r) = right.get(i) {
                spans.extend(fit_line(r.clone(), col_w).spans);
            }
            Line::from(spans)
        })
        .collect()
}

/// Popup area, column count and column width for a screen `area`.
fn geometry(area: Rect) -> (Rect, usize, usize) {
    let columns = if area.width >= 130 { 2 } else { 1 };
    let max_w = if columns == 2 { 124 } else { 78 };
    let w = area.width.saturating_sub(4).min(max_w);
    let popup = centered(area, w, area.height.saturating_sub(2));
    let inner_w = popup.width.saturating_sub(2) as usize;
    (popup, columns, inner_w / columns)
}

impl Component for HelpPopup {
    fn name(&self) -> &'static str {
        "Help (?)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let scroll = match &view.app.overlay {
            Some(Overlay::Help { scroll }) => *scroll,
            _ => 0,
        };
        let t = view.theme;
        let (popup, columns, col_w) = geometry(area);
        let lines = help_lines(t, columns, col_w);
        let inner_h = popup.height.saturating_sub(2) as usize;
        let max_scroll = lines.len().saturating_sub(inner_h);
        let scroll = (scroll as usize).min(max_scroll);
        // Fit the popup to its content when that is shorter than the screen.
        let popup = centered(
            area,
            popup.width,
            (lines.len() + 2).min(popup.height as usize) as u16,
        );
        let mut block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(" Keys ", t.title))
            .title(Line::styled(" Esc closes ", t.dim).right_aligned());
        if max_scroll > 0 {
            block = block.title_bottom(
                Line::styled(format!(" j/k scroll {}/{} ", scroll, max_scroll), t.dim)
                    .right_aligned(),
            );
        }
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .scroll((scroll as u16, 0)),
            popup,
        );
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let (popup, columns, col_w) = geometry(app.screen);
        let page = popup.height.saturating_sub(2).max(1);
        let content = help_lines(&Theme::unstyled(), columns, col_w).len();
        let max_scroll = content.saturating_sub(page as usize) as u16;
        let Some(Overlay::Help { scroll }) = &mut app.overlay else {
            return Outcome::Ignored;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *scroll = (*scroll + 1).min(max_scroll),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
            KeyCode::PageDown => *scroll = (*scroll + page).min(max_scroll),
            KeyCode::Home | KeyCode::Char('g') => *scroll = 0,
            KeyCode::End | KeyCode::Char('G') => *scroll = max_scroll,
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
