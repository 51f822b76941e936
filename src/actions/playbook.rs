//! Progress of an Ansible playbook run, like ansible-navigator shows it:
//! plays → tasks → per-host results (ok, changed, failed, unreachable,
//! skipped) with counts and durations, and the failing task's message.
//!
//! Provisioning actions run Pigsty's playbooks on the admin node with
//! pigsty-tui's stdout callback (`assets/ansible/pigsty_tui.py`, uploaded
//! before the run: [`CALLBACK_PLUGIN`]). It prints Ansible's default output
//! and, per event, one line `@@pigsty-tui@@ {json}` ([`EVENT_MARKER`]).
//! [`PlaybookProgress`] is fed those lines — live from a task's log file as
//! it grows ([`LogFollower`]), or later from a saved log (the run artifact,
//! `<state>/tasks/<id>.log`) — and the other lines stay the raw output.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The prefix of the callback's event lines.
pub const EVENT_MARKER: &str = "@@pigsty-tui@@ ";

/// The stdout callback plugin (Python) uploaded to the admin node.
pub const CALLBACK_PLUGIN: &str = include_str!("../../assets/ansible/pigsty_tui.py");

/// Its name (`ANSIBLE_STDOUT_CALLBACK`).
pub const CALLBACK_NAME: &str = "pigsty_tui";

/// Whether a line of output is an event line of the callback.
pub fn is_event_line(line: &str) -> bool {
    line.starts_with(EVENT_MARKER)
}

/// Outcome of one task on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    Skipped,
    Ok,
    Changed,
    Failed,
    Unreachable,
}

impl ResultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Ok => "ok",
            ResultStatus::Changed => "changed",
            ResultStatus::Skipped => "skipped",
            ResultStatus::Failed => "failed",
            ResultStatus::Unreachable => "unreachable",
        }
    }
}

/// One host's result of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostResult {
    pub host: String,
    pub status: ResultStatus,
    /// Seconds the task took on this host.
    pub duration: Option<f64>,
    /// Ansible's `msg` (failed, unreachable), or the skip reason.
    pub msg: Option<String>,
    /// Last lines of the module's stderr / stdout (failed tasks).
    pub stderr: Option<String>,
    pub stdout: Option<String>,
    pub rc: Option<i64>,
    /// A failure the playbook ignores (`ignore_errors`).
    pub ignored: bool,
    pub delegated_to: Option<String>,
}

impl HostResult {
    /// A failure that stops the host (not ignored).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.status,
            ResultStatus::Failed | ResultStatus::Unreachable
        ) && !self.ignored
    }

    /// The message in one piece: `msg`, then stderr (or stdout) below it.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.msg.as_deref().filter(|m| !m.trim().is_empty()) {
            parts.push(m.trim().to_string());
        }
        if let Some(e) = self.stderr.as_deref().filter(|m| !m.trim().is_empty()) {
            parts.push(e.trim().to_string());
        } else if let Some(o) = self.stdout.as_deref().filter(|m| !m.trim().is_empty())
            && self.status == ResultStatus::Failed
        {
            parts.push(o.trim().to_string());
        }
        if let Some(rc) = self.rc
            && rc != 0
        {
            parts.push(format!("rc={rc}"));
        }
        parts.join("\n")
    }
}

/// One task of a play.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskProgress {
    pub name: String,
    pub action: Option<String>,
    pub handler: bool,
    /// Unix time it started.
    pub started: f64,
    /// Unix time of its last result.
    pub last_result: Option<f64>,
    pub results: Vec<HostResult>,
}

impl TaskProgress {
    /// The worst status of its results (`None`: no result yet).
    pub fn worst(&self) -> Option<ResultStatus> {
        self.results
            .iter()
            .map(|r| {
                if r.ignored {
                    ResultStatus::Ok
                } else {
                    r.status
                }
            })
            .max()
    }

