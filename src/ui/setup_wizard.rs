//! The guided setup's screens (`pigsty-tui setup`): a step bar, the step's
//! body (form, check lines, config editor, install progress, verify lines)
//! and the keys of the step. Draws [`crate::setup::wizard::Wizard`] only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::text::{pad, truncate, width};
use super::theme::Theme;
use crate::setup::checks::Verdict;
use crate::setup::wizard::Wizard;
use crate::setup::{SetupStep, verify};

/// Keys shown in the footer of each step.
pub fn keys(w: &Wizard) -> &'static str {
    match w.step() {
        SetupStep::Nodes => "Tab/↑↓ field  Enter next  C-l local sandbox  Esc quit",
        SetupStep::Check if w.checking => "checking every node over SSH…",
        SetupStep::Check => {
            "Enter continue  r re-check  a trust host keys  ! go on anyway  Esc back"
        }
        SetupStep::Config => "C-s validate, save and install  C-r regenerate  Esc back",
        SetupStep::Install => {
            if w.install
                .as_ref()
                .is_some_and(|(h, _)| !h.status().is_finished())
            {
                "o raw output  c cancel"
            } else {
                "r resume  o raw output  Enter verify  Esc back"
            }
        }
        SetupStep::Verify if w.verifying => "asking Patroni, the DCS, Prometheus and every port…",
        SetupStep::Verify => "r verify again  Enter done  Esc back",
        SetupStep::Done => "Enter open the console  q quit",
    }
}

fn step_bar(w: &Wizard, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" pigsty-tui setup ", t.title)];
    for (i, s) in SetupStep::ALL.iter().enumerate() {
        let style = if *s == w.step() {
            t.header_accent
        } else if *s < w.step() {
            t.status_up
        } else {
            t.dim
        };
        let mark = if *s < w.step() {
            "✓".to_string()
        } else {
            (i + 1).to_string()
        };
        spans.push(Span::styled(format!(" {mark} {} ", s.title()), style));
    }
    Line::from(spans)
}

fn verdict_style(v: Verdict, t: &Theme) -> Style {
    match v {
        Verdict::Pass => t.status_up,
        Verdict::Warn => t.warning,
        Verdict::Fail => t.error,
    }
}

fn nodes_body(frame: &mut Frame, area: Rect, w: &Wizard, t: &Theme) {
    let label_w = w.fields.iter().map(|f| width(f.label)).max().unwrap_or(10) + 2;
    let mut y = area.y;
    for (i, f) in w.fields.iter().enumerate() {
        if y >= area.bottom() {
            break;
        }
        let focused = i == w.focus;
        let label = Paragraph::new(Line::styled(
            format!(
                "{} {}",
                if focused { "›" } else { " " },
                pad(f.label, label_w)
            ),
            if focused { t.title } else { t.text },
        ));
        let row = Rect::new(area.x, y, area.width, 1);
        frame.render_widget(label, row);
        let input_w = area.width.saturating_sub(label_w as u16 + 2);
        let input_area = Rect::new(area.x + label_w as u16 + 2, y, input_w, 1);
        let mut input = f.input.clone();
        input.set_cursor_line_style(Style::default());
        input.set_style(if focused { t.selection } else { t.text });
        if !focused {
            input.set_cursor_style(Style::default());
        }
        frame.render_widget(&input, input_area);
        y += 1;
        if focused && !f.hint.is_empty() && y < area.bottom() {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    truncate(&format!("    {}", f.hint), area.width as usize).into_owned(),
                    t.dim,
                )),
                Rect::new(area.x, y, area.width, 1),
            );
            y += 1;
        }
    }
    let problems = w.form_problems();
    let mut lines: Vec<Line> = Vec::new();
    if !problems.is_empty() {
        lines.push(Line::default());
        for p in problems.iter().take(3) {
            lines.push(Line::styled(format!("  • {p}"), t.warning));
        }
    }
    if y < area.bottom() {
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            Rect::new(area.x, y, area.width, area.bottom() - y),
        );
    }
}

