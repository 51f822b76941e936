//! Running one command on one host: the [`Executor`] trait, its SSH
//! implementation ([`SshExecutor`]) and a local one ([`LocalExecutor`], for
//! tests of the pipeline logic and for development without hosts).
//!
//! An executor streams output to an [`OutputSink`] as it arrives and honours
//! a [`CancellationToken`]: once it fires, the command is killed (the remote
//! process group with it) and [`ExecOutcome::Cancelled`] is returned.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::shell::RemoteCommand;
use super::ssh::{SshError, SshPool, Target};

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "out",
            Stream::Stderr => "err",
        }
    }
}

type OutputFn = dyn Fn(Stream, &[u8]) + Send + Sync;

/// Where output chunks go, as they arrive.
#[derive(Clone)]
pub struct OutputSink(Arc<OutputFn>);

impl fmt::Debug for OutputSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutputSink")
    }
}

impl OutputSink {
    pub fn new(f: impl Fn(Stream, &[u8]) + Send + Sync + 'static) -> Self {
        OutputSink(Arc::new(f))
    }

    /// A sink dropping everything.
    pub fn discard() -> Self {
        OutputSink::new(|_, _| {})
    }

    pub fn emit(&self, stream: Stream, bytes: &[u8]) {
        if !bytes.is_empty() {
            (self.0)(stream, bytes)
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code.
    Code(u32),
    /// It was killed by a signal (`TERM`, `KILL`, …).
    Signal { name: String, core_dumped: bool },
    /// The channel closed without an exit status.
    Unknown,
}

impl ExitStatus {
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Code(0))
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            ExitStatus::Code(c) => Some(*c),
            _ => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit {c}"),
            ExitStatus::Signal { name, core_dumped } => {
                write!(f, "killed by SIG{name}")?;
                if *core_dumped {
                    f.write_str(" (core dumped)")?;
                }
                Ok(())
            }
            ExitStatus::Unknown => f.write_str("no exit status"),
        }
    }
}

/// What was done about a command when it was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReport {
    /// Cancelled before anything was started on the host.
    NotStarted,
    /// Its process group was killed (TERM, then KILL) and is gone.
    Killed { pgid: u32 },
    /// The process group could not be identified: TERM was sent over the
    /// channel and the channel closed; something may survive.
    SignalSent,
    /// Killing the process group failed.
    KillFailed { pgid: u32, error: String },
    /// The command ended on its own before it could be killed.
    AlreadyFinished,
}

impl fmt::Display for CancelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReport::NotStarted => f.write_str("not started"),
            CancelReport::Killed { pgid } => write!(f, "process group {pgid} killed"),
            CancelReport::SignalSent => {
                f.write_str("TERM sent over the channel (process group unknown)")
            }
            CancelReport::KillFailed { pgid, error } => {
                write!(f, "killing process group {pgid} failed: {error}")
            }
            CancelReport::AlreadyFinished => f.write_str("it had already finished"),
        }
    }
}

/// The end of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    Exited(ExitStatus),
    Cancelled(CancelReport),
}

