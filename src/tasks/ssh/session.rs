//! Sessions: running commands over a pooled connection.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use russh::{ChannelMsg, Sig};
use tokio_util::sync::CancellationToken;

use super::pool::Connection;
use super::{Endpoint, SshError, SshErrorKind, SshPool};
use crate::tasks::exec::{CancelReport, ExecOutcome, ExitStatus, OutputSink, Stream};
use crate::tasks::shell::{MarkerFilter, RemoteCommand, remote_command_line, remote_kill_line};

fn sig_name(s: &Sig) -> String {
    match s {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(c) => c.clone(),
    }
}

// ---------------------------------------------------------------------------
// Sessions and commands

/// Collected output of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A host to run commands on, over a pooled connection.
pub struct Session {
    pub(super) pool: SshPool,
    pub(super) conn: Mutex<Arc<Connection>>,
    pub(super) endpoint: Endpoint,
    pub(super) dbsu: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint.to_string())
            .field("dbsu", &self.dbsu)
            .finish()
    }
}

const MAX_CAPTURE: usize = 16 << 20;

impl Session {
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The user `command` runs as here.
    pub fn user_for(&self, command: &RemoteCommand) -> String {
        command
            .effective_user(&self.endpoint.user, &self.dbsu)
            .to_string()
    }

