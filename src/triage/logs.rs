//! Logs of an instance over SSH, as the database superuser: the newest file
//! of the PostgreSQL, Patroni or pgbouncer log directory; its last lines, a
//! time window, the error lines, or a follow stream (`tail -F`).
//!
//! Directories come from the inventory: `pg_log_dir` (default
//! `/pg/log/postgres`), `patroni_log_dir` (`/pg/log/patroni`),
//! `pgbouncer_log_dir` (`/pg/log/pgbouncer`). Compressed files (`.gz`,
//! `.bz2`, `.xz`, `.zst`) are ignored. Time windows compare the leading
//! `YYYY-MM-DD HH:MM:SS` of each line with the host's local time (lines
//! without a timestamp follow the line before them).

use std::fmt;
use std::time::Duration;

use futures::Stream;
use tokio_util::sync::CancellationToken;

use crate::model::{Instance, var_str};
use crate::tasks::exec::OutputSink;
use crate::tasks::shell::quote;
use crate::tasks::ssh::{SshPool, Target};
use crate::tasks::{RemoteCommand, Stream as OutStream};

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    Postgres,
    Patroni,
    Pgbouncer,
}

impl LogKind {
    pub const ALL: [LogKind; 3] = [LogKind::Postgres, LogKind::Patroni, LogKind::Pgbouncer];

    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Postgres => "postgres",
            LogKind::Patroni => "patroni",
            LogKind::Pgbouncer => "pgbouncer",
        }
    }

    /// The inventory variable and Pigsty's default.
    pub fn var(self) -> (&'static str, &'static str) {
        match self {
            LogKind::Postgres => ("pg_log_dir", "/pg/log/postgres"),
            LogKind::Patroni => ("patroni_log_dir", "/pg/log/patroni"),
            LogKind::Pgbouncer => ("pgbouncer_log_dir", "/pg/log/pgbouncer"),
        }
    }
}

impl fmt::Display for LogKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The log directory of `kind` on the instance's node.
pub fn log_dir(i: &Instance, kind: LogKind) -> String {
    let (var, default) = kind.var();
    var_str(&i.vars, var)
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last N lines.
    Lines(usize),
    /// Lines of the last duration (at most the last 20,000 lines of the file).
    Since(Duration),
}

/// Lines read from a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLines {
    pub kind: LogKind,
    /// The file read (newest in the directory).
    pub file: String,
    pub lines: Vec<String>,
}

impl LogLines {
    /// The ERROR / FATAL / PANIC lines.
    pub fn errors(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(String::as_str)
            .filter(|l| is_error_line(l))
            .collect()
    }
}

/// Why reading a log failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError(pub String);

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LogError {}

/// A PostgreSQL (`ERROR:`, `FATAL:`, `PANIC:`, csvlog `,"ERROR",`),
/// Patroni (`ERROR:`, `CRITICAL:`) or pgbouncer (`ERROR`, `FATAL`) error line.
pub fn is_error_line(line: &str) -> bool {
    ["ERROR", "FATAL", "PANIC", "CRITICAL"].iter().any(|w| {
        line.match_indices(w).any(|(i, _)| {
            let before = line[..i].chars().next_back();
            let after = line[i + w.len()..].chars().next();
            let word_start = before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            let word_end = after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            // csvlog: `,FATAL,` (unquoted) or `,"FATAL",`.
            let csv = before == Some(',') && after == Some(',');
            word_start && word_end && (csv || matches!(after, Some(':' | '"' | ' ') | None))
        })
    })
}

/// The fields of one CSV record (`"` quotes, `""` escapes); `None` when
/// the record does not end on this line (a quoted newline).
pub fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(cur);
    Some(fields)
}

