//! `pigsty-tui run <action>`: the operator actions, headless.
//!
//! ```text
//! pigsty-tui run switchover -i FILE -c CLUSTER [--candidate INS] [--scheduled TIME]
//! pigsty-tui run failover   -i FILE -c CLUSTER --candidate INS
//! pigsty-tui run restart    -i FILE -c CLUSTER [--member INS]
//! pigsty-tui run reload     -i FILE -c CLUSTER [--member INS]
//! pigsty-tui run reinit     -i FILE -c CLUSTER --member INS
//! pigsty-tui run pause      -i FILE -c CLUSTER
//! pigsty-tui run resume     -i FILE -c CLUSTER
//! pigsty-tui run backup     -i FILE -c CLUSTER [--type full|diff|incr]
//! pigsty-tui run backups    -i FILE -c CLUSTER [--format text|json]
//! pigsty-tui run inspect    -i FILE [-c CLUSTER] [--format text|json|markdown]
//! ```
//!
//! Options of every action (before or after its name): `--yes` (confirm
//! without typing the cluster name), `--dry-run` (print the pre-checks, hosts
//! and exact commands, run nothing), `--accept-new-host-keys` (record unknown
//! SSH host keys; refused otherwise), `--known-hosts FILE` (env
//! `PIGSTY_TUI_KNOWN_HOSTS`: replaces ~/.ssh/known_hosts and the OpenSSH
//! configuration's files), `--ssh-key FILE` (env `PIGSTY_TUI_SSH_KEY`: tried
//! after the inventory's `ansible_ssh_private_key_file`), `--ssh-port PORT`
//! (every host, over `ansible_port`), and the global `--readonly`.
//!
//! The same pre-checks and pipelines as in the console run; progress goes to
//! stdout (stderr for `backups` and `inspect`, whose result is stdout).
//! Switchover, failover and reinit need the cluster name typed on a
//! terminal, or `--yes`; without a terminal and without `--yes` they are
//! refused. Every run is appended to `<state dir>/audit.jsonl` (refused runs
//! and dry runs as `refused` / `dry-run` events), task output to
//! `<state dir>/tasks/<id>.log`.
//!
//! Exit codes: 0 done (dry run printed; `inspect` without failed checks);
//! 1 failed (a step failed or timed out, the task was cancelled with Ctrl-C,
//! the listing could not be read, `inspect` found a failed check);
//! 2 refused (read-only mode, a pre-check, no confirmation, unknown cluster
//! or member, or a usage error).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;

use crate::actions::{Action, ActionPlan, BackupType, PlanOptions, Refusal, live};
use crate::model::Deployment;
use crate::tasks::audit::{AuditCommand, AuditLog, AuditRecord, AuditStep};
use crate::tasks::ssh::{HostKeyPolicy, SshConfig, SshPool};
use crate::tasks::{TaskRunner, TaskStatus};

/// Exit code: done.
pub const EXIT_OK: i32 = 0;
/// Exit code: failed (a step, the listing, a failed inspection check, cancelled).
pub const EXIT_FAILED: i32 = 1;
/// Exit code: refused (read-only, pre-check, confirmation, unknown cluster).
pub const EXIT_REFUSED: i32 = 2;

/// `pigsty-tui run`: options shared by every action.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(subcommand)]
    pub action: RunAction,

    /// The cluster (`pg_cluster`).
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER", global = true)]
    pub cluster: Option<String>,

    /// Confirm without typing the cluster name (switchover, failover, reinit).
    #[arg(long, global = true)]
    pub yes: bool,

    /// Print the pre-checks, hosts and exact commands; run nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Accept and record SSH host keys not in known_hosts (refused otherwise).
    #[arg(long, global = true)]
    pub accept_new_host_keys: bool,

    /// SSH private key tried after the inventory's ansible_ssh_private_key_file.
    #[arg(long, value_name = "FILE", global = true, env = "PIGSTY_TUI_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,

    /// SSH port of every host (overrides ansible_port).
    #[arg(long, value_name = "PORT", global = true)]
    pub ssh_port: Option<u16>,
}

