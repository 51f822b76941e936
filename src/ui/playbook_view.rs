//! The playbook view: a provisioning task's progress like ansible-navigator
//! shows it — plays → tasks → per-host results with counts and durations,
//! the failing task's message highlighted — and, one key away (`o`),
//! Ansible's raw output. Also shows saved runs reopened with `:open-run`.
//!
//! The progress is read from the task's log file by
//! [`crate::actions::playbook::LogFollower`] (polled by the app loop, never
//! here); this view only draws it.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::tasks::elapsed;
use super::text::{pad, truncate, width};
use super::theme::Theme;
use super::{Component, KeyHint, View};
use crate::actions::playbook::{LogFollower, PlaybookProgress, ResultStatus};
use crate::app::state::{AppState, Outcome, Overlay, PlaybookSource};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::tasks::runner::{StepStatus, TaskState};

pub struct PlaybookView;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "scroll"),
    KeyHint::new("F / End", "follow the newest"),
    KeyHint::new("o", "raw Ansible output / progress"),
    KeyHint::new("s", "steps and output of the task"),
    KeyHint::new("c", "cancel the task"),
    KeyHint::new("Esc / q", "back to the task list"),
];

fn status_style(s: Option<ResultStatus>, t: &Theme) -> Style {
    match s {
        Some(ResultStatus::Ok) => t.status_up,
        Some(ResultStatus::Changed) => t.warning,
        Some(ResultStatus::Skipped) => t.dim,
        Some(ResultStatus::Failed) | Some(ResultStatus::Unreachable) => t.error,
        None => t.info,
    }
}

fn status_word(s: Option<ResultStatus>) -> &'static str {
    s.map(|s| s.as_str()).unwrap_or("running")
}

/// The rows of the progress tree (the part that scrolls).
pub fn progress_lines(p: &PlaybookProgress, t: &Theme, w: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for play in &p.plays {
        lines.push(Line::styled(
            truncate(
                &format!("PLAY {} [{}]", play.name, play.hosts.join(", ")),
                w,
            )
            .into_owned(),
            t.title,
        ));
        for task in &play.tasks {
            let worst = task.worst();
            let dur = task
                .duration()
                .map(|d| format!("{d:.1}s"))
                .unwrap_or_default();
            let hosts = host_summary(task);
            let name_w = w.saturating_sub(11 + 1 + 8 + 1 + width(&hosts).min(24) + 1);
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", pad(status_word(worst), 10)),
                    status_style(worst, t),
                ),
                Span::styled(
                    pad(
                        &truncate(
                            &format!(
                                "{}{}",
                                task.name,
                                if task.handler { " (handler)" } else { "" }
                            ),
                            name_w,
                        ),
                        name_w,
                    ),
                    t.text,
                ),
                Span::styled(
                    format!(" {} ", pad(&truncate(&hosts, 24), width(&hosts).min(24))),
                    t.dim,
                ),
                Span::styled(format!("{dur:>8}"), t.dim),
            ]));
            for r in task.results.iter().filter(|r| r.is_fatal()) {
                let msg = r.message();
                let mut first = true;
                for l in msg.lines().take(6) {
                    let prefix = if first {
                        format!("   ✗ {}: ", r.host)
                    } else {
                        "     ".to_string()
                    };
                    first = false;
                    lines.push(Line::styled(
                        truncate(&format!("{prefix}{l}"), w).into_owned(),
                        t.error,
                    ));
                }
            }
        }
    }
    for e in &p.errors {
        lines.push(Line::styled(truncate(e, w).into_owned(), t.error));
    }
    if p.finished() {
        lines.push(Line::styled("RECAP", t.title));
        for (h, c) in p.counts() {
            let style = if c.failed > 0 || c.unreachable > 0 {
                t.error
            } else if c.changed > 0 {
                t.warning
            } else {
                t.status_up
            };
            lines.push(Line::styled(
                truncate(
                    &format!(
                        " {} ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}",
                        pad(&truncate(&h, 18), 18),
                        c.ok,
                        c.changed,
                        c.unreachable,
                        c.failed,
                        c.skipped,
                        c.rescued,
                        c.ignored
                    ),
                    w,
                )
                .into_owned(),
                style,
            ));
        }
    }
    lines
}

