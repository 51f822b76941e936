//! Running pipelines as tasks.
//!
//! [`TaskRunner::start`] spawns a [`Pipeline`] on the tokio runtime and
//! returns a [`TaskHandle`] (id, cancel, shared [`TaskState`], change
//! notifications) and a receiver of [`TaskEvent`]s (lossless, in order).
//!
//! Each task writes `<state>/tasks/<id>.log` as output arrives and appends a
//! `start` and a `finish` record to `<state>/audit.jsonl`. The [`TaskState`]
//! keeps the steps table and the last [`DEFAULT_SCROLLBACK`] lines of output
//! per host (the log file keeps everything).
//!
//! ```no_run
//! # async fn demo(pool: pigsty_tui::tasks::SshPool, state_dir: std::path::PathBuf) {
//! use pigsty_tui::tasks::{Pipeline, RemoteCommand, Step, Target, TaskEvent, TaskRunner};
//! let runner = TaskRunner::ssh(pool, state_dir);
//! let p = Pipeline::new("inspect", "pg-test")
//!     .step(Step::command("whoami", Target::new("10.10.10.11"), RemoteCommand::dbsu("whoami")));
//! let (task, mut events) = runner.start(p).unwrap();
//! while let Some(ev) = events.recv().await {
//!     if let TaskEvent::Finished { status, .. } = ev {
//!         println!("{}: {status}", task.id());
//!     }
//! }
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use futures::StreamExt;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::audit::{AuditCommand, AuditHost, AuditLog, AuditRecord, AuditStep};
use super::exec::{
    CancelReport, ExecOutcome, Executor, ExitStatus, LocalExecutor, OutputSink, SshExecutor, Stream,
};
use super::log::{TaskLog, rfc3339};
use super::pipeline::{DEFAULT_WAIT_TIMEOUT, Pipeline, RunContext, Step, StepKind};
use super::shell::RemoteCommand;
use super::ssh::{SshPool, Target};

/// Lines of output kept per host in [`TaskState`].
pub const DEFAULT_SCROLLBACK: usize = 10_000;

/// The pseudo-host of lines written by the runner itself and by wait
/// conditions ([`RunContext::note`]).
pub const LOCAL_HOST: &str = "local";

/// Overall state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        self != TaskStatus::Running
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of a step, or of one host within a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// Not run: an earlier step failed, the task was cancelled, or a
    /// fail-fast fan-out stopped.
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::TimedOut => "timed out",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped => "skipped",
        }
    }

    /// Failed or timed out.
    pub fn is_failure(self) -> bool {
        matches!(self, StepStatus::Failed | StepStatus::TimedOut)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress of a task, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    /// A step (`host: None`) or one host of it started.
    StepStarted { step: usize, host: Option<String> },
    /// Output of a host (or of [`LOCAL_HOST`]).
    Output {
        step: usize,
        host: String,
        stream: Stream,
        bytes: Vec<u8>,
    },
    /// A host of a step (`host: Some`) or the step as a whole finished.
    StepFinished {
        step: usize,
        host: Option<String>,
        status: StepStatus,
        exit: Option<ExitStatus>,
        duration: Duration,
        /// Error, timeout or cancel details.
        message: Option<String>,
    },
    /// The task finished (always the last event).
    Finished {
        status: TaskStatus,
        duration: Duration,
    },
}

/// The kind of a step, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKindTag {
    Command,
    FanOut,
    /// Hosts chosen when the step starts.
    Deferred,
    Wait,
}

/// One host within a step.
#[derive(Debug, Clone, PartialEq)]
pub struct HostState {
    pub host: String,
    /// The user the command runs as.
    pub user: String,
    /// Display form of the command.
    pub command: String,
    pub status: StepStatus,
    pub exit: Option<ExitStatus>,
    /// Why it failed to run, or what cancelling did.
    pub message: Option<String>,
    pub started: Option<OffsetDateTime>,
    pub duration: Option<Duration>,
    /// Its whole stdout, when the step captures it
    /// ([`Step::capture_stdout`]); set when the host's command ends.
    pub stdout: Option<CapturedStdout>,
}

/// A host's stdout of one step, kept whole up to a limit (unlike the
/// display [`Scrollback`], which keeps the last lines of every step).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedStdout {
    pub bytes: Vec<u8>,
    /// Bytes that came past the limit and were not kept (the task log has
    /// them).
    pub cut: u64,
}

impl CapturedStdout {
    fn push(&mut self, chunk: &[u8], limit: usize) {
        let room = limit.saturating_sub(self.bytes.len()).min(chunk.len());
        self.bytes.extend_from_slice(&chunk[..room]);
        self.cut += (chunk.len() - room) as u64;
    }

    /// Whether nothing was cut.
    pub fn complete(&self) -> bool {
        self.cut == 0
    }

