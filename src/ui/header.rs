//! The header line: deployment, Pigsty generation, DCS, inventory path and
//! the warning count.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::View;
use super::text::{shorten_path, width};

pub fn draw(frame: &mut Frame, area: Rect, view: &View) {
    frame.render_widget(Paragraph::new(header_line(view, area.width as usize)), area);
}

/// The header, fitted to `max` columns: the inventory path shrinks first,
/// then the less important fields are dropped.
pub fn header_line(view: &View, max: usize) -> Line<'static> {
    let d = view.deployment;
    let t = view.theme;
    let warnings = view.app.warning_count(d);

    let name = format!(" {}", d.name);
    let pigsty = match &d.version {
        Some(v)
            if v.trim_start_matches('v') != d.generation.to_string().trim_start_matches('v') =>
        {
            format!("pigsty {} · {}", d.generation, v)
        }
        _ => format!("pigsty {}", d.generation),
    };
    let dcs = format!("dcs {}", d.dcs.kind);
    let warn = match warnings {
        0 => String::new(),
        1 => "⚠ 1 warning (w)".to_string(),
        n => format!("⚠ {n} warnings (w)"),
    };
    let readonly = if view.app.readonly { "read-only" } else { "" };

    const SEP: &str = " │ ";
    // Fields in display order; the optional ones are dropped (last first)
    // when the line is too short, then the path takes what is left.
    let mut optional: Vec<String> = vec![pigsty, dcs];
    let sep_w = width(SEP);
    let fixed = |optional: &[String]| -> usize {
        width(&name)
            + [&warn, readonly]
                .iter()
                .filter(|f| !f.is_empty())
                .map(|f| width(f) + sep_w)
                .sum::<usize>()
            + optional.iter().map(|f| width(f) + sep_w).sum::<usize>()
    };
    while fixed(&optional) > max && !optional.is_empty() {
        optional.pop();
    }
    let path_room = max.saturating_sub(fixed(&optional) + sep_w + 1);
    let path = if path_room >= 8 {
        shorten_path(
            &view.app.inventory_path,
            view.app.home.as_deref(),
            path_room,
        )
    } else {
        String::new()
    };

    let mut spans = vec![Span::styled(name, t.header_accent)];
    let mut push = |text: String, style| {
        if !text.is_empty() {
            spans.push(Span::styled(SEP, t.header));
            spans.push(Span::styled(text, style));
        }
    };
    push(warn, t.header_warning);
    for field in optional {
        push(field, t.header);
    }
    push(path, t.header);
    push(readonly.to_string(), t.header_accent);
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    if used < max {
        spans.push(Span::styled(" ".repeat(max - used), t.header));
    }
    Line::from(spans)
}
