//! The logs pane's state (`L`): one column per member followed, each a
//! bounded scrollback filled by a background task that follows the
//! member's newest PostgreSQL, Patroni or pgbouncer log over SSH
//! ([`crate::triage::logs::follow_window`]); the cursor, search and error
//! jumps of each column.
//!
//! The UI thread only locks a column's buffer briefly to read or draw it;
//! the streams run on the runtime and wake the event loop after each line.
//! Line numbers are absolute (counted since the stream started), so a
//! position stays valid while old lines drop off the front.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::model::Deployment;
use crate::tasks::{SshPool, Target};
use crate::triage::logs::{self, FollowItem, LogKind, Window, is_error_line};
use crate::ui::text::width;

/// Lines kept per column; older ones are dropped.
pub const SCROLLBACK: usize = 10_000;

/// Lines shown from the end of the file in `tail` mode.
pub const TAIL_LINES: usize = 500;

/// What each column starts with before following new lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeWindow {
    /// The last [`TAIL_LINES`] lines.
    #[default]
    Tail,
    /// The lines of the last N minutes.
    Minutes(u32),
}

impl TimeWindow {
    /// The order `t` cycles through.
    pub const ALL: [TimeWindow; 4] = [
        TimeWindow::Tail,
        TimeWindow::Minutes(5),
        TimeWindow::Minutes(15),
        TimeWindow::Minutes(60),
    ];

    /// `tail`, `5m`, `15m`, `1h`.
    pub fn label(self) -> String {
        match self {
            TimeWindow::Tail => "tail".into(),
            TimeWindow::Minutes(m) if m % 60 == 0 => format!("{}h", m / 60),
            TimeWindow::Minutes(m) => format!("{m}m"),
        }
    }

    /// The next window of [`TimeWindow::ALL`].
    pub fn next(self) -> TimeWindow {
        let i = TimeWindow::ALL.iter().position(|w| *w == self).unwrap_or(0);
        TimeWindow::ALL[(i + 1) % TimeWindow::ALL.len()]
    }

    /// What the backend reads.
    pub fn window(self) -> Window {
        match self {
            TimeWindow::Tail => Window::Lines(TAIL_LINES),
            TimeWindow::Minutes(m) => Window::Since(Duration::from_secs(u64::from(m) * 60)),
        }
    }
}

/// Where a column's stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    /// Connecting (or reading the window).
    Connecting,
    /// Lines arrive as they are written.
    Following,
    /// The stream ended: why (the remote error, `cancelled`…).
    Ended(String),
}

/// One line: as written, and in short when it is a csvlog record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LogLine {
    raw: String,
    short: Option<String>,
    /// An ERROR / FATAL / PANIC line.
    error: bool,
}

/// The scrollback of one column.
#[derive(Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    /// Absolute number of `lines[0]`.
    first: u64,
    cap: usize,
    /// The file followed, once the remote side named it.
    pub file: Option<String>,
    pub state: StreamState,
    /// Bumped on every restart; a stream of an older generation stops.
    generation: u64,
    /// Show lines as written (else csvlog records in short).
    pub raw: bool,
    /// Error lines kept.
    errors: usize,
}

