//! Text helpers shared by the views: display width, truncation, path
//! shortening, simple tables and a character grid for diagrams.

use std::borrow::Cow;
use std::path::Path;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// `text` broken into lines of at most `max` columns, at spaces where
/// possible (a word longer than a line is cut).
pub fn wrap_words(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!current.is_empty());
        if width(&current) + sep + width(word) <= max {
            if sep == 1 {
                current.push(' ');
            }
            current.push_str(word);
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        let mut rest = word;
        while width(rest) > max {
            let cut = rest
                .char_indices()
                .scan(0, |w, (i, c)| {
                    *w += c.width().unwrap_or(0);
                    Some((i + c.len_utf8(), *w))
                })
                .take_while(|(_, w)| *w <= max)
                .last()
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        current.push_str(rest);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// `line` cut to at most `max` columns (spans keep their styles).
pub fn fit_line(line: Line<'static>, max: usize) -> Line<'static> {
    if line.width() <= max {
        return line;
    }
    let style = line.style;
    let mut spans = Vec::with_capacity(line.spans.len());
    let mut used = 0;
    for span in line.spans {
        let w = width(&span.content);
        if used + w <= max {
            used += w;
            spans.push(span);
        } else {
            let room = max - used;
            if room > 0 {
                spans.push(Span::styled(
                    truncate(&span.content, room).into_owned(),
                    span.style,
                ));
            }
            break;
        }
    }
    Line::from(spans).style(style)
}

/// `spans` laid out in lines of at most `max` columns, breaking between
/// spans; a span starting a continuation line loses its leading ` · ` or
/// spaces, and a span wider than a line is cut.
pub fn wrap_spans(spans: Vec<Span<'static>>, max: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in spans {
        let w = width(&span.content);
        if used + w <= max || current.is_empty() {
            used += w;
            current.push(span);
            continue;
        }
        lines.push(fit_line(Line::from(std::mem::take(&mut current)), max));
        let text = span
            .content
            .trim_start_matches(' ')
            .trim_start_matches('·')
            .trim_start_matches(' ')
            .to_string();
        used = width(&text);
        current.push(Span::styled(text, span.style));
    }
    if !current.is_empty() {
        lines.push(fit_line(Line::from(current), max));
    }
    lines
}

/// `s` truncated to `w` columns and padded with spaces to exactly `w`.
pub fn pad(s: &str, w: usize) -> String {
    let t = truncate(s, w);
    let fill = w.saturating_sub(width(&t));
    let mut out = String::with_capacity(t.len() + fill);
    out.push_str(&t);
    out.extend(std::iter::repeat_n(' ', fill));
    out
}

/// A path shortened to at most `max` columns: the home directory becomes
/// `~`, then leading components give way to `…/` so the file name stays.
pub fn shorten_path(path: &Path, home: Option<&Path>, max: usize) -> String {
    let mut text = path.display().to_string();
    if let Some(home) = home
        && let Ok(rest) = path.strip_prefix(home)
        && !home.as_os_str().is_empty()
    {
        text = format!("~/{}", rest.display());
    }
    if width(&text) <= max {
        return text;
    }
    // Drop whole leading components while it does not fit.
    let parts: Vec<&str> = text.split('/').collect();
    for skip in 1..parts.len() {
        let candidate = format!("…/{}", parts[skip..].join("/"));
        if width(&candidate) <= max {
            return candidate;
        }
    }
    // Even the file name does not fit: keep its end.
    let name = parts.last().copied().unwrap_or("");
    let chars: Vec<char> = name.chars().collect();
    let mut tail = String::new();
    for c in chars.iter().rev() {
        if width(&tail) + c.width().unwrap_or(0) + 1 > max {
            break;
        }
        tail.insert(0, *c);
    }
    if max == 0 {
        String::new()
    } else {
        format!("…{tail}")
    }
}

/// One cell of a [`table`]: text and its style.
pub type Cell = (String, Style);

/// Lays out a table as lines: column widths fit their widest cell, except
/// column `flex`, which takes (or gives up) the remaining width. Columns are
/// separated by two spaces, or one when space is short.
pub fn table(
    header: &[&str],
    rows: &[Vec<Cell>],
    flex: usize,
    total_width: usize,
    header_style: Style,
) -> Vec<Line<'static>> {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, (text, _)) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(width(text));
        }
    }
    let natural: usize = widths.iter().sum();
    let mut gap = 2;
    if natural + gap * (n - 1) > total_width {
        gap = 1;
    }
    let fixed: usize = widths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != flex)
        .map(|(_, w)| w)
        .sum::<usize>()
        + gap * (n - 1);
    widths[flex] = total_width.saturating_sub(fixed).max(4).min(widths[flex]);

    let line_of = |cells: Vec<(Cow<'_, str>, Style)>| -> Line<'static> {
        let mut spans = Vec::with_capacity(n * 2);
        let last = cells.len().saturating_sub(1);
        for (i, (text, style)) in cells.into_iter().enumerate() {
            let cell = if i == last {
                truncate(&text, widths[i]).into_owned()
            } else {
                pad(&text, widths[i])
            };
            spans.push(Span::styled(cell, style));
            if i != last {
                spans.push(Span::raw(" ".repeat(gap)));
            }
        }
        Line::from(spans)
    };
    let mut out = Vec::with_capacity(rows.len() + 1);
    out.push(line_of(
        header
            .iter()
            .map(|h| (Cow::Borrowed(*h), header_style))
            .collect(),
    ));
    for row in rows {
        out.push(line_of(
            row.iter()
                .take(n)
                .map(|(t, s)| (Cow::Borrowed(t.as_str()), *s))
                .collect(),
        ));
    }
    out
}