/// `127.0.0.14 changed` for one host, `ok 2 · changed 1` for several.
fn host_summary(task: &crate::actions::playbook::TaskProgress) -> String {
    match task.results.as_slice() {
        [] => String::new(),
        [r] => r.host.clone(),
        rs => {
            let mut counts: std::collections::BTreeMap<ResultStatus, usize> = Default::default();
            for r in rs {
                *counts.entry(r.status).or_default() += 1;
            }
            counts
                .iter()
                .map(|(s, n)| format!("{} {n}", s.as_str()))
                .collect::<Vec<_>>()
                .join(" · ")
        }
    }
}

/// One line: the steps of the task (`✓ install · ● run pgsql.yml · ○ …`).
fn steps_line(s: &TaskState, t: &Theme, w: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, st) in s.steps.iter().enumerate() {
        let (mark, style) = match st.status {
            StepStatus::Succeeded => ("✓", t.status_up),
            s if s.is_failure() => ("✗", t.error),
            StepStatus::Running => ("●", t.info),
            StepStatus::Cancelled => ("⊘", t.warning),
            _ => ("○", t.dim),
        };
        let text = format!("{}{mark} {}", if i > 0 { " · " } else { "" }, st.name);
        used += width(&text);
        if used > w {
            spans.push(Span::styled("…", t.dim));
            break;
        }
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

fn follower<'a>(view: &'a View, source: PlaybookSource) -> Option<(&'a LogFollower, String)> {
    match source {
        PlaybookSource::Task(i) => {
            let task = view.app.tasks.get(i)?;
            Some((task.playbook.as_ref()?, String::new()))
        }
        PlaybookSource::Saved => {
            let (title, f) = view.app.saved_run.as_ref()?;
            Some((f, title.clone()))
        }
    }
}