/// The actions of `pigsty-tui run`.
#[derive(Debug, Clone, Subcommand)]
pub enum RunAction {
    /// Planned switchover to a healthy replica (Patroni; waits for the new
    /// leader and HAProxy).
    Switchover {
        /// The new leader (default: the healthiest replica).
        #[arg(long, value_name = "INS")]
        candidate: Option<String>,
        /// Schedule it (ISO 8601, e.g. 2030-01-01T03:00+00:00).
        #[arg(long, value_name = "TIME")]
        scheduled: Option<String>,
    },
    /// Promote a replica of a cluster without a healthy leader.
    Failover {
        /// The new leader.
        #[arg(long, value_name = "INS")]
        candidate: String,
    },
    /// Restart Postgres of a member (default: every member) through Patroni.
    Restart {
        #[arg(long, value_name = "INS")]
        member: Option<String>,
    },
    /// Reload the configuration of a member (default: every member).
    Reload {
        #[arg(long, value_name = "INS")]
        member: Option<String>,
    },
    /// Rebuild a replica from the leader.
    Reinit {
        #[arg(long, value_name = "INS")]
        member: String,
    },
    /// Maintenance mode: no automatic failover.
    Pause,
    /// End maintenance mode.
    Resume,
    /// Back up the cluster on its primary (pgBackRest; pg_basebackup on v1).
    Backup {
        #[arg(long = "type", value_enum, default_value_t = BackupKind::Full)]
        kind: BackupKind,
    },
    /// List the cluster's backups.
    Backups {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Health checks on every node of the cluster (default: every cluster).
    Inspect {
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Provisioning: Pigsty's playbooks on the admin node, with progress.
    Provision {
        #[command(subcommand)]
        op: ProvisionCmd,
        /// Print Ansible's own output instead of the per-task progress.
        #[arg(long)]
        raw: bool,
    },
}

/// `pigsty-tui run provision <op>`.
#[derive(Debug, Clone, Subcommand)]
pub enum ProvisionCmd {
    /// Create the cluster declared in the inventory (`pgsql.yml -l C`).
    CreateCluster,
    /// Remove the cluster (`pgsql-rm.yml -l C`); typed confirmation.
    RemoveCluster,
    /// Add instances declared in the cluster (`pgsql.yml -l IP,…`).
    AddInstance {
        #[arg(required = true, value_name = "IP")]
        ips: Vec<String>,
    },
    /// Remove instances (`pgsql-rm.yml -l IP,…`); typed confirmation.
    RemoveInstance {
        #[arg(required = true, value_name = "IP")]
        ips: Vec<String>,
    },
    /// Create a database declared in `pg_databases` (`pgsql-db.yml`).
    CreateDatabase {
        #[arg(value_name = "DBNAME")]
        database: String,
    },
    /// Create a user declared in `pg_users` (`pgsql-user.yml`).
    CreateUser {
        #[arg(value_name = "USERNAME")]
        user: String,
    },
    /// Render and reload HBA rules (`pgsql.yml -t pg_hba,pg_reload`).
    ReloadHba,
    /// Render and reload HAProxy services (`pgsql.yml -t pg_service`).
    ReloadServices,
    /// (Re)configure the infrastructure (`infra.yml`).
    Infra,
    /// Reopen a saved run: a task id (`<state>/tasks/<id>.log`) or a log path.
    Show {
        #[arg(value_name = "TASK_ID|FILE")]
        run: String,
        /// Print the raw output too.
        #[arg(long)]
        raw: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackupKind {
    Full,
    Diff,
    Incr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

/// Settings from outside `run`'s own arguments.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--readonly` or `readonly: true` in the configuration file.
    pub readonly: bool,
    /// Where the audit log and task logs go.
    pub state_dir: PathBuf,
    /// `--known-hosts`.
    pub known_hosts: Option<PathBuf>,
}

impl RunArgs {
    /// The action these arguments ask for.
    pub fn action(&self) -> Result<Action, String> {
        let cluster = || {
            self.cluster
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| "--cluster CLUSTER is required".to_string())
        };
        Ok(match &self.action {
            RunAction::Switchover {
                candidate,
                scheduled,
            } => Action::Switchover {
                cluster: cluster()?,
                candidate: candidate.clone(),
                scheduled: scheduled.clone(),
            },
            RunAction::Failover { candidate } => Action::Failover {
                cluster: cluster()?,
                candidate: candidate.clone(),
            },
            RunAction::Restart { member } => Action::Restart {
                cluster: cluster()?,
                member: member.clone(),
            },
            RunAction::Reload { member } => Action::Reload {
                cluster: cluster()?,
                member: member.clone(),
            },
            RunAction::Reinit { member } => Action::Reinit {
                cluster: cluster()?,
                member: member.clone(),
            },
            RunAction::Pause => Action::Pause {
                cluster: cluster()?,
            },
            RunAction::Resume => Action::Resume {
                cluster: cluster()?,
            },
            RunAction::Backup { kind } => Action::Backup {
                cluster: cluster()?,
                kind: match kind {
                    BackupKind::Full => BackupType::Full,
                    BackupKind::Diff => BackupType::Diff,
                    BackupKind::Incr => BackupType::Incr,
                },
            },
            RunAction::Backups { .. } => Action::Backups {
                cluster: cluster()?,
            },
            RunAction::Inspect { .. } => Action::Inspect {
                cluster: self.cluster.clone(),
            },
            RunAction::Provision { op, .. } => match op {
                ProvisionCmd::CreateCluster => Action::CreateCluster {
                    cluster: cluster()?,
                },
                ProvisionCmd::RemoveCluster => Action::RemoveCluster {
                    cluster: cluster()?,
                },
                ProvisionCmd::AddInstance { ips } => Action::AddInstance {
                    cluster: cluster()?,
                    ips: ips.clone(),
                },
                ProvisionCmd::RemoveInstance { ips } => Action::RemoveInstance {
                    cluster: cluster()?,
                    ips: ips.clone(),
                },
                ProvisionCmd::CreateDatabase { database } => Action::CreateDatabase {
                    cluster: cluster()?,
                    database: database.clone(),
                },
                ProvisionCmd::CreateUser { user } => Action::CreateUser {
                    cluster: cluster()?,
                    user: user.clone(),
                },
                ProvisionCmd::ReloadHba => Action::ReloadHba {
                    cluster: cluster()?,
                },
                ProvisionCmd::ReloadServices => Action::ReloadServices {
                    cluster: cluster()?,
                },
                ProvisionCmd::Infra => Action::Infra,
                ProvisionCmd::Show { .. } => {
                    return Err("show reopens a saved run; it is not an action".into());
                }
            },
        })
    }
}

/// The SSH settings of a headless run: the user's OpenSSH configuration,
/// strict host keys unless `accept_new`, `known_hosts` replacing the usual
/// files, `key` tried after the inventory's.
pub fn ssh_config(
    known_hosts: Option<PathBuf>,
    key: Option<PathBuf>,
    accept_new: bool,
) -> SshConfig {
    let mut c = SshConfig::load();
    if let Some(k) = known_hosts {
        c.known_hosts = Some(vec![k]);
    }
    if let Some(k) = key {
        c.identity_files.push(k);
    }
    c.host_key_policy = if accept_new {
        HostKeyPolicy::AcceptNew
    } else {
        HostKeyPolicy::Strict
    };
    c
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year][month][day]-[hour][minute][second]"
    ))
    .unwrap_or_default()
}

