//! Actions and tasks: the action menu (`x`), the confirmation dialog with
//! the dry-run plan (typed cluster name for switchover, failover and
//! reinit), the task list (`t`) and the task view (steps and live output).
//!
//! Tasks run on the [`TaskRunner`](crate::tasks::TaskRunner) in the
//! background; these popups only read their shared state, briefly, while
//! drawing.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::layout::centered;
use super::text::{pad, truncate, width, wrap_words};
use super::theme::Theme;
use super::{Component, KeyHint, View};
use crate::actions::{Action, BackupType, RefusalKind};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::{DeclaredRole, Deployment};
use crate::snapshot::Snapshot;
use crate::tasks::TaskStatus;
use crate::tasks::runner::{StepStatus, TaskState};

// ---------------------------------------------------------------- menu

/// One entry of the action menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Key choosing it directly.
    pub key: char,
    pub label: String,
    pub action: Action,
}

/// The actions offered for the selection (cluster or instance); mutating
/// ones are left out in read-only mode.
pub fn menu_items(app: &AppState, deployment: &Deployment) -> Vec<MenuItem> {
    let Some((cluster, member)) = app.selected_target(deployment) else {
        return Vec::new();
    };
    let declared_primary = member.as_deref().and_then(|m| {
        deployment
            .cluster(&cluster)
            .and_then(|c| c.instances.iter().find(|i| i.name == m))
            .map(|i| i.role == DeclaredRole::Primary)
    });
    let c = cluster.clone();
    let mut items = vec![MenuItem {
        key: 's',
        label: match &member {
            Some(m) if declared_primary == Some(false) => format!("switchover to {m}"),
            _ => format!("switchover {c} (healthiest replica)"),
        },
        action: Action::Switchover {
            cluster: c.clone(),
            candidate: member.clone().filter(|_| declared_primary == Some(false)),
            scheduled: None,
        },
    }];
    if let Some(m) = &member {
        items.push(MenuItem {
            key: 'f',
            label: format!("failover to {m}"),
            action: Action::Failover {
                cluster: c.clone(),
                candidate: m.clone(),
            },
        });
    }
    let scope = member
        .clone()
        .unwrap_or_else(|| format!("every member of {c}"));
    items.push(MenuItem {
        key: 'r',
        label: format!("restart {scope}"),
        action: Action::Restart {
            cluster: c.clone(),
            member: member.clone(),
        },
    });
    items.push(MenuItem {
        key: 'l',
        label: format!("reload {scope}"),
        action: Action::Reload {
            cluster: c.clone(),
            member: member.clone(),
        },
    });
    if let Some(m) = &member {
        items.push(MenuItem {
            key: 'i',
            label: format!("reinit {m} from the leader"),
            action: Action::Reinit {
                cluster: c.clone(),
                member: m.clone(),
            },
        });
    }
    items.extend([
        MenuItem {
            key: 'p',
            label: format!("pause {c} (maintenance mode)"),
            action: Action::Pause { cluster: c.clone() },
        },
        MenuItem {
            key: 'u',
            label: format!("resume {c}"),
            action: Action::Resume { cluster: c.clone() },
        },
        MenuItem {
            key: 'b',
            label: format!("full backup of {c}"),
            action: Action::Backup {
                cluster: c.clone(),
                kind: BackupType::Full,
            },
        },
        MenuItem {
            key: 'B',
            label: format!("list backups of {c}"),
            action: Action::Backups { cluster: c.clone() },
        },
        MenuItem {
            key: 'n',
            label: format!("inspect {c}"),
            action: Action::Inspect { cluster: Some(c) },
        },
    ]);
    if app.readonly {
        items.retain(|i| !i.action.is_mutating());
    }
    items
}

/// The action menu (`x`).
pub struct ActionMenu;

const MENU_BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j", "choose an action"),
    KeyHint::new("Enter / letter", "plan it (dry run first)"),
    KeyHint::new("Esc / x / q", "close"),
];

