//! What a task runs: a [`Pipeline`] of named [`Step`]s.
//!
//! A step either runs a command on one host ([`StepKind::Command`]), runs
//! commands on several hosts in parallel with a concurrency limit
//! ([`StepKind::FanOut`]), runs commands on hosts only known when the step
//! starts ([`StepKind::Deferred`], e.g. "on the current leader"), or waits
//! until a condition holds ([`StepKind::Wait`]: an async predicate polled
//! until it returns `Ok(true)`, fails with `Err`, or the step times out).
//!
//! Steps run in order. A failed, timed-out step stops the pipeline unless it
//! is marked [`Step::allow_failure`]; cancelling stops it at once (the
//! running commands are killed on their hosts).
//!
//! ```
//! use std::time::Duration;
//! use pigsty_tui::tasks::{Pipeline, Step, RemoteCommand, Target};
//!
//! let primary = Target::new("10.10.10.11").with_name("pg-test-1");
//! let replicas = vec![Target::new("10.10.10.12"), Target::new("10.10.10.13")];
//! let p = Pipeline::new("checkpoint", "pg-test")
//!     .step(Step::command("checkpoint", primary, RemoteCommand::dbsu("psql -c checkpoint")))
//!     .step(
//!         Step::fan_out("replicas catch up", replicas, RemoteCommand::dbsu("psql -Atc 'select 1'"))
//!             .concurrency(2)
//!             .timeout(Duration::from_secs(30)),
//!     )
//!     .step(Step::wait("leader is up", |_ctx| async { Ok(true) }).timeout(Duration::from_secs(60)));
//! assert_eq!(p.steps.len(), 3);
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::shell::RemoteCommand;
use super::ssh::Target;

/// A condition polled by a wait step: `Ok(true)` done, `Ok(false)` not yet,
/// `Err(reason)` give up (the step fails with the reason).
pub type Condition =
    Arc<dyn Fn(RunContext) -> BoxFuture<'static, Result<bool, String>> + Send + Sync>;

pub(crate) type NoteFn = dyn Fn(usize, &str) + Send + Sync;

/// Chooses the (host, command) pairs of a deferred step when it starts;
/// `Err(reason)` fails the step.
pub type Resolver = Arc<
    dyn Fn(RunContext) -> BoxFuture<'static, Result<Vec<(Target, RemoteCommand)>, String>>
        + Send
        + Sync,
>;

/// What wait conditions and deferred steps get to see of the run.
#[derive(Clone)]
pub struct RunContext {
    pub task_id: String,
    pub action: String,
    pub target: String,
    /// Index of the running step.
    pub step: usize,
    pub(crate) cancel: CancellationToken,
    pub(crate) note: Arc<NoteFn>,
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("task_id", &self.task_id)
            .field("action", &self.action)
            .field("target", &self.target)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// Write a line into the task's output (log file, scrollback, events)
    /// under the `local` host, e.g. "leader is pg-test-2, waiting for
    /// pg-test-1 to follow".
    pub fn note(&self, text: impl AsRef<str>) {
        (self.note)(self.step, text.as_ref())
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The task's cancellation token (fires on cancel).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// The three kinds of steps.
#[derive(Clone)]
pub enum StepKind {
    /// One command on one host.
    Command {
        target: Target,
        command: RemoteCommand,
    },
    /// A command per host, `concurrency` at a time. With `fail_fast`, hosts
    /// not started yet are skipped after the first failure.
    FanOut {
        runs: Vec<(Target, RemoteCommand)>,
        concurrency: usize,
        fail_fast: bool,
    },
    /// Poll `condition` every `interval` until it holds.
    Wait {
        condition: Condition,
        interval: Duration,
    },
    /// Like `FanOut`, with the runs chosen by `resolve` when the step starts.
    Deferred {
        resolve: Resolver,
        concurrency: usize,
        fail_fast: bool,
    },
}

impl fmt::Debug for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepKind::Command { target, command } => f
                .debug_struct("Command")
                .field("target", &target.name)
                .field("command", command)
                .finish(),
            StepKind::FanOut {
                runs,
                concurrency,
                fail_fast,
            } => f
                .debug_struct("FanOut")
                .field(
                    "hosts",
                    &runs
                        .iter()
                        .map(|(t, _)| t.name.as_str())
                        .collect::<Vec<_>>(),
                )
                .field("concurrency", concurrency)
                .field("fail_fast", fail_fast)
                .finish(),
            StepKind::Wait { interval, .. } => f
                .debug_struct("Wait")
                .field("interval", interval)
                .finish_non_exhaustive(),
            StepKind::Deferred {
                concurrency,
                fail_fast,
                ..
            } => f
                .debug_struct("Deferred")
                .field("concurrency", concurrency)
                .field("fail_fast", fail_fast)
                .finish_non_exhaustive(),
        }
    }
}

