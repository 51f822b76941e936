//! The header line: deployment, warning count, one freshness badge per kind
//! of live source (`Patroni ✓ 0.3s  etcd ✗ 12s  Prometheus ✓ 1.1s  alerts 2`),
//! Pigsty generation, DCS and inventory path.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::View;
use super::live;
use super::text::{shorten_path, width};
use super::theme::Theme;
use crate::snapshot::{Snapshot, SourceStatus};
use crate::sources::SourceKind;

pub fn draw(frame: &mut Frame, area: Rect, view: &View) {
    frame.render_widget(Paragraph::new(header_line(view, area.width as usize)), area);
}

/// How much of the badges to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    /// `Patroni ✓ 0.3s`.
    Full,
    /// `Patroni ✓` (ages only on failing or stale sources).
    NoAges,
    /// `pat✓ etcd✗12s prom✓ al 2`.
    Short,
    /// Only what is wrong (and the alert count).
    Problems,
}

/// The freshness of one kind of source.
#[derive(Debug, Clone)]
struct Badge {
    kind: SourceKind,
    total: usize,
    failing: usize,
    /// Age of the oldest last success (ms); `None`: one never answered.
    age: Option<u64>,
    stale: bool,
    /// Active alerts (Alertmanager's badge).
    alerts: usize,
}

fn name(kind: SourceKind, short: bool) -> &'static str {
    match (kind, short) {
        (SourceKind::Patroni, false) => "Patroni",
        (SourceKind::Patroni, true) => "pat",
        (SourceKind::Etcd, _) => "etcd",
        (SourceKind::Consul, false) => "Consul",
        (SourceKind::Consul, true) => "consul",
        (SourceKind::Prometheus, false) => "Prometheus",
        (SourceKind::Prometheus, true) => "prom",
        (SourceKind::Alertmanager, false) => "alerts",
        (SourceKind::Alertmanager, true) => "al",
        (SourceKind::Haproxy, false) => "HAProxy",
        (SourceKind::Haproxy, true) => "ha",
        (SourceKind::Probe, false) => "probes",
        (SourceKind::Probe, true) => "prb",
    }
}

/// Display order; probes last (their own failures are rare: a probe that
/// fails is a `down` service, not a failing source).
const ORDER: [SourceKind; 7] = [
    SourceKind::Patroni,
    SourceKind::Etcd,
    SourceKind::Consul,
    SourceKind::Prometheus,
    SourceKind::Haproxy,
    SourceKind::Alertmanager,
    SourceKind::Probe,
];

fn badges(snapshot: &Snapshot) -> Vec<Badge> {
    ORDER
        .iter()
        .filter_map(|&kind| {
            let of_kind: Vec<&SourceStatus> = snapshot.sources_of(kind).collect();
            if of_kind.is_empty() {
                return None;
            }
            let failing = of_kind.iter().filter(|s| !s.ok).count();
            let age = of_kind
                .iter()
                .map(|s| s.age_ms)
                .try_fold(0u64, |acc, a| a.map(|a| acc.max(a)));
            let stale = of_kind.iter().any(|s| live::source_stale(snapshot, s));
            Some(Badge {
                kind,
                total: of_kind.len(),
                failing,
                age,
                stale,
                alerts: if kind == SourceKind::Alertmanager {
                    live::active_alerts(snapshot)
                } else {
                    0
                },
            })
        })
        .collect()
}

impl Badge {
    fn problem(&self) -> bool {
        self.failing > 0 || self.stale
    }

    /// Text and style at a level of detail; `None` when left out.
    fn render(&self, detail: Detail, t: &Theme) -> Option<(String, Style)> {
        let short = detail >= Detail::Short;
        let sep = if short { "" } else { " " };
        let name = name(self.kind, short);
        let age = self.age.map(live::age).unwrap_or_else(|| "never".into());
        if self.failing > 0 {
            let count = if self.total > 1 {
                format!("{}/{} ", self.failing, self.total)
            } else {
                String::new()
            };
            let text = if short {
                format!("{name}✗{count}{age}")
            } else {
                format!("{name} ✗ {count}{age}")
            };
            return Some((text.trim_end().to_string(), t.badge_failing));
        }
        if self.kind == SourceKind::Alertmanager {
            // The alert count is news even when every source is fine.
            let style = if self.alerts > 0 {
                t.badge_failing
            } else if self.stale {
                t.badge_stale
            } else {
                t.badge_ok
            };
            if detail == Detail::Problems && self.alerts == 0 && !self.stale {
                return None;
            }
            let mut text = format!("{name} {}", self.alerts);
            if self.stale {
                text.push_str(&format!("{sep}~{age}"));
            }
            return Some((text, style));
        }
        if detail == Detail::Problems && !self.problem() {
            return None;
        }
        if self.kind == SourceKind::Probe && detail >= Detail::NoAges && !self.problem() {
            return None;
        }
        if self.stale {
            return Some((format!("{name}{sep}~{age}"), t.badge_stale));
        }
        let text = match detail {
            Detail::Full => format!("{name} ✓ {age}"),
            Detail::NoAges => format!("{name} ✓"),
            Detail::Short | Detail::Problems => format!("{name}✓"),
        };
        Some((text, t.badge_ok))
    }
}