    /// The text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// One step in the steps table.
#[derive(Debug, Clone, PartialEq)]
pub struct StepState {
    pub name: String,
    pub kind: StepKindTag,
    pub status: StepStatus,
    pub allow_failure: bool,
    pub started: Option<OffsetDateTime>,
    pub duration: Option<Duration>,
    pub hosts: Vec<HostState>,
    pub message: Option<String>,
}

/// A line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub step: usize,
    pub stream: Stream,
    pub text: String,
}

/// Longest line a [`Scrollback`] keeps whole: output without newlines
/// (one 1 GB line, binary data) is cut into lines of at most this many bytes.
pub const MAX_LINE_BYTES: usize = 16 << 10;

/// Most text a [`Scrollback`] holds; older lines go first (the task log
/// keeps everything).
pub const MAX_SCROLLBACK_BYTES: usize = 8 << 20;

/// The last lines of output of one host (bounded ring: at most `cap` lines
/// and [`MAX_SCROLLBACK_BYTES`] of text, lines of at most [`MAX_LINE_BYTES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrollback {
    lines: VecDeque<OutputLine>,
    cap: usize,
    /// Text bytes in `lines`.
    bytes: usize,
    /// Unfinished last line per (step, stream).
    partial: Vec<((usize, Stream), Vec<u8>)>,
    dropped: u64,
}

impl Scrollback {
    pub fn new(cap: usize) -> Self {
        Scrollback {
            lines: VecDeque::new(),
            cap: cap.max(1),
            bytes: 0,
            partial: Vec::new(),
            dropped: 0,
        }
    }

    fn push_line(&mut self, step: usize, stream: Stream, bytes: &[u8]) {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if text.ends_with('\r') {
            text.pop();
        }
        self.bytes += text.len();
        self.lines.push_back(OutputLine { step, stream, text });
        while self.lines.len() > self.cap
            || (self.bytes > MAX_SCROLLBACK_BYTES && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.text.len();
                self.dropped += 1;
            }
        }
    }

    /// Add a chunk; complete lines go to the ring.
    pub fn push(&mut self, step: usize, stream: Stream, bytes: &[u8]) {
        let key = (step, stream);
        let idx = match self.partial.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.partial.push((key, Vec::new()));
                self.partial.len() - 1
            }
        };
        let mut buf = std::mem::take(&mut self.partial[idx].1);
        buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            self.push_line_cut(step, stream, &buf[start..end]);
            start = end + 1;
        }
        // A line that never ends is cut rather than held whole.
        while buf.len() - start > MAX_LINE_BYTES {
            let cut = utf8_cut(&buf, start, start + MAX_LINE_BYTES);
            self.push_line(step, stream, &buf[start..cut]);
            start = cut;
        }
        buf.drain(..start);
        self.partial[idx].1 = buf;
    }

    /// [`Self::push_line`] in pieces of at most [`MAX_LINE_BYTES`].
    fn push_line_cut(&mut self, step: usize, stream: Stream, mut bytes: &[u8]) {
        while bytes.len() > MAX_LINE_BYTES {
            let cut = utf8_cut(bytes, 0, MAX_LINE_BYTES);
            self.push_line(step, stream, &bytes[..cut]);
            bytes = &bytes[cut..];
        }
        self.push_line(step, stream, bytes);
    }

    /// Turn unfinished lines of `step` into lines (the step ended).
    pub fn flush(&mut self, step: usize) {
        let parts: Vec<_> = self
            .partial
            .iter_mut()
            .filter(|((s, _), b)| *s == step && !b.is_empty())
            .map(|((s, st), b)| (*s, *st, std::mem::take(b)))
            .collect();
        for (s, st, b) in parts {
            self.push_line_cut(s, st, &b);
        }
        self.partial.retain(|(_, b)| !b.is_empty());
    }

    /// Complete lines, oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &OutputLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Lines still being written (no newline yet).
    pub fn pending(&self) -> impl Iterator<Item = OutputLine> + '_ {
        self.partial
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|((step, stream), b)| OutputLine {
                step: *step,
                stream: *stream,
                text: String::from_utf8_lossy(b).into_owned(),
            })
    }

    /// Lines pushed out of the ring (still in the log file).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Where to cut `buf[start..]` at most at `max`: the start of the UTF-8
/// character at `max` (so no character is split), or `max` itself for
/// bytes that are not UTF-8.
fn utf8_cut(buf: &[u8], start: usize, max: usize) -> usize {
    let mut cut = max;
    while cut > start && cut < buf.len() && (buf[cut] & 0xC0) == 0x80 && max - cut < 3 {
        cut -= 1;
    }
    if cut == start || (buf.get(cut).is_some_and(|b| b & 0xC0 == 0x80)) {
        max
    } else {
        cut
    }
}

