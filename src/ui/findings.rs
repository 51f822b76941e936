//! The findings popup (`f`, `:findings`): every place where two sources (or
//! the inventory and a source) disagree, most severe first, each naming the
//! sources and their values. Enter selects the instance or cluster.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::live;
use super::text::{pad, wrap_words};
use super::theme::Theme;
use super::{Component, KeyHint, View};
use crate::app::state::{AppState, Focus, Outcome, Overlay};
use crate::app::tree::TreeItem;
use crate::model::Deployment;
use crate::snapshot::{Finding, Severity, Snapshot};

/// The findings popup component.
pub struct FindingsPopup;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "choose a finding"),
    KeyHint::new("Enter", "go to its instance or cluster"),
    KeyHint::new("Esc / f / q", "close"),
];

/// Indentation of a finding's second and following lines.
const INDENT: usize = 6;

/// A finding as lines: `ERROR message…` wrapped, then one line per source
/// (`source: value`). `selected` paints the first line in that style.
pub fn finding_lines(
    f: &Finding,
    t: &Theme,
    width: usize,
    selected: Option<Style>,
) -> Vec<Line<'static>> {
    let (label, style) = live::severity(f.severity, t);
    let text_w = width.saturating_sub(INDENT).max(8);
    let mut out = Vec::new();
    for (k, part) in wrap_words(&f.message, text_w).into_iter().enumerate() {
        let lead = if k == 0 {
            Span::styled(pad(label, INDENT), style)
        } else {
            Span::raw(" ".repeat(INDENT))
        };
        let text_style = if f.severity == Severity::Info {
            t.text
        } else {
            style
        };
        out.push(Line::from(vec![lead, Span::styled(part, text_style)]));
    }
    for o in &f.sources {
        for part in wrap_words(&format!("{}: {}", o.source, o.value), text_w) {
            out.push(Line::from(vec![
                Span::raw(" ".repeat(INDENT)),
                Span::styled(part, t.dim),
            ]));
        }
    }
    if let (Some(sel), Some(first)) = (selected, out.first_mut()) {
        let text: String = first.spans.iter().map(|s| s.content.as_ref()).collect();
        *first = Line::styled(pad(&text, width), sel);
    }
    out
}

/// The tree item a finding or alert is about: the instance, else the cluster.
pub fn target(
    d: &Deployment,
    instance: Option<&str>,
    cluster: Option<&str>,
    ip: Option<&str>,
) -> Option<TreeItem> {
    if let Some(i) = instance
        && let Some(item) = crate::app::state::find_node(d, i)
    {
        return Some(item);
    }
    if let Some(c) = cluster
        && let Some(c) = d.clusters.iter().position(|x| x.name == c)
    {
        return Some(TreeItem::Cluster(c));
    }
    ip.and_then(|ip| crate::app::state::find_node(d, ip))
}

/// Selects `item` in the tree and closes the popup.
pub fn go_to(app: &mut AppState, d: &Deployment, item: Option<TreeItem>) {
    app.overlay = None;
    if let Some(item) = item {
        app.select_item(d, item);
        app.focus = Focus::Tree;
    }
}

/// The popup rectangle of a list popup in `area`, fitted to `content` lines.
pub fn popup_area(area: Rect, content: usize) -> Rect {
    let w = area.width.saturating_sub(4).min(120);
    let h = (content + 2).min(area.height.saturating_sub(2) as usize) as u16;
    centered(area, w, h)
}

/// Body lines and, per finding, its first line index.
fn body(view: &View, width: usize, selected: usize) -> (Vec<Line<'static>>, Vec<usize>) {
    let t = view.theme;
    let s = view.snapshot;
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    if s.findings.is_empty() {
        let text = if live::has_live(s) {
            "No findings: the sources agree with each other and with the inventory."
        } else {
            "no live data yet"
        };
        lines.extend(
            wrap_words(text, width)
                .into_iter()
                .map(|l| Line::styled(l, t.dim)),
        );
    }
    for (i, f) in s.findings.iter().enumerate() {
        starts.push(lines.len());
        let sel = (i == selected).then_some(t.selection);
        lines.extend(finding_lines(f, t, width, sel));
    }
    (lines, starts)
}