impl Component for ActionMenu {
    fn name(&self) -> &'static str {
        "Action menu (x)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let selected = match view.app.overlay {
            Some(Overlay::ActionMenu { selected }) => selected,
            _ => 0,
        };
        let items = menu_items(view.app, view.deployment);
        let target = view
            .app
            .selected_target(view.deployment)
            .map(|(c, m)| m.unwrap_or(c))
            .unwrap_or_default();
        let mut lines: Vec<Line> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mark = if item.action.is_mutating() {
                    ""
                } else {
                    " (read)"
                };
                let style = if i == selected { t.selection } else { t.popup };
                Line::from(vec![
                    Span::styled(format!(" {} ", item.key), t.footer_key),
                    Span::styled(format!("{}{mark} ", item.label), style),
                ])
            })
            .collect();
        if items.is_empty() {
            lines.push(Line::styled("select a cluster or an instance", t.dim));
        }
        if view.app.readonly {
            lines.push(Line::styled(
                "read-only: only listing and inspection",
                t.warning,
            ));
        }
        let w = lines.iter().map(Line::width).max().unwrap_or(20).max(30) as u16 + 2;
        let popup = centered(
            area,
            w.max(width(&target) as u16 + 14),
            lines.len() as u16 + 2,
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(format!(" Actions: {target} "), t.title));
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome {
        let Some(Overlay::ActionMenu { selected }) = app.overlay else {
            return Outcome::Ignored;
        };
        let items = menu_items(app, deployment);
        let n = items.len();
        let choose = |app: &mut AppState, i: usize| {
            if let Some(item) = items.get(i) {
                app.request_action(deployment, snapshot, item.action.clone());
            }
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('x') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => {
                app.overlay = Some(Overlay::ActionMenu {
                    selected: selected.saturating_sub(1),
                })
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.overlay = Some(Overlay::ActionMenu {
                    selected: (selected + 1).min(n.saturating_sub(1)),
                })
            }
            KeyCode::Enter => choose(app, selected),
            KeyCode::Char(c) => {
                if let Some(i) = items.iter().position(|it| it.key == c) {
                    choose(app, i);
                }
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![
            KeyHint::new("↑↓", "choose"),
            KeyHint::new("Enter", "plan"),
            KeyHint::new("Esc", "close"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        MENU_BINDINGS
    }
}

// ---------------------------------------------------------------- confirm

/// The confirmation dialog: the dry-run plan, or the refusal's reasons.
pub struct ConfirmDialog;

const CONFIRM_BINDINGS: &[KeyHint] = &[
    KeyHint::new("a-z", "type the cluster name to confirm"),
    KeyHint::new("Enter", "run when confirmed"),
    KeyHint::new("↑ ↓ PgUp PgDn", "scroll the plan"),
    KeyHint::new("Esc", "cancel"),
];

/// The dialog's title, its scrollable body (the plan or the refusal) and
/// the lines pinned at its bottom (what to type, errors).
fn confirm_lines(view: &View, inner_w: usize) -> (String, Vec<Line<'static>>, Vec<Line<'static>>) {
    let t = view.theme;
    let Some(p) = &view.app.pending else {
        return (String::new(), Vec::new(), Vec::new());
    };
    let mut lines = Vec::new();
    let mut pinned = Vec::new();
    let wrapped = |lines: &mut Vec<Line<'static>>, prefix: &str, text: &str, style: Style| {
        // Long prefixes (user@host) get the text on the lines below.
        let (first, indent) = if width(prefix) > 12 {
            lines.push(Line::styled(prefix.trim_end().to_string(), t.dim));
            (String::from("    "), String::from("    "))
        } else {
            (prefix.to_string(), " ".repeat(width(prefix)))
        };
        for (i, l) in wrap_words(text, inner_w.saturating_sub(width(&indent)).max(10))
            .into_iter()
            .enumerate()
        {
            let pre = if i == 0 { &first } else { &indent };
            lines.push(Line::styled(format!("{pre}{l}"), style));
        }
    };
    match &p.plan {
        Err(refusal) => {
            let title = format!(" {} {}: refused ", refusal.action, refusal.target);
            let why = match refusal.kind {
                RefusalKind::ReadOnly => "read-only mode",
                RefusalKind::Invalid => "invalid request",
                RefusalKind::PreCheck => "pre-checks failed",
            };
            lines.push(Line::styled(format!("Refused ({why}):"), t.error));
            for r in &refusal.reasons {
                wrapped(&mut lines, "✗ ", r, t.error);
            }
            pinned.push(Line::styled("Enter / Esc closes", t.dim));
            (title, lines, pinned)
        }
        Ok(plan) => {
            let title = format!(" {} {} ", plan.name, plan.target);
            wrapped(&mut lines, "", &plan.description, t.popup);
            for c in &plan.checks {
                wrapped(&mut lines, "✓ ", c, t.status_up);
            }
            for w in &plan.warnings {
                wrapped(&mut lines, "⚠ ", w, t.warning);
            }
            wrapped(&mut lines, "hosts: ", &plan.hosts.join(", "), t.popup);
            let mut last_step = String::new();
            let mut n = 0;
            for c in &plan.commands {
                if c.step != last_step {
                    n += 1;
                    lines.push(Line::styled(format!("[{n}] {}", c.step), t.table_header));
                    last_step = c.step.clone();
                }
                let prefix = if c.host == crate::tasks::runner::LOCAL_HOST {
                    "  (local) ".to_string()
                } else {
                    format!("  {}@{}: ", c.user, c.host)
                };
                wrapped(&mut lines, &prefix, &c.command, t.text);
            }
            if plan.needs_typed_confirmation {
                let want = plan.confirmation.clone().unwrap_or_default();
                let ok = plan.confirms(&p.typed);
                pinned.push(Line::from(vec![
                    Span::styled(format!("Type '{want}' to confirm: "), t.warning),
                    Span::styled(format!("{}▏", p.typed), t.input),
                    Span::styled(if ok { "  ✓ Enter runs" } else { "" }, t.status_up),
                ]));
            } else {
                pinned.push(Line::styled("Enter runs, Esc cancels", t.warning));
            }
            if let Some(e) = &p.error {
                pinned.push(Line::styled(e.clone(), t.error));
            }
            (title, lines, pinned)
        }
    }
}

impl Component for ConfirmDialog {
    fn name(&self) -> &'static str {
        "Confirm an action"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let w = area.width.saturating_sub(4).min(110);
        let inner_w = (w as usize).saturating_sub(2).max(1);
        let (title, lines, pinned) = confirm_lines(view, inner_w);
        let h = (lines.len() + pinned.len() + 3).min(area.height.saturating_sub(2) as usize) as u16;
        let popup = centered(area, w, h);
        frame.render_widget(Clear, popup);
        let body_h = (h as usize).saturating_sub(pinned.len() + 3);
        let max_scroll = lines.len().saturating_sub(body_h);
        let scroll = view
            .app
            .pending
            .as_ref()
            .map_or(0, |p| p.scroll as usize)
            .min(max_scroll);
        let hint = if max_scroll > 0 {
            format!(" ↑↓ scroll {}/{} ", scroll, max_scroll)
        } else {
            String::new()
        };
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(
                truncate(&title, inner_w).into_owned(),
                t.title,
            ))
            .title_bottom(Line::styled(hint, t.dim).right_aligned());
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let body: Vec<Line> = lines.into_iter().skip(scroll).take(body_h).collect();
        let mut all = body;
        while all.len() < body_h {
            all.push(Line::default());
        }
        all.push(Line::default());
        all.extend(pinned);
        frame.render_widget(Paragraph::new(all), inner);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let Some(p) = &mut app.pending else {
            app.overlay = None;
            return Outcome::Handled;
        };
        let typing = matches!(&p.plan, Ok(plan) if plan.needs_typed_confirmation);
        match key.code {
            KeyCode::Esc => app.cancel_pending(),
            KeyCode::Enter => app.confirm_pending(),
            KeyCode::Up => p.scroll = p.scroll.saturating_sub(1),
            KeyCode::Down => p.scroll = p.scroll.saturating_add(1).min(200),
            KeyCode::PageUp => p.scroll = p.scroll.saturating_sub(10),
            KeyCode::PageDown => p.scroll = p.scroll.saturating_add(10).min(200),
            KeyCode::Backspace if typing => {
                p.typed.pop();
                p.error = None;
            }
            KeyCode::Char('u') if typing && key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.typed.clear();
            }
            KeyCode::Char(c) if typing && !key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.typed.push(c);
                p.error = None;
            }
            KeyCode::Char('y') if p.plan.is_ok() => app.confirm_pending(),
            KeyCode::Char('n') | KeyCode::Char('q') => app.cancel_pending(),
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        match app.pending.as_deref().map(|p| &p.plan) {
            Some(Ok(plan)) if plan.needs_typed_confirmation => vec![
                KeyHint::new("type", "cluster name"),
                KeyHint::new("Enter", "run"),
                KeyHint::new("Esc", "cancel"),
            ],
            Some(Ok(_)) => vec![
                KeyHint::new("Enter/y", "run"),
                KeyHint::new("Esc", "cancel"),
            ],
            _ => vec![KeyHint::new("Esc", "close")],
        }
    }

    fn bindings(&self) -> &'static [KeyHint] {
        CONFIRM_BINDINGS
    }
}