fn check_body(w: &Wizard, t: &Theme, cols: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if w.checking && w.checks.is_empty() {
        lines.push(Line::styled(
            format!(
                "checking {} over SSH as {}…",
                w.state.inputs.all_nodes().join(", "),
                w.state.inputs.ssh_user
            ),
            t.info,
        ));
        return lines;
    }
    let fails = w
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let warns = w
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Warn)
        .count();
    lines.push(Line::styled(
        format!(
            "{} checks on {} nodes: {fails} failed, {warns} warnings",
            w.checks.len(),
            w.state.inputs.all_nodes().len()
        ),
        if fails > 0 { t.error } else { t.status_up },
    ));
    // problems first (with their fix; the same problem on several nodes is
    // one line, "first node +N"), then what passed, a line per node
    let mut problems: Vec<(&crate::setup::checks::NodeCheck, usize)> = Vec::new();
    for c in w.checks.iter().filter(|c| c.verdict != Verdict::Pass) {
        match problems.iter_mut().find(|(p, _)| {
            p.check == c.check && p.verdict == c.verdict && p.detail == c.detail && p.fix == c.fix
        }) {
            Some((_, more)) => *more += 1,
            None => problems.push((c, 0)),
        }
    }
    let mut last = String::new();
    for (c, more) in problems {
        let node = if more > 0 {
            format!("{} +{more}", c.node)
        } else if c.node == last {
            String::new()
        } else {
            c.node.clone()
        };
        last = if more > 0 {
            String::new()
        } else {
            c.node.clone()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", pad(&node, 15)), t.text),
            Span::styled(format!("{} ", pad(c.check, 9)), t.dim),
            Span::styled(
                format!("{} ", pad(c.verdict.as_str(), 4)),
                verdict_style(c.verdict, t),
            ),
            Span::styled(
                truncate(&c.detail, cols.saturating_sub(32)).into_owned(),
                t.text,
            ),
        ]));
        if let Some(f) = &c.fix {
            for l in super::text::wrap_words(&format!("fix: {f}"), cols.saturating_sub(31).max(20))
            {
                lines.push(Line::styled(
                    truncate(&format!("{:>31}{l}", ""), cols).into_owned(),
                    verdict_style(c.verdict, t),
                ));
            }
        }
    }
    for node in w.state.inputs.all_nodes() {
        let passed: Vec<&str> = w
            .checks
            .iter()
            .filter(|c| c.node == node && c.verdict == Verdict::Pass)
            .map(|c| c.check)
            .collect();
        if passed.is_empty() {
            continue;
        }
        let detail = w
            .checks
            .iter()
            .find(|c| c.node == node && c.check == "os" && c.verdict == Verdict::Pass)
            .map(|c| format!(" ({})", c.detail))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", pad(&node, 15)), t.text),
            Span::styled("✓ ", t.status_up),
            Span::styled(
                truncate(
                    &format!("{}{detail}", passed.join(", ")),
                    cols.saturating_sub(18),
                )
                .into_owned(),
                t.dim,
            ),
        ]));
    }
    lines
}

fn install_body(w: &Wizard, t: &Theme, cols: usize, rows: usize) -> Vec<Line<'static>> {
    let Some((h, f)) = &w.install else {
        return vec![Line::styled("starting the install…", t.info)];
    };
    let mut lines = Vec::new();
    {
        let s = h.state();
        let mut spans = Vec::new();
        for (i, st) in s.steps.iter().enumerate() {
            use crate::tasks::runner::StepStatus;
            let (mark, style) = match st.status {
                StepStatus::Succeeded => ("✓", t.status_up),
                StepStatus::Running => ("●", t.info),
                StepStatus::Pending => ("○", t.dim),
                s if s.is_failure() => ("✗", t.error),
                _ => ("⊘", t.warning),
            };
            // short labels, so six steps fit in 80 columns
            let label = match st.name.as_str() {
                crate::setup::install::STEP_UPLOAD => "upload",
                crate::actions::provision::STEP_CALLBACK => "callback",
                n => n.strip_prefix("run ").unwrap_or(n),
            };
            spans.push(Span::styled(
                format!("{}{mark} {label}", if i > 0 { "  " } else { "" }),
                style,
            ));
        }
        lines.push(Line::from(spans));
    }
    if !w.state.installed.is_empty() {
        lines.push(Line::styled(
            format!("done before: {}", w.state.installed.join(", ")),
            t.dim,
        ));
    }
    let p = &f.progress;
    let tot = p.totals();
    lines.push(Line::styled(
        format!(
            "{}  plays {}  tasks {}  ok {}  changed {}  failed {}  unreachable {}  skipped {}",
            p.playbook.as_deref().unwrap_or("-"),
            p.plays.len(),
            p.task_count(),
            tot.ok,
            tot.changed,
            tot.failed,
            tot.unreachable,
            tot.skipped
        ),
        if tot.failed > 0 || tot.unreachable > 0 {
            t.error
        } else {
            t.text
        },
    ));
    if let Some(fail) = p.failure_summary() {
        lines.push(Line::styled(
            truncate(&format!("✗ {fail}"), cols).into_owned(),
            t.error,
        ));
    }
    let body: Vec<Line<'static>> = if w.raw {
        f.raw
            .iter()
            .map(|l| Line::styled(truncate(l, cols).into_owned(), t.text))
            .collect()
    } else {
        super::playbook_view::progress_lines(p, t, cols)
    };
    let room = rows.saturating_sub(lines.len());
    let start = body.len().saturating_sub(room);
    lines.extend(body[start..].iter().cloned());
    lines
}