impl Component for FindingsPopup {
    fn name(&self) -> &'static str {
        "Findings (f)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let selected = match &view.app.overlay {
            Some(Overlay::Findings { selected }) => *selected,
            _ => 0,
        };
        let t = view.theme;
        let s = view.snapshot;
        let n = s.findings.len();
        let selected = selected.min(n.saturating_sub(1));
        let probe = popup_area(area, usize::MAX / 4);
        let inner_w = probe.width.saturating_sub(2) as usize;
        let (lines, starts) = body(view, inner_w, selected);
        let popup = popup_area(area, lines.len());
        let inner_h = popup.height.saturating_sub(2) as usize;
        // Keep the whole selected finding in view.
        let first = starts.get(selected).copied().unwrap_or(0);
        let end = starts.get(selected + 1).copied().unwrap_or(lines.len());
        let scroll = if end > inner_h {
            (end - inner_h).min(first)
        } else {
            0
        };
        let by_sev = |sev: Severity| s.findings.iter().filter(|f| f.severity == sev).count();
        let title = if n == 0 {
            " Findings ".to_string()
        } else {
            format!(
                " Findings · {} error · {} warning · {} info ",
                by_sev(Severity::Error),
                by_sev(Severity::Warning),
                by_sev(Severity::Info)
            )
        };
        draw_list_popup(frame, popup, t, title, lines, (selected, n), scroll);
    }

    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome {
        let n = snapshot.findings.len();
        let page = (app.screen.height as usize / 4).max(1);
        let Some(Overlay::Findings { selected }) = &mut app.overlay else {
            return Outcome::Ignored;
        };
        let last = n.saturating_sub(1);
        let cur = (*selected).min(last);
        match key.code {
            KeyCode::Esc | KeyCode::Char('f') | KeyCode::Char('q') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => *selected = cur.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *selected = (cur + 1).min(last),
            KeyCode::PageUp => *selected = cur.saturating_sub(page),
            KeyCode::PageDown => *selected = (cur + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => *selected = 0,
            KeyCode::End | KeyCode::Char('G') => *selected = last,
            KeyCode::Enter => {
                if let Some(f) = snapshot.findings.get(cur) {
                    let item = target(
                        deployment,
                        f.instance.as_deref(),
                        f.cluster.as_deref(),
                        None,
                    );
                    go_to(app, deployment, item);
                }
            }
            _ => {}
        }
        Outcome::Handled
    }

    fn commands(&self, _app: &AppState, _deployment: &Deployment) -> Vec<KeyHint> {
        vec![
            KeyHint::new("j/k", "choose"),
            KeyHint::new("Enter", "go to"),
            KeyHint::new("Esc", "close"),
        ]
    }

    fn bindings(&self) -> &'static [KeyHint] {
        BINDINGS
    }
}
/// Draw a popup listing selectable items (alerts, findings): titled, with
/// the position of the selection and "Enter goes there" at the bottom.
pub(super) fn draw_list_popup(
    frame: &mut Frame,
    popup: Rect,
    t: &Theme,
    title: String,
    lines: Vec<Line<'static>>,
    (selected, n): (usize, usize),
    scroll: usize,
) {
    let mut block = Block::bordered()
        .border_style(t.border_focused)
        .style(t.popup)
        .title(Span::styled(title, t.title))
        .title(Line::styled(" Esc closes ", t.dim).right_aligned());
    if n > 0 {
        block = block.title_bottom(
            Line::styled(format!(" {}/{n} · Enter goes there ", selected + 1), t.dim)
                .right_aligned(),
        );
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
        popup,
    );
}
