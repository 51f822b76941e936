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
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::text::{fit_line, pad, truncate, width, wrap_words};
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
    if let Some(cl) = deployment.cluster(&cluster) {
        items.extend(provisioning_items(cl, member.as_deref()));
    }
    if app.readonly {
        items.retain(|i| !i.action.is_mutating());
    }
    items
}

/// Provisioning entries (Pigsty's playbooks on the admin node): the selected
/// instance added / removed, the cluster created / removed, HBA and services
/// reloaded, each declared user and database created.
fn provisioning_items(cl: &crate::model::Cluster, member: Option<&str>) -> Vec<MenuItem> {
    let c = cl.name.clone();
    let mut items = Vec::new();
    if let Some(i) = member.and_then(|m| cl.instances.iter().find(|i| i.name == m)) {
        items.push(MenuItem {
            key: 'a',
            label: format!("add instance {} ({}) — pgsql.yml", i.name, i.ip),
            action: Action::AddInstance {
                cluster: c.clone(),
                ips: vec![i.ip.clone()],
            },
        });
        items.push(MenuItem {
            key: 'X',
            label: format!("remove instance {} ({}) — pgsql-rm.yml", i.name, i.ip),
            action: Action::RemoveInstance {
                cluster: c.clone(),
                ips: vec![i.ip.clone()],
            },
        });
    } else {
        items.push(MenuItem {
            key: 'C',
            label: format!("create cluster {c} — pgsql.yml"),
            action: Action::CreateCluster { cluster: c.clone() },
        });
        items.push(MenuItem {
            key: 'X',
            label: format!("remove cluster {c} — pgsql-rm.yml"),
            action: Action::RemoveCluster { cluster: c.clone() },
        });
    }
    items.push(MenuItem {
        key: 'h',
        label: format!("reload HBA rules of {c}"),
        action: Action::ReloadHba { cluster: c.clone() },
    });
    items.push(MenuItem {
        key: 'v',
        label: format!("reload services (HAProxy) of {c}"),
        action: Action::ReloadServices { cluster: c.clone() },
    });
    let mut keys = '1'..='9';
    for user in crate::actions::provision::declared_names(cl, "pg_users") {
        let Some(key) = keys.next() else { break };
        items.push(MenuItem {
            key,
            label: format!("create user {user} — pgsql-user.yml"),
            action: Action::CreateUser {
                cluster: c.clone(),
                user,
            },
        });
    }
    for db in crate::actions::provision::declared_names(cl, "pg_databases") {
        let Some(key) = keys.next() else { break };
        items.push(MenuItem {
            key,
            label: format!("create database {db} — pgsql-db.yml"),
            action: Action::CreateDatabase {
                cluster: c.clone(),
                database: db,
            },
        });
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

pub fn task_elapsed(s: &TaskState) -> Duration {
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
                app.overlay = Some(if app.tasks[selected].playbook.is_some() {
                    Overlay::Playbook {
                        source: crate::app::state::PlaybookSource::Task(selected),
                        scroll: 0,
                        raw: false,
                    }
                } else {
                    Overlay::task(selected)
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
    ansi_runs(s, Style::new(), false)
        .into_iter()
        .map(|(text, _)| text)
        .collect()
}

/// The 16 ANSI colours by SGR index (30–37 / 90–97 minus the base).
fn ansi_color(i: u8) -> Color {
    match i {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        7 => Color::Gray,
        8 => Color::DarkGray,
        9 => Color::LightRed,
        10 => Color::LightGreen,
        11 => Color::LightYellow,
        12 => Color::LightBlue,
        13 => Color::LightMagenta,
        14 => Color::LightCyan,
        _ => Color::White,
    }
}

/// Applies one SGR sequence (`ESC [ params m`) to `style`; `base` is what
/// a reset goes back to. Without `colors`, only attributes change.
fn apply_sgr(style: Style, base: Style, params: &str, colors: bool) -> Style {
    let nums: Vec<Option<u16>> = params
        .split([';', ':'])
        .map(|p| {
            if p.is_empty() {
                Some(0)
            } else {
                p.parse().ok()
            }
        })
        .collect();
    let mut st = style;
    let mut i = 0;
    while i < nums.len() {
        let Some(n) = nums[i] else {
            i += 1;
            continue;
        };
        // 38/48: extended colour, 5;n (256 colours) or 2;r;g;b.
        let extended = |i: &mut usize| -> Option<Color> {
            match nums.get(*i + 1).copied().flatten() {
                Some(5) => {
                    let c = nums.get(*i + 2).copied().flatten()?;
                    *i += 2;
                    Some(Color::Indexed(c.min(255) as u8))
                }
                Some(2) => {
                    let c = |k: usize| {
                        nums.get(*i + k)
                            .copied()
                            .flatten()
                            .map(|v| v.min(255) as u8)
                    };
                    let rgb = (c(2)?, c(3)?, c(4)?);
                    *i += 4;
                    Some(Color::Rgb(rgb.0, rgb.1, rgb.2))
                }
                _ => None,
            }
        };
        match n {
            0 => st = base,
            1 => st = st.add_modifier(Modifier::BOLD),
            2 => st = st.add_modifier(Modifier::DIM),
            3 => st = st.add_modifier(Modifier::ITALIC),
            4 => st = st.add_modifier(Modifier::UNDERLINED),
            7 => st = st.add_modifier(Modifier::REVERSED),
            9 => st = st.add_modifier(Modifier::CROSSED_OUT),
            21 | 22 => st = st.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => st = st.remove_modifier(Modifier::ITALIC),
            24 => st = st.remove_modifier(Modifier::UNDERLINED),
            27 => st = st.remove_modifier(Modifier::REVERSED),
            29 => st = st.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 if colors => st = st.fg(ansi_color((n - 30) as u8)),
            90..=97 if colors => st = st.fg(ansi_color((n - 90 + 8) as u8)),
            40..=47 if colors => st = st.bg(ansi_color((n - 40) as u8)),
            100..=107 if colors => st = st.bg(ansi_color((n - 100 + 8) as u8)),
            39 if colors => st.fg = base.fg,
            49 if colors => st.bg = base.bg,
            38 | 48 => {
                let c = extended(&mut i);
                if colors && let Some(c) = c {
                    st = if n == 38 { st.fg(c) } else { st.bg(c) };
                }
            }
            _ => {}
        }
        i += 1;
    }
    st
}

/// A line of remote output as runs of text and style: SGR colours and
/// attributes (with `colors`; attributes only without) on top of `base`;
/// other escape sequences and control characters removed; tabs as four
/// spaces. The runs' text is exactly [`strip_ansi`] of the line.
pub fn ansi_runs(s: &str, base: Style, colors: bool) -> Vec<(String, Style)> {
    let mut runs: Vec<(String, Style)> = Vec::new();
    let mut text = String::new();
    let mut style = base;
    let mut chars = s.chars().peekable();
    let flush = |runs: &mut Vec<(String, Style)>, text: &mut String, style: Style| {
        if !text.is_empty() {
            runs.push((std::mem::take(text), style));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    // CSI: parameters and intermediates, then a final byte.
                    let mut params = String::new();
                    let mut last = None;
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            last = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    if last == Some('m') {
                        let next = apply_sgr(style, base, &params, colors);
                        if next != style {
                            flush(&mut runs, &mut text, style);
                            style = next;
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
            '\t' => text.push_str("    "),
            c if c.is_control() => {}
            c => text.push(c),
        }
    }
    flush(&mut runs, &mut text, style);
    runs
}

/// Smart case: a query with a capital letter matches its case exactly.
fn case_sensitive(query: &str) -> bool {
    query.chars().any(char::is_uppercase)
}

fn fold(c: char, sensitive: bool) -> char {
    if sensitive {
        c
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Byte ranges of the (non-overlapping) occurrences of `query` in `text`,
/// any case unless the query has a capital letter.
pub fn match_ranges(text: &str, query: &str) -> Vec<std::ops::Range<usize>> {
    if query.is_empty() {
        return Vec::new();
    }
    let sensitive = case_sensitive(query);
    let q: Vec<char> = query.chars().map(|c| fold(c, sensitive)).collect();
    let t: Vec<(usize, char)> = text
        .char_indices()
        .map(|(i, c)| (i, fold(c, sensitive)))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + q.len() <= t.len() {
        if t[i..i + q.len()]
            .iter()
            .map(|(_, c)| *c)
            .eq(q.iter().copied())
        {
            let start = t[i].0;
            let end = t.get(i + q.len()).map_or(text.len(), |(b, _)| *b);
            out.push(start..end);
            i += q.len();
        } else {
            i += 1;
        }
    }
    out
}

/// The line of the next match of `query` after line `from` (before it when
/// `!forward`; `None`: from the start / the end), wrapping around; the bool
/// says it wrapped.
pub fn find_match(
    lines: &[String],
    query: &str,
    from: Option<usize>,
    forward: bool,
) -> Option<(usize, bool)> {
    let hit = |i: &usize| !match_ranges(&lines[*i], query).is_empty();
    let n = lines.len();
    if forward {
        let start = from.map_or(0, |f| f + 1).min(n);
        if let Some(i) = (start..n).find(hit) {
            return Some((i, false));
        }
        (0..start.min(n)).find(hit).map(|i| (i, true))
    } else {
        let end = from.unwrap_or(n).min(n);
        if let Some(i) = (0..end).rev().find(hit) {
            return Some((i, false));
        }
        (end..n).rev().find(hit).map(|i| (i, true))
    }
}

/// The output lines shown, `start..end`, out of `total` in a window of
/// `height` lines: anchored on the current search match (a third from the
/// top) when there is one and the view does not follow, else `scroll`
/// lines up from the end (0 when following).
pub fn output_window(
    total: usize,
    height: usize,
    scroll: usize,
    follow: bool,
    current: Option<usize>,
) -> (usize, usize) {
    if let Some(m) = current.filter(|m| !follow && *m < total) {
        let start = m
            .saturating_sub(height / 3)
            .min(total.saturating_sub(height));
        return (start, (start + height).min(total));
    }
    let end = total.saturating_sub(if follow { 0 } else { scroll.min(total) });
    (end.saturating_sub(height), end)
}

/// `runs` with the byte ranges `ranges` (of their concatenated text)
/// drawn in `hl` on top of their own style.
fn highlight(
    runs: Vec<(String, Style)>,
    ranges: &[std::ops::Range<usize>],
    hl: Style,
) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (text, style) in runs {
        let len = text.len();
        let mut cuts = vec![0, len];
        for r in ranges {
            for b in [r.start, r.end] {
                if b > offset && b < offset + len && text.is_char_boundary(b - offset) {
                    cuts.push(b - offset);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let inside = ranges
                .iter()
                .any(|r| r.start <= offset + a && offset + b <= r.end);
            let st = if inside { style.patch(hl) } else { style };
            out.push(Span::styled(text[a..b].to_string(), st));
        }
        offset += len;
    }
    out
}

/// The output of a task, step by step, host by host, as received (escape
/// codes kept).
pub fn output_raw(s: &TaskState) -> Vec<(String, String)> {
    let mut rows: Vec<(usize, String, String)> = Vec::new();
    for (host, sb) in &s.output {
        for l in sb.lines().chain(sb.pending().collect::<Vec<_>>().iter()) {
            rows.push((l.step, host.clone(), l.text.clone()));
        }
    }
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|(_, h, t)| (h, t)).collect()
}

/// The output of a task, step by step, host by host, escape codes removed.
pub fn output_lines(s: &TaskState) -> Vec<(String, String)> {
    output_raw(s)
        .into_iter()
        .map(|(h, t)| (h, strip_ansi(&t)))
        .collect()
}

/// The lines the task view's lower part shows (escape codes kept): for a
/// finished listing or inspection its parsed result (backups table,
/// checks), else the output.
pub fn shown_raw(task: &crate::app::state::TaskEntry, s: &TaskState) -> Vec<(String, String)> {
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
                .map(|l| (String::new(), l.to_string()))
                .collect();
        }
    }
    output_raw(s)
}

/// [`shown_raw`] without escape codes (what is searched and copied).
pub fn shown_lines(task: &crate::app::state::TaskEntry, s: &TaskState) -> Vec<(String, String)> {
    shown_raw(task, s)
        .into_iter()
        .map(|(h, t)| (h, strip_ansi(&t)))
        .collect()
}

/// The steps table of the task view (at most half of `inner_h` lines),
/// with the error of every host that failed to run.
fn steps_table(s: &TaskState, t: &Theme, inner_w: usize, inner_h: usize) -> Vec<Line<'static>> {
    let mut top: Vec<Line<'static>> = Vec::new();
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
            // Why it failed (an SSH error names host, key, file…): in full.
            if let Some(m) = h.and_then(|h| h.message.as_ref())
                && status.is_failure()
            {
                for l in wrap_words(m, inner_w.saturating_sub(5).max(10)) {
                    top.push(Line::styled(format!("     {l}"), t.error));
                }
            }
        }
    }
    // At most half the height for the table: output matters too.
    let top_max = (inner_h / 2).max(3);
    if top.len() > top_max {
        let extra = top.len() - top_max + 1;
        top.truncate(top_max - 1);
        top.push(Line::styled(format!("   … {extra} more lines"), t.dim));
    }
    top
}

/// Geometry of the task view's output part for a screen: the popup, its
/// inner width and the number of output lines shown.
fn output_geometry(screen: Rect, s: &TaskState, searching: bool) -> (Rect, usize, usize) {
    let popup = centered(
        screen,
        screen.width.saturating_sub(2),
        screen.height.saturating_sub(2),
    );
    let inner_w = (popup.width as usize).saturating_sub(2);
    let inner_h = (popup.height as usize).saturating_sub(2);
    let top = steps_table(s, &Theme::unstyled(), inner_w, inner_h).len();
    let out_h = inner_h.saturating_sub(top + 1 + usize::from(searching));
    (popup, inner_w, out_h)
}

/// The line (index in [`shown_lines`]) the task view's search starts from:
/// the current match, else just above the first line shown (so a match on
/// it is found first).
fn search_cursor(
    total: usize,
    out_h: usize,
    scroll: usize,
    follow: bool,
    search: Option<&crate::app::state::OutputSearch>,
    forward: bool,
) -> Option<usize> {
    if let Some(m) = search.and_then(|s| s.current) {
        return Some(m);
    }
    let (start, end) = output_window(total, out_h, scroll, follow, None);
    if forward {
        start.checked_sub(1)
    } else {
        Some(end)
    }
}

/// The task view: steps table and output.
pub struct TaskView;

const VIEW_BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "scroll the output"),
    KeyHint::new("F / End", "follow the output"),
    KeyHint::new("/", "search the output (Enter: next match)"),
    KeyHint::new("n / N", "next / previous match"),
    KeyHint::new("Esc (search)", "end the search"),
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
            ref search,
        }) = view.app.overlay
        else {
            return;
        };
        let Some(task) = view.app.tasks.get(index) else {
            return;
        };
        let s = task.handle.state();
        let (popup, inner_w, out_h) = output_geometry(area, &s, search.is_some());
        let inner_h = (popup.height as usize).saturating_sub(2);
        let (mark, mark_style) = status_mark(&s, t);
        let top = steps_table(&s, t, inner_w, inner_h);
        let raw = shown_raw(task, &s);
        let plain: Vec<String> = raw.iter().map(|(_, r)| strip_ansi(r)).collect();
        let current = search.as_ref().and_then(|q| q.current);
        let (start, end) = output_window(raw.len(), out_h, scroll, follow, current);
        let host_w = raw.iter().map(|(h, _)| width(h)).max().unwrap_or(0).min(14);
        let query = search.as_ref().map(|q| q.query.as_str()).unwrap_or("");
        let colors = t.source != "built-in monochrome";
        let mut lines = top;
        let what = if raw.iter().all(|(h, _)| h.is_empty()) && !raw.is_empty() {
            "result"
        } else {
            "output"
        };
        let rule = if follow && current.is_none() {
            format!("{what} (following)")
        } else {
            format!("{what} ({} lines above the end)", raw.len() - end)
        };
        lines.push(Line::styled(
            format!(
                "── {rule} {}",
                "─".repeat(inner_w.saturating_sub(width(&rule) + 4))
            ),
            t.dim,
        ));
        for i in start..end {
            let (host, text) = &raw[i];
            let is_current = current == Some(i);
            let host_style = if is_current { t.selection } else { t.dim };
            let ranges = match_ranges(&plain[i], query);
            let hl = if is_current {
                t.selection
            } else {
                t.header_warning
            };
            let mut spans = vec![Span::styled(
                format!("{} ", pad(&truncate(host, host_w), host_w)),
                host_style,
            )];
            spans.extend(highlight(ansi_runs(text, t.text, colors), &ranges, hl));
            lines.push(fit_line(Line::from(spans), inner_w));
        }
        if let Some(q) = search {
            while lines.len() < inner_h.saturating_sub(1) {
                lines.push(Line::default());
            }
            let hits: Vec<usize> = (0..plain.len())
                .filter(|i| !match_ranges(&plain[*i], &q.query).is_empty())
                .collect();
            let mut bar = vec![
                Span::styled("/", t.footer_key),
                Span::styled(
                    format!("{}{}", q.query, if q.editing { "▏" } else { "" }),
                    t.input,
                ),
            ];
            let count = if q.query.is_empty() {
                String::new()
            } else if let Some(pos) = q.current.and_then(|c| hits.iter().position(|h| *h == c)) {
                format!("  match {} of {} lines", pos + 1, hits.len())
            } else {
                format!("  {} matching lines", hits.len())
            };
            bar.push(Span::styled(count, t.dim));
            if let Some(n) = &q.note {
                bar.push(Span::styled(format!("  {n}"), t.warning));
            }
            lines.push(fit_line(Line::from(bar), inner_w));
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
        } else if search.as_ref().is_some_and(|q| q.editing) {
            Line::styled(" Enter: find  Esc: end the search ", t.dim)
        } else if s.status.is_finished() {
            Line::styled(" /: search  Esc: tasks ", t.dim)
        } else {
            Line::styled(" /: search  c: cancel  F: follow  Esc: tasks ", t.dim)
        };
        drop(s);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(t.border_focused)
            .style(t.popup)
            .title(Span::styled(title, mark_style))
            .title_bottom(bottom.right_aligned());
        frame.render_widget(Paragraph::new(lines).block(block), popup);
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
            search,
        }) = app.overlay.clone()
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
                search,
            });
            return Outcome::Handled;
        }
        let (lines, out_h) = {
            let s = task.handle.state();
            let lines: Vec<String> = shown_lines(task, &s).into_iter().map(|(_, t)| t).collect();
            let (_, _, out_h) = output_geometry(app.screen, &s, true);
            (lines, out_h.max(1))
        };
        let total = lines.len();
        let current = search.as_ref().and_then(|q| q.current);
        // Where the view is, as lines up from the end (an anchored match
        // becomes a plain position once scrolled).
        let (_, shown_end) = output_window(total, out_h, scroll, follow, current);
        let cur = if follow && current.is_none() {
            0
        } else {
            total - shown_end
        };
        let page = out_h.max(1);
        let set =
            |app: &mut AppState, scroll: usize, search: Option<crate::app::state::OutputSearch>| {
                let scroll = scroll.min(total);
                app.overlay = Some(Overlay::Task {
                    index,
                    scroll,
                    follow: scroll == 0,
                    confirm_cancel: false,
                    search: search.map(|mut q| {
                        q.current = None;
                        q.note = None;
                        q
                    }),
                });
            };
        let jump = |app: &mut AppState, mut q: crate::app::state::OutputSearch, forward: bool| {
            let from = search_cursor(total, out_h, scroll, follow, Some(&q), forward);
            q.editing = false;
            match find_match(&lines, &q.query, from, forward) {
                Some((line, wrapped)) => {
                    q.current = Some(line);
                    q.note = wrapped.then(|| {
                        if forward {
                            "wrapped to the top".to_string()
                        } else {
                            "wrapped to the bottom".to_string()
                        }
                    });
                }
                None => {
                    q.note = Some(format!("no match for '{}'", q.query));
                }
            }
            let found = q.current.is_some();
            app.overlay = Some(Overlay::Task {
                index,
                scroll,
                // Searching stops following (the view stays on the match).
                follow: follow && !found,
                confirm_cancel: false,
                search: Some(q),
            });
        };
        // Typing the query.
        if let Some(mut q) = search.clone().filter(|q| q.editing) {
            match key.code {
                KeyCode::Esc => set(app, cur, None),
                KeyCode::Enter if q.query.is_empty() => set(app, cur, None),
                KeyCode::Enter => jump(app, q, true),
                KeyCode::Backspace => {
                    q.query.pop();
                    q.note = None;
                    app.overlay = Some(Overlay::Task {
                        index,
                        scroll,
                        follow,
                        confirm_cancel,
                        search: Some(q),
                    });
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    q.query.clear();
                    app.overlay = Some(Overlay::Task {
                        index,
                        scroll,
                        follow,
                        confirm_cancel,
                        search: Some(q),
                    });
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    q.query.push(c);
                    q.note = None;
                    app.overlay = Some(Overlay::Task {
                        index,
                        scroll,
                        follow,
                        confirm_cancel,
                        search: Some(q),
                    });
                }
                _ => {}
            }
            return Outcome::Handled;
        }
        match key.code {
            KeyCode::Esc if search.is_some() => set(app, cur, None),
            KeyCode::Esc | KeyCode::Char('q') => {
                app.overlay = Some(Overlay::Tasks { selected: index })
            }
            KeyCode::Char('/') => {
                let q = crate::app::state::OutputSearch {
                    editing: true,
                    current,
                    ..Default::default()
                };
                app.overlay = Some(Overlay::Task {
                    index,
                    scroll,
                    follow,
                    confirm_cancel,
                    search: Some(q),
                });
            }
            KeyCode::Char('n') | KeyCode::Char('N') => match search {
                Some(q) if !q.query.is_empty() => jump(app, q, key.code == KeyCode::Char('n')),
                _ => app.set_status("no search: / starts one", false),
            },
            KeyCode::Up | KeyCode::Char('k') => set(app, cur + 1, search),
            KeyCode::Down | KeyCode::Char('j') => set(app, cur.saturating_sub(1), search),
            KeyCode::PageUp => set(app, cur + page, search),
            KeyCode::PageDown => set(app, cur.saturating_sub(page), search),
            KeyCode::Home | KeyCode::Char('g') => set(app, total, search),
            KeyCode::End | KeyCode::Char('G') | KeyCode::Char('F') => set(app, 0, search),
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
                        search,
                    });
                }
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        match &app.overlay {
            Some(Overlay::Task {
                confirm_cancel: true,
                ..
            }) => vec![
                KeyHint::new("y", "cancel the task"),
                KeyHint::new("n", "keep it"),
            ],
            Some(Overlay::Task {
                search: Some(q), ..
            }) if q.editing => vec![
                KeyHint::new("type", "text"),
                KeyHint::new("Enter", "find"),
                KeyHint::new("Esc", "end search"),
            ],
            Some(Overlay::Task {
                search: Some(_), ..
            }) => vec![
                KeyHint::new("n", "next"),
                KeyHint::new("N", "previous"),
                KeyHint::new("/", "new search"),
                KeyHint::new("Esc", "end search"),
                KeyHint::new("F", "follow"),
            ],
            _ => vec![
                KeyHint::new("↑↓", "scroll"),
                KeyHint::new("/", "search"),
                KeyHint::new("F", "follow"),
                KeyHint::new("c", "cancel"),
                KeyHint::new("Esc", "tasks"),
            ],
        }
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
    fn colours_are_kept_for_display_and_match_the_plain_text() {
        let base = Style::new().fg(Color::Reset);
        let line =
            "\x1b[1;31mERROR\x1b[0m: disk \x1b[38;5;208mfull\x1b[39m\tnow\x1b[K\x1b]0;t\x07!";
        let runs = ansi_runs(line, base, true);
        let text: String = runs.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(text, strip_ansi(line));
        assert_eq!(text, "ERROR: disk full    now!");
        assert_eq!(
            runs,
            vec![
                (
                    "ERROR".to_string(),
                    base.fg(Color::Red).add_modifier(Modifier::BOLD)
                ),
                (": disk ".to_string(), base),
                ("full".to_string(), base.fg(Color::Indexed(208))),
                ("    now!".to_string(), base),
            ]
        );
        // 24-bit, bright and background colours; without colours only the
        // attributes stay.
        let runs = ansi_runs("\x1b[38;2;1;2;3;104;4mx\x1b[24;49my", base, true);
        assert_eq!(
            runs,
            vec![
                (
                    "x".to_string(),
                    base.fg(Color::Rgb(1, 2, 3))
                        .bg(Color::LightBlue)
                        .add_modifier(Modifier::UNDERLINED)
                ),
                (
                    "y".to_string(),
                    base.fg(Color::Rgb(1, 2, 3))
                        .remove_modifier(Modifier::UNDERLINED)
                ),
            ]
        );
        let runs = ansi_runs("\x1b[1;32mok\x1b[0m", base, false);
        assert_eq!(
            runs,
            vec![("ok".to_string(), base.add_modifier(Modifier::BOLD))]
        );
        // Broken sequences never panic and lose no text after them.
        assert_eq!(strip_ansi("a\x1b[38;5m b\x1b[38;2;1mc\x1b"), "a bc");
    }

    #[test]
    fn search_is_smart_case_and_finds_every_occurrence() {
        assert_eq!(
            match_ranges("Error: error ERROR", "error"),
            [0..5, 7..12, 13..18]
        );
        assert_eq!(match_ranges("Error: error ERROR", "Error"), vec![(0..5)]);
        assert_eq!(match_ranges("aaaa", "aa"), [0..2, 2..4]);
        assert!(match_ranges("x", "").is_empty());
        assert_eq!(match_ranges("Ünïcödé ünï", "ünï"), [0..5, 12..17]);
    }

    #[test]
    fn next_and_previous_matches_wrap_around() {
        let lines: Vec<String> = ["a", "hit 1", "b", "hit 2", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // From the start (no cursor) the first match is found.
        assert_eq!(find_match(&lines, "hit", None, true), Some((1, false)));
        // After the cursor, strictly.
        assert_eq!(find_match(&lines, "hit", Some(1), true), Some((3, false)));
        assert_eq!(find_match(&lines, "hit", Some(3), true), Some((1, true)));
        assert_eq!(find_match(&lines, "hit", Some(3), false), Some((1, false)));
        assert_eq!(find_match(&lines, "hit", Some(1), false), Some((3, true)));
        assert_eq!(find_match(&lines, "hit", None, false), Some((3, false)));
        assert_eq!(find_match(&lines, "none", Some(0), true), None);
        assert_eq!(find_match(&[], "x", None, true), None);
    }

    #[test]
    fn the_window_follows_scrolls_or_stays_on_the_match() {
        // Following: the last lines.
        assert_eq!(output_window(100, 10, 0, true, None), (90, 100));
        // Scrolled up 5 lines.
        assert_eq!(output_window(100, 10, 5, false, None), (85, 95));
        // On a match: a third from the top, whatever scroll says.
        assert_eq!(output_window(100, 10, 0, false, Some(40)), (37, 47));
        // Near either end the window stays full.
        assert_eq!(output_window(100, 10, 0, false, Some(1)), (0, 10));
        assert_eq!(output_window(100, 10, 0, false, Some(99)), (90, 100));
        // Following wins over a match (the search is over).
        assert_eq!(output_window(100, 10, 0, true, Some(40)), (90, 100));
        // Short output.
        assert_eq!(output_window(3, 10, 7, false, None), (0, 0));
        assert_eq!(output_window(3, 10, 0, false, Some(2)), (0, 3));
    }

    #[test]
    fn matches_are_highlighted_across_coloured_runs() {
        let red = Style::new().fg(Color::Red);
        let hl = Style::new().bg(Color::Yellow);
        let runs = vec![("abc".to_string(), red), ("def".to_string(), Style::new())];
        let ranges = [std::ops::Range { start: 2, end: 4 }];
        let spans = highlight(runs, &ranges, hl);
        let got: Vec<(String, Style)> = spans
            .into_iter()
            .map(|s| (s.content.into_owned(), s.style))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ab".to_string(), red),
                ("c".to_string(), red.patch(hl)),
                ("d".to_string(), Style::new().patch(hl)),
                ("ef".to_string(), Style::new()),
            ]
        );
    }

    #[test]
    fn elapsed_is_short() {
        assert_eq!(elapsed(Duration::from_millis(900)), "0s");
        assert_eq!(elapsed(Duration::from_secs(184)), "3m04s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
    }
}