/// Drops columns (by index, in `drop_order`) while the table is wider than
/// `max`; the last column counts as at most `min_last` wide (it is the one
/// [`table`] shrinks when given as flex). Returns the header and rows left.
pub fn fit_columns(
    header: &[&'static str],
    rows: &[Vec<Cell>],
    drop_order: &[usize],
    max: usize,
    min_last: usize,
) -> (Vec<&'static str>, Vec<Vec<Cell>>) {
    let mut keep: Vec<usize> = (0..header.len()).collect();
    let natural = |keep: &[usize]| -> usize {
        let last = keep.len().saturating_sub(1);
        keep.iter()
            .enumerate()
            .map(|(k, &c)| {
                let w = rows
                    .iter()
                    .map(|r| width(&r[c].0))
                    .chain(std::iter::once(width(header[c])))
                    .max()
                    .unwrap_or(0);
                if k == last { w.min(min_last) } else { w }
            })
            .sum::<usize>()
            + keep.len().saturating_sub(1)
    };
    for &c in drop_order {
        if natural(&keep) <= max {
            break;
        }
        keep.retain(|&k| k != c);
    }
    (
        keep.iter().map(|&c| header[c]).collect(),
        rows.iter()
            .map(|r| keep.iter().map(|&c| r[c].clone()).collect())
            .collect(),
    )
}

/// A grid of styled characters for drawing diagrams, turned into lines.
#[derive(Debug, Clone, Default)]
pub struct TextGrid {
    rows: Vec<Vec<(char, Style)>>,
}

impl TextGrid {
    pub fn new() -> Self {
        TextGrid::default()
    }

    /// Writes `text` at column `x` of row `y`, growing the grid as needed.
    /// (Diagram text is ASCII / box drawing: one column per char.)
    pub fn put(&mut self, x: usize, y: usize, text: &str, style: Style) {
        if self.rows.len() <= y {
            self.rows.resize_with(y + 1, Vec::new);
        }
        let row = &mut self.rows[y];
        for (i, c) in text.chars().enumerate() {
            let col = x + i;
            if row.len() <= col {
                row.resize(col + 1, (' ', Style::new()));
            }
            row[col] = (c, style);
        }
    }

    /// The character at `(x, y)`, a space when nothing was written there.
    pub fn get(&self, x: usize, y: usize) -> char {
        self.rows
            .get(y)
            .and_then(|r| r.get(x))
            .map(|(c, _)| *c)
            .unwrap_or(' ')
    }

    pub fn height(&self) -> usize {
        self.rows.len()
    }

    /// The grid as lines, one span per run of equally styled characters.
    pub fn into_lines(self) -> Vec<Line<'static>> {
        self.rows
            .into_iter()
            .map(|row| {
                let mut spans: Vec<Span<'static>> = Vec::new();
                let mut current = String::new();
                let mut style = Style::new();
                for (c, s) in row {
                    if s != style && !current.is_empty() {
                        spans.push(Span::styled(std::mem::take(&mut current), style));
                    }
                    style = s;
                    current.push(c);
                }
                if !current.is_empty() {
                    spans.push(Span::styled(current, style));
                }
                Line::from(spans)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("pg-test-1", 20), "pg-test-1");
        assert_eq!(truncate("pg-test-1", 5), "pg-t…");
        assert_eq!(truncate("pg-test-1", 1), "…");
        assert_eq!(truncate("pg-test-1", 0), "");
        assert_eq!(pad("ab", 4), "ab  ");
    }

    #[test]
    fn shortens_paths_from_the_left() {
        let home = Path::new("/home/dba");
        let p = Path::new("/home/dba/src/pigsty/inventory/sandbox.yml");
        assert_eq!(
            shorten_path(p, Some(home), 80),
            "~/src/pigsty/inventory/sandbox.yml"
        );
        assert_eq!(shorten_path(p, Some(home), 24), "…/inventory/sandbox.yml");
        assert_eq!(shorten_path(p, Some(home), 13), "…/sandbox.yml");
        assert_eq!(shorten_path(p, Some(home), 12), "…sandbox.yml");
        assert_eq!(shorten_path(p, Some(home), 8), "…box.yml");
        assert_eq!(
            shorten_path(Path::new("inventory/sandbox.yml"), None, 80),
            "inventory/sandbox.yml"
        );
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(
            wrap_words("no cluster 'pg-x'", 11),
            vec!["no cluster", "'pg-x'"]
        );
        assert_eq!(wrap_words("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap_words("", 3), vec![""]);
    }

    #[test]
    fn columns_are_dropped_until_the_table_fits() {
        let rows = vec![vec![
            ("aaaa".to_string(), Style::new()),
            ("bbbbbbbb".to_string(), Style::new()),
            ("cc".to_string(), Style::new()),
        ]];
        let (h, r) = fit_columns(&["A", "B", "C"], &rows, &[1, 0], 8, 80);
        assert_eq!(h, vec!["A", "C"]);
        assert_eq!(r[0].len(), 2);
        let (h, _) = fit_columns(&["A", "B", "C"], &rows, &[1, 0], 80, 80);
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn spans_wrap_between_spans() {
        let spans = vec![
            Span::raw("pg-test"),
            Span::raw(" · leader pg-test-1"),
            Span::raw(" · TL 11"),
        ];
        let lines: Vec<String> = wrap_spans(spans.clone(), 26)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(lines, vec!["pg-test · leader pg-test-1", "TL 11"]);
        assert_eq!(wrap_spans(spans, 80).len(), 1);
    }

    #[test]
    fn grid_merges_runs() {
        let mut g = TextGrid::new();
        g.put(2, 0, "ab", Style::new());
        g.put(1, 1, "c", Style::new());
        assert_eq!(g.get(3, 0), 'b');
        let lines = g.into_lines();
        assert_eq!(lines[0].to_string(), "  ab");
        assert_eq!(lines[1].to_string(), " c");
    }
}