/// Everything known about a task (shared, updated by the runner).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    pub id: String,
    pub action: String,
    pub target: String,
    /// Local user who started it.
    pub who: String,
    pub started: OffsetDateTime,
    pub finished: Option<OffsetDateTime>,
    /// Set when finished.
    pub duration: Option<Duration>,
    pub status: TaskStatus,
    pub cancel_requested: bool,
    pub steps: Vec<StepState>,
    /// Output per host ([`LOCAL_HOST`] for the runner's own notes).
    pub output: BTreeMap<String, Scrollback>,
    pub log_path: PathBuf,
}

impl TaskState {
    /// The step running now, if any.
    pub fn current_step(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status == StepStatus::Running)
    }
}

struct HandleInner {
    id: String,
    state: Arc<RwLock<TaskState>>,
    changed: watch::Receiver<u64>,
    cancel: CancellationToken,
}

/// A started task: id, cancel, state. Cheap to clone.
#[derive(Clone)]
pub struct TaskHandle {
    inner: Arc<HandleInner>,
}

impl fmt::Debug for TaskHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.inner.id)
            .field("status", &self.status())
            .finish()
    }
}

impl TaskHandle {
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Ask the task to stop: running commands are killed on their hosts,
    /// the rest is skipped, the task ends `cancelled`.
    pub fn cancel(&self) {
        if let Ok(mut s) = self.inner.state.write()
            && !s.status.is_finished()
        {
            s.cancel_requested = true;
        }
        self.inner.cancel.cancel();
    }

    /// Read the state (do not hold the guard across `.await`).
    pub fn state(&self) -> RwLockReadGuard<'_, TaskState> {
        self.inner
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn status(&self) -> TaskStatus {
        self.state().status
    }

    pub fn log_path(&self) -> PathBuf {
        self.state().log_path.clone()
    }

    /// Notified (generation counter) whenever the state changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.clone()
    }

    /// Wait until the task has finished.
    pub async fn wait(&self) -> TaskStatus {
        let mut rx = self.subscribe();
        loop {
            let st = self.status();
            if st.is_finished() {
                return st;
            }
            if rx.changed().await.is_err() {
                return self.status();
            }
        }
    }
}

struct RunnerInner {
    executor: Arc<dyn Executor>,
    state_dir: PathBuf,
    who: String,
    audit: AuditLog,
    scrollback: usize,
    tasks: Mutex<Vec<TaskHandle>>,
}

/// Starts and keeps track of tasks. Cheap to clone.
#[derive(Clone)]
pub struct TaskRunner {
    inner: Arc<RunnerInner>,
}

impl fmt::Debug for TaskRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRunner")
            .field("state_dir", &self.inner.state_dir)
            .field("who", &self.inner.who)
            .finish_non_exhaustive()
    }
}