impl Component for PlaybookView {
    fn name(&self) -> &'static str {
        "Playbook view"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let Some(Overlay::Playbook {
            source,
            scroll,
            raw,
        }) = view.app.overlay
        else {
            return;
        };
        let Some((f, saved_title)) = follower(view, source) else {
            return;
        };
        let popup = centered(
            area,
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        );
        let w = (popup.width as usize).saturating_sub(2);
        let h = (popup.height as usize).saturating_sub(2);
        let p = &f.progress;
        let mut head: Vec<Line> = Vec::new();
        let task_state = match source {
            PlaybookSource::Task(i) => view.app.tasks.get(i).map(|e| e.handle.state().clone()),
            PlaybookSource::Saved => None,
        };
        let (title, title_style) = match &task_state {
            Some(s) => {
                head.push(steps_line(s, t, w));
                let style = match s.status {
                    crate::tasks::TaskStatus::Succeeded => t.status_up,
                    crate::tasks::TaskStatus::Running => t.info,
                    _ => t.error,
                };
                let dur = super::tasks::task_elapsed(s);
                (
                    format!(
                        " {} {}: {} {} ",
                        s.action,
                        s.target,
                        s.status.as_str(),
                        elapsed(dur)
                    ),
                    style,
                )
            }
            None => (format!(" saved run {saved_title} "), t.title),
        };
        let totals = p.totals();
        head.push(Line::from(vec![
            Span::styled(
                format!(
                    "{}  plays {}  tasks {}  ",
                    p.playbook.as_deref().unwrap_or("playbook"),
                    p.plays.len(),
                    p.task_count()
                ),
                t.text,
            ),
            Span::styled(format!("ok {} ", totals.ok), t.status_up),
            Span::styled(format!("changed {} ", totals.changed), t.warning),
            Span::styled(
                format!(
                    "failed {} unreachable {} ",
                    totals.failed, totals.unreachable
                ),
                if totals.failed > 0 || totals.unreachable > 0 {
                    t.error
                } else {
                    t.dim
                },
            ),
            Span::styled(format!("skipped {}", totals.skipped), t.dim),
        ]));
        if let Some(fail) = p.failure_summary() {
            head.push(Line::styled(
                truncate(&format!("✗ {fail}"), w).into_owned(),
                t.error,
            ));
        } else if let Some((_, cur)) = p.current_task()
            && task_state.as_ref().is_some_and(|s| !s.status.is_finished())
        {
            head.push(Line::styled(
                truncate(&format!("● {}", cur.name), w).into_owned(),
                t.info,
            ));
        }
        let body: Vec<Line> = if raw {
            f.raw
                .iter()
                .map(|l| {
                    let style = if l.starts_with("fatal:") || l.starts_with("ERROR!") {
                        t.error
                    } else if l.starts_with("changed:") {
                        t.warning
                    } else if l.starts_with("ok:") {
                        t.status_up
                    } else {
                        t.text
                    };
                    Line::styled(
                        truncate(&super::tasks::strip_ansi(l), w).into_owned(),
                        style,
                    )
                })
                .collect()
        } else {
            progress_lines(p, t, w)
        };
        let body_h = h.saturating_sub(head.len() + 1);
        let end = body.len().saturating_sub(scroll);
        let start = end.saturating_sub(body_h);
        let what = if raw { "raw output" } else { "progress" };
        let rule = if scroll == 0 {
            format!("{what} (following)")
        } else {
            format!("{what} ({} lines above the end)", body.len() - end)
        };
        let mut lines = head;
        lines.push(Line::styled(
            format!(
                "── {rule} {}",
                "─".repeat(w.saturating_sub(width(&rule) + 4))
            ),
            t.dim,
        ));
        lines.extend(body[start..end].iter().cloned());
        let bottom = Line::styled(
            if raw {
                " o: progress  s: steps  Esc: back "
            } else {
                " o: raw output  s: steps  Esc: back "
            },
            t.dim,
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(title, title_style))
            .title_bottom(bottom.right_aligned());
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let Some(Overlay::Playbook {
            source,
            scroll,
            raw,
        }) = app.overlay
        else {
            return Outcome::Ignored;
        };
        let total = match source {
            PlaybookSource::Task(i) => app.tasks.get(i).and_then(|e| e.playbook.as_ref()),
            PlaybookSource::Saved => app.saved_run.as_ref().map(|(_, f)| f),
        }
        .map(|f| {
            if raw {
                f.raw.len()
            } else {
                // rows of the tree: plays + tasks + failure lines + recap
                f.progress.plays.len()
                    + f.progress.task_count()
                    + f.progress.failures().len() * 6
                    + f.progress.counts().len()
                    + 1
            }
        })
        .unwrap_or(0);
        let page = (app.screen.height as usize / 2).max(1);
        let set = |app: &mut AppState, scroll: usize, raw: bool| {
            app.overlay = Some(Overlay::Playbook {
                source,
                scroll: scroll.min(total),
                raw,
            });
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                app.overlay = match source {
                    PlaybookSource::Task(i) => Some(Overlay::Tasks { selected: i }),
                    PlaybookSource::Saved => None,
                }
            }
            KeyCode::Up | KeyCode::Char('k') => set(app, scroll + 1, raw),
            KeyCode::Down | KeyCode::Char('j') => set(app, scroll.saturating_sub(1), raw),
            KeyCode::PageUp => set(app, scroll + page, raw),
            KeyCode::PageDown => set(app, scroll.saturating_sub(page), raw),
            KeyCode::Home | KeyCode::Char('g') => set(app, total, raw),
            KeyCode::End | KeyCode::Char('G') | KeyCode::Char('F') => set(app, 0, raw),
            KeyCode::Char('o') => set(app, 0, !raw),
            KeyCode::Char('s') => {
                if let PlaybookSource::Task(index) = source {
                    app.overlay = Some(Overlay::task(index));
                }
            }
            KeyCode::Char('c') => {
                if let PlaybookSource::Task(index) = source
                    && let Some(task) = app.tasks.get(index)
                {
                    if task.handle.status().is_finished() {
                        app.set_status("the task has finished", false);
                    } else {
                        app.overlay = Some(Overlay::Task {
                            index,
                            scroll: 0,
                            follow: true,
                            confirm_cancel: true,
                            search: None,
                        });
                    }
                }
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        let raw = matches!(app.overlay, Some(Overlay::Playbook { raw: true, .. }));
        vec![
            KeyHint::new("↑↓", "scroll"),
            KeyHint::new("o", if raw { "progress" } else { "raw output" }),
            KeyHint::new("s", "steps"),
            KeyHint::new("c", "cancel"),
            KeyHint::new("Esc", "back"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