    /// Seconds from its start to its last result.
    pub fn duration(&self) -> Option<f64> {
        self.last_result.map(|t| (t - self.started).max(0.0))
    }
}

/// One play of the playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlayProgress {
    pub name: String,
    pub hosts: Vec<String>,
    pub started: f64,
    pub tasks: Vec<TaskProgress>,
}

/// Counts of one host (Ansible's recap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCounts {
    #[serde(default)]
    pub ok: u64,
    #[serde(default)]
    pub changed: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub unreachable: u64,
    #[serde(default)]
    pub skipped: u64,
    #[serde(default)]
    pub rescued: u64,
    #[serde(default)]
    pub ignored: u64,
}

/// The event lines of the callback.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    PlaybookStart {
        playbook: Option<String>,
        ts: f64,
    },
    PlayStart {
        name: Option<String>,
        #[serde(default)]
        hosts: Vec<String>,
        ts: f64,
    },
    NoHostsMatched {
        #[allow(dead_code)]
        ts: f64,
    },
    TaskStart {
        name: Option<String>,
        action: Option<String>,
        #[serde(default)]
        handler: bool,
        ts: f64,
    },
    Result {
        host: String,
        task: Option<String>,
        status: ResultStatus,
        duration: Option<f64>,
        msg: Option<String>,
        stderr: Option<String>,
        stdout: Option<String>,
        rc: Option<serde_json::Value>,
        #[serde(default)]
        ignore_errors: bool,
        delegated_to: Option<String>,
        ts: f64,
    },
    Stats {
        hosts: BTreeMap<String, HostCounts>,
        ts: f64,
    },
}

/// Where a playbook run stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlaybookProgress {
    /// The playbook file (`pgsql.yml`).
    pub playbook: Option<String>,
    pub started: Option<f64>,
    pub plays: Vec<PlayProgress>,
    /// Ansible's recap, once the playbook ended.
    pub stats: Option<BTreeMap<String, HostCounts>>,
    /// A play matched no host (`-l` names a host not in the inventory).
    pub no_hosts_matched: bool,
    /// `ERROR! …` lines of ansible-playbook itself (bad limit, syntax, …)
    /// and its `[WARNING]`s about host patterns.
    pub errors: Vec<String>,
    /// Event lines that could not be read (kept for the raw view).
    pub unreadable: usize,
    /// Unix time of the newest event.
    pub last_event: Option<f64>,
}