// ---------------------------------------------------------------- task list

/// `12s`, `3m04s`, `1h02m`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

fn task_elapsed(s: &TaskState) -> Duration {
    s.duration.unwrap_or_else(|| {
        let now = time::OffsetDateTime::now_utc();
        (now - s.started).try_into().unwrap_or_default()
    })
}

fn status_mark(s: &TaskState, t: &Theme) -> (String, Style) {
    match s.status {
        TaskStatus::Running => {
            let i = (task_elapsed(s).as_secs() as usize) % SPINNER.len();
            (SPINNER[i].to_string(), t.info)
        }
        TaskStatus::Succeeded => ("✓".into(), t.status_up),
        TaskStatus::Cancelled => ("⊘".into(), t.warning),
        _ => ("✗".into(), t.status_down),
    }
}

fn step_mark(s: StepStatus, t: &Theme) -> Style {
    match s {
        StepStatus::Succeeded => t.status_up,
        StepStatus::Running => t.info,
        StepStatus::Pending | StepStatus::Skipped => t.dim,
        s if s.is_failure() => t.status_down,
        _ => t.warning,
    }
}

/// The task list (`t`).
pub struct TaskList;

const LIST_BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j", "choose a task"),
    KeyHint::new("Enter", "steps and output"),
    KeyHint::new("Esc / t / q", "close"),
];