impl LogBuffer {
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            lines: VecDeque::new(),
            first: 0,
            cap: cap.max(1),
            file: None,
            state: StreamState::Connecting,
            generation: 0,
            raw: false,
            errors: 0,
        }
    }

    /// Appends a line (control characters removed), dropping the oldest
    /// beyond the capacity.
    pub fn push(&mut self, line: &str) {
        if self.lines.len() == self.cap {
            if self.lines.pop_front().is_some_and(|l| l.error) {
                self.errors -= 1;
            }
            self.first += 1;
        }
        let raw = crate::ui::tasks::strip_ansi(line);
        let short = logs::csvlog_compact(&raw);
        let error = is_error_line(&raw);
        self.errors += usize::from(error);
        self.lines.push_back(LogLine { raw, short, error });
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Absolute number of the oldest line kept.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Absolute number after the newest line.
    pub fn end(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// Lines dropped off the front so far.
    pub fn dropped(&self) -> u64 {
        self.first
    }

    /// The line numbered `n` as shown (csvlog records in short unless
    /// [`LogBuffer::raw`]), if still kept.
    pub fn get(&self, n: u64) -> Option<&str> {
        let l = self.line(n)?;
        Some(match (&l.short, self.raw) {
            (Some(s), false) => s,
            _ => &l.raw,
        })
    }

    /// The line numbered `n` as written.
    pub fn get_raw(&self, n: u64) -> Option<&str> {
        self.line(n).map(|l| l.raw.as_str())
    }

    fn line(&self, n: u64) -> Option<&LogLine> {
        let i = n.checked_sub(self.first)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// Whether the line numbered `n` is an ERROR / FATAL / PANIC line.
    pub fn is_error(&self, n: u64) -> bool {
        self.line(n).is_some_and(|l| l.error)
    }

    /// ERROR / FATAL / PANIC lines kept.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// Forgets every line (a new stream starts).
    pub fn reset(&mut self) -> u64 {
        self.lines.clear();
        self.errors = 0;
        self.first = 0;
        self.file = None;
        self.state = StreamState::Connecting;
        self.generation += 1;
        self.generation
    }
}

/// A column's position: the cursor line (`None`: following the newest
/// line) and the first line shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub line: Option<u64>,
    pub top: u64,
}

/// One member's column.
#[derive(Debug, Clone)]
pub struct LogColumn {
    /// Instance name.
    pub member: String,
    pub buffer: Arc<Mutex<LogBuffer>>,
    pub cursor: Cursor,
}

impl LogColumn {
    pub fn new(member: impl Into<String>) -> Self {
        LogColumn {
            member: member.into(),
            buffer: Arc::new(Mutex::new(LogBuffer::new(SCROLLBACK))),
            cursor: Cursor::default(),
        }
    }

    /// The buffer, locked (a poisoned lock is taken over: the data is lines).
    pub fn lock(&self) -> MutexGuard<'_, LogBuffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The pieces of a wrapped line in a column `w` wide (broken at spaces
/// where possible).
pub fn wrapped(line: &str, w: usize) -> Vec<String> {
    crate::ui::text::wrap_words(line, w.max(1))
}

/// Rows a line takes in a column `w` wide.
pub fn rows_of(line: &str, w: usize, wrap: bool) -> usize {
    if wrap && width(line) > w {
        wrapped(line, w).len()
    } else {
        1
    }
}

/// The first line shown and the cursor line of a column `height` rows of
/// `w` columns: the cursor (or, following, the newest line) stays in view,
/// the first line stays where it was when possible.
pub fn viewport(
    buf: &LogBuffer,
    cursor: &Cursor,
    height: usize,
    w: usize,
    wrap: bool,
) -> (u64, Option<u64>) {
    if buf.is_empty() {
        return (buf.first(), None);
    }
    let height = height.max(1);
    let last = buf.end() - 1;
    // The earliest start from which `to` still fits.
    let fill_up_to = |to: u64| -> u64 {
        let mut rows = 0;
        let mut start = to;
        let mut n = to;
        loop {
            rows += rows_of(buf.get(n).unwrap_or(""), w, wrap);
            if rows > height && n != to {
                break;
            }
            start = n;
            if rows >= height || n == buf.first() {
                break;
            }
            n -= 1;
        }
        start
    };
    match cursor.line {
        None => (fill_up_to(last), None),
        Some(c) => {
            let c = c.clamp(buf.first(), last);
            let mut start = cursor.top.clamp(buf.first(), c);
            let mut rows = 0;
            for n in start..=c {
                rows += rows_of(buf.get(n).unwrap_or(""), w, wrap);
                if rows > height {
                    start = fill_up_to(c);
                    break;
                }
            }
            (start, Some(c))
        }
    }
}

/// Case-insensitive (ASCII) position of `needle` in `hay`.
pub fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

/// Which lines a jump looks for.
#[derive(Debug, Clone, Copy)]
pub enum Jump {
    /// Lines containing the search text.
    Search,
    /// ERROR / FATAL / PANIC lines.
    Error,
}

/// The logs pane.
#[derive(Debug, Clone)]
pub struct LogsState {
    pub cluster: String,
    /// The instance it was opened on (`None`: the whole cluster).
    pub instance: Option<String>,
    pub kind: LogKind,
    pub window: TimeWindow,
    pub columns: Vec<LogColumn>,
    /// The column keys act on.
    pub focused: usize,
    /// Long lines wrap (else they are cut).
    pub wrap: bool,
    /// csvlog lines as written (else in short).
    pub raw: bool,
    /// The search text (`/`), empty: none.
    pub search: String,
    /// The search being typed.
    pub search_input: Option<String>,
    cancel: CancellationToken,
}

impl LogsState {
    /// The pane for `members` of `cluster` (not streaming yet).
    pub fn new(cluster: &str, instance: Option<&str>, members: Vec<String>) -> Self {
        LogsState {
            cluster: cluster.to_string(),
            instance: instance.map(str::to_string),
            kind: LogKind::Postgres,
            window: TimeWindow::Tail,
            columns: members.into_iter().map(LogColumn::new).collect(),
            focused: 0,
            wrap: false,
            raw: false,
            search: String::new(),
            search_input: None,
            cancel: CancellationToken::new(),
        }
    }

    /// The pane on the selection: every member of a cluster, or one instance.
    pub fn for_selection(deployment: &Deployment, cluster: &str, instance: Option<&str>) -> Self {
        let members = match instance {
            Some(i) => vec![i.to_string()],
            None => deployment
                .cluster(cluster)
                .map(|c| c.instances.iter().map(|i| i.name.clone()).collect())
                .unwrap_or_default(),
        };
        LogsState::new(cluster, instance, members)
    }

    pub fn focused_column(&self) -> Option<&LogColumn> {
        self.columns.get(self.focused)
    }

    /// (Re)starts one follow stream per column with the current log kind
    /// and window; without SSH each column says why nothing comes.
    pub fn start(
        &mut self,
        deployment: &Deployment,
        ssh: Option<&SshPool>,
        notify: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    ) {
        self.cancel.cancel();
        self.cancel = CancellationToken::new();
        let raw = self.raw;
        for col in &mut self.columns {
            col.cursor = Cursor::default();
            let generation = {
                let mut b = col.lock();
                b.raw = raw;
                b.reset()
            };
            let Some(pool) = ssh else {
                col.lock().state =
                    StreamState::Ended("logs cannot be read here: no SSH connection".into());
                continue;
            };
            let Some(inst) = deployment.instance(&col.member) else {
                col.lock().state =
                    StreamState::Ended(format!("{} is not in the inventory", col.member));
                continue;
            };
            let dir = logs::log_dir(inst, self.kind);
            let target = Target::from_instance(inst);
            let stream = logs::follow_window(
                pool.clone(),
                target,
                dir,
                self.window.window(),
                self.cancel.child_token(),
            );
            let buffer = col.buffer.clone();
            let notify = notify.clone();
            tokio::spawn(async move {
                let mut stream = Box::pin(stream);
                while let Some(item) = stream.next().await {
                    {
                        let mut b = buffer.lock().unwrap_or_else(|p| p.into_inner());
                        if b.generation != generation {
                            return;
                        }
                        match item {
                            FollowItem::File(f) => {
                                b.file = Some(f);
                                b.state = StreamState::Following;
                            }
                            FollowItem::Line(l) => b.push(&l),
                            FollowItem::Ended(why) => b.state = StreamState::Ended(why),
                        }
                    }
                    if let Some(tx) = &notify
                        && tx.send(()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    }

    /// Shows csvlog lines as written, or in short.
    pub fn toggle_raw(&mut self) {
        self.raw = !self.raw;
        for col in &self.columns {
            col.lock().raw = self.raw;
        }
    }

    /// Stops every stream (the pane closes).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Focus the next (`+1`) or previous (`-1`) member.
    pub fn focus_step(&mut self, delta: isize) {
        let n = self.columns.len().max(1) as isize;
        self.focused = (self.focused as isize + delta).rem_euclid(n) as usize;
    }

    /// Moves the focused column's cursor by `delta` lines (leaving follow
    /// mode); moving past the newest line follows again.
    pub fn move_cursor(&mut self, delta: i64, height: usize, w: usize) {
        let wrap = self.wrap;
        let Some(col) = self.columns.get_mut(self.focused) else {
            return;
        };
        let buf = col.buffer.lock().unwrap_or_else(|p| p.into_inner());
        if buf.is_empty() {
            return;
        }
        let (start, cur) = viewport(&buf, &col.cursor, height, w, wrap);
        let last = buf.end() - 1;
        let cur = cur.unwrap_or(last);
        let target = (cur as i64 + delta).clamp(buf.first() as i64, last as i64) as u64;
        let cursor = if delta > 0 && target == last {
            Cursor {
                line: None,
                top: start,
            }
        } else {
            let c = Cursor {
                line: Some(target),
                top: start,
            };
            let (top, _) = viewport(&buf, &c, height, w, wrap);
            Cursor {
                line: Some(target),
                top,
            }
        };
        drop(buf);
        col.cursor = cursor;
    }

    /// The cursor on the oldest line kept.
    pub fn to_top(&mut self) {
        if let Some(col) = self.columns.get_mut(self.focused) {
            let first = col.lock().first();
            col.cursor = Cursor {
                line: Some(first),
                top: first,
            };
        }
    }

    /// Follow the newest line of the focused column.
    pub fn follow(&mut self) {
        if let Some(col) = self.columns.get_mut(self.focused) {
            col.cursor.line = None;
        }
    }

    /// Whether the focused column follows the newest line.
    pub fn following(&self) -> bool {
        self.focused_column()
            .is_none_or(|c| c.cursor.line.is_none())
    }

    /// Moves the focused column's cursor to the next (`forward`) or
    /// previous line that matches, wrapping around the scrollback.
    /// Returns `None` when no line matches, else whether it wrapped.
    pub fn jump(&mut self, what: Jump, forward: bool, height: usize, w: usize) -> Option<bool> {
        self.jump_from(what, forward, false, height, w)
    }

    /// [`LogsState::jump`]; with `here`, the cursor line itself counts
    /// (a new search starts where the cursor is).
    pub fn jump_from(
        &mut self,
        what: Jump,
        forward: bool,
        here: bool,
        height: usize,
        w: usize,
    ) -> Option<bool> {
        let wrap = self.wrap;
        let needle = self.search.clone();
        let col = self.columns.get_mut(self.focused)?;
        let buf = col.buffer.lock().unwrap_or_else(|p| p.into_inner());
        if buf.is_empty() {
            return None;
        }
        let matches = |n: u64| match what {
            Jump::Search => find_ci(buf.get(n).unwrap_or(""), &needle).is_some(),
            Jump::Error => buf.is_error(n),
        };
        let (first, end) = (buf.first(), buf.end());
        let (_, cur) = viewport(&buf, &col.cursor, height, w, wrap);
        let cur = cur.unwrap_or(end - 1);
        let n = end - first;
        let found = (u64::from(!here)..=n).find_map(|k| {
            let off = cur - first;
            let i = if forward {
                (off + k) % n
            } else {
                (off + n - k % n) % n
            };
            let line = first + i;
            let wrapped = k > 0 && if forward { line <= cur } else { line >= cur };
            matches(line).then_some((line, wrapped))
        });
        let (line, wrapped) = found?;
        let (start, _) = viewport(&buf, &col.cursor, height, w, wrap);
        let c = Cursor {
            line: Some(line),
            top: start,
        };
        let (top, _) = viewport(&buf, &c, height, w, wrap);
        drop(buf);
        col.cursor = Cursor {
            line: Some(line),
            top,
        };
        Some(wrapped)
    }

    /// The line `y` copies, as written: the focused column's cursor line
    /// (following: the newest).
    pub fn selected_line(&self) -> Option<String> {
        let col = self.focused_column()?;
        let buf = col.lock();
        let n = col
            .cursor
            .line
            .unwrap_or(buf.end().checked_sub(1)?)
            .clamp(buf.first(), buf.end().checked_sub(1)?);
        buf.get_raw(n).map(str::to_string)
    }

    /// Lines of the focused column matching the search, and its error lines.
    pub fn counts(&self) -> (usize, usize) {
        let Some(col) = self.focused_column() else {
            return (0, 0);
        };
        let buf = col.lock();
        let matches = if self.search.is_empty() {
            0
        } else {
            (buf.first()..buf.end())
                .filter(|&n| find_ci(buf.get(n).unwrap_or(""), &self.search).is_some())
                .count()
        };
        (matches, buf.errors())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: usize, cap: usize) -> LogBuffer {
        let mut b = LogBuffer::new(cap);
        for i in 0..n {
            b.push(&format!("line {i}"));
        }
        b
    }

    #[test]
    fn buffer_is_bounded() {
        let b = filled(25, 10);
        assert_eq!(b.len(), 10);
        assert_eq!(b.first(), 15);
        assert_eq!(b.end(), 25);
        assert_eq!(b.get(15), Some("line 15"));
        assert_eq!(b.get(14), None);
        assert_eq!(b.get(24), Some("line 24"));
        assert_eq!(b.get(25), None);
        // Error lines are counted as they come and go.
        let mut b = LogBuffer::new(2);
        b.push("x ERROR: a");
        b.push("y");
        assert_eq!(b.errors(), 1);
        b.push("z FATAL: b");
        assert_eq!(b.errors(), 1);
        b.push("w");
        b.push("v");
        assert_eq!(b.errors(), 0);
    }

    #[test]
    fn viewport_follows_and_keeps_the_cursor_in_view() {
        let b = filled(100, 1000);
        // Following: the last 10 lines.
        assert_eq!(viewport(&b, &Cursor::default(), 10, 40, false), (90, None));
        // A cursor above the top pulls the view up; below it pushes it down.
        let c = Cursor {
            line: Some(50),
            top: 90,
        };
        assert_eq!(viewport(&b, &c, 10, 40, false), (50, Some(50)));
        let c = Cursor {
            line: Some(70),
            top: 50,
        };
        assert_eq!(viewport(&b, &c, 10, 40, false), (61, Some(70)));
        // Inside the view: the view stays.
        let c = Cursor {
            line: Some(55),
            top: 50,
        };
        assert_eq!(viewport(&b, &c, 10, 40, false), (50, Some(55)));
        // Wrapped lines take several rows: "line 99" in 4 columns is 2 rows.
        assert_eq!(viewport(&b, &Cursor::default(), 10, 4, true), (95, None));
    }

    #[test]
    fn cursor_moves_and_follows_again_at_the_end() {
        let mut s = LogsState::new("pg-test", None, vec!["pg-test-1".into()]);
        {
            let mut b = s.columns[0].lock();
            for i in 0..30 {
                b.push(&format!("2026-11-26 07:00:{i:02} +0000 INFO: line {i}"));
            }
        }
        s.move_cursor(-3, 10, 80);
        assert_eq!(s.columns[0].cursor.line, Some(26));
        assert_eq!(
            s.selected_line().unwrap(),
            "2026-11-26 07:00:26 +0000 INFO: line 26"
        );
        s.move_cursor(-20, 10, 80);
        assert_eq!(
            s.columns[0].cursor,
            Cursor {
                line: Some(6),
                top: 6
            }
        );
        s.move_cursor(100, 10, 80);
        assert!(s.following());
        s.to_top();
        assert_eq!(s.columns[0].cursor.line, Some(0));
    }

    #[test]
    fn jumps_to_matches_and_errors_with_wrap_around() {
        let mut s = LogsState::new("pg-test", Some("pg-test-1"), vec!["pg-test-1".into()]);
        {
            let mut b = s.columns[0].lock();
            for l in [
                "2026-11-26 07:00:00 +0000 INFO: Lock owner: pg-test-1",
                "2026-11-26 07:00:01 +0000 ERROR: failed to update leader lock",
                "2026-11-26 07:00:02 +0000 INFO: no action",
                "2026-11-26 07:00:03 +0000 INFO: Lock owner: pg-test-2",
                "2026-11-26 07:00:04 +0000 INFO: no action",
            ] {
                b.push(l);
            }
        }
        // Following (cursor on the newest line): E goes up to the error.
        assert_eq!(s.jump(Jump::Error, false, 10, 80), Some(false));
        assert_eq!(s.columns[0].cursor.line, Some(1));
        // e from there wraps around to the same (only) error.
        assert_eq!(s.jump(Jump::Error, true, 10, 80), Some(true));
        s.search = "LOCK OWNER".into();
        assert_eq!(s.jump(Jump::Search, true, 10, 80), Some(false));
        assert_eq!(s.columns[0].cursor.line, Some(3));
        assert_eq!(s.jump(Jump::Search, true, 10, 80), Some(true));
        assert_eq!(s.columns[0].cursor.line, Some(0));
        assert_eq!(s.jump(Jump::Search, false, 10, 80), Some(true));
        assert_eq!(s.columns[0].cursor.line, Some(3));
        assert_eq!(s.counts(), (2, 1));
        s.search = "nowhere".into();
        assert_eq!(s.jump(Jump::Search, true, 10, 80), None);
    }

    #[test]
    fn windows_cycle() {
        let labels: Vec<String> = TimeWindow::ALL.iter().map(|w| w.label()).collect();
        assert_eq!(labels, ["tail", "5m", "15m", "1h"]);
        assert_eq!(TimeWindow::Minutes(60).next(), TimeWindow::Tail);
        assert_eq!(
            TimeWindow::Minutes(15).window(),
            Window::Since(Duration::from_secs(900))
        );
    }
}