impl PlaybookProgress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one line of the playbook's output (either stream). Returns
    /// whether it was an event line (not part of the raw output).
    pub fn feed_line(&mut self, line: &str) -> bool {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(json) = line.strip_prefix(EVENT_MARKER) {
            match serde_json::from_str::<Event>(json) {
                Ok(ev) => self.apply(ev),
                Err(_) => self.unreadable += 1,
            }
            return true;
        }
        let t = line.trim_start();
        if t.starts_with("ERROR!")
            || (t.starts_with("[WARNING]: Could not match supplied host pattern"))
            || t.starts_with("[ERROR]")
        {
            self.errors.push(t.to_string());
        }
        false
    }

    fn apply(&mut self, ev: Event) {
        match ev {
            Event::PlaybookStart { playbook, ts } => {
                // The next playbook of a sequence (the wizard's install runs
                // several in one task): its progress starts afresh.
                if self.playbook.is_some() || !self.plays.is_empty() {
                    self.plays.clear();
                    self.stats = None;
                    self.no_hosts_matched = false;
                    self.started = None;
                }
                self.playbook = playbook;
                self.started.get_or_insert(ts);
                self.last_event = Some(ts);
            }
            Event::PlayStart { name, hosts, ts } => {
                self.started.get_or_insert(ts);
                self.plays.push(PlayProgress {
                    name: name.unwrap_or_default(),
                    hosts,
                    started: ts,
                    tasks: Vec::new(),
                });
                self.last_event = Some(ts);
            }
            Event::NoHostsMatched { .. } => self.no_hosts_matched = true,
            Event::TaskStart {
                name,
                action,
                handler,
                ts,
            } => {
                let play = self.current_play_mut(ts);
                play.tasks.push(TaskProgress {
                    name: name.unwrap_or_default(),
                    action,
                    handler,
                    started: ts,
                    last_result: None,
                    results: Vec::new(),
                });
                self.last_event = Some(ts);
            }
            Event::Result {
                host,
                task,
                status,
                duration,
                msg,
                stderr,
                stdout,
                rc,
                ignore_errors,
                delegated_to,
                ts,
            } => {
                let play = self.current_play_mut(ts);
                if play.tasks.is_empty() {
                    play.tasks.push(TaskProgress {
                        name: task.unwrap_or_default(),
                        action: None,
                        handler: false,
                        started: ts,
                        last_result: None,
                        results: Vec::new(),
                    });
                }
                let t = play.tasks.last_mut().expect("a task was just ensured");
                t.last_result = Some(ts);
                t.results.push(HostResult {
                    host,
                    status,
                    duration,
                    msg,
                    stderr,
                    stdout,
                    rc: rc.and_then(|v| v.as_i64()),
                    ignored: ignore_errors,
                    delegated_to,
                });
                self.last_event = Some(ts);
            }
            Event::Stats { hosts, ts } => {
                self.stats = Some(hosts);
                self.last_event = Some(ts);
            }
        }
    }

    fn current_play_mut(&mut self, ts: f64) -> &mut PlayProgress {
        if self.plays.is_empty() {
            self.plays.push(PlayProgress {
                name: String::new(),
                hosts: Vec::new(),
                started: ts,
                tasks: Vec::new(),
            });
        }
        self.plays.last_mut().expect("a play was just ensured")
    }

    /// Whether the playbook reached its recap.
    pub fn finished(&self) -> bool {
        self.stats.is_some()
    }

    /// Counts per host: Ansible's recap when there is one, else counted
    /// from the results so far.
    pub fn counts(&self) -> BTreeMap<String, HostCounts> {
        if let Some(s) = &self.stats {
            return s.clone();
        }
        let mut out: BTreeMap<String, HostCounts> = BTreeMap::new();
        for r in self.results() {
            let c = out.entry(r.host.clone()).or_default();
            match r.status {
                ResultStatus::Ok => c.ok += 1,
                ResultStatus::Changed => {
                    c.ok += 1;
                    c.changed += 1
                }
                ResultStatus::Skipped => c.skipped += 1,
                ResultStatus::Failed if r.ignored => {
                    c.ok += 1;
                    c.ignored += 1
                }
                ResultStatus::Failed => c.failed += 1,
                ResultStatus::Unreachable => c.unreachable += 1,
            }
        }
        out
    }

    /// The sum over every host.
    pub fn totals(&self) -> HostCounts {
        let mut t = HostCounts::default();
        for c in self.counts().values() {
            // Saturating: the counts come from the remote callback's JSON.
            t.ok = t.ok.saturating_add(c.ok);
            t.changed = t.changed.saturating_add(c.changed);
            t.failed = t.failed.saturating_add(c.failed);
            t.unreachable = t.unreachable.saturating_add(c.unreachable);
            t.skipped = t.skipped.saturating_add(c.skipped);
            t.rescued = t.rescued.saturating_add(c.rescued);
            t.ignored = t.ignored.saturating_add(c.ignored);
        }
        t
    }

    fn results(&self) -> impl Iterator<Item = &HostResult> {
        self.plays
            .iter()
            .flat_map(|p| p.tasks.iter())
            .flat_map(|t| t.results.iter())
    }

    /// Number of tasks started so far.
    pub fn task_count(&self) -> usize {
        self.plays.iter().map(|p| p.tasks.len()).sum()
    }

    /// The task running now (the last one started, before the recap).
    pub fn current_task(&self) -> Option<(&PlayProgress, &TaskProgress)> {
        if self.finished() {
            return None;
        }
        let p = self.plays.last()?;
        Some((p, p.tasks.last()?))
    }

    /// Failures that were not ignored: (play, task, result).
    pub fn failures(&self) -> Vec<(&PlayProgress, &TaskProgress, &HostResult)> {
        let mut out = Vec::new();
        for p in &self.plays {
            for t in &p.tasks {
                for r in &t.results {
                    if r.is_fatal() {
                        out.push((p, t, r));
                    }
                }
            }
        }
        out
    }

    /// What went wrong, in words (first failure, or ansible's own error):
    /// `None` while nothing failed.
    pub fn failure_summary(&self) -> Option<String> {
        if let Some((_, t, r)) = self.failures().first() {
            let msg = r.message();
            let first = msg.lines().next().unwrap_or("");
            return Some(format!(
                "{} failed on {}: {}",
                t.name,
                r.host,
                if first.is_empty() {
                    "(no message)"
                } else {
                    first
                }
            ));
        }
        if let Some(e) = self.errors.iter().find(|e| e.starts_with("ERROR!")) {
            return Some(e.clone());
        }
        if self.no_hosts_matched {
            return Some("no host of the inventory matched the play (check -l)".into());
        }
        None
    }

    /// The progress as text: the tree of plays and tasks with per-host
    /// results, the failures with their messages, and the recap.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.playbook {
            let _ = writeln!(out, "playbook {p}");
        }
        for play in &self.plays {
            let _ = writeln!(out, "PLAY {} [{}]", play.name, play.hosts.join(", "));
            for t in &play.tasks {
                let status = t.worst().map(|s| s.as_str()).unwrap_or("running");
                let dur = t
                    .duration()
                    .map(|d| format!(" {d:.1}s"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<11} {}{}{}",
                    status,
                    t.name,
                    if t.handler { " (handler)" } else { "" },
                    dur
                );
                for r in &t.results {
                    let _ = writeln!(
                        out,
                        "      {:<11} {}{}",
                        if r.ignored {
                            "ignored"
                        } else {
                            r.status.as_str()
                        },
                        r.host,
                        r.duration.map(|d| format!(" {d:.1}s")).unwrap_or_default()
                    );
                    if r.is_fatal() {
                        for l in r.message().lines() {
                            let _ = writeln!(out, "          {l}");
                        }
                    }
                }
            }
        }
        for e in &self.errors {
            let _ = writeln!(out, "{e}");
        }
        let counts = self.counts();
        if !counts.is_empty() {
            let _ = writeln!(out, "{}", if self.finished() { "RECAP" } else { "SO FAR" });
            for (h, c) in &counts {
                let _ = writeln!(
                    out,
                    "  {h:<20} ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}",
                    c.ok, c.changed, c.unreachable, c.failed, c.skipped, c.rescued, c.ignored
                );
            }
        }
        out
    }
}