/// Default time limit of a wait step.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Default polling interval of a wait step.
pub const DEFAULT_WAIT_INTERVAL: Duration = Duration::from_secs(1);
/// Default parallelism of a fan-out.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One named step.
#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
    /// Limit per host command (commands are killed when it is reached), or
    /// for the whole wait. `None`: commands run unlimited, waits get
    /// [`DEFAULT_WAIT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// A failure (or timeout) of this step does not stop the pipeline.
    pub allow_failure: bool,
    /// Keep each host's whole stdout of this step (up to this many bytes)
    /// in [`super::runner::HostState::stdout`], for whoever parses it; the
    /// display scrollback is bounded and may have dropped lines.
    pub capture_stdout: Option<usize>,
}

impl Step {
    /// Run `command` on `target`.
    pub fn command(name: impl Into<String>, target: Target, command: RemoteCommand) -> Self {
        Step {
            name: name.into(),
            kind: StepKind::Command { target, command },
            timeout: None,
            allow_failure: false,
            capture_stdout: None,
        }
    }

    /// Run the same `command` on every host of `targets`.
    pub fn fan_out(
        name: impl Into<String>,
        targets: impl IntoIterator<Item = Target>,
        command: RemoteCommand,
    ) -> Self {
        Self::fan_out_each(
            name,
            targets.into_iter().map(|t| (t, command.clone())).collect(),
        )
    }

    /// Run a command of its own on each host.
    pub fn fan_out_each(name: impl Into<String>, runs: Vec<(Target, RemoteCommand)>) -> Self {
        Step {
            name: name.into(),
            kind: StepKind::FanOut {
                runs,
                concurrency: DEFAULT_CONCURRENCY,
                fail_fast: false,
            },
            timeout: None,
            allow_failure: false,
            capture_stdout: None,
        }
    }

    /// Wait until `condition` returns `Ok(true)`.
    pub fn wait<F, Fut>(name: impl Into<String>, condition: F) -> Self
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, String>> + Send + 'static,
    {
        Step {
            name: name.into(),
            kind: StepKind::Wait {
                condition: Arc::new(move |ctx| Box::pin(condition(ctx))),
                interval: DEFAULT_WAIT_INTERVAL,
            },
            timeout: None,
            allow_failure: false,
            capture_stdout: None,
        }
    }

    /// Run commands on hosts chosen by `resolve` when the step starts (the
    /// current leader after a switchover, the members that are up, …).
    pub fn deferred<F, Fut>(name: impl Into<String>, resolve: F) -> Self
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<(Target, RemoteCommand)>, String>> + Send + 'static,
    {
        Step {
            name: name.into(),
            kind: StepKind::Deferred {
                resolve: Arc::new(move |ctx| Box::pin(resolve(ctx))),
                concurrency: DEFAULT_CONCURRENCY,
                fail_fast: false,
            },
            timeout: None,
            allow_failure: false,
            capture_stdout: None,
        }
    }

    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    pub fn allow_failure(mut self) -> Self {
        self.allow_failure = true;
        self
    }

    /// Keep each host's stdout of this step whole, up to `max_bytes`
    /// (what comes after is counted, not kept), for parsing once the step
    /// is done; see [`super::runner::HostState::stdout`].
    pub fn capture_stdout(mut self, max_bytes: usize) -> Self {
        self.capture_stdout = Some(max_bytes);
        self
    }

    /// Fan-out / deferred parallelism (at least 1); no effect on other kinds.
    pub fn concurrency(mut self, n: usize) -> Self {
        if let StepKind::FanOut { concurrency, .. } | StepKind::Deferred { concurrency, .. } =
            &mut self.kind
        {
            *concurrency = n.max(1);
        }
        self
    }

    /// Fan-out / deferred: skip hosts not started yet once one failed.
    pub fn fail_fast(mut self) -> Self {
        if let StepKind::FanOut { fail_fast, .. } | StepKind::Deferred { fail_fast, .. } =
            &mut self.kind
        {
            *fail_fast = true;
        }
        self
    }

    /// Wait: polling interval.
    pub fn poll_every(mut self, every: Duration) -> Self {
        if let StepKind::Wait { interval, .. } = &mut self.kind {
            *interval = every;
        }
        self
    }

    /// The (host, command) pairs a step runs, as far as known before it
    /// starts (none for waits and deferred steps).
    pub fn runs(&self) -> Vec<(&Target, &RemoteCommand)> {
        match &self.kind {
            StepKind::Command { target, command } => vec![(target, command)],
            StepKind::FanOut { runs, .. } => runs.iter().map(|(t, c)| (t, c)).collect(),
            StepKind::Wait { .. } | StepKind::Deferred { .. } => Vec::new(),
        }
    }
}

/// An action on a target, as a list of steps.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// What is done (`switchover`, `backup`, `inspect`, …).
    pub action: String,
    /// What it is done to (cluster, instance or node name).
    pub target: String,
    pub steps: Vec<Step>,
}

impl Pipeline {
    pub fn new(action: impl Into<String>, target: impl Into<String>) -> Self {
        Pipeline {
            action: action.into(),
            target: target.into(),
            steps: Vec::new(),
        }
    }

    /// Builder form of [`Pipeline::push`].
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Every host name the pipeline touches, in first-use order.
    pub fn hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.steps {
            for (t, _) in s.runs() {
                if !out.contains(&t.name) {
                    out.push(t.name.clone());
                }
            }
        }
        out
    }
}
