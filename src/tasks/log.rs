//! The per-task log file `<state>/tasks/<id>.log`: every output chunk is
//! written (one `write` per chunk, no buffering) as it arrives, so nothing
//! is lost if the console dies. Lines carry a UTC time, the host and the
//! stream:
//!
//! ```text
//! 04:50:12.123 ==> step 1/3 checkpoint
//! 04:50:12.125 --> pg-test-1 (as postgres): psql -c checkpoint
//! 04:50:12.301 pg-test-1 out| CHECKPOINT
//! 04:50:12.302 <-- pg-test-1: succeeded, exit 0 in 0.18s
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use time::OffsetDateTime;
use time::macros::format_description;

use super::exec::Stream;

pub(crate) fn clock(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_default()
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

struct Inner {
    file: File,
    /// (host, stream) whose line is not finished yet.
    open_line: Option<(String, Stream)>,
    failed: bool,
}

pub(crate) struct TaskLog {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl TaskLog {
    /// Create the file; fails if it exists.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(TaskLog {
            path: path.to_path_buf(),
            inner: Mutex::new(Inner {
                file,
                open_line: None,
                failed: false,
            }),
        })
    }

    fn write(&self, inner: &mut Inner, buf: &[u8]) {
        if let Err(e) = inner.file.write_all(buf)
            && !inner.failed
        {
            inner.failed = true;
            tracing::error!(file = %self.path.display(), error = %e, "cannot write task log");
        }
    }

    /// A line of the runner's own (step headers, results, notes).
    pub fn line(&self, text: &str) {
        let mut inner = self.inner.lock().unwrap();
        let mut buf = Vec::new();
        if inner.open_line.take().is_some() {
            buf.push(b'\n');
        }
        buf.extend_from_slice(clock(OffsetDateTime::now_utc()).as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        self.write(&mut inner, &buf);
    }

    /// Raw lines (header), no time prefix.
    pub fn raw(&self, text: &str) {
        let mut inner = self.inner.lock().unwrap();
        self.write(&mut inner, text.as_bytes());
    }

    /// An output chunk of `host`.
    pub fn output(&self, host: &str, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut inner = self.inner.lock().unwrap();
        let mut buf = Vec::with_capacity(bytes.len() + 64);
        let key = (host.to_string(), stream);
        if let Some(open) = &inner.open_line
            && *open != key
        {
            buf.push(b'\n');
            inner.open_line = None;
        }
        let mut at_start = inner.open_line.is_none();
        let prefix = format!(
            "{} {host} {}| ",
            clock(OffsetDateTime::now_utc()),
            stream.as_str()
        );
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            if at_start {
                buf.extend_from_slice(prefix.as_bytes());
            }
            buf.extend_from_slice(piece);
            at_start = piece.ends_with(b"\n");
        }
        inner.open_line = if at_start { None } else { Some(key) };
        self.write(&mut inner, &buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_partial_lines_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.log");
        let log = TaskLog::create(&p).unwrap();
        assert!(TaskLog::create(&p).is_err());
        log.output("a", Stream::Stdout, b"one\ntw");
        log.output("a", Stream::Stdout, b"o\n");
        log.output("b", Stream::Stderr, b"partial");
        log.output("a", Stream::Stdout, b"three\n");
        log.line("done");
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| &l[13..]).collect();
        assert_eq!(
            lines,
            vec![
                "a out| one",
                "a out| two",
                "b err| partial",
                "a out| three",
                "done"
            ]
        );
    }
}