impl Component for TaskList {
    fn name(&self) -> &'static str {
        "Tasks (t)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let selected = match view.app.overlay {
            Some(Overlay::Tasks { selected }) => selected,
            _ => 0,
        };
        let w = area.width.saturating_sub(4).min(100);
        let inner_w = (w as usize).saturating_sub(2);
        let mut lines = vec![Line::styled(
            format!(
                "   {} {} {} STATUS",
                pad("ACTION", 11),
                pad("TARGET", 14),
                pad("ELAPSED", 8)
            ),
            t.table_header,
        )];
        for (i, task) in view.app.tasks.iter().enumerate() {
            let s = task.handle.state();
            let (mark, mark_style) = status_mark(&s, t);
            let step = s
                .current_step()
                .and_then(|i| s.steps.get(i))
                .map(|st| format!(": {}", st.name))
                .unwrap_or_default();
            let text = format!(
                "{} {} {} {}{step}",
                pad(&s.action, 11),
                pad(&truncate(&s.target, 14), 14),
                pad(&elapsed(task_elapsed(&s)), 8),
                s.status.as_str(),
            );
            let style = if i == selected { t.selection } else { t.popup };
            lines.push(Line::from(vec![
                Span::styled(format!(" {mark} "), mark_style),
                Span::styled(
                    truncate(&text, inner_w.saturating_sub(3)).into_owned(),
                    style,
                ),
            ]));
        }
        if view.app.tasks.is_empty() {
            lines.push(Line::styled(
                "No task yet: x on a cluster or instance opens the actions.",
                t.dim,
            ));
        }
        let h = (lines.len() + 2).min(area.height.saturating_sub(2) as usize) as u16;
        let popup = centered(area, w, h);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(" Tasks ", t.title));
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        let Some(Overlay::Tasks { selected }) = app.overlay else {
            return Outcome::Ignored;
        };
        let n = app.tasks.len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('t') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => {
                app.overlay = Some(Overlay::Tasks {
                    selected: selected.saturating_sub(1),
                })
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.overlay = Some(Overlay::Tasks {
                    selected: (selected + 1).min(n.saturating_sub(1)),
                })
            }
            KeyCode::Enter if selected < n => {
                app.overlay = Some(Overlay::Task {
                    index: selected,
                    scroll: 0,
                    follow: true,
                    confirm_cancel: false,
                })
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![
            KeyHint::new("↑↓", "choose"),
            KeyHint::new("Enter", "open"),
            KeyHint::new("Esc", "close"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        LIST_BINDINGS
    }
}

// ---------------------------------------------------------------- task view

/// Removes terminal escape sequences (colours, cursor moves, OSC) and other
/// control characters from a line of remote output; tabs become spaces.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    // CSI: parameters and intermediates, then a final byte.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    // OSC: up to BEL or ST (ESC \).
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The output of a task, step by step, host by host, escape codes removed.
pub fn output_lines(s: &TaskState) -> Vec<(String, String)> {
    let mut rows: Vec<(usize, String, String)> = Vec::new();
    for (host, sb) in &s.output {
        for l in sb.lines().chain(sb.pending().collect::<Vec<_>>().iter()) {
            rows.push((l.step, host.clone(), strip_ansi(&l.text)));
        }
    }
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|(_, h, t)| (h, t)).collect()
}