/// A PostgreSQL csvlog line in the form of the text log, for narrow
/// screens: `TIME [PID] USER@DB SEVERITY:  MESSAGE` with the detail, hint
/// and, for errors, the statement. `None` when the line is not a whole
/// csvlog record.
pub fn csvlog_compact(line: &str) -> Option<String> {
    if !line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let f = csv_fields(line)?;
    if f.len() < 22 {
        return None;
    }
    const SEVERITIES: [&str; 11] = [
        "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "INFO", "NOTICE", "WARNING", "ERROR",
        "LOG", "FATAL",
    ];
    let severity = f[11].as_str();
    if !SEVERITIES.contains(&severity) && severity != "PANIC" {
        return None;
    }
    let mut out = format!("{} [{}]", f[0], f[3]);
    match (f[1].as_str(), f[2].as_str()) {
        ("", "") => {}
        (u, "") => out.push_str(&format!(" {u}")),
        (u, d) => out.push_str(&format!(" {u}@{d}")),
    }
    out.push_str(&format!(" {severity}:  {}", f[13]));
    for (label, v) in [("DETAIL", &f[14]), ("HINT", &f[15])] {
        if !v.is_empty() {
            out.push_str(&format!("  {label}:  {v}"));
        }
    }
    if matches!(severity, "ERROR" | "FATAL" | "PANIC") && !f[19].is_empty() {
        out.push_str(&format!("  STATEMENT:  {}", f[19]));
    }
    Some(out.replace(['\n', '\r', '\t'], " "))
}

const NEWEST: &str = "f=$(ls -1t -- \"$d\" 2>/dev/null | grep -Ev '\\.(gz|bz2|xz|zst)$' | head -n 1); \
    if [ -z \"$f\" ]; then echo \"no log file in $d\" >&2; exit 3; fi; f=\"$d/$f\"; \
    [ -r \"$f\" ] || { echo \"cannot read $f\" >&2; exit 4; }; echo \"#file:$f\"; ";

/// Keeps the lines at or after the cutoff `c` (`YYYY-MM-DD HH:MM:SS`):
/// lines without a leading timestamp follow the line before them.
const WINDOW_AWK: &str = "/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:/ \
    { s = substr($0, 1, 19); sub(\"T\", \" \", s); keep = (s >= c) } keep { print }";

/// The remote script printing `#file:<path>` then the selected lines.
pub fn read_script(dir: &str, window: Window) -> String {
    let head = format!("d={}; {NEWEST}", quote(dir));
    match window {
        Window::Lines(n) => format!("{head}tail -n {n} -- \"$f\""),
        Window::Since(d) => format!(
            "{head}c=$(date -d \"-{} sec\" '+%Y-%m-%d %H:%M:%S'); \
             tail -n 20000 -- \"$f\" | awk -v c=\"$c\" '{WINDOW_AWK}'",
            d.as_secs()
        ),
    }
}

/// Parse the output of [`read_script`].
pub fn parse_read(kind: LogKind, stdout: &str) -> Result<LogLines, LogError> {
    let mut lines = stdout.lines();
    let file = lines
        .next()
        .and_then(|l| l.strip_prefix("#file:"))
        .ok_or_else(|| LogError("unexpected output (no file name)".into()))?
        .to_string();
    Ok(LogLines {
        kind,
        file,
        lines: lines.map(str::to_string).collect(),
    })
}

/// Read a log of the instance over SSH (as the dbsu).
pub async fn read(
    pool: &SshPool,
    target: &Target,
    dir: &str,
    kind: LogKind,
    window: Window,
) -> Result<LogLines, LogError> {
    let cmd = RemoteCommand::dbsu(read_script(dir, window));
    let out = tokio::time::timeout(Duration::from_secs(30), pool.output(target, &cmd))
        .await
        .map_err(|_| {
            LogError(format!(
                "{}: reading {dir} timed out after 30s",
                target.name
            ))
        })?
        .map_err(|e| LogError(e.to_string()))?;
    if !out.status.success() {
        let err = out.stderr_str();
        let err = err.trim();
        return Err(LogError(format!(
            "{}: {} ({})",
            target.name,
            if err.is_empty() {
                "reading the log failed"
            } else {
                err
            },
            out.status
        )));
    }
    parse_read(kind, &out.stdout_str())
}

/// [`read`] for an inventory instance (its directory, its SSH target).
pub async fn read_instance(
    pool: &SshPool,
    target: &Target,
    i: &Instance,
    kind: LogKind,
    window: Window,
) -> Result<LogLines, LogError> {
    read(pool, target, &log_dir(i, kind), kind, window).await
}