/// Splits a task log line (`HH:MM:SS.mmm host out| text`) into the host,
/// the stream (`out`/`err`) and the text. Runner lines give `None`.
pub fn split_task_log_line(line: &str) -> Option<(&str, &str, &str)> {
    let (_, rest) = line.split_once(' ')?;
    for stream in ["out", "err"] {
        let sep = format!(" {stream}| ");
        if let Some(i) = rest.find(&sep) {
            let host = &rest[..i];
            if host.is_empty() || host.contains(' ') {
                return None;
            }
            return Some((host, stream, &rest[i + sep.len()..]));
        }
    }
    None
}

/// Follows a task log file as it grows (or reads a finished one) and keeps
/// the playbook's progress and its raw output (event lines removed).
#[derive(Debug, Clone)]
pub struct LogFollower {
    path: PathBuf,
    offset: u64,
    partial: String,
    /// Only output of this host counts (the admin node); `None`: any host.
    host: Option<String>,
    pub progress: PlaybookProgress,
    /// The raw output lines (the default callback's text), bounded.
    pub raw: std::collections::VecDeque<String>,
    /// Raw lines dropped off the front of `raw` (the log file keeps them).
    pub raw_dropped: usize,
    pub error: Option<String>,
}

/// Raw lines kept in memory per followed run.
pub const RAW_LINES: usize = 20_000;

