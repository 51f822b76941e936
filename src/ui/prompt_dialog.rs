//! The SSH questions (unknown host key, key passphrase) and alerts (changed
//! host key): a modal dialog over everything, for the first of
//! [`AppState::prompts`](crate::app::state::AppState::prompts).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::text::{truncate, wrap_words};
use super::{Component, KeyHint, View};
use crate::app::prompt::{HOST_KEY_CHOICES, PromptKind};
use crate::app::state::{AppState, Outcome};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::tasks::ssh::PASSPHRASE_ATTEMPTS;

/// The dialog of the SSH question on screen.
pub struct PromptDialog;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("a", "host key: accept and record it"),
    KeyHint::new("o", "host key: accept for this session"),
    KeyHint::new("r / Esc", "host key: reject"),
    KeyHint::new("↑↓ Enter", "host key: choose and confirm"),
    KeyHint::new("text Enter", "passphrase: unlock (typed masked)"),
    KeyHint::new("Esc", "passphrase: skip the key"),
];

fn wrapped(lines: &mut Vec<Line<'static>>, text: &str, w: usize, style: Style) {
    for l in wrap_words(text, w) {
        lines.push(Line::styled(l, style));
    }
}

impl Component for PromptDialog {
    fn name(&self) -> &'static str {
        "SSH questions"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let t = view.theme;
        let app = view.app;
        let Some(p) = app.prompts.current() else {
            return;
        };
        let w = area.width.saturating_sub(4).min(78);
        let inner_w = (w as usize).saturating_sub(4).max(10);
        let mut lines: Vec<Line<'static>> = Vec::new();
        let more = app.prompts.len() - 1;
        let (title, title_style, hint) = match &p.kind {
            PromptKind::HostKey(q) => {
                wrapped(
                    &mut lines,
                    &format!(
                        "The authenticity of host {} port {} can't be established.",
                        q.host, q.port
                    ),
                    inner_w,
                    t.popup,
                );
                wrapped(
                    &mut lines,
                    &format!("{} key fingerprint is", q.key_kind()),
                    inner_w,
                    t.popup,
                );
                lines.push(Line::styled(
                    format!("  {}", truncate(&q.fingerprint, inner_w - 2)),
                    t.title,
                ));
                lines.push(Line::styled(
                    truncate(&format!("  ({})", q.key_type), inner_w).into_owned(),
                    t.dim,
                ));
                if !q.other_known_keys.is_empty() {
                    lines.push(Line::default());
                    wrapped(
                        &mut lines,
                        "⚠ known_hosts has keys of other types for this host:",
                        inner_w,
                        t.warning,
                    );
                    for k in &q.other_known_keys {
                        for l in wrap_words(k, inner_w - 2) {
                            lines.push(Line::styled(format!("  {l}"), t.warning));
                        }
                    }
                }
                // The advice only where it fits: the choices must show.
                let mut advice = vec![Line::default()];
                wrapped(
                    &mut advice,
                    "Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there) before trusting it.",
                    inner_w,
                    t.dim,
                );
                let room = (area.height as usize).saturating_sub(4);
                if lines.len() + advice.len() + 1 + HOST_KEY_CHOICES.len() <= room {
                    lines.extend(advice);
                }
                lines.push(Line::default());
                let save_to = q
                    .known_hosts
                    .as_ref()
                    .map(|p| app.shown_path(p))
                    .unwrap_or_else(|| "no known_hosts file".into());
                for (i, (k, answer, label)) in HOST_KEY_CHOICES.iter().enumerate() {
                    let label = match answer {
                        crate::tasks::ssh::HostKeyAnswer::Accept => {
                            format!("accept and save to {save_to}")
                        }
                        _ => label.to_string(),
                    };
                    let selected = i == p.choice;
                    let style = if selected { t.selection } else { t.popup };
                    lines.push(Line::from(vec![
                        Span::styled(if selected { "▶" } else { " " }, t.footer_key),
                        Span::styled(format!(" {k} "), t.footer_key),
                        Span::styled(
                            format!(" {} ", truncate(&label, inner_w.saturating_sub(6))),
                            style,
                        ),
                    ]));
                }
                (
                    " Unknown SSH host key ".to_string(),
                    t.warning,
                    " a accept+save  o once  r/Esc reject  ↑↓ Enter ",
                )
            }
            PromptKind::Passphrase(q) => {
                wrapped(
                    &mut lines,
                    &format!(
                        "Enter the passphrase of {} to connect to {}.",
                        app.shown_path(&q.key_file),
                        q.connecting_to
                    ),
                    inner_w,
                    t.popup,
                );
                lines.push(Line::default());
                let masked = "•".repeat(p.input.chars().count().min(inner_w.saturating_sub(14)));
                lines.push(Line::from(vec![
                    Span::styled("Passphrase: ", t.popup),
                    Span::styled(format!("{masked}▏"), t.input),
                ]));
                lines.push(Line::default());
                if q.attempt > 1 {
                    lines.push(Line::styled(
                        format!(
                            "✗ wrong passphrase, try again (attempt {} of {PASSPHRASE_ATTEMPTS})",
                            q.attempt
                        ),
                        t.error,
                    ));
                }
                wrapped(
                    &mut lines,
                    "The passphrase is wiped from memory once the key is decrypted; the \
                     decrypted key stays in memory (never on disk) until you quit.",
                    inner_w,
                    t.dim,
                );
                (
                    " SSH key passphrase ".to_string(),
                    t.title,
                    " Enter unlock  Esc skip this key ",
                )
            }
            PromptKind::Alert(message) => {
                wrapped(&mut lines, message, inner_w, t.error);
                (
                    " SSH connection refused ".to_string(),
                    t.error,
                    " Enter / Esc close ",
                )
            }
        };
        let title = if more > 0 {
            format!("{}({more} more waiting) ", title)
        } else {
            title
        };
        let h = (lines.len() as u16 + 4).min(area.height);
        let popup = centered(area, w, h);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(title_style)
            .style(t.popup)
            .title(Span::styled(title, title_style))
            .title_bottom(Line::styled(hint, t.dim).right_aligned());
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let inner = Rect {
            x: inner.x + 1,
            y: inner.y + 1,
            width: inner.width.saturating_sub(2),
            height: inner.height.saturating_sub(1),
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        _deployment: &Deployment,
        _snapshot: &Snapshot,
    ) -> Outcome {
        app.answer_prompt(key)
    }

    fn commands(&self, app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        match app.prompts.current().map(|p| &p.kind) {
            Some(PromptKind::HostKey(_)) => vec![
                KeyHint::new("a", "accept+save"),
                KeyHint::new("o", "once"),
                KeyHint::new("r/Esc", "reject"),
            ],
            Some(PromptKind::Passphrase(_)) => vec![
                KeyHint::new("Enter", "unlock"),
                KeyHint::new("Esc", "skip key"),
            ],
            _ => vec![KeyHint::new("Enter/Esc", "close")],
        }
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