/// Append a record for a run that started no task (refused, dry run).
fn audit_event(
    state_dir: &std::path::Path,
    event: &str,
    action: &Action,
    plan: Option<&ActionPlan>,
    reasons: &[String],
) {
    let now = OffsetDateTime::now_utc();
    let rec = AuditRecord {
        ts: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        event: event.to_string(),
        id: format!(
            "{}-{}-{event}-{:x}",
            stamp(now),
            action.name(),
            std::process::id()
        ),
        who: crate::tasks::local_user(),
        action: action.name().to_string(),
        target: action.target(),
        hosts: plan.map(|p| p.hosts.clone()).unwrap_or_default(),
        commands: plan
            .map(|p| {
                p.commands
                    .iter()
                    .map(|c| AuditCommand {
                        step: c.step.clone(),
                        host: c.host.clone(),
                        user: c.user.clone(),
                        command: c.command.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        status: event.to_string(),
        duration_ms: None,
        log: String::new(),
        steps: if reasons.is_empty() {
            Vec::new()
        } else {
            vec![AuditStep {
                name: "pre-check".into(),
                status: "failed".into(),
                duration_ms: None,
                hosts: Vec::new(),
                message: Some(reasons.join("; ")),
            }]
        },
    };
    let log = AuditLog::new(state_dir);
    if let Err(e) = log.append(&rec) {
        eprintln!(
            "warning: cannot write the audit log {}: {e}",
            log.path().display()
        );
    }
}

fn print_refusal(r: &Refusal) {
    eprintln!("refused: {} {}", r.action, r.target);
    for reason in &r.reasons {
        eprintln!("  - {reason}");
    }
}

/// Ask for the cluster name on the terminal; `Ok(true)` when it matches.
fn typed_confirmation(plan: &ActionPlan) -> std::io::Result<bool> {
    let want = plan.confirmation.clone().unwrap_or_default();
    let mut err = std::io::stderr();
    write!(
        err,
        "{}\nType the cluster name ({want}) to confirm: ",
        plan.to_text().trim_end()
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(plan.confirms(&line))
}

/// Run one action; returns the exit code.
pub fn run(
    mut deployment: Deployment,
    args: &RunArgs,
    opts: RunOptions,
) -> color_eyre::Result<i32> {
    let action = match args.action() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_REFUSED);
        }
    };
    if let Some(port) = args.ssh_port {
        for c in &mut deployment.clusters {
            for i in &mut c.instances {
                i.ssh.port = Some(port);
            }
        }
        for n in &mut deployment.infra {
            n.ssh.port = Some(port);
        }
    }
    let plan_opts = PlanOptions {
        readonly: opts.readonly,
        ..PlanOptions::default()
    };
    // Read-only refusals need no live state.
    if opts.readonly && action.is_mutating() {
        let r = action
            .plan(&deployment, &crate::snapshot::Snapshot::empty(), &plan_opts)
            .expect_err("read-only refuses mutating actions");
        print_refusal(&r);
        audit_event(&opts.state_dir, "refused", &action, None, &r.reasons);
        return Ok(EXIT_REFUSED);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(deployment, args, opts, action, plan_opts))
}

async fn run_async(
    deployment: Deployment,
    args: &RunArgs,
    opts: RunOptions,
    action: Action,
    plan_opts: PlanOptions,
) -> color_eyre::Result<i32> {
    let snap = if action
        .cluster()
        .is_some_and(|c| deployment.cluster(c).is_none())
    {
        crate::snapshot::Snapshot::empty() // plan() refuses the unknown cluster
    } else {
        live::snapshot(&deployment, action.cluster(), &plan_opts.sources).await
    };
    let plan = match action.plan(&deployment, &snap, &plan_opts) {
        Ok(p) => p,
        Err(r) => {
            print_refusal(&r);
            audit_event(&opts.state_dir, "refused", &action, None, &r.reasons);
            return Ok(EXIT_REFUSED);
        }
    };
    if args.dry_run {
        print!("{}", plan.to_text());
        println!("dry run: nothing was run");
        audit_event(&opts.state_dir, "dry-run", &action, Some(&plan), &[]);
        return Ok(EXIT_OK);
    }
    if plan.needs_typed_confirmation && !args.yes {
        let reason = if std::io::stdin().is_terminal() {
            match typed_confirmation(&plan) {
                Ok(true) => None,
                Ok(false) => Some("the typed name does not match the cluster name".to_string()),
                Err(e) => Some(format!("cannot read the confirmation: {e}")),
            }
        } else {
            Some(format!(
                "{} needs the cluster name typed on a terminal, or --yes",
                plan.name
            ))
        };
        if let Some(reason) = reason {
            eprintln!("refused: {} {}: {reason}", plan.name, plan.target);
            audit_event(
                &opts.state_dir,
                "refused",
                &action,
                Some(&plan),
                std::slice::from_ref(&reason),
            );
            return Ok(EXIT_REFUSED);
        }
    }

    let pool = SshPool::new(ssh_config(
        opts.known_hosts.clone(),
        args.ssh_key.clone(),
        args.accept_new_host_keys,
    ));
    let runner = TaskRunner::ssh(pool.clone(), &opts.state_dir);
    let (task, events) = runner.start(plan.pipeline())?;
    let cancel = task.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling (killing the running commands)...");
            cancel.cancel();
        }
    });
    let listing = !plan.mutating;
    let status = if let RunAction::Provision { raw, .. } = &args.action {
        let mut out = std::io::stdout();
        let mut shown = provision_lines(*raw);
        crate::tasks::runner::follow_with(&task, events, &mut out, true, &mut shown).await
    } else if listing {
        let mut err = std::io::stderr();
        crate::tasks::runner::follow(&task, events, &mut err, false).await
    } else {
        let mut out = std::io::stdout();
        crate::tasks::runner::follow(&task, events, &mut out, true).await
    };
    ctrl_c.abort();
    pool.close_all().await;
    let state = task.state().clone();

    let code = match &args.action {
        RunAction::Backups { format } => match plan.backups(&state) {
            Some(Ok(listing)) => {
                print!(
                    "{}",
                    match format {
                        ListFormat::Text => listing.to_text(),
                        ListFormat::Json => listing.to_json(),
                    }
                );
                EXIT_OK
            }
            Some(Err(e)) => {
                eprintln!("error: {e}");
                EXIT_FAILED
            }
            None => EXIT_FAILED,
        },
        RunAction::Inspect { format } if status != TaskStatus::Cancelled => {
            match plan.inspection_report(&state) {
                Some(report) => {
                    print!(
                        "{}",
                        match format {
                            ReportFormat::Text => report.to_text(),
                            ReportFormat::Json => report.to_json(),
                            ReportFormat::Markdown => report.to_markdown(),
                        }
                    );
                    if report.failed() {
                        EXIT_FAILED
                    } else {
                        EXIT_OK
                    }
                }
                None => EXIT_FAILED,
            }
        }
        _ => {
            if status == TaskStatus::Succeeded {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
    };
    if action.is_provisioning() {
        let follower = crate::actions::playbook::LogFollower::read_all(&state.log_path, None);
        if let Ok(f) = follower {
            print_recap(&f.progress);
        }
        println!(
            "run artifact: {} (reopen: pigsty-tui run provision show {})",
            state.log_path.display(),
            state.id
        );
    }
    if !listing {
        let secs = state.duration.map(|d| d.as_secs_f64()).unwrap_or_default();
        println!("{} {}: {status} in {secs:.1}s", plan.name, plan.target);
    }
    Ok(code)
}

/// Headless progress of a playbook: one line per task and per host result,
/// failures with their message; `raw`: Ansible's own output instead.
pub fn provision_lines(
    raw: bool,
) -> impl FnMut(&str, crate::tasks::Stream, &str) -> Option<String> {
    use crate::actions::playbook::{EVENT_MARKER, PlaybookProgress};
    let mut progress = PlaybookProgress::new();
    move |host: &str, stream: crate::tasks::Stream, text: &str| {
        let before = (
            progress.plays.len(),
            progress.task_count(),
            result_count(&progress),
        );
        if !progress.feed_line(text) {
            // raw output: runner/pre-step lines, Ansible's text, errors
            let keep = raw
                || stream == crate::tasks::Stream::Stderr
                || !text.starts_with(EVENT_MARKER) && is_notable(text);
            return keep.then(|| {
                let mark = if stream == crate::tasks::Stream::Stderr {
                    '!'
                } else {
                    '|'
                };
                format!("    {host} {mark} {text}")
            });
        }
        if raw {
            return None;
        }
        let (plays, tasks, results) = before;
        if progress.plays.len() > plays {
            let p = progress.plays.last()?;
            return Some(format!("  PLAY {} [{}]", p.name, p.hosts.join(", ")));
        }
        if progress.task_count() > tasks {
            let (_, t) = progress.current_task()?;
            return Some(format!("    TASK {}", t.name));
        }
        if result_count(&progress) > results {
            let t = progress.plays.last()?.tasks.last()?;
            let r = t.results.last()?;
            let status = if r.ignored {
                "ignored"
            } else {
                r.status.as_str()
            };
            let mut line = format!(
                "      {status:<11} {}{}",
                r.host,
                r.duration
                    .map(|d| format!(" ({d:.1}s)"))
                    .unwrap_or_default()
            );
            if r.is_fatal() {
                for l in r.message().lines() {
                    line.push_str(&format!("\n        {l}"));
                }
            }
            return Some(line);
        }
        None
    }
}

fn result_count(p: &crate::actions::playbook::PlaybookProgress) -> usize {
    p.plays
        .iter()
        .flat_map(|p| p.tasks.iter())
        .map(|t| t.results.len())
        .sum()
}

/// Raw lines worth showing in progress mode: Ansible's errors and warnings,
/// and what the other steps print.
fn is_notable(text: &str) -> bool {
    let t = text.trim_start();
    !(t.is_empty()
        || t.starts_with("TASK [")
        || t.starts_with("PLAY [")
        || t.starts_with("PLAY RECAP")
        || t.starts_with("RUNNING HANDLER [")
        || t.starts_with("ok: [")
        || t.starts_with("changed: [")
        || t.starts_with("skipping: [")
        || t.starts_with("included: ")
        || t.starts_with("fatal: [")
        || t.starts_with("...ignoring")
        || t.starts_with("\"")
        || t.starts_with('{')
        || t.starts_with('}')
        || t.starts_with(']')
        || t.contains(" : ok="))
}

fn print_recap(p: &crate::actions::playbook::PlaybookProgress) {
    let counts = p.counts();
    if counts.is_empty() && p.errors.is_empty() {
        return;
    }
    println!(
        "recap{}:",
        p.playbook
            .as_deref()
            .map(|b| format!(" of {b}"))
            .unwrap_or_default()
    );
    for (h, c) in &counts {
        println!(
            "  {h:<20} ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}",
            c.ok, c.changed, c.unreachable, c.failed, c.skipped, c.rescued, c.ignored
        );
    }
    if let Some(f) = p.failure_summary() {
        println!("FAILED: {f}");
    }
}

/// `pigsty-tui run provision show RUN`: the progress of a saved run.
pub fn show_saved_run(state_dir: &std::path::Path, run: &str, raw: bool) -> i32 {
    let path = {
        let p = PathBuf::from(run);
        if p.is_file() {
            p
        } else {
            state_dir.join("tasks").join(format!("{run}.log"))
        }
    };
    match crate::actions::playbook::LogFollower::read_all(&path, None) {
        Err(e) => {
            eprintln!("error: cannot read the run {run}: {e}");
            EXIT_REFUSED
        }
        Ok(f) => {
            if raw {
                for l in &f.raw {
                    println!("{l}");
                }
            }
            if f.progress.plays.is_empty() && f.progress.errors.is_empty() {
                eprintln!("{}: no playbook progress in this log", path.display());
                return EXIT_FAILED;
            }
            print!("{}", f.progress.to_text());
            match f.progress.failure_summary() {
                Some(s) => {
                    println!("FAILED: {s}");
                    EXIT_FAILED
                }
                None if f.progress.finished() => EXIT_OK,
                None => {
                    println!("(the run did not reach its recap)");
                    EXIT_FAILED
                }
            }
        }
    }
}
