//! Running operator actions on hosts: SSH transport, pipelines of steps,
//! their runner, task logs and the audit log.
//!
//! * [`ssh`]: connections ([`ssh::SshPool`]), resolution of targets through
//!   the inventory and `~/.ssh/config` ([`ssh::SshConfig`]), host key checks.
//! * [`shell`]: quoting and the command lines sent to hosts
//!   ([`shell::RemoteCommand`], run as the admin user or through `sudo -iu`).
//! * [`exec`]: one command on one host ([`exec::Executor`]; over SSH or
//!   locally for tests).
//! * [`pipeline`]: what to run: named steps (a command, a fan-out over
//!   hosts, or a wait on a condition).
//! * [`runner`]: runs pipelines as tasks, publishes [`runner::TaskEvent`]s
//!   and a shared [`runner::TaskState`], writes `<state>/tasks/<id>.log` and
//!   appends to `<state>/audit.jsonl` ([`audit::AuditLog`]).

pub mod audit;
pub mod exec;
mod log;
pub mod pipeline;
pub mod runner;
pub mod shell;
pub mod ssh;

pub use exec::{ExecOutcome, Executor, ExitStatus, LocalExecutor, SshExecutor, Stream};
pub use pipeline::{Pipeline, RunContext, Step, StepKind};
pub use runner::{TaskEvent, TaskHandle, TaskRunner, TaskState, TaskStatus};
pub use shell::{RemoteCommand, RunAs};
pub use ssh::{HostKeyPolicy, SshConfig, SshPool, Target};

/// The name of the local user ($USER, $LOGNAME, else from /etc/passwd).
pub fn local_user() -> String {
    for v in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(v)
            && !u.is_empty()
        {
            return u;
        }
    }
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        let uid = meta.uid();
        if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
            for line in passwd.lines() {
                let f: Vec<&str> = line.split(':').collect();
                if f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid) {
                    return f[0].to_string();
                }
            }
        }
        return format!("uid{uid}");
    }
    "unknown".to_string()
}