/// Badges joined with two spaces (one when short), as spans.
fn badge_spans(list: &[Badge], detail: Detail, t: &Theme) -> Vec<Span<'static>> {
    let gap = if detail >= Detail::Short { " " } else { "  " };
    let mut out = Vec::new();
    for (text, style) in list.iter().filter_map(|b| b.render(detail, t)) {
        if !out.is_empty() {
            out.push(Span::styled(gap, t.header));
        }
        out.push(Span::styled(text, style));
    }
    out
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// The header, fitted to `max` columns: the inventory path shrinks first,
/// then the less important fields are dropped and the badges abbreviated.
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
    let badge_list = badges(view.snapshot);
    let has_dcs_badge = badge_list
        .iter()
        .any(|b| matches!(b.kind, SourceKind::Etcd | SourceKind::Consul));
    let dcs = format!("dcs {}", d.dcs.kind);
    let warn_long = match warnings {
        0 => String::new(),
        1 => "⚠ 1 warning (w)".to_string(),
        n => format!("⚠ {n} warnings (w)"),
    };
    let warn_short = match warnings {
        0 => String::new(),
        n => format!("⚠ {n}"),
    };
    let readonly = if view.app.readonly { "read-only" } else { "" };

    const SEP: &str = " │ ";
    let sep_w = width(SEP);

    // Degrade step by step until the fixed fields fit; the path then takes
    // what is left (or is left out below 8 columns).
    struct Plan {
        detail: Detail,
        pigsty: bool,
        dcs: bool,
        warn_short: bool,
    }
    let mut plan = Plan {
        detail: Detail::Full,
        pigsty: true,
        // The DCS badge names the DCS already.
        dcs: !has_dcs_badge,
        warn_short: false,
    };
    let fixed = |p: &Plan| -> usize {
        let badges = spans_width(&badge_spans(&badge_list, p.detail, t));
        let warn = if p.warn_short {
            &warn_short
        } else {
            &warn_long
        };
        width(&name)
            + [warn.as_str(), readonly]
                .iter()
                .filter(|f| !f.is_empty())
                .map(|f| width(f) + sep_w)
                .sum::<usize>()
            + if badges > 0 { badges + sep_w } else { 0 }
            + if p.pigsty { width(&pigsty) + sep_w } else { 0 }
            + if p.dcs { width(&dcs) + sep_w } else { 0 }
    };
    // Each step gives up a little more; the first plan that fits wins.
    let steps: [fn(&mut Plan); 6] = [
        |p| p.pigsty = false,
        |p| p.detail = Detail::NoAges,
        |p| p.dcs = false,
        |p| p.warn_short = true,
        |p| p.detail = Detail::Short,
        |p| p.detail = Detail::Problems,
    ];
    for step in steps {
        if fixed(&plan) <= max {
            break;
        }
        step(&mut plan);
    }
    let path_room = max.saturating_sub(fixed(&plan) + sep_w + 1);
    // The path only when at least its file name fits.
    let file_name = view
        .app
        .inventory_path
        .file_name()
        .map(|f| width(&f.to_string_lossy()))
        .unwrap_or(0);
    let path = if path_room >= 8 && path_room > file_name {
        shorten_path(
            &view.app.inventory_path,
            view.app.home.as_deref(),
            path_room,
        )
    } else {
        String::new()
    };

    let mut spans = vec![Span::styled(name, t.header_accent)];
    let push = |spans: &mut Vec<Span<'static>>, text: String, style| {
        if !text.is_empty() {
            spans.push(Span::styled(SEP, t.header));
            spans.push(Span::styled(text, style));
        }
    };
    let warn = if plan.warn_short {
        warn_short
    } else {
        warn_long
    };
    push(&mut spans, warn, t.header_warning);
    let b = badge_spans(&badge_list, plan.detail, t);
    if !b.is_empty() {
        spans.push(Span::styled(SEP, t.header));
        spans.extend(b);
    }
    if plan.pigsty {
        push(&mut spans, pigsty, t.header);
    }
    if plan.dcs {
        push(&mut spans, dcs, t.header);
    }
    push(&mut spans, path, t.header);
    push(&mut spans, readonly.to_string(), t.header_accent);
    let line = super::text::fit_line(Line::from(spans), max);
    let used = line.width();
    let mut spans = line.spans;
    if used < max {
        spans.push(Span::styled(" ".repeat(max - used), t.header));
    }
    Line::from(spans)
}
