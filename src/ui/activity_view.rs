//! The activity view (`A`): a pg_activity-like table of the sessions of
//! one instance (running, waiting and blocking; idle ones with `a`),
//! refreshed in the background ([`crate::app::activity`]). The selected
//! session can be cancelled (`c`) or terminated (`k`) through the
//! console's actions: a confirmation shows the exact command and host,
//! read-only mode refuses (and hides the keys), the audit log records it.
//!
//! `B` marks a session that blocks others, `W` one that waits for a lock
//! held by another (BLOCKERS lists who), `BW` both.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::{pad, truncate, wrap_words};
use super::theme::Theme;
use super::{Component, KeyHint, View};
use crate::actions::Action;
use crate::app::activity::{ActivityState, REFRESH};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::triage::activity::{SessionRow, blocking_pids};

/// The activity view component.
pub struct ActivityView;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑ ↓ PgUp PgDn", "select a session"),
    KeyHint::new("c", "cancel its query (confirmed)"),
    KeyHint::new("k", "terminate the session (confirmed)"),
    KeyHint::new("a", "show / hide idle sessions"),
    KeyHint::new("r", "refresh now"),
    KeyHint::new("y", "copy the selected query"),
    KeyHint::new("Esc / q", "close"),
];

/// The pane: between the header and the footer.
pub fn pane_area(screen: Rect) -> Rect {
    let top = screen.height.min(1);
    Rect::new(
        screen.x,
        screen.y + top,
        screen.width,
        screen.height.saturating_sub(top + 1),
    )
}

/// Rows under the table: a rule, two lines of details, the query.
const DETAIL_ROWS: usize = 5;

/// Rows of the table body in a pane of `area`.
fn table_rows(area: Rect) -> usize {
    (area.height.saturating_sub(2) as usize)
        .saturating_sub(2 + DETAIL_ROWS)
        .max(1)
}

/// `active`, `idle tx`, `tx abort`, … in at most 8 columns.
pub fn short_state(state: &str) -> &str {
    match state {
        "idle in transaction" => "idle tx",
        "idle in transaction (aborted)" => "tx abort",
        "fastpath function call" => "fastpath",
        other => other,
    }
}

/// Seconds as `0.4s`, `12.3s`, `3m04s`, `1h02m`.
pub fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{:.1}s", s.max(0.0))
    } else {
        crate::triage::time::short_duration(std::time::Duration::from_secs_f64(s))
    }
}

/// What the TIME column shows: the running query's age when active, else
/// the open transaction's, else since the last query.
pub fn session_time(r: &SessionRow) -> Option<f64> {
    if r.state == "active" {
        r.query_seconds
    } else {
        r.xact_seconds.or(r.query_seconds)
    }
}

fn wait_text(r: &SessionRow) -> String {
    match (&r.wait_event_type, &r.wait_event) {
        (Some(t), Some(e)) => format!("{t}:{e}"),
        (Some(t), None) => t.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => String::new(),
    }
}

