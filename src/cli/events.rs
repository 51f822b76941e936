//! `pigsty-tui events [--since 1h|30m|2d|RFC3339] [-c CLUSTER] [--format text|json]`:
//! print the event timeline (`<state dir>/events.jsonl`), oldest first.
//! Text: one line per event; JSON: one event object per line. Exit 0, or 1
//! on errors (a bad `--since`, an unreadable file).

use std::path::Path;
use std::time::SystemTime;

use color_eyre::eyre::{Result, eyre};

use super::Format;
use crate::triage::Timeline;
use crate::triage::time::parse_since;

/// Print the events; returns the exit code.
pub fn run(path: &Path, since: Option<&str>, cluster: Option<&str>, format: Format) -> Result<i32> {
    let since = since
        .map(|s| parse_since(s, SystemTime::now()))
        .transpose()
        .map_err(|e| eyre!("{e}"))?;
    let timeline =
        Timeline::load(path).map_err(|e| eyre!("cannot read {}: {e}", path.display()))?;
    print!("{}", render(&timeline, since, cluster, format));
    Ok(0)
}

/// The selected events as text lines or JSON lines.
pub fn render(
    timeline: &Timeline,
    since: Option<SystemTime>,
    cluster: Option<&str>,
    format: Format,
) -> String {
    let mut out = String::new();
    for e in timeline.query(since, cluster) {
        match format {
            Format::Text => out.push_str(&e.line()),
            Format::Json => out.push_str(&serde_json::to_string(e).unwrap_or_default()),
        }
        out.push('\n');
    }
    out
}
