//! The alerts popup (`a`, `:alerts`): Alertmanager's alerts, active first
//! and most severe first, with instance, cluster, age and summary. Enter
//! selects the instance or cluster an alert is about.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::findings::{draw_list_popup, go_to, popup_area, target};
use super::live;
use super::text::{Cell, pad, table, wrap_words};
use super::{Component, KeyHint, View};
use crate::app::state::{AppState, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::sources::SourceKind;
use crate::sources::alertmanager::Alert;

/// The alerts popup component.
pub struct AlertsPopup;

const BINDINGS: &[KeyHint] = &[
    KeyHint::new("↑/k ↓/j PgUp PgDn", "choose an alert"),
    KeyHint::new("Enter", "go to its instance or cluster"),
    KeyHint::new("Esc / a / q", "close"),
];

fn is_active(a: &Alert) -> bool {
    !a.silenced && !a.inhibited && a.state != "suppressed"
}

/// Alerts in display order: active first, then by severity, oldest first.
pub fn sorted(snapshot: &Snapshot) -> Vec<&Alert> {
    let mut list: Vec<&Alert> = snapshot.alerts.iter().collect();
    list.sort_by(|a, b| {
        (
            !is_active(a),
            live::alert_rank(a.severity.as_deref()),
            &a.starts_at,
            &a.name,
        )
            .cmp(&(
                !is_active(b),
                live::alert_rank(b.severity.as_deref()),
                &b.starts_at,
                &b.name,
            ))
    });
    list
}

/// Who an alert is about: `ins`, else `instance`, else `ip`.
fn subject(a: &Alert) -> String {
    a.ins
        .clone()
        .or_else(|| a.instance.clone())
        .or_else(|| a.ip.clone())
        .unwrap_or_else(|| "-".into())
}

/// Why there is no alert to list, when the list is empty or old.
fn source_note(view: &View) -> Option<(String, bool)> {
    let s = view.snapshot;
    if view.deployment.endpoints.alertmanager.is_none() {
        return Some(("no data: no Alertmanager in the inventory".into(), false));
    }
    if let Some(e) = live::kind_problem(s, SourceKind::Alertmanager) {
        return Some((format!("no data: {e}"), true));
    }
    if s.sources_of(SourceKind::Alertmanager).next().is_none() {
        return Some((
            if live::has_live(s) {
                "no data from Alertmanager yet".into()
            } else {
                "no live data yet".into()
            },
            false,
        ));
    }
    None
}

/// Table rows of `alerts`; `with_cluster` adds the cluster column.
fn rows(view: &View, alerts: &[&Alert], with_cluster: bool) -> (Vec<&'static str>, Vec<Vec<Cell>>) {
    let t = view.theme;
    let stale = view
        .snapshot
        .sources_of(SourceKind::Alertmanager)
        .any(|s| !s.ok || live::source_stale(view.snapshot, s));
    let mut header = vec!["SEV", "ALERT", "INSTANCE"];
    if with_cluster {
        header.push("CLUSTER");
    }
    header.extend(["AGE", "SUMMARY"]);
    let rows = alerts
        .iter()
        .map(|a| {
            let active = is_active(a);
            let sev_style = if stale || !active {
                t.stale
            } else {
                live::alert_style(a.severity.as_deref(), t)
            };
            let text_style = if stale || !active { t.stale } else { t.text };
            let mut row = vec![
                (
                    live::stale_text(a.severity.clone().unwrap_or_else(|| "-".into()), stale),
                    sev_style,
                ),
                (a.name.clone(), text_style),
                (subject(a), text_style),
            ];
            if with_cluster {
                row.push((a.cls.clone().unwrap_or_else(|| "-".into()), text_style));
            }
            row.push((
                live::age_of(view.snapshot, a.starts_at.as_deref()).unwrap_or_else(|| "-".into()),
                t.dim,
            ));
            let mut summary = a.summary.clone().unwrap_or_default();
            if !active {
                let why = if a.silenced { "silenced" } else { "inhibited" };
                summary = format!("({why}) {summary}");
            }
            row.push((summary, if active { t.dim } else { t.stale }));
            row
        })
        .collect();
    (header, rows)
}

/// The alerts of one cluster as a table, or why there are none.
pub fn alert_section(
    view: &View,
    alerts: &[&Alert],
    width: usize,
    with_cluster: bool,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut out = Vec::new();
    if let Some((note, is_error)) = source_note(view) {
        out.extend(
            wrap_words(&note, width)
                .into_iter()
                .map(|l| Line::styled(l, if is_error { t.error } else { t.dim })),
        );
    }
    if alerts.is_empty() {
        if source_note(view).is_none() {
            out.push(Line::styled("No alerts.", t.dim));
        }
        return out;
    }
    let (header, rows) = rows(view, alerts, with_cluster);
    let flex = header.len() - 1;
    out.extend(table(&header, &rows, flex, width, t.table_header));
    out
}

impl Component for AlertsPopup {
    fn name(&self) -> &'static str {
        "Alerts (a)"
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let selected = match &view.app.overlay {
            Some(Overlay::Alerts { selected }) => *selected,
            _ => 0,
        };
        let t = view.theme;
        let list = sorted(view.snapshot);
        let n = list.len();
        let selected = selected.min(n.saturating_sub(1));
        let inner_w = popup_area(area, usize::MAX / 4).width.saturating_sub(2) as usize;
        let mut lines: Vec<Line<'static>> = Vec::new();
        if let Some((note, is_error)) = source_note(view) {
            lines.extend(
                wrap_words(&note, inner_w)
                    .into_iter()
                    .map(|l| Line::styled(l, if is_error { t.error } else { t.dim })),
            );
        }
        let head = lines.len();
        if n == 0 {
            if source_note(view).is_none() {
                lines.push(Line::styled("No alerts.", t.dim));
            }
        } else {
            let (header, rows) = rows(view, &list, true);
            let flex = header.len() - 1;
            let mut table = table(&header, &rows, flex, inner_w, t.table_header);
            // The selected row in the selection style, full width.
            if let Some(row) = table.get_mut(selected + 1) {
                let text: String = row.spans.iter().map(|s| s.content.as_ref()).collect();
                *row = Line::styled(pad(&text, inner_w), t.selection);
            }
            lines.extend(table);
        }
        let popup = popup_area(area, lines.len());
        let inner_h = popup.height.saturating_sub(2) as usize;
        let row_line = head + 1 + selected;
        let scroll = (row_line + 1).saturating_sub(inner_h);
        let active = list.iter().filter(|a| is_active(a)).count();
        let title = if n == active {
            format!(" Alerts · {active} active ")
        } else {
            format!(" Alerts · {active} active, {} silenced ", n - active)
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
        let list = sorted(snapshot);
        let page = (app.screen.height as usize / 2).max(1);
        let Some(Overlay::Alerts { selected }) = &mut app.overlay else {
            return Outcome::Ignored;
        };
        let last = list.len().saturating_sub(1);
        let cur = (*selected).min(last);
        match key.code {
            KeyCode::Esc | KeyCode::Char('a') | KeyCode::Char('q') => app.overlay = None,
            KeyCode::Up | KeyCode::Char('k') => *selected = cur.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *selected = (cur + 1).min(last),
            KeyCode::PageUp => *selected = cur.saturating_sub(page),
            KeyCode::PageDown => *selected = (cur + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => *selected = 0,
            KeyCode::End | KeyCode::Char('G') => *selected = last,
            KeyCode::Enter => {
                if let Some(a) = list.get(cur) {
                    let item = target(
                        deployment,
                        a.ins.as_deref(),
                        a.cls.as_deref(),
                        a.ip.as_deref(),
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