/// One item of a follow stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowItem {
    /// The file being followed (first item).
    File(String),
    Line(String),
    /// The remote command ended or failed (last item).
    Ended(String),
}

/// The remote script following the newest file of `dir`: `#file:<path>`,
/// then the lines of `window` (the last N lines, or those of the last
/// duration among the last 20,000), then new lines as they are written.
/// For a time window the file's size is taken first: the window is cut
/// from the bytes up to it and `tail -F` starts right after them, so no
/// line is lost or repeated in between (`awk` only sees a finite input:
/// mawk would hold back a live pipe's lines).
pub fn follow_script(dir: &str, window: Window) -> String {
    let head = format!("d={}; {NEWEST}", quote(dir));
    match window {
        Window::Lines(n) => format!("{head}exec tail -n {n} -F -- \"$f\" 2>&1"),
        Window::Since(d) => format!(
            "{head}b=$(stat -c %s -- \"$f\"); c=$(date -d \"-{} sec\" '+%Y-%m-%d %H:%M:%S'); \
             head -c \"$b\" -- \"$f\" | tail -n 20000 | awk -v c=\"$c\" '{WINDOW_AWK}'; \
             exec tail -c +$((b + 1)) -F -- \"$f\" 2>&1",
            d.as_secs()
        ),
    }
}

/// Follow the newest file of `dir` (`tail -n N -F`) until `cancel` fires
/// (the remote `tail` is killed then) or the connection fails. Lines arrive
/// as they are written.
pub fn follow(
    pool: SshPool,
    target: Target,
    dir: String,
    last: usize,
    cancel: CancellationToken,
) -> impl Stream<Item = FollowItem> + Send + 'static {
    follow_window(pool, target, dir, Window::Lines(last), cancel)
}

