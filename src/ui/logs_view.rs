//! The logs pane (`L`): the PostgreSQL, Patroni or pgbouncer log of the
//! selected instance, or of every member of the selected cluster, followed
//! live over SSH ([`crate::app::logs`]).
//!
//! It covers the panes between the header and the footer. Members are
//! side by side when each column gets at least [`MIN_COLUMN_WIDTH`]
//! columns; narrower, one member at a time with a switcher (← →). Keys:
//! `1` `2` `3` log kind, `t` time window (tail, 5m, 15m, 1h), `w` wrap,
//! `/` search with `n` / `N`, `e` / `E` next / previous ERROR, FATAL or
//! PANIC line, `F` follow, `y` copy the cursor line, `r` reconnect.
//! PostgreSQL csvlog records are shown in short (`TIME [PID] USER@DB
//! SEVERITY:  MESSAGE`, like the text log); `v` shows them as written.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::{pad, truncate, width};
use super::theme::Theme;
use super::{Component, KeyHint, View};
use crate::app::logs::{Jump, LogBuffer, LogsState, StreamState, find_ci, viewport};
use crate::app::state::{AppState, Outcome};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::triage::logs::LogKind;

/// Narrowest column of the side-by-side layout.
pub const MIN_COLUMN_WIDTH: usize = 36;

/// The logs pane component.
pub struct LogsView;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "move the cursor line"),
    KeyHint::new("g / G F End", "oldest line / follow the newest"),
    KeyHint::new("← → / Tab", "another member of the cluster"),
    KeyHint::new("1 2 3", "PostgreSQL, Patroni, pgbouncer log"),
    KeyHint::new("t", "time window: tail, 5m, 15m, 1h"),
    KeyHint::new("w", "wrap long lines"),
    KeyHint::new("v", "csvlog lines as written / in short"),
    KeyHint::new("/ n N", "search, next / previous match"),
    KeyHint::new("e E", "next / previous ERROR, FATAL, PANIC"),
    KeyHint::new("y", "copy the cursor line (OSC 52)"),
    KeyHint::new("r", "reconnect"),
    KeyHint::new("Esc / q", "clear the search / close"),
];

/// Where the pane's parts go on a screen of `screen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// The pane with its border.
    pub area: Rect,
    /// Members side by side (else one with a switcher).
    pub side_by_side: bool,
    /// Columns shown.
    pub columns: usize,
    /// Width of one column's text.
    pub column_width: usize,
    /// Rows of log lines.
    pub body_height: usize,
}

/// The layout for `members` members on a `screen`: between the header and
/// the footer, a tab row, a member row, the lines, a status row.
pub fn geometry(screen: Rect, members: usize) -> Geometry {
    let top = screen.height.min(1);
    let area = Rect::new(
        screen.x,
        screen.y + top,
        screen.width,
        screen.height.saturating_sub(top + 1),
    );
    let inner_w = area.width.saturating_sub(2) as usize;
    let inner_h = area.height.saturating_sub(2) as usize;
    let members = members.max(1);
    let side_by_side =
        members > 1 && inner_w >= members * MIN_COLUMN_WIDTH + (members.saturating_sub(1));
    let columns = if side_by_side { members } else { 1 };
    let column_width = (inner_w.saturating_sub(columns - 1) / columns).max(1);
    Geometry {
        area,
        side_by_side,
        columns,
        column_width,
        body_height: inner_h.saturating_sub(3).max(1),
    }
}

/// `segment` in `base`, with the matches of `needle` highlighted.
fn highlighted(segment: &str, needle: &str, base: Style, hl: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut rest = segment;
    while let Some(i) = find_ci(rest, needle) {
        let end = i + needle.len();
        if !rest.is_char_boundary(i) || !rest.is_char_boundary(end) {
            break;
        }
        if i > 0 {
            spans.push(Span::styled(rest[..i].to_string(), base));
        }
        spans.push(Span::styled(rest[i..end].to_string(), hl));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        spans.push(Span::styled(rest.to_string(), base));
    }
    spans
}

