//! The health summary lines at the top of the main screen: clusters that
//! are DOWN or DEGRADED, worst first, with their reasons (from
//! [`crate::triage::health`] and the recorder's down-since tracker).
//! Nothing is shown while every cluster is healthy or not polled yet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::View;
use super::text::truncate;
use crate::app::state::AppState;
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::triage::health::{self, ClusterHealth, HealthLevel, NoHistory};

/// Most health lines shown; the last one says how many more clusters.
pub const MAX_LINES: usize = 3;

/// The clusters that need attention, worst first.
pub fn problems(
    app: &AppState,
    deployment: &Deployment,
    snapshot: &Snapshot,
) -> Vec<ClusterHealth> {
    if !super::live::has_live(snapshot) {
        return Vec::new();
    }
    let summary = match &app.triage {
        Some(state) => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            health::summarize(deployment, snapshot, &st.tracker)
        }
        None => health::summarize(deployment, snapshot, &NoHistory),
    };
    summary
        .into_iter()
        .filter(|h| matches!(h.level, HealthLevel::Down | HealthLevel::Degraded))
        .collect()
}

/// Rows the health lines take.
pub fn rows(problems: &[ClusterHealth]) -> u16 {
    problems.len().min(MAX_LINES) as u16
}

pub fn draw(frame: &mut Frame, area: Rect, view: &View, problems: &[ClusterHealth]) {
    let t = view.theme;
    let max = area.width as usize;
    let n = area.height as usize;
    let mut lines = Vec::new();
    for (i, h) in problems.iter().enumerate().take(n) {
        if i + 1 == n && problems.len() > n {
            let rest = problems.len() - i;
            lines.push(Line::styled(
                format!(" … {rest} more clusters need attention"),
                t.warning,
            ));
            break;
        }
        let (mark, style) = match h.level {
            HealthLevel::Down => ("✗", t.status_down),
            _ => ("▲", t.warning),
        };
        let head = format!(" {mark} {} {}", h.cluster, h.level);
        let reasons = if h.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", h.reasons.join("; "))
        };
        let rest = max.saturating_sub(super::text::width(&head));
        lines.push(Line::from(vec![
            Span::styled(head, style),
            Span::styled(truncate(&reasons, rest).into_owned(), t.text),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