/// [`follow`] starting with the lines of `window` ([`follow_script`]).
/// When the remote command fails (no log file, unreadable), the last item
/// says why, with what it wrote on stderr.
pub fn follow_window(
    pool: SshPool,
    target: Target,
    dir: String,
    window: Window,
    cancel: CancellationToken,
) -> impl Stream<Item = FollowItem> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<FollowItem>();
    tokio::spawn(async move {
        let cmd = RemoteCommand::dbsu(follow_script(&dir, window));
        let session = match pool.session(&target).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(FollowItem::Ended(e.to_string()));
                return;
            }
        };
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let (b, e, t) = (buf.clone(), errors.clone(), tx.clone());
        let sink = OutputSink::new(move |s, bytes| {
            if s != OutStream::Stdout {
                let mut e = e.lock().unwrap_or_else(|p| p.into_inner());
                if e.len() < 4096 {
                    e.extend_from_slice(bytes);
                }
                return;
            }
            let mut buf = b.lock().unwrap_or_else(|p| p.into_inner());
            buf.extend_from_slice(bytes);
            while let Some(pos) = buf.iter().position(|c| *c == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                let item = match line.strip_prefix("#file:") {
                    Some(f) => FollowItem::File(f.to_string()),
                    None => FollowItem::Line(line),
                };
                let _ = t.send(item);
            }
        });
        let end = match session.exec(&cmd, &sink, &cancel).await {
            Ok(crate::tasks::ExecOutcome::Cancelled(_)) => "cancelled".to_string(),
            Ok(crate::tasks::ExecOutcome::Exited(s)) => {
                let err = errors.lock().unwrap_or_else(|p| p.into_inner());
                let err = String::from_utf8_lossy(&err);
                let err = err.trim();
                if err.is_empty() {
                    format!("tail ended ({s})")
                } else {
                    format!("{err} ({s})")
                }
            }
            Err(e) => e.to_string(),
        };
        let _ = tx.send(FollowItem::Ended(end));
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        assert!(is_error_line(
            "2026-11-26 05:20:33.016 UTC [123] ERROR:  relation \"x\" does not exist"
        ));
        assert!(is_error_line(
            "2026-11-26 05:20:33,016 ERROR: failed to update leader lock"
        ));
        assert!(is_error_line(
            "2026-11-26 05:20:33.016 UTC,\"u\",\"d\",1,,\"FATAL\",\"57P01\""
        ));
        assert!(is_error_line("... PANIC:  could not write"));
        assert!(is_error_line(
            "2026-11-26 05:59:23.106 UTC,,,10607,,6b07cabb.296f,1,,2026-11-26 05:59:23 UTC,,0,FATAL,08006,\"could not connect\""
        ));
        assert!(!is_error_line(
            "2026-11-26 05:59:23.106 UTC,,,1,,x,1,,t,,0,LOG,00000,\"ERRORS,x\""
        ));
        assert!(!is_error_line(
            "2026-11-26 05:20:33,016 INFO: no action. I am (pg-test-1), the leader"
        ));
        assert!(!is_error_line("LOG:  statement: select 'ERRORS_TABLE'"));
        assert!(!is_error_line("LOG: on_error_stop ERROR_count"));
    }

    #[test]
    fn csvlog_lines_in_short() {
        // Recorded on the sandbox (PostgreSQL 15 csvlog).
        let error = "2026-11-26 07:34:45.645 UTC,\"replicator\",\"\",24868,\"127.0.0.1:34560\",6b07e115.6124,3,\"START_REPLICATION\",2026-11-26 07:34:45 UTC,4/0,0,ERROR,42704,\"replication slot \"\"pg_test_2\"\" does not exist\",,,,,,\"START_REPLICATION SLOT \"\"pg_test_2\"\" 0/3000000 TIMELINE 1\",,,\"pg-test-2\",\"walsender\",,0";
        assert_eq!(
            csvlog_compact(error).unwrap(),
            "2026-11-26 07:34:45.645 UTC [24868] replicator ERROR:  replication slot \"pg_test_2\" does not exist  STATEMENT:  START_REPLICATION SLOT \"pg_test_2\" 0/3000000 TIMELINE 1"
        );
        let log = "2026-11-26 07:34:45.258 UTC,,,24682,,6b07e114.606a,2,,2026-11-26 07:34:44 UTC,,0,LOG,00000,\"checkpoint complete: wrote 1004 buffers (24.5%)\",,,,,,,,,\"\",\"checkpointer\",,0";
        assert_eq!(
            csvlog_compact(log).unwrap(),
            "2026-11-26 07:34:45.258 UTC [24682] LOG:  checkpoint complete: wrote 1004 buffers (24.5%)"
        );
        // Not csvlog, or a record cut by a quoted newline.
        assert_eq!(
            csvlog_compact("2026-11-26 07:36:53 +0000 INFO: no action."),
            None
        );
        assert_eq!(
            csvlog_compact("2026-11-26 07:34:45.258 UTC,,,1,,x,1,,t,,0,LOG,00000,\"multi"),
            None
        );
        assert_eq!(
            csv_fields("a,\"b,c\",\"d\"\"e\"").unwrap(),
            ["a", "b,c", "d\"e"]
        );
    }

    #[test]
    fn follow_scripts() {
        let s = follow_script("/pg/log/patroni", Window::Lines(200));
        assert!(s.starts_with("d=/pg/log/patroni; "), "{s}");
        assert!(s.ends_with("exec tail -n 200 -F -- \"$f\" 2>&1"), "{s}");
        let s = follow_script("/pg/log/my logs", Window::Since(Duration::from_secs(300)));
        assert!(s.starts_with("d='/pg/log/my logs'; "), "{s}");
        assert!(s.contains("date -d \"-300 sec\""), "{s}");
        assert!(s.contains("head -c \"$b\""), "{s}");
        assert!(s.contains("keep { print }"), "{s}");
        assert!(
            s.ends_with("exec tail -c +$((b + 1)) -F -- \"$f\" 2>&1"),
            "{s}"
        );
    }

    #[test]
    fn parse_output() {
        let l = parse_read(
            LogKind::Patroni,
            "#file:/pg/log/patroni/patroni.log\na\nb\n",
        )
        .unwrap();
        assert_eq!(l.file, "/pg/log/patroni/patroni.log");
        assert_eq!(l.lines, vec!["a", "b"]);
        assert!(parse_read(LogKind::Patroni, "oops").is_err());
    }
}