impl TaskRunner {
    /// A runner using `executor`, writing under `state_dir`.
    pub fn new(executor: Arc<dyn Executor>, state_dir: impl Into<PathBuf>) -> Self {
        let state_dir = state_dir.into();
        TaskRunner {
            inner: Arc::new(RunnerInner {
                executor,
                audit: AuditLog::new(&state_dir),
                state_dir,
                who: super::local_user(),
                scrollback: DEFAULT_SCROLLBACK,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A runner over SSH.
    pub fn ssh(pool: SshPool, state_dir: impl Into<PathBuf>) -> Self {
        Self::new(Arc::new(SshExecutor::new(pool)), state_dir)
    }

    /// A runner executing locally (tests, development).
    pub fn local(state_dir: impl Into<PathBuf>) -> Self {
        Self::new(Arc::new(LocalExecutor::new()), state_dir)
    }

    fn modify(self, f: impl FnOnce(&mut RunnerInner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| RunnerInner {
            executor: arc.executor.clone(),
            state_dir: arc.state_dir.clone(),
            who: arc.who.clone(),
            audit: arc.audit.clone(),
            scrollback: arc.scrollback,
            tasks: Mutex::new(Vec::new()),
        });
        f(&mut inner);
        TaskRunner {
            inner: Arc::new(inner),
        }
    }

    /// Record `who` instead of the local user name.
    pub fn with_who(self, who: impl Into<String>) -> Self {
        let who = who.into();
        self.modify(|i| i.who = who)
    }

    /// Keep `lines` lines of output per host in [`TaskState`].
    pub fn with_scrollback(self, lines: usize) -> Self {
        self.modify(|i| i.scrollback = lines.max(1))
    }

    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    pub fn tasks_dir(&self) -> PathBuf {
        self.inner.state_dir.join("tasks")
    }

    /// Every task started by this runner, oldest first.
    pub fn tasks(&self) -> Vec<TaskHandle> {
        self.inner.tasks.lock().unwrap().clone()
    }

    /// Forget finished tasks (their logs stay on disk).
    pub fn forget_finished(&self) {
        self.inner
            .tasks
            .lock()
            .unwrap()
            .retain(|t| !t.status().is_finished());
    }

    /// Start `pipeline` (needs a tokio runtime). Fails only if the task log
    /// cannot be created.
    pub fn start(
        &self,
        pipeline: Pipeline,
    ) -> std::io::Result<(TaskHandle, mpsc::UnboundedReceiver<TaskEvent>)> {
        let dir = self.tasks_dir();
        std::fs::create_dir_all(&dir)?;
        let started = OffsetDateTime::now_utc();
        let (id, log, log_path) = create_log(&dir, &pipeline.action, started)?;
        let steps = pipeline
            .steps
            .iter()
            .map(|s| StepState {
                name: s.name.clone(),
                kind: match s.kind {
                    StepKind::Command { .. } => StepKindTag::Command,
                    StepKind::FanOut { .. } => StepKindTag::FanOut,
                    StepKind::Wait { .. } => StepKindTag::Wait,
                    StepKind::Deferred { .. } => StepKindTag::Deferred,
                },
                status: StepStatus::Pending,
                allow_failure: s.allow_failure,
                started: None,
                duration: None,
                hosts: s
                    .runs()
                    .into_iter()
                    .map(|(t, c)| HostState {
                        host: t.name.clone(),
                        user: self.inner.executor.run_as_user(t, c),
                        command: c.shown().to_string(),
                        status: StepStatus::Pending,
                        exit: None,
                        message: None,
                        started: None,
                        duration: None,
                        stdout: None,
                    })
                    .collect(),
                message: None,
            })
            .collect();
        let state = Arc::new(RwLock::new(TaskState {
            id: id.clone(),
            action: pipeline.action.clone(),
            target: pipeline.target.clone(),
            who: self.inner.who.clone(),
            started,
            finished: None,
            duration: None,
            status: TaskStatus::Running,
            cancel_requested: false,
            steps,
            output: BTreeMap::new(),
            log_path: log_path.clone(),
        }));
        let (changed_tx, changed_rx) = watch::channel(0u64);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let handle = TaskHandle {
            inner: Arc::new(HandleInner {
                id: id.clone(),
                state: state.clone(),
                changed: changed_rx,
                cancel: cancel.clone(),
            }),
        };
        let run = Arc::new(Run {
            id,
            action: pipeline.action.clone(),
            target: pipeline.target.clone(),
            who: self.inner.who.clone(),
            executor: self.inner.executor.clone(),
            state,
            changed: changed_tx,
            events: events_tx,
            log,
            log_path,
            audit: self.inner.audit.clone(),
            cancel,
            scrollback: self.inner.scrollback,
            t0: Instant::now(),
            total: pipeline.steps.len(),
        });
        self.inner.tasks.lock().unwrap().push(handle.clone());
        tokio::spawn(async move {
            let r2 = run.clone();
            let job = tokio::spawn(async move { r2.run(pipeline).await });
            if let Err(e) = job.await {
                run.log.line(&format!("internal error: {e}"));
                run.finish(TaskStatus::Failed);
            }
        });
        Ok((handle, events_rx))
    }
}

/// Print a task's progress as it happens, for headless runs: a line per
/// step and per host start and end, and with `show_output` every output line
/// prefixed with its host (`stderr` lines marked `!`). Returns the final
/// status once the task has finished.
pub async fn follow<W: std::io::Write>(
    task: &TaskHandle,
    events: mpsc::UnboundedReceiver<TaskEvent>,
    out: &mut W,
    show_output: bool,
) -> TaskStatus {
    let mut plain = |host: &str, stream: Stream, text: &str| -> Option<String> {
        let mark = if stream == Stream::Stderr { '!' } else { '|' };
        Some(format!("    {host} {mark} {text}"))
    };
    follow_with(task, events, out, show_output, &mut plain).await
}

/// [`follow`], with each complete output line (host, stream, text) turned
/// into the line to print (`None`: print nothing) by `shown`.
pub async fn follow_with<W: std::io::Write>(
    task: &TaskHandle,
    mut events: mpsc::UnboundedReceiver<TaskEvent>,
    out: &mut W,
    show_output: bool,
    shown: &mut dyn FnMut(&str, Stream, &str) -> Option<String>,
) -> TaskStatus {
    let (names, total, header) = {
        let s = task.state();
        (
            s.steps.iter().map(|st| st.name.clone()).collect::<Vec<_>>(),
            s.steps.len(),
            format!(
                "task {}: {} on {} (log {})",
                s.id,
                s.action,
                s.target,
                s.log_path.display()
            ),
        )
    };
    let _ = writeln!(out, "{header}");
    let mut partial: BTreeMap<(String, Stream), Vec<u8>> = BTreeMap::new();
    let name = |i: usize| names.get(i).cloned().unwrap_or_default();
    let mut flush = |out: &mut W, key: &(String, Stream), bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        if let Some(line) = shown(&key.0, key.1, text.trim_end_matches('\r')) {
            let _ = writeln!(out, "{line}");
        }
    };
    while let Some(ev) = events.recv().await {
        let _ = match ev {
            TaskEvent::StepStarted { step, host: None } => {
                writeln!(out, "[{}/{total}] {}", step + 1, name(step))
            }
            TaskEvent::StepStarted { host: Some(h), .. } => writeln!(out, "  {h}: started"),
            TaskEvent::Output {
                host,
                stream,
                bytes,
                ..
            } => {
                if show_output {
                    let key = (host, stream);
                    let buf = partial.entry(key.clone()).or_default();
                    buf.extend_from_slice(&bytes);
                    while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=nl).collect();
                        flush(out, &key, &line[..line.len() - 1]);
                    }
                }
                Ok(())
            }
            TaskEvent::StepFinished {
                host: Some(h),
                status,
                exit,
                duration,
                message,
                ..
            } => {
                for (key, buf) in partial
                    .iter_mut()
                    .filter(|(k, b)| k.0 == h && !b.is_empty())
                {
                    flush(out, key, buf);
                    buf.clear();
                }
                let mut detail = vec![secs(duration)];
                if let Some(e) = exit {
                    detail.insert(0, e.to_string());
                }
                writeln!(
                    out,
                    "  {h}: {status} ({}){}",
                    detail.join(", "),
                    message.map(|m| format!(": {m}")).unwrap_or_default()
                )
            }
            TaskEvent::StepFinished {
                step,
                host: None,
                status,
                duration,
                message,
                ..
            } => writeln!(
                out,
                "[{}/{total}] {}: {status} in {}{}",
                step + 1,
                name(step),
                secs(duration),
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            ),
            TaskEvent::Finished { status, duration } => {
                writeln!(out, "task {status} in {}", secs(duration))
            }
        };
        let _ = out.flush();
    }
    task.wait().await
}

fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-');
    let out: String = out.chars().take(32).collect();
    if out.is_empty() { "task".into() } else { out }
}