impl LogFollower {
    pub fn new(path: impl Into<PathBuf>, host: Option<String>) -> Self {
        LogFollower {
            path: path.into(),
            offset: 0,
            partial: String::new(),
            host,
            progress: PlaybookProgress::new(),
            raw: Default::default(),
            raw_dropped: 0,
            error: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read what was appended since the last call. Returns whether anything
    /// new was read.
    pub fn poll(&mut self) -> bool {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                self.error = Some(format!("{}: {e}", self.path.display()));
                return false;
            }
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // truncated or replaced: start over
            *self = LogFollower::new(self.path.clone(), self.host.clone());
        }
        if len == self.offset {
            return false;
        }
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return false;
        }
        let mut buf = Vec::new();
        if let Err(e) = f.take(len - self.offset).read_to_end(&mut buf) {
            self.error = Some(format!("{}: {e}", self.path.display()));
            return false;
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut text = std::mem::take(&mut self.partial);
        if !text.ends_with('\n') {
            match text.rfind('\n') {
                Some(i) => {
                    self.partial = text[i + 1..].to_string();
                    text.truncate(i + 1);
                }
                None => {
                    self.partial = text;
                    return false;
                }
            }
        }
        for line in text.lines() {
            self.feed_log_line(line);
        }
        true
    }

    fn feed_log_line(&mut self, line: &str) {
        let Some((host, _stream, text)) = split_task_log_line(line) else {
            return;
        };
        if self.host.as_deref().is_some_and(|h| h != host) {
            return;
        }
        if !self.progress.feed_line(text) {
            if self.raw.len() >= RAW_LINES {
                self.raw.pop_front();
                self.raw_dropped += 1;
            }
            self.raw.push_back(text.to_string());
        }
    }