/// Runs of spaces (folded newlines and indentation) as one.
fn squash(q: &str) -> String {
    q.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pids(p: &[i32]) -> String {
    p.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Column widths (PID, USER, DB, STATE, TIME, WAIT, BLOCKED BY) for a
/// table `w` wide; QUERY takes the rest.
fn widths(w: usize) -> [usize; 7] {
    if w >= 120 {
        [7, 14, 12, 10, 7, 22, 10]
    } else {
        [6, 10, 8, 8, 6, 11, 8]
    }
}

fn row_line(
    cells: [String; 8],
    mark: &str,
    w: usize,
    style: Style,
    mark_style: Style,
) -> Line<'static> {
    let ws = widths(w);
    let mut text = String::new();
    for (i, c) in cells.iter().take(7).enumerate() {
        let cell = if i == 0 {
            format!("{:>width$}", truncate(c, ws[i]), width = ws[i])
        } else {
            pad(c, ws[i])
        };
        text.push_str(&cell);
        text.push(' ');
    }
    let used = 3 + text.chars().count();
    let rest = w.saturating_sub(used);
    text.push_str(&pad(&cells[7], rest));
    Line::from(vec![
        Span::styled(format!("{} ", pad(mark, 2)), mark_style),
        Span::styled(text, style),
    ])
}

/// Lines of the view's body for a pane `inner_w` x `inner_h`.
fn body(
    a: &ActivityState,
    readonly: bool,
    inner_w: usize,
    inner_h: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let (all, updated, error) = {
        let d = a.lock();
        (d.rows.clone(), d.updated, d.error.clone())
    };
    let rows = a.visible_rows();
    let blocking = blocking_pids(&all);
    let count = |f: &dyn Fn(&SessionRow) -> bool| all.iter().filter(|r| f(r)).count();
    let active = count(&|r| r.state == "active");
    let waiting = count(&|r| r.is_waiting());
    let hidden = all.len() - rows.len();
    let mut summary = vec![Span::styled(
        format!(
            " {} session{} · {active} active · ",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ),
        t.text,
    )];
    summary.push(Span::styled(
        format!("{waiting} waiting"),
        if waiting > 0 { t.warning } else { t.text },
    ));
    summary.push(Span::styled(" · ", t.text));
    summary.push(Span::styled(
        format!("{} blocking", blocking.len()),
        if blocking.is_empty() { t.text } else { t.error },
    ));
    match (&error, updated) {
        (Some(_), _) => summary.push(Span::styled(" · listing failed:", t.error)),
        (None, Some(u)) => {
            let ts = crate::snapshot::rfc3339(u);
            summary.push(Span::styled(
                format!(" · {}", ts.get(11..19).unwrap_or("")),
                t.dim,
            ))
        }
        (None, None) => summary.push(Span::styled(" · listing…", t.dim)),
    }
    if hidden > 0 && error.is_none() {
        summary.push(Span::styled(format!(" · {hidden} idle hidden (a)"), t.dim));
    }
    let mut lines = vec![super::text::fit_line(Line::from(summary), inner_w)];
    // Why the listing failed, in full (the rows shown are the last ones).
    if let Some(e) = &error {
        for l in wrap_words(e, inner_w.saturating_sub(1)).into_iter().take(2) {
            lines.push(Line::styled(format!(" {l}"), t.error));
        }
    }
    lines.push(row_line(
        [
            "PID", "USER", "DB", "STATE", "TIME", "WAIT", "BLOCKERS", "QUERY",
        ]
        .map(str::to_string),
        "",
        inner_w,
        t.table_header,
        t.table_header,
    ));
    let table_h = inner_h.saturating_sub(lines.len() + 1 + DETAIL_ROWS).max(1);
    let selected = a.selected_index(&rows);
    let offset = selected.map_or(0, |i| (i + 1).saturating_sub(table_h));
    for (i, r) in rows.iter().enumerate().skip(offset).take(table_h) {
        let blocks = blocking.contains(&r.pid);
        let (mark, mark_style) = match (blocks, r.is_waiting()) {
            (true, true) => ("BW", t.error),
            (true, false) => ("B", t.error),
            (false, true) => (" W", t.warning),
            (false, false) => ("", t.text),
        };
        let style = if selected == Some(i) {
            t.selection
        } else if blocks {
            t.error
        } else if r.is_waiting() {
            t.warning
        } else if r.state == "idle" {
            t.dim
        } else {
            t.text
        };
        lines.push(row_line(
            [
                r.pid.to_string(),
                r.user.clone(),
                r.database.clone(),
                short_state(&r.state).to_string(),
                session_time(r).map(seconds).unwrap_or_default(),
                wait_text(r),
                pids(&r.blocked_by),
                squash(&r.query),
            ],
            mark,
            inner_w,
            style,
            mark_style,
        ));
    }
    if rows.is_empty() {
        let msg = if error.is_some() || updated.is_none() {
            ""
        } else if hidden > 0 {
            "No running, waiting or blocking session (a shows the idle ones)."
        } else {
            "No client session."
        };
        lines.push(Line::styled(format!(" {msg}"), t.dim));
    }
    while lines.len() < inner_h.saturating_sub(DETAIL_ROWS) {
        lines.push(Line::default());
    }
    // Details of the selected session.
    lines.push(Line::styled("─".repeat(inner_w), t.border));
    let sel = selected.and_then(|i| rows.get(i));
    match sel {
        None => lines.push(Line::styled(" no session selected", t.dim)),
        Some(r) => {
            let mut first = format!(
                " pid {} · {}@{} · {} · {}",
                r.pid,
                r.user,
                r.database,
                if r.application.is_empty() {
                    "(no application name)"
                } else {
                    &r.application
                },
                r.client
            );
            if let Some(x) = r.xact_seconds {
                first.push_str(&format!(" · xact {}", seconds(x)));
            }
            lines.push(Line::styled(truncate(&first, inner_w).into_owned(), t.text));
            let mut second = vec![Span::styled(format!(" {}", r.state), t.text)];
            let wait = wait_text(r);
            // An idle session waits for its client: not worth saying.
            if !wait.is_empty() && r.wait_event_type.as_deref() != Some("Client") {
                second.push(Span::styled(format!(" · waits on {wait}"), t.warning));
            }
            if !r.blocked_by.is_empty() {
                second.push(Span::styled(
                    format!(" · blocked by {}", pids(&r.blocked_by)),
                    t.warning,
                ));
            }
            let victims: Vec<i32> = all
                .iter()
                .filter(|o| o.blocked_by.contains(&r.pid))
                .map(|o| o.pid)
                .collect();
            if !victims.is_empty() {
                second.push(Span::styled(
                    format!(" · blocks {}", pids(&victims)),
                    t.error,
                ));
            }
            if !readonly {
                second.push(Span::styled("  c cancel · k terminate", t.dim));
            }
            lines.push(super::text::fit_line(Line::from(second), inner_w));
            for l in wrap_words(&squash(&r.query), inner_w.saturating_sub(1))
                .into_iter()
                .take(DETAIL_ROWS - 3)
            {
                lines.push(Line::styled(format!(" {l}"), t.info));
            }
        }
    }
    lines.truncate(inner_h);
    lines
}

impl Component for ActivityView {
    fn name(&self) -> &'static str {
        "Activity (A)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let Some(a) = &view.app.activity else {
            return;
        };
        let pane = pane_area(area);
        frame.render_widget(Clear, pane);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(
                format!(" Activity {} ({}) ", a.instance, a.cluster),
                t.title,
            ))
            .title(Line::styled(format!(" every {}s ", REFRESH.as_secs()), t.dim).right_aligned());
        let inner = block.inner(pane);
        frame.render_widget(block, pane);
        let lines = body(
            a,
            view.app.readonly,
            inner.width as usize,
            inner.height as usize,
            t,
        );
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome {
        let page = table_rows(pane_area(app.screen)) as isize;
        let readonly = app.readonly;
        let Some(a) = &mut app.activity else {
            app.overlay = None;
            return Outcome::Handled;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => app.close_activity(),
            KeyCode::Up => a.move_selection(-1),
            KeyCode::Down => a.move_selection(1),
            KeyCode::PageUp => a.move_selection(-page),
            KeyCode::PageDown => a.move_selection(page),
            KeyCode::Home => a.move_selection(isize::MIN / 2),
            KeyCode::End => a.move_selection(isize::MAX / 2),
            KeyCode::Char('a') => a.show_idle = !a.show_idle,
            KeyCode::Char('r') => a.refresh_now(),
            KeyCode::Char('y') => app.copy_selection(deployment),
            KeyCode::Char(c @ ('c' | 'k')) => {
                let terminate = c == 'k';
                let verb = if terminate { "terminate" } else { "cancel" };
                let Some(row) = a.selected_row() else {
                    app.set_status(format!("{verb}: no session selected"), true);
                    return Outcome::Handled;
                };
                if readonly {
                    app.set_status(
                        format!("read-only mode: {verb} backend {} refused", row.pid),
                        true,
                    );
                    return Outcome::Handled;
                }
                let (cluster, member) = (a.cluster.clone(), a.instance.clone());
                let action = if terminate {
                    Action::TerminateBackend {
                        cluster,
                        member,
                        pid: row.pid,
                    }
                } else {
                    Action::CancelBackend {
                        cluster,
                        member,
                        pid: row.pid,
                    }
                };
                app.request_action_from(deployment, snapshot, action, Some(Overlay::Activity));
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        let mut hints = vec![KeyHint::new("↑↓", "select")];
        if !app.readonly {
            hints.push(KeyHint::new("c", "cancel"));
            hints.push(KeyHint::new("k", "terminate"));
        }
        let idle = app.activity.as_ref().is_some_and(|a| a.show_idle);
        hints.extend([
            KeyHint::new("a", if idle { "hide idle" } else { "show idle" }),
            KeyHint::new("r", "refresh"),
            KeyHint::new("y", "copy query"),
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
    fn short_forms() {
        assert_eq!(short_state("idle in transaction"), "idle tx");
        assert_eq!(short_state("active"), "active");
        assert_eq!(seconds(0.04), "0.0s");
        assert_eq!(seconds(12.34), "12s");
        assert_eq!(seconds(3.26), "3.3s");
        assert_eq!(seconds(184.0), "3m04s");
    }
}