/// `YYYYMMDD-HHMMSS-<action>-<4 hex>` with a fresh log file.
fn create_log(
    dir: &Path,
    action: &str,
    t: OffsetDateTime,
) -> std::io::Result<(String, TaskLog, PathBuf)> {
    let stamp = t
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let mut seed = (t.unix_timestamp_nanos() as u64) ^ (u64::from(std::process::id()) << 16);
    for _ in 0..64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let id = format!("{stamp}-{}-{:04x}", slug(action), (seed >> 48) as u16);
        let path = dir.join(format!("{id}.log"));
        match TaskLog::create(&path) {
            Ok(log) => return Ok((id, log, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot find a free task id"))
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// One running task.
struct Run {
    id: String,
    action: String,
    target: String,
    who: String,
    executor: Arc<dyn Executor>,
    state: Arc<RwLock<TaskState>>,
    changed: watch::Sender<u64>,
    events: mpsc::UnboundedSender<TaskEvent>,
    log: TaskLog,
    log_path: PathBuf,
    audit: AuditLog,
    cancel: CancellationToken,
    scrollback: usize,
    t0: Instant,
    total: usize,
}

impl Run {
    fn update(&self, f: impl FnOnce(&mut TaskState)) {
        {
            let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
        }
        self.changed.send_modify(|g| *g = g.wrapping_add(1));
    }

    fn emit(&self, ev: TaskEvent) {
        let _ = self.events.send(ev);
    }

    fn output(&self, step: usize, host: &str, stream: Stream, bytes: &[u8]) {
        self.log.output(host, stream, bytes);
        let cap = self.scrollback;
        self.update(|s| {
            s.output
                .entry(host.to_string())
                .or_insert_with(|| Scrollback::new(cap))
                .push(step, stream, bytes)
        });
        self.emit(TaskEvent::Output {
            step,
            host: host.to_string(),
            stream,
            bytes: bytes.to_vec(),
        });
    }

    fn note(&self, step: usize, text: &str) {
        let mut line = text.trim_end().to_string();
        line.push('\n');
        self.output(step, LOCAL_HOST, Stream::Stdout, line.as_bytes());
    }

    fn audit_commands(state: &TaskState) -> Vec<AuditCommand> {
        let mut out = Vec::new();
        for st in &state.steps {
            match st.kind {
                StepKindTag::Wait => out.push(AuditCommand {
                    step: st.name.clone(),
                    host: LOCAL_HOST.into(),
                    user: String::new(),
                    command: format!("wait: {}", st.name),
                }),
                StepKindTag::Deferred if st.hosts.is_empty() => out.push(AuditCommand {
                    step: st.name.clone(),
                    host: LOCAL_HOST.into(),
                    user: String::new(),
                    command: "(hosts and commands chosen when the step starts)".into(),
                }),
                _ => {
                    for h in &st.hosts {
                        out.push(AuditCommand {
                            step: st.name.clone(),
                            host: h.host.clone(),
                            user: h.user.clone(),
                            command: h.command.clone(),
                        })
                    }
                }
            }
        }
        out
    }

    fn record(&self, event: &str, hosts: &[String]) {
        self.record_with_status(event, hosts, None)
    }

    /// An audit record; `status` stands for the task's when given.
    fn record_with_status(&self, event: &str, hosts: &[String], status: Option<TaskStatus>) {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner()).clone();
        let commands = Self::audit_commands(&s);
        let steps = if event == "finish" {
            s.steps
                .iter()
                .map(|st| AuditStep {
                    name: st.name.clone(),
                    status: st.status.as_str().to_string(),
                    duration_ms: st.duration.map(|d| d.as_millis() as u64),
                    hosts: st
                        .hosts
                        .iter()
                        .map(|h| AuditHost {
                            host: h.host.clone(),
                            status: h.status.as_str().to_string(),
                            exit: h.exit.as_ref().map(|e| e.to_string()),
                            duration_ms: h.duration.map(|d| d.as_millis() as u64),
                            error: h.message.clone(),
                        })
                        .collect(),
                    message: st.message.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let rec = AuditRecord {
            ts: rfc3339(OffsetDateTime::now_utc()),
            event: event.to_string(),
            id: self.id.clone(),
            who: self.who.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            hosts: hosts.to_vec(),
            commands,
            status: status.unwrap_or(s.status).as_str().to_string(),
            duration_ms: s.duration.map(|d| d.as_millis() as u64),
            log: self.log_path.display().to_string(),
            steps,
        };
        if let Err(e) = self.audit.append(&rec) {
            tracing::error!(file = %self.audit.path().display(), error = %e, "cannot write the audit log");
            self.log
                .line(&format!("warning: cannot write the audit log: {e}"));
        }
    }

    async fn run(self: Arc<Self>, pipeline: Pipeline) {
        let hosts = pipeline.hosts();
        self.log.raw(&format!(
            "# task {}\n# action {} on {}\n# by {} at {}\n# hosts: {}\n",
            self.id,
            self.action,
            self.target,
            self.who,
            rfc3339(OffsetDateTime::now_utc()),
            hosts.join(", ")
        ));
        self.record("start", &hosts);

        let mut status = TaskStatus::Succeeded;
        for (i, step) in pipeline.steps.iter().enumerate() {
            if self.cancel.is_cancelled() {
                status = TaskStatus::Cancelled;
                break;
            }
            let st = self.run_step(i, step).await;
            if st == StepStatus::Cancelled || self.cancel.is_cancelled() {
                status = TaskStatus::Cancelled;
                break;
            }
            if st.is_failure() && !step.allow_failure {
                status = TaskStatus::Failed;
                break;
            }
        }
        self.finish(status);
    }

    fn finish(&self, status: TaskStatus) {
        let duration = self.t0.elapsed();
        let hosts = {
            let s = self.state.read().unwrap_or_else(|p| p.into_inner());
            let mut h: Vec<String> = Vec::new();
            for st in &s.steps {
                for x in &st.hosts {
                    if !h.contains(&x.host) {
                        h.push(x.host.clone());
                    }
                }
            }
            h
        };
        self.update(|s| {
            for st in s.steps.iter_mut() {
                if matches!(st.status, StepStatus::Pending | StepStatus::Running) {
                    st.status = StepStatus::Skipped;
                }
                for h in st.hosts.iter_mut() {
                    if matches!(h.status, StepStatus::Pending | StepStatus::Running) {
                        h.status = StepStatus::Skipped;
                    }
                }
            }
            for sb in s.output.values_mut() {
                for i in 0..s.steps.len() {
                    sb.flush(i);
                }
            }
            s.finished = Some(OffsetDateTime::now_utc());
            s.duration = Some(duration);
        });
        // The log and the audit log are written before the task is seen
        // finished: whoever waits for it finds both complete.
        self.log
            .line(&format!("task {status} in {}", secs(duration)));
        self.record_with_status("finish", &hosts, Some(status));
        self.update(|s| s.status = status);
        self.emit(TaskEvent::Finished { status, duration });
    }

    async fn run_step(self: &Arc<Self>, i: usize, step: &Step) -> StepStatus {
        let t = Instant::now();
        self.update(|s| {
            s.steps[i].status = StepStatus::Running;
            s.steps[i].started = Some(OffsetDateTime::now_utc());
        });
        self.log
            .line(&format!("==> step {}/{} {}", i + 1, self.total, step.name));
        self.emit(TaskEvent::StepStarted {
            step: i,
            host: None,
        });

        let (status, message) = match &step.kind {
            StepKind::Command { target, command } => {
                self.run_commands(i, step, vec![(target.clone(), command.clone())], 1, false)
                    .await
            }
            StepKind::FanOut {
                runs,
                concurrency,
                fail_fast,
            } => {
                self.run_commands(i, step, runs.clone(), *concurrency, *fail_fast)
                    .await
            }
            StepKind::Wait {
                condition,
                interval,
            } => self.run_wait(i, step, condition.clone(), *interval).await,
            StepKind::Deferred {
                resolve,
                concurrency,
                fail_fast,
            } => {
                let ctx = self.context(i);
                let resolved = tokio::select! {
                    r = resolve(ctx) => Some(r),
                    _ = self.cancel.cancelled() => None,
                };
                match resolved {
                    None => (StepStatus::Cancelled, None),
                    Some(Err(reason)) => (StepStatus::Failed, Some(reason)),
                    Some(Ok(runs)) => {
                        let hosts: Vec<HostState> = runs
                            .iter()
                            .map(|(t, c)| HostState {
                                host: t.name.clone(),
                                user: self.executor.run_as_user(t, c),
                                command: c.shown().to_string(),
                                status: StepStatus::Pending,
                                exit: None,
                                message: None,
                                started: None,
                                duration: None,
                                stdout: None,
                            })
                            .collect();
                        self.log.line(&format!(
                            "    on {}",
                            hosts
                                .iter()
                                .map(|h| h.host.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        self.update(|s| s.steps[i].hosts = hosts);
                        self.run_commands(i, step, runs, *concurrency, *fail_fast)
                            .await
                    }
                }
            }
        };
        let duration = t.elapsed();
        let ignored = status.is_failure() && step.allow_failure;
        self.update(|s| {
            let st = &mut s.steps[i];
            st.status = status;
            st.duration = Some(duration);
            st.message = message.clone();
        });
        self.log.line(&format!(
            "<== step {}/{} {}: {status}{}{} in {}",
            i + 1,
            self.total,
            step.name,
            if ignored { " (failure allowed)" } else { "" },
            message
                .as_ref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default(),
            secs(duration)
        ));
        self.emit(TaskEvent::StepFinished {
            step: i,
            host: None,
            status,
            exit: None,
            duration,
            message,
        });
        status
    }

    async fn run_commands(
        self: &Arc<Self>,
        i: usize,
        step: &Step,
        runs: Vec<(Target, RemoteCommand)>,
        concurrency: usize,
        fail_fast: bool,
    ) -> (StepStatus, Option<String>) {
        let stop = Arc::new(AtomicBool::new(false));
        let n = runs.len();
        let results: Vec<StepStatus> = futures::stream::iter(runs.into_iter().enumerate())
            .map(|(h, (target, command))| {
                let stop = stop.clone();
                async move {
                    self.run_host(i, h, target, command, step, &stop, fail_fast)
                        .await
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let count = |s: StepStatus| results.iter().filter(|&&r| r == s).count();
        let failed = count(StepStatus::Failed);
        let timed_out = count(StepStatus::TimedOut);
        if count(StepStatus::Cancelled) > 0 || self.cancel.is_cancelled() {
            (StepStatus::Cancelled, None)
        } else if failed + timed_out > 0 {
            let st = if failed == 0 {
                StepStatus::TimedOut
            } else {
                StepStatus::Failed
            };
            let msg = if n > 1 {
                Some(format!(
                    "{} of {n} hosts failed{}",
                    failed + timed_out,
                    match count(StepStatus::Skipped) {
                        0 => String::new(),
                        k => format!(", {k} skipped"),
                    }
                ))
            } else {
                let s = self.state.read().unwrap_or_else(|p| p.into_inner());
                s.steps[i].hosts.first().and_then(|h| h.message.clone())
            };
            (st, msg)
        } else {
            (StepStatus::Succeeded, None)
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_host(
        self: &Arc<Self>,
        i: usize,
        h: usize,
        target: Target,
        command: RemoteCommand,
        step: &Step,
        stop: &AtomicBool,
        fail_fast: bool,
    ) -> StepStatus {
        let limit = step.timeout;
        let host = target.name.clone();
        if (fail_fast && stop.load(Ordering::SeqCst)) || self.cancel.is_cancelled() {
            self.update(|s| s.steps[i].hosts[h].status = StepStatus::Skipped);
            self.log.line(&format!("--- {host}: skipped"));
            self.emit(TaskEvent::StepFinished {
                step: i,
                host: Some(host),
                status: StepStatus::Skipped,
                exit: None,
                duration: Duration::ZERO,
                message: None,
            });
            return StepStatus::Skipped;
        }
        let t = Instant::now();
        let user = self.state.read().unwrap_or_else(|p| p.into_inner()).steps[i].hosts[h]
            .user
            .clone();
        self.update(|s| {
            let hs = &mut s.steps[i].hosts[h];
            hs.status = StepStatus::Running;
            hs.started = Some(OffsetDateTime::now_utc());
        });
        self.log
            .line(&format!("--> {host} (as {user}): {}", command.shown()));
        self.emit(TaskEvent::StepStarted {
            step: i,
            host: Some(host.clone()),
        });

        let token = self.cancel.child_token();
        let me = self.clone();
        let h2 = host.clone();
        let captured = step
            .capture_stdout
            .map(|max| (max, Arc::new(Mutex::new(CapturedStdout::default()))));
        let capture = captured.clone();
        let sink = OutputSink::new(move |stream, bytes| {
            if let (Stream::Stdout, Some((max, c))) = (stream, &capture) {
                c.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(bytes, *max);
            }
            me.output(i, &h2, stream, bytes)
        });
        let mut fut = self.executor.execute(target, command, sink, token.clone());
        let mut timed_out = false;
        let result = match limit {
            Some(d) => {
                tokio::select! {
                    r = &mut fut => r,
                    _ = tokio::time::sleep(d) => {
                        timed_out = true;
                        token.cancel();
                        fut.await
                    }
                }
            }
            None => fut.await,
        };
        let duration = t.elapsed();
        let (status, exit, message) = match result {
            Ok(ExecOutcome::Exited(e)) if e.success() => (StepStatus::Succeeded, Some(e), None),
            Ok(ExecOutcome::Exited(e)) => (StepStatus::Failed, Some(e), None),
            Ok(ExecOutcome::Cancelled(report)) => {
                let what = if timed_out {
                    format!("timed out after {}", secs(limit.unwrap_or_default()))
                } else {
                    "cancelled".to_string()
                };
                let msg = match report {
                    CancelReport::NotStarted => what,
                    r => format!("{what}: {r}"),
                };
                let st = if timed_out {
                    StepStatus::TimedOut
                } else {
                    StepStatus::Cancelled
                };
                (st, None, Some(msg))
            }
            Err(e) => (StepStatus::Failed, None, Some(e.to_string())),
        };
        if status.is_failure() {
            stop.store(true, Ordering::SeqCst);
        }
        self.update(|s| {
            if let Some(sb) = s.output.get_mut(&host) {
                sb.flush(i);
            }
            let hs = &mut s.steps[i].hosts[h];
            hs.status = status;
            hs.exit = exit.clone();
            hs.message = message.clone();
            hs.duration = Some(duration);
            hs.stdout = captured
                .map(|(_, c)| std::mem::take(&mut *c.lock().unwrap_or_else(|p| p.into_inner())));
        });
        self.log.line(&format!(
            "<-- {host}: {status}{}{} in {}",
            exit.as_ref().map(|e| format!(", {e}")).unwrap_or_default(),
            message
                .as_ref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default(),
            secs(duration)
        ));
        self.emit(TaskEvent::StepFinished {
            step: i,
            host: Some(host),
            status,
            exit,
            duration,
            message,
        });
        status
    }

    fn context(self: &Arc<Self>, step: usize) -> RunContext {
        let me = self.clone();
        RunContext {
            task_id: self.id.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            step,
            cancel: self.cancel.clone(),
            note: Arc::new(move |step, text| me.note(step, text)),
        }
    }

    async fn run_wait(
        self: &Arc<Self>,
        i: usize,
        step: &Step,
        condition: super::pipeline::Condition,
        interval: Duration,
    ) -> (StepStatus, Option<String>) {
        let limit = step.timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT);
        let deadline = Instant::now() + limit;
        let ctx = self.context(i);
        let timeout_msg = || Some(format!("condition not met within {}", secs(limit)));
        loop {
            let r = tokio::select! {
                r = condition(ctx.clone()) => r,
                _ = tokio::time::sleep_until(deadline) => return (StepStatus::TimedOut, timeout_msg()),
                _ = self.cancel.cancelled() => return (StepStatus::Cancelled, None),
            };
            match r {
                Ok(true) => return (StepStatus::Succeeded, None),
                Ok(false) => {}
                Err(reason) => return (StepStatus::Failed, Some(reason)),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = tokio::time::sleep_until(deadline) => return (StepStatus::TimedOut, timeout_msg()),
                _ = self.cancel.cancelled() => return (StepStatus::Cancelled, None),
            }
        }
    }
}

#[cfg(test)]
mod tests;