/// The lines the task view's lower part shows: for a finished listing or
/// inspection its parsed result (backups table, checks), else the output.
pub fn shown_lines(task: &crate::app::state::TaskEntry, s: &TaskState) -> Vec<(String, String)> {
    if s.status.is_finished()
        && let Some(plan) = &task.plan
    {
        let result = match plan.backups(s) {
            Some(Ok(listing)) => Some(listing.to_text()),
            Some(Err(e)) => Some(e),
            None => plan.inspection_report(s).map(|r| r.to_text()),
        };
        if let Some(text) = result {
            return text
                .lines()
                .map(|l| (String::new(), strip_ansi(l)))
                .collect();
        }
    }
    output_lines(s)
}

/// The task view: steps table and output.
pub struct TaskView;

const VIEW_BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "scroll the output"),
    KeyHint::new("F / End", "follow the output"),
    KeyHint::new("c", "cancel the task (y confirms)"),
    KeyHint::new("y", "copy the last line shown"),
    KeyHint::new("Esc / q", "back to the task list"),
];

impl Component for TaskView {
    fn name(&self) -> &'static str {
        "Task view"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let Some(Overlay::Task {
            index,
            scroll,
            follow,
            confirm_cancel,
        }) = view.app.overlay
        else {
            return;
        };
        let Some(task) = view.app.tasks.get(index) else {
            return;
        };
        let popup = centered(
            area,
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        );
        let inner_w = (popup.width as usize).saturating_sub(2);
        let inner_h = (popup.height as usize).saturating_sub(2);
        let s = task.handle.state();
        let (mark, mark_style) = status_mark(&s, t);
        let mut top: Vec<Line> = Vec::new();
        top.push(Line::styled(
            format!(
                "   {} {} {} TIME",
                pad("STEP", 26),
                pad("HOST", 14),
                pad("STATUS", 10)
            ),
            t.table_header,
        ));
        for st in &s.steps {
            let hosts: Vec<_> = if st.hosts.is_empty() {
                vec![None]
            } else {
                st.hosts.iter().map(Some).collect()
            };
            for (i, h) in hosts.into_iter().enumerate() {
                let name = if i == 0 { st.name.as_str() } else { "" };
                let (host, status, dur) = match h {
                    Some(h) => (h.host.as_str(), h.status, h.duration),
                    None => ("", st.status, st.duration),
                };
                let exit = h
                    .and_then(|h| h.exit.as_ref())
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                let text = format!(
                    "   {} {} {} {}{exit}",
                    pad(&truncate(name, 26), 26),
                    pad(&truncate(host, 14), 14),
                    pad(status.as_str(), 10),
                    dur.map(elapsed).unwrap_or_default(),
                );
                top.push(Line::styled(
                    truncate(&text, inner_w).into_owned(),
                    step_mark(status, t),
                ));
            }
        }
        // At most half the height for the table: output matters too.
        let top_max = (inner_h / 2).max(3);
        if top.len() > top_max {
            let extra = top.len() - top_max + 1;
            top.truncate(top_max - 1);
            top.push(Line::styled(format!("   … {extra} more lines"), t.dim));
        }
        let out = shown_lines(task, &s);
        let out_h = inner_h.saturating_sub(top.len() + 1);
        let end = out.len().saturating_sub(if follow { 0 } else { scroll });
        let start = end.saturating_sub(out_h);
        let host_w = out.iter().map(|(h, _)| width(h)).max().unwrap_or(0).min(14);
        let mut lines = top;
        let what = if out.iter().all(|(h, _)| h.is_empty()) && !out.is_empty() {
            "result"
        } else {
            "output"
        };
        let rule = if follow {
            format!("{what} (following)")
        } else {
            format!("{what} ({} lines above the end)", out.len() - end)
        };
        lines.push(Line::styled(
            format!(
                "── {rule} {}",
                "─".repeat(inner_w.saturating_sub(width(&rule) + 4))
            ),
            t.dim,
        ));
        for (host, text) in &out[start..end] {
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", pad(&truncate(host, host_w), host_w)), t.dim),
                Span::styled(
                    truncate(text, inner_w.saturating_sub(host_w + 1)).into_owned(),
                    t.text,
                ),
            ]));
        }
        let title = format!(
            " {mark} {} {}: {} {} ",
            s.action,
            s.target,
            s.status.as_str(),
            elapsed(task_elapsed(&s))
        );
        let bottom = if confirm_cancel {
            Line::styled(" Cancel this task? y: yes, n: no ", t.error)
        } else if s.status.is_finished() {
            Line::styled(" Esc: tasks ", t.dim)
        } else {
            Line::styled(" c: cancel  F: follow  Esc: tasks ", t.dim)
        };
        drop(s);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(title, mark_style))
            .title_bottom(bottom.right_aligned());
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
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
        let Some(Overlay::Task {
            index,
            scroll,
            follow,
            confirm_cancel,
        }) = app.overlay
        else {
            return Outcome::Ignored;
        };
        let Some(task) = app.tasks.get(index) else {
            app.overlay = Some(Overlay::Tasks { selected: 0 });
            return Outcome::Handled;
        };
        if confirm_cancel {
            if key.code == KeyCode::Char('y') {
                task.handle.cancel();
                app.set_status(format!("cancelling {}", task.handle.id()), false);
            }
            app.overlay = Some(Overlay::Task {
                index,
                scroll,
                follow,
                confirm_cancel: false,
            });
            return Outcome::Handled;
        }
        let total = shown_lines(task, &task.handle.state()).len();
        let page = (app.screen.height as usize / 2).max(1);
        let cur = if follow { 0 } else { scroll };
        let set = |app: &mut AppState, scroll: usize| {
            let scroll = scroll.min(total);
            app.overlay = Some(Overlay::Task {
                index,
                scroll,
                follow: scroll == 0,
                confirm_cancel: false,
            });
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                app.overlay = Some(Overlay::Tasks { selected: index })
            }
            KeyCode::Up | KeyCode::Char('k') => set(app, cur + 1),
            KeyCode::Down | KeyCode::Char('j') => set(app, cur.saturating_sub(1)),
            KeyCode::PageUp => set(app, cur + page),
            KeyCode::PageDown => set(app, cur.saturating_sub(page)),
            KeyCode::Home | KeyCode::Char('g') => set(app, total),
            KeyCode::End | KeyCode::Char('G') | KeyCode::Char('F') => set(app, 0),
            KeyCode::Char('y') => app.copy_selection(deployment),
            KeyCode::Char('c') => {
                if task.handle.status().is_finished() {
                    app.set_status("the task has finished", false);
                } else {
                    app.overlay = Some(Overlay::Task {
                        index,
                        scroll,
                        follow,
                        confirm_cancel: true,
                    });
                }
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        if let Some(Overlay::Task {
            confirm_cancel: true,
            ..
        }) = app.overlay
        {
            return vec![
                KeyHint::new("y", "cancel the task"),
                KeyHint::new("n", "keep it"),
            ];
        }
        vec![
            KeyHint::new("↑↓", "scroll"),
            KeyHint::new("F", "follow"),
            KeyHint::new("c", "cancel"),
            KeyHint::new("Esc", "tasks"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        VIEW_BINDINGS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_codes_are_removed() {
        assert_eq!(strip_ansi("\x1b[1;31mERROR\x1b[0m: x"), "ERROR: x");
        assert_eq!(strip_ansi("a\x1b]52;c;aGk=\x07b"), "ab");
        assert_eq!(strip_ansi("a\x1b]0;title\x1b\\b\r"), "ab");
        assert_eq!(strip_ansi("\ta"), "    a");
    }

    #[test]
    fn elapsed_is_short() {
        assert_eq!(elapsed(Duration::from_millis(900)), "0s");
        assert_eq!(elapsed(Duration::from_secs(184)), "3m04s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
    }
}