    /// Read a whole saved log (the run artifact).
    pub fn read_all(path: impl Into<PathBuf>, host: Option<String>) -> Result<Self, String> {
        let mut f = LogFollower::new(path, host);
        f.poll();
        if !f.partial.is_empty() {
            let last = std::mem::take(&mut f.partial);
            f.feed_log_line(&last);
        }
        match f.error.take() {
            Some(e) => Err(e),
            None => Ok(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from ansible-core 2.14 with this callback (see the module
    /// docs): ok, skipped, ignored failure, fatal failure, recap.
    const RUN: &str = r#"@@pigsty-tui@@ {"event": "playbook_start", "playbook": "pb.yml", "ts": 1795678547.712}

PLAY [demo play] ***************************************************************
@@pigsty-tui@@ {"event": "play_start", "hosts": ["localhost"], "name": "demo play", "ts": 1795678547.713}

TASK [say hi] ******************************************************************
@@pigsty-tui@@ {"action": "command", "event": "task_start", "handler": false, "name": "say hi", "ts": 1795678547.737, "uuid": "02fc0000-0001-d29c-b49b-000000000004"}
changed: [localhost]
@@pigsty-tui@@ {"duration": 0.833, "event": "result", "host": "localhost", "status": "changed", "task": "say hi", "ts": 1795678548.57, "uuid": "02fc0000-0001-d29c-b49b-000000000004"}

TASK [skip me] *****************************************************************
@@pigsty-tui@@ {"action": "debug", "event": "task_start", "handler": false, "name": "skip me", "ts": 1795678548.572, "uuid": "02fc0000-0001-d29c-b49b-000000000005"}
skipping: [localhost]
@@pigsty-tui@@ {"duration": 0.034, "event": "result", "host": "localhost", "msg": null, "status": "skipped", "task": "skip me", "ts": 1795678548.605, "uuid": "02fc0000-0001-d29c-b49b-000000000005"}

TASK [fail softly] *************************************************************
@@pigsty-tui@@ {"action": "command", "event": "task_start", "handler": false, "name": "fail softly", "ts": 1795678548.608, "uuid": "02fc0000-0001-d29c-b49b-000000000006"}
fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["false"], "msg": "non-zero return code", "rc": 1}
...ignoring
@@pigsty-tui@@ {"duration": 0.314, "event": "result", "host": "localhost", "ignore_errors": true, "msg": "non-zero return code", "rc": 1, "status": "failed", "stderr": null, "stdout": null, "task": "fail softly", "ts": 1795678548.925, "uuid": "02fc0000-0001-d29c-b49b-000000000006"}

TASK [boom] ********************************************************************
@@pigsty-tui@@ {"action": "fail", "event": "task_start", "handler": false, "name": "boom", "ts": 1795678548.935, "uuid": "02fc0000-0001-d29c-b49b-000000000007"}
fatal: [localhost]: FAILED! => {"changed": false, "msg": "the failing task's message"}
@@pigsty-tui@@ {"duration": 0.025, "event": "result", "host": "localhost", "ignore_errors": false, "msg": "the failing task's message", "rc": null, "status": "failed", "stderr": null, "stdout": null, "task": "boom", "ts": 1795678548.961, "uuid": "02fc0000-0001-d29c-b49b-000000000007"}

PLAY RECAP *********************************************************************
localhost                  : ok=2    changed=2    unreachable=0    failed=1    skipped=1    rescued=0    ignored=1

@@pigsty-tui@@ {"event": "stats", "hosts": {"localhost": {"changed": 2, "failed": 1, "ignored": 1, "ok": 2, "rescued": 0, "skipped": 1, "unreachable": 0}}, "ts": 1795678548.964}
"#;

    /// Two playbooks in one output (the wizard's install): the second
    /// starts with a clean slate, not under the first one's recap.
    #[test]
    fn the_next_playbook_of_a_sequence_starts_afresh() {
        let mut p = PlaybookProgress::new();
        for l in RUN.lines() {
            p.feed_line(l);
        }
        assert!(p.stats.is_some() && p.plays.len() == 1);
        let second = RUN
            .replace("pb.yml", "next.yml")
            .replace("demo play", "next play");
        let mut lines = second.lines();
        for l in lines.by_ref().take(4) {
            p.feed_line(l);
        }
        assert_eq!(p.playbook.as_deref(), Some("next.yml"));
        assert!(p.stats.is_none(), "the first playbook's recap is gone");
        assert_eq!(p.plays.len(), 1);
        assert_eq!(p.plays[0].name, "next play");
        assert_eq!(p.totals().ok + p.totals().changed, 0);
    }

    fn progress_of(text: &str) -> (PlaybookProgress, Vec<String>) {
        let mut p = PlaybookProgress::new();
        let mut raw = Vec::new();
        for l in text.lines() {
            if !p.feed_line(l) {
                raw.push(l.to_string());
            }
        }
        (p, raw)
    }

    #[test]
    fn plays_tasks_results_and_recap() {
        let (p, raw) = progress_of(RUN);
        assert_eq!(p.playbook.as_deref(), Some("pb.yml"));
        assert_eq!(p.plays.len(), 1);
        let play = &p.plays[0];
        assert_eq!(play.name, "demo play");
        assert_eq!(play.hosts, vec!["localhost"]);
        let names: Vec<&str> = play.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["say hi", "skip me", "fail softly", "boom"]);
        assert_eq!(play.tasks[0].worst(), Some(ResultStatus::Changed));
        assert_eq!(play.tasks[1].worst(), Some(ResultStatus::Skipped));
        // an ignored failure does not make the task red
        assert_eq!(play.tasks[2].worst(), Some(ResultStatus::Ok));
        assert_eq!(play.tasks[3].worst(), Some(ResultStatus::Failed));
        assert!(p.finished());
        let c = p.counts()["localhost"];
        assert_eq!(
            (c.ok, c.changed, c.failed, c.skipped, c.ignored),
            (2, 2, 1, 1, 1)
        );
        // the failing task is named with its host and message
        assert_eq!(
            p.failure_summary().as_deref(),
            Some("boom failed on localhost: the failing task's message")
        );
        assert_eq!(p.failures().len(), 1);
        // raw output keeps the default callback's text, not the events
        assert!(raw.iter().any(|l| l.starts_with("TASK [boom]")));
        assert!(raw.iter().all(|l| !is_event_line(l)));
        assert!(p.to_text().contains("the failing task's message"));
    }

    #[test]
    fn counts_before_the_recap_come_from_results() {
        let cut = RUN.find("PLAY RECAP").unwrap();
        let (p, _) = progress_of(&RUN[..cut]);
        assert!(!p.finished());
        let c = p.counts()["localhost"];
        assert_eq!(
            (c.ok, c.changed, c.failed, c.skipped, c.ignored),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(p.current_task().map(|(_, t)| t.name.as_str()), Some("boom"));
    }

    #[test]
    fn ansible_errors_without_events_are_kept() {
        let (p, _) = progress_of(
            "[WARNING]: Could not match supplied host pattern, ignoring: 127.0.0.99\n\
             ERROR! Specified inventory, host pattern and/or --limit leaves us with no hosts to target.\n",
        );
        assert_eq!(p.errors.len(), 2);
        assert!(p.failure_summary().unwrap().starts_with("ERROR! Specified"));
    }

    #[test]
    fn broken_event_lines_are_counted_not_fatal() {
        let (p, raw) = progress_of(
            "@@pigsty-tui@@ {\"event\": \"result\", \"host\"\n@@pigsty-tui@@ not json\n",
        );
        assert_eq!(p.unreadable, 2);
        assert!(raw.is_empty());
        assert!(p.plays.is_empty());
    }

    #[test]
    fn task_log_lines_split() {
        assert_eq!(
            split_task_log_line("04:50:12.301 meta out| TASK [x] ***"),
            Some(("meta", "out", "TASK [x] ***"))
        );
        assert_eq!(
            split_task_log_line("04:50:12.301 meta err| ERROR! boom"),
            Some(("meta", "err", "ERROR! boom"))
        );
        assert_eq!(split_task_log_line("04:50:12.302 ==> step 1/3 x"), None);
        assert_eq!(
            split_task_log_line("04:50:12.302 <-- meta: succeeded"),
            None
        );
    }

    #[test]
    fn follower_reads_a_growing_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let mut log = String::from("04:50:12.302 ==> step 2/2 playbook\n");
        for l in RUN.lines().take(8) {
            log.push_str(&format!("04:50:12.400 meta out| {l}\n"));
        }
        std::fs::write(&path, &log).unwrap();
        let mut f = LogFollower::new(&path, Some("meta".into()));
        assert!(f.poll());
        assert_eq!(f.progress.task_count(), 1);
        assert!(!f.poll());
        // an unfinished line waits for its end
        let mut more = String::new();
        for l in RUN.lines().skip(8) {
            more.push_str(&format!("04:50:13.000 meta out| {l}\n"));
        }
        let (a, b) = more.split_at(more.len() / 2);
        use std::io::Write as _;
        let mut fh = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        fh.write_all(a.as_bytes()).unwrap();
        f.poll();
        fh.write_all(b.as_bytes()).unwrap();
        f.poll();
        assert!(f.progress.finished());
        assert_eq!(f.progress.task_count(), 4);
        assert!(f.raw.iter().any(|l| l.contains("PLAY RECAP")));
        let again = LogFollower::read_all(&path, None).unwrap();
        assert_eq!(again.progress, f.progress);
        assert!(LogFollower::read_all(dir.path().join("missing.log"), None).is_err());
    }
}