/// The rows of one column: its lines from the viewport's first, wrapped or
/// cut to `w`, the cursor line marked, error lines and matches styled.
fn column_rows(
    buf: &LogBuffer,
    cursor: &crate::app::logs::Cursor,
    logs: &LogsState,
    w: usize,
    h: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    if buf.is_empty() {
        let msg = match &buf.state {
            StreamState::Connecting => "connecting…".to_string(),
            StreamState::Following => "no line yet (following)".to_string(),
            StreamState::Ended(why) => why.clone(),
        };
        let style = if matches!(buf.state, StreamState::Ended(_)) {
            t.error
        } else {
            t.dim
        };
        return super::text::wrap_words(&msg, w)
            .into_iter()
            .take(h)
            .map(|l| Line::styled(l, style))
            .collect();
    }
    let (start, cur) = viewport(buf, cursor, h, w, logs.wrap);
    let hl = t.warning.add_modifier(Modifier::REVERSED);
    let mut rows = Vec::with_capacity(h);
    let mut n = start;
    while rows.len() < h && n < buf.end() {
        let line = buf.get(n).unwrap_or("");
        let mut style = if buf.is_error(n) { t.error } else { t.text };
        if cur == Some(n) {
            style = t.selection;
        }
        let pieces = if logs.wrap && width(line) > w {
            crate::app::logs::wrapped(line, w)
        } else {
            vec![truncate(line, w).into_owned()]
        };
        for p in pieces {
            if rows.len() == h {
                break;
            }
            let fill = w.saturating_sub(width(&p));
            let mut spans = highlighted(&p, &logs.search, style, hl);
            if cur == Some(n) && fill > 0 {
                spans.push(Span::styled(" ".repeat(fill), style));
            }
            rows.push(Line::from(spans));
        }
        n += 1;
    }
    rows
}

/// The file name part of a path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `●` following, `…` connecting, `✗` ended.
fn state_mark(state: &StreamState, t: &Theme) -> (&'static str, Style) {
    match state {
        StreamState::Connecting => ("…", t.dim),
        StreamState::Following => ("●", t.status_up),
        StreamState::Ended(_) => ("✗", t.status_down),
    }
}