    /// Open a session channel, reconnecting once if the pooled connection
    /// turns out to be dead.
    async fn channel(&self) -> Result<russh::Channel<client::Msg>, SshError> {
        let mut reconnected = false;
        let mut refusals = 0;
        loop {
            let conn = self.conn.lock().unwrap().clone();
            match conn.handle.channel_open_session().await {
                Ok(ch) => return Ok(ch),
                Err(e) if !reconnected && conn.handle.is_closed() => {
                    tracing::debug!(endpoint = %self.endpoint, error = %e, "reconnecting");
                    reconnected = true;
                    self.pool.discard(&conn);
                    let fresh = self.pool.connect(&self.endpoint).await?;
                    *self.conn.lock().unwrap() = fresh;
                }
                // The server refuses more sessions for now (MaxSessions):
                // others will close; try again for a while.
                Err(russh::Error::ChannelOpenFailure(_)) if refusals < 40 => {
                    refusals += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    return Err(self
                        .endpoint
                        .error(SshErrorKind::Channel(format!("cannot open a channel: {e}"))));
                }
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.conn.lock().unwrap().handle.is_closed()
    }

    /// Run a raw command line (no wrapper, no sudo) and collect its output.
    pub async fn output_raw(&self, line: &str) -> Result<CommandOutput, SshError> {
        let mut ch = self.channel().await?;
        ch.exec(true, line).await.map_err(|e| {
            self.endpoint
                .error(SshErrorKind::Channel(format!("exec failed: {e}")))
        })?;
        let _ = ch.eof().await;
        let mut out = CommandOutput {
            status: ExitStatus::Unknown,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        while let Some(msg) = ch.wait().await {
            match msg {
                ChannelMsg::Data { data } if out.stdout.len() < MAX_CAPTURE => {
                    out.stdout.extend_from_slice(&data)
                }
                ChannelMsg::ExtendedData { data, .. } if out.stderr.len() < MAX_CAPTURE => {
                    out.stderr.extend_from_slice(&data)
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    out.status = ExitStatus::Code(exit_status)
                }
                ChannelMsg::ExitSignal {
                    signal_name,
                    core_dumped,
                    ..
                } => {
                    out.status = ExitStatus::Signal {
                        name: sig_name(&signal_name),
                        core_dumped,
                    }
                }
                ChannelMsg::Failure => {
                    return Err(self.endpoint.error(SshErrorKind::Channel(
                        "the server refused to run the command".into(),
                    )));
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        if out.status == ExitStatus::Unknown && self.is_closed() {
            return Err(self.endpoint.error(SshErrorKind::Disconnected(
                "while the command was running".into(),
            )));
        }
        Ok(out)
    }

    /// Run `command` and collect its output.
    pub async fn output(&self, command: &RemoteCommand) -> Result<CommandOutput, SshError> {
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (o, e) = (stdout.clone(), stderr.clone());
        let sink = OutputSink::new(move |s, b| {
            let mut buf = match s {
                Stream::Stdout => o.lock().unwrap(),
                Stream::Stderr => e.lock().unwrap(),
            };
            if buf.len() < MAX_CAPTURE {
                buf.extend_from_slice(b);
            }
        });
        let status = match self.exec(command, &sink, &CancellationToken::new()).await? {
            ExecOutcome::Exited(s) => s,
            ExecOutcome::Cancelled(_) => ExitStatus::Unknown,
        };
        let stdout = std::mem::take(&mut *stdout.lock().unwrap());
        let stderr = std::mem::take(&mut *stderr.lock().unwrap());
        Ok(CommandOutput {
            status,
            stdout,
            stderr,
        })
    }

    /// Run `command` (wrapped so its process group is known, through
    /// `sudo -iu` as needed), streaming output into `output`. When `cancel`
    /// fires, its remote process group is killed (TERM, then KILL) by a
    /// second command, TERM is also sent over the channel, and the channel
    /// is closed.
    pub async fn exec(
        &self,
        command: &RemoteCommand,
        output: &OutputSink,
        cancel: &CancellationToken,
    ) -> Result<ExecOutcome, SshError> {
        let line = remote_command_line(command, &self.endpoint.user, &self.dbsu);
        let slots = self.conn.lock().unwrap().channels.clone();
        let _slot = tokio::select! {
            s = slots.acquire_owned() => s.ok(),
            _ = cancel.cancelled() => return Ok(ExecOutcome::Cancelled(CancelReport::NotStarted)),
        };
        let mut ch = self.channel().await?;
        ch.exec(true, line).await.map_err(|e| {
            self.endpoint
                .error(SshErrorKind::Channel(format!("exec failed: {e}")))
        })?;
        // No EOF on stdin: the wrapper's watcher takes a closed stdin for a
        // closed channel and kills the command (see shell::remote_command_line).
        let mut filter = MarkerFilter::new();
        let mut status = None;
        let mut closed = false;
        loop {
            let msg = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                m = ch.wait() => m,
            };
            if self.handle_msg(msg, &mut filter, &mut status, output)? {
                closed = true;
                break;
            }
        }
        if !closed {
            let report = self
                .kill(&mut ch, command, &mut filter, &mut status, output)
                .await;
            output.emit(Stream::Stderr, &filter.finish());
            return Ok(ExecOutcome::Cancelled(report));
        }
        output.emit(Stream::Stderr, &filter.finish());
        match status {
            Some(s) => Ok(ExecOutcome::Exited(s)),
            None if self.is_closed() => Err(self.endpoint.error(SshErrorKind::Disconnected(
                "while the command was running (its fate on the host is unknown)".into(),
            ))),
            None => Ok(ExecOutcome::Exited(ExitStatus::Unknown)),
        }
    }

    /// Handle one channel message; true when the channel is finished.
    fn handle_msg(
        &self,
        msg: Option<ChannelMsg>,
        filter: &mut MarkerFilter,
        status: &mut Option<ExitStatus>,
        output: &OutputSink,
    ) -> Result<bool, SshError> {
        match msg {
            None | Some(ChannelMsg::Close) => return Ok(true),
            Some(ChannelMsg::Data { data }) => output.emit(Stream::Stdout, &data),
            Some(ChannelMsg::ExtendedData { data, .. }) => {
                output.emit(Stream::Stderr, &filter.feed(&data))
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                *status = Some(ExitStatus::Code(exit_status))
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            }) => {
                *status = Some(ExitStatus::Signal {
                    name: sig_name(&signal_name),
                    core_dumped,
                })
            }
            Some(ChannelMsg::Failure) => {
                return Err(self.endpoint.error(SshErrorKind::Channel(
                    "the server refused to run the command".into(),
                )));
            }
            Some(_) => {}
        }
        Ok(false)
    }

    async fn kill(
        &self,
        ch: &mut russh::Channel<client::Msg>,
        command: &RemoteCommand,
        filter: &mut MarkerFilter,
        status: &mut Option<ExitStatus>,
        output: &OutputSink,
    ) -> CancelReport {
        // The process group is reported first thing; give it a moment if the
        // command was cancelled right after starting.
        let wait_until = tokio::time::Instant::now() + Duration::from_secs(3);
        let mut closed = false;
        while filter.pgid().is_none() && !closed {
            match tokio::time::timeout_at(wait_until, ch.wait()).await {
                Ok(msg) => closed = self.handle_msg(msg, filter, status, output).unwrap_or(true),
                Err(_) => break,
            }
        }
        let _ = ch.signal(Sig::TERM).await;
        let report = match filter.pgid() {
            Some(pgid) => {
                let line = remote_kill_line(command, &self.endpoint.user, &self.dbsu, pgid);
                match tokio::time::timeout(Duration::from_secs(20), self.output_raw(&line)).await {
                    Ok(Ok(out)) if out.status.success() => CancelReport::Killed { pgid },
                    Ok(Ok(out)) => CancelReport::KillFailed {
                        pgid,
                        error: format!("{}: {}", out.status, out.stderr_str().trim()),
                    },
                    Ok(Err(e)) => CancelReport::KillFailed {
                        pgid,
                        error: e.to_string(),
                    },
                    Err(_) => CancelReport::KillFailed {
                        pgid,
                        error: "the kill command timed out".into(),
                    },
                }
            }
            None if closed => CancelReport::AlreadyFinished,
            None => CancelReport::SignalSent,
        };
        // Collect what the dying command still says, briefly.
        let drain_until = tokio::time::Instant::now() + Duration::from_secs(2);
        while !closed {
            match tokio::time::timeout_at(drain_until, ch.wait()).await {
                Ok(msg) => closed = self.handle_msg(msg, filter, status, output).unwrap_or(true),
                Err(_) => break,
            }
        }
        let _ = ch.close().await;
        report
    }
}