fn verify_body(w: &Wizard, t: &Theme, cols: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if w.verify.is_empty() {
        lines.push(Line::styled("polling the new deployment…", t.info));
        return lines;
    }
    let bad = w.verify.iter().filter(|l| !l.ok).count();
    lines.push(Line::styled(
        if bad == 0 {
            format!("all {} checks pass", w.verify.len())
        } else {
            format!(
                "{bad} of {} not yet up{}",
                w.verify.len(),
                if w.verifying { " (asking again)" } else { "" }
            )
        },
        if bad == 0 { t.status_up } else { t.warning },
    ));
    // failures first, then the rest
    let mut sorted: Vec<&verify::VerifyLine> = w.verify.iter().filter(|l| !l.ok).collect();
    sorted.extend(w.verify.iter().filter(|l| l.ok));
    for l in sorted {
        lines.push(Line::styled(
            truncate(&l.line(), cols).into_owned(),
            if l.ok { t.status_up } else { t.error },
        ));
    }
    lines
}

/// Draw the wizard on the whole frame.
pub fn draw(frame: &mut Frame, w: &Wizard, t: &Theme) {
    let area = frame.area();
    let [bar, body, msg, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(step_bar(w, t)).style(t.header), bar);
    let title = match w.step() {
        SetupStep::Nodes => " 1 Nodes: where Pigsty goes ".to_string(),
        SetupStep::Check => " 2 Check: each node over SSH ".to_string(),
        SetupStep::Config => format!(" 3 Config: {} ", w.output.display()),
        SetupStep::Install => format!(
            " 4 Install: playbooks on {} in {} ",
            w.state.inputs.admin_ip, w.state.inputs.pigsty_home
        ),
        SetupStep::Verify => " 5 Verify: services, leader, replication ".to_string(),
        SetupStep::Done => " 6 Done ".to_string(),
    };
    let block = Block::bordered()
        .border_style(t.border_focused)
        .title(Span::styled(title, t.title));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let cols = inner.width as usize;
    let rows = inner.height as usize;
    match w.step() {
        SetupStep::Nodes => nodes_body(frame, inner, w, t),
        SetupStep::Config => {
            let [ed, err] = Layout::vertical([
                Constraint::Min(1),
                Constraint::Length(if w.config_error.is_some() { 2 } else { 0 }),
            ])
            .areas(inner);
            let mut editor = w.editor.clone();
            editor.set_line_number_style(t.dim);
            editor.set_cursor_line_style(t.selection);
            frame.render_widget(&editor, ed);
            if let Some(e) = &w.config_error {
                frame.render_widget(
                    Paragraph::new(Line::styled(format!("✗ {e}"), t.error))
                        .wrap(Wrap { trim: false }),
                    err,
                );
            }
        }
        step => {
            let lines = match step {
                SetupStep::Check => check_body(w, t, cols),
                SetupStep::Install => install_body(w, t, cols, rows),
                SetupStep::Verify => verify_body(w, t, cols),
                _ => vec![
                    Line::styled("Pigsty is installed and verified.", t.status_up),
                    Line::default(),
                    Line::styled(format!("inventory: {}", w.output.display()), t.text),
                    Line::styled(
                        format!("console:   pigsty-tui -i {}", w.output.display()),
                        t.text,
                    ),
                ],
            };
            let start = lines.len().saturating_sub(rows);
            frame.render_widget(Paragraph::new(lines[start..].to_vec()), inner);
        }
    }
    if let Some((m, err)) = &w.message {
        frame.render_widget(
            Paragraph::new(Line::styled(
                truncate(&format!(" {m}"), area.width as usize).into_owned(),
                if *err { t.error } else { t.info },
            )),
            msg,
        );
    }
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {}", keys(w)), t.footer_key)),
        footer,
    );
}