fn tabs_line(logs: &LogsState, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, k) in LogKind::ALL.iter().enumerate() {
        let style = if *k == logs.kind { t.tab_active } else { t.tab };
        spans.push(Span::styled(format!("{} {}", i + 1, k.as_str()), style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(" t", t.footer_key));
    for w in crate::app::logs::TimeWindow::ALL {
        let style = if w == logs.window {
            t.tab_active
        } else {
            t.tab
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(w.label(), style));
    }
    spans.push(Span::styled("  w", t.footer_key));
    spans.push(Span::styled(
        " wrap",
        if logs.wrap { t.tab_active } else { t.tab },
    ));
    if logs.kind == LogKind::Postgres {
        spans.push(Span::styled("  v", t.footer_key));
        spans.push(Span::styled(
            " raw",
            if logs.raw { t.tab_active } else { t.tab },
        ));
    }
    Line::from(spans)
}

/// The member row: each column's member and file side by side, or a
/// switcher of every member with the focused one's file.
fn members_line(logs: &LogsState, g: &Geometry, room: usize, t: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    if g.side_by_side {
        for (i, col) in logs.columns.iter().enumerate() {
            let buf = col.lock();
            let (mark, mark_style) = state_mark(&buf.state, t);
            let file = buf.file.as_deref().map(base_name).unwrap_or("");
            let name_style = if i == logs.focused {
                t.tab_active
            } else {
                t.title
            };
            let text = format!("{} ", col.member);
            let rest = g
                .column_width
                .saturating_sub(width(&text) + 2)
                .saturating_sub(0);
            spans.push(Span::styled(text, name_style));
            spans.push(Span::styled(format!("{mark} "), mark_style));
            spans.push(Span::styled(pad(file, rest), t.dim));
            if i + 1 < logs.columns.len() {
                spans.push(Span::styled("│", t.border));
            }
        }
        return Line::from(spans);
    }
    let several = logs.columns.len() > 1;
    if several {
        spans.push(Span::styled("◀", t.footer_key));
    }
    for (i, col) in logs.columns.iter().enumerate() {
        // Brackets too: the focused one shows without colours.
        let (text, style) = if i == logs.focused {
            (format!("[{}]", col.member), t.tab_active)
        } else {
            (format!(" {} ", col.member), t.tab)
        };
        spans.push(Span::styled(text, style));
    }
    spans.push(if several {
        Span::styled("▶ ", t.footer_key)
    } else {
        Span::raw(" ")
    });
    if let Some(col) = logs.focused_column() {
        let buf = col.lock();
        let (mark, mark_style) = state_mark(&buf.state, t);
        spans.push(Span::styled(format!("{mark} "), mark_style));
        if let Some(f) = &buf.file {
            let used: usize = spans.iter().map(|s| width(&s.content)).sum();
            spans.push(Span::styled(tail(f, room.saturating_sub(used)), t.dim));
        }
    }
    Line::from(spans)
}

/// The end of `path` in at most `max` columns, `…` in front when cut (the
/// file name matters most).
fn tail(path: &str, max: usize) -> String {
    if width(path) <= max {
        return path.to_string();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in path.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max {
            break;
        }
        kept.push(c);
        used += w;
    }
    if max == 0 {
        return String::new();
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// The status row of the focused column: search being typed, else lines,
/// errors, matches and the stream's state.
fn status_line(logs: &LogsState, named: bool, t: &Theme) -> Line<'static> {
    if let Some(input) = &logs.search_input {
        return Line::from(vec![
            Span::styled(" /", t.footer_key),
            Span::styled(format!("{input}▏"), t.input),
        ]);
    }
    let Some(col) = logs.focused_column() else {
        return Line::default();
    };
    let (matches, errors) = logs.counts();
    let buf = col.lock();
    let mut parts = Vec::new();
    if named {
        parts.push(Span::styled(format!(" {} ·", col.member), t.title));
    }
    parts.push(Span::styled(
        format!(
            " {} lines{}",
            buf.len(),
            if buf.dropped() > 0 {
                format!(" ({} older dropped)", buf.dropped())
            } else {
                String::new()
            }
        ),
        t.dim,
    ));
    if errors > 0 {
        parts.push(Span::styled(
            format!(" · {errors} error{}", if errors == 1 { "" } else { "s" }),
            t.error,
        ));
    }
    if !logs.search.is_empty() {
        parts.push(Span::styled(
            format!(
                " · /{} {matches} match{}",
                logs.search,
                if matches == 1 { "" } else { "es" }
            ),
            t.warning,
        ));
    }
    let pos = match col.cursor.line {
        None => " · following".to_string(),
        Some(n) => format!(
            " · line {} of {}",
            n.saturating_sub(buf.first()) + 1,
            buf.len()
        ),
    };
    parts.push(Span::styled(pos, t.dim));
    if let StreamState::Ended(why) = &buf.state
        && !buf.is_empty()
    {
        parts.push(Span::styled(format!(" · ended: {why}"), t.error));
    }
    Line::from(parts)
}

impl Component for LogsView {
    fn name(&self) -> &'static str {
        "Logs (L)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let Some(logs) = &view.app.logs else {
            return;
        };
        let g = geometry(area, logs.columns.len());
        frame.render_widget(Clear, g.area);
        let what = logs.instance.as_deref().unwrap_or(&logs.cluster);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(
                format!(" Logs {what} · {} · {} ", logs.kind, logs.window.label()),
                t.title,
            ));
        let inner = block.inner(g.area);
        frame.render_widget(block, g.area);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let w = inner.width as usize;
        let mut lines: Vec<Line> = vec![
            super::text::fit_line(tabs_line(logs, t), w),
            super::text::fit_line(members_line(logs, &g, w, t), w),
        ];
        // The columns shown: all side by side, or the focused one.
        let shown: Vec<usize> = if g.side_by_side {
            (0..logs.columns.len()).collect()
        } else {
            vec![logs.focused.min(logs.columns.len().saturating_sub(1))]
        };
        let bodies: Vec<Vec<Line>> = shown
            .iter()
            .filter_map(|&i| logs.columns.get(i))
            .map(|col| {
                let buf = col.lock();
                column_rows(&buf, &col.cursor, logs, g.column_width, g.body_height, t)
            })
            .collect();
        for row in 0..g.body_height {
            let mut spans: Vec<Span> = Vec::new();
            for (k, body) in bodies.iter().enumerate() {
                let line = body.get(row).cloned().unwrap_or_default();
                let used = line.width();
                spans.extend(line.spans);
                if k + 1 < bodies.len() {
                    spans.push(Span::raw(" ".repeat(g.column_width.saturating_sub(used))));
                    spans.push(Span::styled("│", t.border));
                }
            }
            lines.push(Line::from(spans));
        }
        lines.push(super::text::fit_line(
            status_line(logs, g.side_by_side, t),
            w,
        ));
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let screen = app.screen;
        let Some(logs) = &mut app.logs else {
            app.overlay = None;
            return Outcome::Handled;
        };
        let g = geometry(screen, logs.columns.len());
        let (h, w) = (g.body_height, g.column_width);
        // Typing a search.
        if let Some(input) = &mut logs.search_input {
            match key.code {
                KeyCode::Esc => logs.search_input = None,
                KeyCode::Enter => {
                    logs.search = std::mem::take(input);
                    logs.search_input = None;
                    if !logs.search.is_empty() {
                        let found = logs.jump_from(Jump::Search, false, true, h, w);
                        if found.is_none() {
                            let msg = format!("/{}: no match", logs.search);
                            app.set_status(msg, true);
                        }
                    }
                }
                KeyCode::Backspace => {
                    input.pop();
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.clear()
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
                _ => {}
            }
            return Outcome::Handled;
        }
        let page = h.saturating_sub(1).max(1) as i64;
        let mut restart = false;
        let mut message: Option<(String, bool)> = None;
        match key.code {
            KeyCode::Esc if !logs.search.is_empty() => logs.search.clear(),
            KeyCode::Esc | KeyCode::Char('q') => {
                app.close_logs();
                return Outcome::Handled;
            }
            KeyCode::Up | KeyCode::Char('k') => logs.move_cursor(-1, h, w),
            KeyCode::Down | KeyCode::Char('j') => logs.move_cursor(1, h, w),
            KeyCode::PageUp => logs.move_cursor(-page, h, w),
            KeyCode::PageDown => logs.move_cursor(page, h, w),
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                logs.move_cursor(-page, h, w)
            }
            KeyCode::Char('d') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                logs.move_cursor(page, h, w)
            }
            KeyCode::Home | KeyCode::Char('g') => logs.to_top(),
            KeyCode::End | KeyCode::Char('G') | KeyCode::Char('F') => logs.follow(),
            KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => logs.focus_step(-1),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => logs.focus_step(1),
            KeyCode::Char(c @ '1'..='3') => {
                let kind = LogKind::ALL[(c as u8 - b'1') as usize];
                if kind != logs.kind {
                    logs.kind = kind;
                    restart = true;
                }
            }
            KeyCode::Char('t') => {
                logs.window = logs.window.next();
                restart = true;
            }
            KeyCode::Char('r') => restart = true,
            KeyCode::Char('w') => logs.wrap = !logs.wrap,
            KeyCode::Char('v') => logs.toggle_raw(),
            KeyCode::Char('/') => logs.search_input = Some(String::new()),
            KeyCode::Char(c @ ('n' | 'N' | 'e' | 'E')) => {
                let what = if c.eq_ignore_ascii_case(&'n') {
                    Jump::Search
                } else {
                    Jump::Error
                };
                let forward = c.is_ascii_lowercase();
                if matches!(what, Jump::Search) && logs.search.is_empty() {
                    message = Some(("no search: / starts one".into(), true));
                } else {
                    match logs.jump(what, forward, h, w) {
                        None => {
                            message = Some((
                                match what {
                                    Jump::Search => format!("/{}: no match", logs.search),
                                    Jump::Error => "no ERROR, FATAL or PANIC line".into(),
                                },
                                true,
                            ))
                        }
                        Some(true) => {
                            message = Some((
                                if forward {
                                    "search wrapped to the oldest line".into()
                                } else {
                                    "search wrapped to the newest line".into()
                                },
                                false,
                            ))
                        }
                        Some(false) => {}
                    }
                }
            }
            KeyCode::Char('y') => app.copy_selection(deployment),
            _ => {}
        }
        if restart && let Some(mut logs) = app.logs.take() {
            let pool = app.ssh.as_ref().map(|s| &s.0);
            logs.start(deployment, pool, app.task_notify.clone());
            app.logs = Some(logs);
        }
        if let Some((text, is_error)) = message {
            app.set_status(text, is_error);
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        let Some(logs) = &app.logs else {
            return vec![KeyHint::new("Esc", "close")];
        };
        if logs.search_input.is_some() {
            return vec![
                KeyHint::new("Enter", "search"),
                KeyHint::new("Esc", "cancel"),
            ];
        }
        let mut hints = vec![KeyHint::new("↑↓", "move")];
        if logs.columns.len() > 1 {
            hints.push(KeyHint::new("←→", "member"));
        }
        hints.extend([
            KeyHint::new("1-3", "log"),
            KeyHint::new("t", "window"),
            KeyHint::new("/", "search"),
        ]);
        if !logs.search.is_empty() {
            hints.push(KeyHint::new("n/N", "match"));
        }
        hints.extend([
            KeyHint::new("e/E", "error"),
            KeyHint::new("w", "wrap"),
            KeyHint::new("F", "follow"),
            KeyHint::new("y", "copy"),
            KeyHint::new("Esc", "close"),
        ]);
        hints
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_only_when_columns_are_wide_enough() {
        let g = geometry(Rect::new(0, 0, 80, 24), 3);
        assert!(!g.side_by_side);
        assert_eq!((g.columns, g.column_width, g.body_height), (1, 78, 17));
        assert_eq!(g.area, Rect::new(0, 1, 80, 22));
        let g = geometry(Rect::new(0, 0, 160, 48), 3);
        assert!(g.side_by_side);
        assert_eq!((g.columns, g.column_width), (3, 52));
        let g = geometry(Rect::new(0, 0, 160, 48), 1);
        assert_eq!((g.columns, g.column_width), (1, 158));
        let g = geometry(Rect::new(0, 0, 0, 0), 2);
        assert_eq!(g.columns, 1);
    }

    #[test]
    fn tails_and_highlights() {
        assert_eq!(tail("/pg/log/patroni/patroni.log", 12), "…patroni.log");
        assert_eq!(tail("/pg/log", 12), "/pg/log");
        let spans = highlighted("a Lock b lock", "lock", Style::new(), Style::new());
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["a ", "Lock", " b ", "lock"]);
    }
}