/// Why a command could not be run (or its end not observed).
#[derive(Debug)]
pub enum ExecError {
    Ssh(SshError),
    Io(std::io::Error),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Ssh(e) => e.fmt(f),
            ExecError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExecError {}

impl From<SshError> for ExecError {
    fn from(e: SshError) -> Self {
        ExecError::Ssh(e)
    }
}

impl From<std::io::Error> for ExecError {
    fn from(e: std::io::Error) -> Self {
        ExecError::Io(e)
    }
}

/// Runs commands on hosts.
pub trait Executor: Send + Sync + 'static {
    /// Run `command` on `target`, streaming output into `output`; when
    /// `cancel` fires, kill it and return [`ExecOutcome::Cancelled`].
    fn execute(
        &self,
        target: Target,
        command: RemoteCommand,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ExecOutcome, ExecError>>;

    /// The user `command` runs as on `target` (for logs and the audit log).
    fn run_as_user(&self, target: &Target, command: &RemoteCommand) -> String;
}

/// Runs commands over SSH through a shared [`SshPool`].
#[derive(Clone, Debug)]
pub struct SshExecutor {
    pub pool: SshPool,
}

impl SshExecutor {
    pub fn new(pool: SshPool) -> Self {
        SshExecutor { pool }
    }
}

impl Executor for SshExecutor {
    fn execute(
        &self,
        target: Target,
        command: RemoteCommand,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ExecOutcome, ExecError>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let session = tokio::select! {
                s = pool.session(&target) => s?,
                _ = cancel.cancelled() => return Ok(ExecOutcome::Cancelled(CancelReport::NotStarted)),
            };
            Ok(session.exec(&command, &output, &cancel).await?)
        })
    }

    fn run_as_user(&self, target: &Target, command: &RemoteCommand) -> String {
        let login = self
            .pool
            .config()
            .resolve(target)
            .map(|e| e.user)
            .unwrap_or_else(|_| target.ssh.user.clone().unwrap_or_default());
        command.effective_user(&login, &target.dbsu).to_string()
    }
}

/// Runs commands on this machine with `bash -c`, ignoring the target's
/// address and [`RunAs`](super::shell::RunAs): for tests of the pipeline
/// logic. The command sees `PIGSTY_TUI_HOST` set to the target's name. It
/// runs in its own process group, killed on cancel.
#[derive(Clone, Debug, Default)]
pub struct LocalExecutor;

impl LocalExecutor {
    pub fn new() -> Self {
        LocalExecutor
    }
}

async fn kill_group(pgid: u32, signal: &str) {
    let _ = tokio::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stderr(std::process::Stdio::null())
        .status()
        .await;
}

impl Executor for LocalExecutor {
    fn execute(
        &self,
        target: Target,
        command: RemoteCommand,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ExecOutcome, ExecError>> {
        Box::pin(async move {
            use std::process::Stdio;
            use tokio::io::AsyncReadExt;
            if cancel.is_cancelled() {
                return Ok(ExecOutcome::Cancelled(CancelReport::NotStarted));
            }
            let mut child = tokio::process::Command::new("bash")
                .arg("-c")
                .arg(&command.script)
                .env("PIGSTY_TUI_HOST", &target.name)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true)
                .spawn()?;
            let pgid = child.id().unwrap_or(0);
            let mut out = child.stdout.take().expect("piped");
            let mut err = child.stderr.take().expect("piped");
            let (o1, o2) = (output.clone(), output.clone());
            let pump_out = async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = out.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    o1.emit(Stream::Stdout, &buf[..n]);
                }
            };
            let pump_err = async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    o2.emit(Stream::Stderr, &buf[..n]);
                }
            };
            let run = async {
                let (_, _, st) = tokio::join!(pump_out, pump_err, child.wait());
                st
            };
            tokio::pin!(run);
            tokio::select! {
                st = &mut run => {
                    let st = st?;
                    use std::os::unix::process::ExitStatusExt;
                    Ok(ExecOutcome::Exited(match (st.code(), st.signal()) {
                        (Some(c), _) => ExitStatus::Code(c as u32),
                        (None, Some(s)) => ExitStatus::Signal { name: signal_name(s), core_dumped: st.core_dumped() },
                        _ => ExitStatus::Unknown,
                    }))
                }
                _ = cancel.cancelled() => {
                    kill_group(pgid, "TERM").await;
                    if tokio::time::timeout(Duration::from_secs(5), &mut run).await.is_err() {
                        kill_group(pgid, "KILL").await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut run).await;
                    }
                    Ok(ExecOutcome::Cancelled(CancelReport::Killed { pgid }))
                }
            }
        })
    }

    fn run_as_user(&self, _target: &Target, command: &RemoteCommand) -> String {
        let me = super::local_user();
        command.effective_user(&me, "postgres").to_string()
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        1 => "HUP",
        2 => "INT",
        3 => "QUIT",
        6 => "ABRT",
        9 => "KILL",
        13 => "PIPE",
        14 => "ALRM",
        15 => "TERM",
        _ => return sig.to_string(),
    }
    .to_string()
}
