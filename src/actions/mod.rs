//! Operator actions: switchover, failover, restart, reload, reinit, pause,
//! resume, backup, the backups listing and inspection.
//!
//! An [`Action`] is planned against the inventory and a live [`Snapshot`]
//! ([`Action::plan`]): the pre-checks run (a refused plan is a [`Refusal`]
//! with its reasons), then the [`ActionPlan`] tells what will run where
//! (`description`, `hosts`, `commands` in display form, `mutating`,
//! `needs_typed_confirmation`). Once confirmed, [`ActionPlan::pipeline`] is
//! started on a [`TaskRunner`](crate::tasks::TaskRunner); listings and
//! inspections read their results back from the finished task
//! ([`ActionPlan::backups`], [`ActionPlan::inspection_report`]).
//!
//! ```no_run
//! # async fn demo(d: pigsty_tui::model::Deployment, runner: pigsty_tui::tasks::TaskRunner) {
//! use pigsty_tui::actions::{Action, PlanOptions, live};
//! let opts = PlanOptions::default();
//! let snap = live::snapshot(&d, Some("pg-test"), &opts.sources).await;
//! let action = Action::Switchover { cluster: "pg-test".into(), candidate: None, scheduled: None };
//! match action.plan(&d, &snap, &opts) {
//!     Err(refusal) => eprintln!("{refusal}"),
//!     Ok(plan) => {
//!         // show plan.description, plan.commands; if plan.needs_typed_confirmation,
//!         // check plan.confirms(typed) first
//!         let (task, events) = runner.start(plan.pipeline()).unwrap();
//!         # let _ = (task, events);
//!     }
//! }
//! # }
//! ```
//!
//! # Where commands run and what they are
//!
//! Commands run over SSH on cluster members, as the database superuser
//! (`sudo -iu <pg_dbsu>`). Connection settings, most specific first:
//! the inventory's host / group variables `ansible_host`, `ansible_port`,
//! `ansible_user`, `ansible_ssh_private_key_file`, then `~/.ssh/config`,
//! then defaults (see [`crate::tasks::ssh`]).
//!
//! | action | runs on | command (Pigsty defaults) |
//! |---|---|---|
//! | switchover | the leader | `patronictl -c <patronictl_config> switchover <cls> --leader <leader> --candidate <cand> --force [--scheduled T]` (v1: `--master`) |
//! | failover | the candidate | `patronictl -c … failover <cls> --candidate <cand> --force` |
//! | restart / reload | the leader (else a member whose Patroni answers) | `patronictl -c … restart\|reload <cls> [<member>] --force` |
//! | reinit | the leader | `patronictl -c … reinit <cls> <member> --force --wait` |
//! | pause / resume | the leader (else a member whose Patroni answers) | `patronictl -c … pause\|resume <cls> --wait` |
//! | backup (pgBackRest) | the leader | `pgbackrest [--config=<pgbackrest_config>] --stanza=<cls> --type=full\|diff\|incr backup` |
//! | backup (v1) | the leader | `pg_basebackup -D <pg_backup_dir>/backup_<cls>_<time> -Ft -z -c fast` |
//! | backups | the leader (else any member) | `pgbackrest … --output=json info` / a listing of `<pg_backup_dir>` |
//! | inspect | every member | `psql`, `df`, `/proc/loadavg`, `free`, `curl …:8008/health`, `ss -ltn` |
//! | cancel-backend / terminate-backend | the member | `psql … -c 'SELECT pg_cancel_backend(PID)'` / `pg_terminate_backend(PID)` on its unix socket; fails when it returns false |
//!
//! `patronictl` output is checked too: `Error: …`, `Failed: …` and
//! `… failed, details: …` fail the step even when patronictl exits 0.
//! After a switchover or failover the task waits for the candidate to lead
//! on a new timeline, for every HAProxy of the cluster to route its
//! `primary` service (5433) to it only, then connects through each node's
//! HAProxy `primary` port (`psql` as `pg_admin_username`, database: the
//! cluster's first `pg_databases` entry, else `postgres`) and checks
//! `pg_is_in_recovery()` is false.
//!
//! # Inventory variables
//!
//! Every variable is read per host (host vars > group vars > `all.vars` >
//! Pigsty's defaults), so it can be set for one host, a cluster or the whole
//! deployment.
//!
//! | variable | default | used for |
//! |---|---|---|
//! | `pg_dbsu` | `postgres` | the user commands run as (`sudo -iu`) |
//! | `patronictl_config` | v1/v2: `/pg/bin/patroni.yml`; v3/v4: `/etc/patroni/patroni.yml`, else `/pg/bin/patroni.yml` (first readable); a v1 meta node has `/etc/pigsty/patronictl.yml` | `patronictl -c` |
//! | `patronictl_bin` | `patronictl` | the patronictl executable |
//! | `patronictl_leader_flag` | v1: `--master`; v2+: `--leader` | how switchover names the current leader |
//! | `pgbackrest_config` | unset (pgBackRest's own default, `/etc/pgbackrest/pgbackrest.conf`) | `pgbackrest --config=`; setting it also selects pgBackRest backups on v1 |
//! | `pgbackrest_bin` | `pgbackrest` | the pgBackRest executable |
//! | `pgbackrest_stanza` | the cluster name | `--stanza=` |
//! | `pg_backup_method` | v1: `basebackup`; v2+: `pgbackrest` (`basebackup` when `pgbackrest_enabled: false`) | how `backup` backs up |
//! | `pg_backup_dir` | `/pg/backup` | `pg_basebackup` target directory (v1) |
//! | `pigsty_home` | `~/pigsty` | Pigsty's directory on the admin node (reserved for playbook actions) |
//! | `pg_localhost`, `pg_port`, `pg_data`, `pg_bin_dir`, `patroni_port`, `patroni_ssl_enabled` | Pigsty's | local `psql`/`pg_basebackup`, `df` of the data directory, Patroni `/health` |
//! | `pg_rpo` | `1048576` | `maximum_lag_on_failover` of the candidate check |
//! | `pg_admin_username` / `pg_admin_password` | `dbuser_dba` / `DBUser.DBA` | the end-to-end HAProxy check after a switchover / failover |
//!
//! # Pre-checks
//!
//! * switchover: the cluster has a running leader, is not paused; the
//!   candidate (given, else the healthiest replica: declared replicas before
//!   offline ones, then the least lag) is a member, its Patroni answers, its
//!   Postgres runs, it is not tagged `nofailover` / `failover_priority: 0`,
//!   it lags at most `pg_rpo` bytes and is on the leader's timeline.
//! * failover: a candidate is required; the cluster has no healthy leader
//!   (otherwise: use switchover); the candidate passes the same checks
//!   against the cluster's timeline.
//! * restart / reload: the members concerned answer through Patroni.
//! * reinit: the member is not the leader, answers, and the cluster has a
//!   running leader to copy from.
//! * pause / resume: the cluster is not already paused / resumed.
//! * backup: the cluster has a running leader; `diff` / `incr` need pgBackRest.
//! * `readonly` refuses every mutating action; `backups` and `inspect` stay
//!   available.
//!
//! Switchover, failover and reinit need the cluster name typed to confirm
//! ([`ActionPlan::needs_typed_confirmation`], [`ActionPlan::confirms`]).

pub mod backup;
pub mod catalog;
pub mod checks;
pub mod inspect;
pub mod live;
pub mod playbook;
pub mod provision;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

pub use backup::{BackupListing, BackupRow};
pub use catalog::{BackupMethod, BackupType, Catalog, HostSettings};
pub use inspect::{CheckStatus, Inspection, InspectionReport};
pub use live::LiveView;

use crate::model::{Cluster, Deployment, Instance};
use crate::snapshot::{ClusterLive, MemberLive, Snapshot};
use crate::sources::SourcesConfig;
use crate::tasks::runner::{StepStatus, TaskState};
use crate::tasks::shell::RunAs;
use crate::tasks::ssh::Target;
use crate::tasks::{Pipeline, RemoteCommand, Step, StepKind, Stream, TaskRunner, TaskStatus};
use crate::triage::activity::{self, Signal};
use live::Progress;

/// An operator action and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Planned switchover to `candidate` (default: the healthiest replica),
    /// now or at `scheduled` (ISO 8601, passed to patronictl).
    Switchover {
        cluster: String,
        candidate: Option<String>,
        scheduled: Option<String>,
    },
    /// Promote `candidate` in a cluster without a healthy leader.
    Failover {
        cluster: String,
        candidate: String,
    },
    /// Restart one member's Postgres, or every member's.
    Restart {
        cluster: String,
        member: Option<String>,
    },
    /// Reload the configuration of one member, or of every member.
    Reload {
        cluster: String,
        member: Option<String>,
    },
    /// Rebuild a replica from the leader.
    Reinit {
        cluster: String,
        member: String,
    },
    /// Maintenance mode: Patroni stops failing over.
    Pause {
        cluster: String,
    },
    Resume {
        cluster: String,
    },
    Backup {
        cluster: String,
        kind: BackupType,
    },
    /// The cluster's backups.
    Backups {
        cluster: String,
    },
    /// Health checks on every node of a cluster, or of every cluster.
    Inspect {
        cluster: Option<String>,
    },
    /// Provision a declared cluster (Pigsty's `pgsql.yml -l C`).
    CreateCluster {
        cluster: String,
    },
    /// Remove a cluster (`pgsql-rm.yml -l C`; v1 `pgsql-remove.yml`).
    RemoveCluster {
        cluster: String,
    },
    /// Provision declared instances of a cluster (`pgsql.yml -l IP,…`).
    AddInstance {
        cluster: String,
        ips: Vec<String>,
    },
    /// Remove instances of a cluster (`pgsql-rm.yml -l IP,…`).
    RemoveInstance {
        cluster: String,
        ips: Vec<String>,
    },
    /// Create a database declared in `pg_databases` (`pgsql-db.yml`).
    CreateDatabase {
        cluster: String,
        database: String,
    },
    /// Create a user declared in `pg_users` (`pgsql-user.yml`).
    CreateUser {
        cluster: String,
        user: String,
    },
    /// Render and reload the HBA rules (`pgsql.yml -t pg_hba,pg_reload`).
    ReloadHba {
        cluster: String,
    },
    /// Render and reload the HAProxy services (`pgsql.yml -t pg_service`).
    ReloadServices {
        cluster: String,
    },
    /// (Re)configure the infrastructure (`infra.yml`).
    Infra,
    /// Cancel the running query of a backend of `member`
    /// (`pg_cancel_backend`; the activity view's `c`).
    CancelBackend {
        cluster: String,
        member: String,
        pid: i32,
    },
    /// End the session of a backend of `member` (`pg_terminate_backend`;
    /// the activity view's `k`).
    TerminateBackend {
        cluster: String,
        member: String,
        pid: i32,
    },
}

impl Action {
    /// `switchover`, `failover`, …, as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Switchover { .. } => "switchover",
            Action::Failover { .. } => "failover",
            Action::Restart { .. } => "restart",
            Action::Reload { .. } => "reload",
            Action::Reinit { .. } => "reinit",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::Backup { .. } => "backup",
            Action::Backups { .. } => "backups",
            Action::Inspect { .. } => "inspect",
            Action::CreateCluster { .. } => "create-cluster",
            Action::RemoveCluster { .. } => "remove-cluster",
            Action::AddInstance { .. } => "add-instance",
            Action::RemoveInstance { .. } => "remove-instance",
            Action::CreateDatabase { .. } => "create-database",
            Action::CreateUser { .. } => "create-user",
            Action::ReloadHba { .. } => "reload-hba",
            Action::ReloadServices { .. } => "reload-services",
            Action::Infra => "infra",
            Action::CancelBackend { .. } => "cancel-backend",
            Action::TerminateBackend { .. } => "terminate-backend",
        }
    }

    /// The cluster concerned (`None`: inspection of every cluster).
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Action::Switchover { cluster, .. }
            | Action::Failover { cluster, .. }
            | Action::Restart { cluster, .. }
            | Action::Reload { cluster, .. }
            | Action::Reinit { cluster, .. }
            | Action::Pause { cluster }
            | Action::Resume { cluster }
            | Action::Backup { cluster, .. }
            | Action::Backups { cluster }
            | Action::CreateCluster { cluster }
            | Action::RemoveCluster { cluster }
            | Action::AddInstance { cluster, .. }
            | Action::RemoveInstance { cluster, .. }
            | Action::CreateDatabase { cluster, .. }
            | Action::CreateUser { cluster, .. }
            | Action::ReloadHba { cluster }
            | Action::ReloadServices { cluster }
            | Action::CancelBackend { cluster, .. }
            | Action::TerminateBackend { cluster, .. } => Some(cluster),
            Action::Inspect { cluster } => cluster.as_deref(),
            Action::Infra => None,
        }
    }

    /// What it is done to: the member for member actions, else the cluster.
    pub fn target(&self) -> String {
        match self {
            Action::Restart {
                member: Some(m), ..
            }
            | Action::Reload {
                member: Some(m), ..
            }
            | Action::Reinit { member: m, .. }
            | Action::CancelBackend { member: m, .. }
            | Action::TerminateBackend { member: m, .. } => m.clone(),
            Action::AddInstance { cluster, ips } | Action::RemoveInstance { cluster, ips } => {
                format!("{cluster} {}", ips.join(","))
            }
            Action::CreateDatabase { cluster, database } => format!("{cluster}/{database}"),
            Action::CreateUser { cluster, user } => format!("{cluster}/{user}"),
            Action::Infra => "infrastructure".to_string(),
            other => other.cluster().unwrap_or("all clusters").to_string(),
        }
    }

    /// Changes something (refused in read-only mode).
    pub fn is_mutating(&self) -> bool {
        !matches!(self, Action::Backups { .. } | Action::Inspect { .. })
    }

    /// The operator types the cluster name to confirm (headless: `--yes`).
    pub fn needs_typed_confirmation(&self) -> bool {
        matches!(
            self,
            Action::Switchover { .. }
                | Action::Failover { .. }
                | Action::Reinit { .. }
                | Action::RemoveCluster { .. }
                | Action::RemoveInstance { .. }
        )
    }

    /// Runs one of Pigsty's playbooks on the admin node.
    pub fn is_provisioning(&self) -> bool {
        matches!(
            self,
            Action::CreateCluster { .. }
                | Action::RemoveCluster { .. }
                | Action::AddInstance { .. }
                | Action::RemoveInstance { .. }
                | Action::CreateDatabase { .. }
                | Action::CreateUser { .. }
                | Action::ReloadHba { .. }
                | Action::ReloadServices { .. }
                | Action::Infra
        )
    }

    /// Run the pre-checks against `snapshot` and plan the commands.
    pub fn plan(
        &self,
        deployment: &Deployment,
        snapshot: &Snapshot,
        opts: &PlanOptions,
    ) -> Result<ActionPlan, Refusal> {
        if opts.readonly && self.is_mutating() {
            return Err(self.refuse(
                RefusalKind::ReadOnly,
                vec![format!(
                    "read-only mode refuses {} (mutating); inspection and listing stay available",
                    self.name()
                )],
            ));
        }
        let declared = match self.cluster() {
            Some(name) => Some(deployment.cluster(name).ok_or_else(|| {
                let known: Vec<&str> = deployment
                    .clusters
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                self.refuse(
                    RefusalKind::Invalid,
                    vec![format!(
                        "no cluster '{name}' in {} (clusters: {})",
                        deployment.source.display(),
                        known.join(", ")
                    )],
                )
            })?),
            None => None,
        };
        let p = Planner {
            action: self,
            d: deployment,
            snap: snapshot,
            opts,
            cat: Catalog::of(deployment),
        };
        match (self, declared) {
            (Action::Inspect { cluster }, _) => p.inspect(cluster.as_deref()),
            (Action::Infra, _) => p.provision(None, provision::Provision::Infra),
            (_, None) => Err(self.refuse(RefusalKind::Invalid, vec!["no cluster given".into()])),
            (
                Action::Switchover {
                    candidate,
                    scheduled,
                    ..
                },
                Some(c),
            ) => p.switchover(c, candidate.as_deref(), scheduled.as_deref()),
            (Action::Failover { candidate, .. }, Some(c)) => p.failover(c, candidate),
            (Action::Restart { member, .. }, Some(c)) => {
                p.restart_or_reload(c, member.as_deref(), true)
            }
            (Action::Reload { member, .. }, Some(c)) => {
                p.restart_or_reload(c, member.as_deref(), false)
            }
            (Action::Reinit { member, .. }, Some(c)) => p.reinit(c, member),
            (Action::Pause { .. }, Some(c)) => p.pause_resume(c, true),
            (Action::Resume { .. }, Some(c)) => p.pause_resume(c, false),
            (Action::Backup { kind, .. }, Some(c)) => p.backup(c, *kind),
            (Action::Backups { .. }, Some(c)) => p.backups(c),
            (Action::CreateCluster { cluster }, Some(c)) => {
                p.provision(Some(c), provision::Provision::CreateCluster(cluster))
            }
            (Action::RemoveCluster { cluster }, Some(c)) => {
                p.provision(Some(c), provision::Provision::RemoveCluster(cluster))
            }
            (Action::AddInstance { ips, .. }, Some(c)) => {
                p.provision(Some(c), provision::Provision::AddInstance(ips))
            }
            (Action::RemoveInstance { ips, .. }, Some(c)) => {
                p.provision(Some(c), provision::Provision::RemoveInstance(ips))
            }
            (Action::CreateDatabase { cluster, database }, Some(c)) => p.provision(
                Some(c),
                provision::Provision::CreateDatabase(cluster, database),
            ),
            (Action::CreateUser { cluster, user }, Some(c)) => {
                p.provision(Some(c), provision::Provision::CreateUser(cluster, user))
            }
            (Action::ReloadHba { cluster }, Some(c)) => {
                p.provision(Some(c), provision::Provision::ReloadHba(cluster))
            }
            (Action::ReloadServices { cluster }, Some(c)) => {
                p.provision(Some(c), provision::Provision::ReloadServices(cluster))
            }
            (Action::CancelBackend { member, pid, .. }, Some(c)) => {
                p.signal_backend(c, member, *pid, Signal::Cancel)
            }
            (Action::TerminateBackend { member, pid, .. }, Some(c)) => {
                p.signal_backend(c, member, *pid, Signal::Terminate)
            }
        }
    }

    fn refuse(&self, kind: RefusalKind, reasons: Vec<String>) -> Refusal {
        Refusal {
            action: self.name().to_string(),
            target: self.target(),
            kind,
            reasons,
        }
    }
}

/// Settings of planning.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Refuse mutating actions.
    pub readonly: bool,
    /// Limit of each wait step (new leader, HAProxy routing, members up).
    pub wait_timeout: Duration,
    /// Limit of each patronictl command (reinit and backups run unlimited).
    pub command_timeout: Duration,
    /// How wait steps poll the live state.
    pub sources: SourcesConfig,
    /// Limit of a provisioning playbook run.
    pub playbook_timeout: Duration,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            readonly: false,
            wait_timeout: Duration::from_secs(90),
            command_timeout: Duration::from_secs(180),
            sources: live::sources_config(),
            playbook_timeout: Duration::from_secs(3600),
        }
    }
}

/// Why a plan was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// Read-only mode.
    ReadOnly,
    /// Unknown cluster or member, missing parameter.
    Invalid,
    /// A pre-check failed.
    PreCheck,
}

/// A refused action with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub action: String,
    pub target: String,
    pub kind: RefusalKind,
    pub reasons: Vec<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} refused: ", self.action, self.target)?;
        f.write_str(&self.reasons.join("; "))
    }
}

impl std::error::Error for Refusal {}

/// One command of a plan, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCommand {
    /// Step name.
    pub step: String,
    /// Host (instance) name, or `local` for waits.
    pub host: String,
    /// Address it is reached at.
    pub address: String,
    /// The user it runs as (empty for waits).
    pub user: String,
    /// Display form of the command (or what is waited for).
    pub command: String,
}

/// What to read back from a finished task.
#[derive(Debug, Clone)]
enum Output {
    None,
    Backups {
        step: usize,
        host: String,
        cluster: String,
        method: BackupMethod,
        stanza: String,
    },
    Inspection {
        step: usize,
        inspection: Box<Inspection>,
    },
}

/// A planned, pre-checked action, ready to confirm and run.
#[derive(Debug, Clone, Serialize)]
pub struct ActionPlan {
    pub action: Action,
    /// The action's name (`switchover`, …).
    pub name: String,
    /// Cluster or member name.
    pub target: String,
    /// One sentence: what will happen.
    pub description: String,
    /// Hosts commands run on, in order of first use.
    pub hosts: Vec<String>,
    pub commands: Vec<PlannedCommand>,
    /// Pre-checks that passed, as sentences.
    pub checks: Vec<String>,
    /// Doubts that do not refuse the action.
    pub warnings: Vec<String>,
    pub mutating: bool,
    pub needs_typed_confirmation: bool,
    /// What to type to confirm (the cluster name), when needed.
    pub confirmation: Option<String>,
    #[serde(skip)]
    pipeline: Pipeline,
    #[serde(skip)]
    output: Output,
}

impl ActionPlan {
    /// The pipeline to start on a [`TaskRunner`].
    pub fn pipeline(&self) -> Pipeline {
        self.pipeline.clone()
    }

    pub fn into_pipeline(self) -> Pipeline {
        self.pipeline
    }

    /// Whether `typed` confirms the plan (exactly the cluster name, spaces
    /// around ignored); always true when no typed confirmation is needed.
    pub fn confirms(&self, typed: &str) -> bool {
        match &self.confirmation {
            Some(c) if self.needs_typed_confirmation => typed.trim() == c,
            _ => true,
        }
    }

    /// The plan as text: description, checks, warnings and the commands per
    /// step with host and user (the dry run).
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "{} {}: {}", self.name, self.target, self.description);
        for c in &self.checks {
            let _ = writeln!(out, "  check ok: {c}");
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let _ = writeln!(out, "hosts: {}", self.hosts.join(", "));
        let mut last_step = String::new();
        let mut n = 0;
        for c in &self.commands {
            if c.step != last_step {
                n += 1;
                let _ = writeln!(out, "[{n}] {}", c.step);
                last_step = c.step.clone();
            }
            if c.host == crate::tasks::runner::LOCAL_HOST {
                let _ = writeln!(out, "    (local) {}", c.command);
            } else {
                let _ = writeln!(
                    out,
                    "    {}@{} ({}): {}",
                    c.user, c.host, c.address, c.command
                );
            }
        }
        if self.needs_typed_confirmation
            && let Some(c) = &self.confirmation
        {
            let _ = writeln!(out, "confirm by typing the cluster name: {c}");
        }
        out
    }

    /// For a `backups` plan: the listing read from the finished task.
    pub fn backups(&self, state: &TaskState) -> Option<Result<BackupListing, String>> {
        let Output::Backups {
            step,
            host,
            cluster,
            method,
            stanza,
        } = &self.output
        else {
            return None;
        };
        Some((|| {
            let hs = state
                .steps
                .get(*step)
                .and_then(|s| s.hosts.iter().find(|h| &h.host == host));
            let lines = |stream: Stream| -> String {
                state
                    .output
                    .get(host)
                    .map(|sb| {
                        sb.lines()
                            .filter(|l| l.step == *step && l.stream == stream)
                            .map(|l| format!("{}\n", l.text))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            match hs {
                Some(h) if h.status == StepStatus::Succeeded => {}
                Some(h) => {
                    let err = lines(Stream::Stderr);
                    return Err(format!(
                        "listing on {host} {}{}{}",
                        h.status,
                        h.exit
                            .as_ref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default(),
                        h.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .or_else(
                                || (!err.trim().is_empty()).then(|| format!(": {}", err.trim()))
                            )
                            .unwrap_or_default()
                    ));
                }
                None => return Err(format!("listing on {host} did not run")),
            }
            let out = lines(Stream::Stdout);
            let (status, rows) = match method {
                BackupMethod::Pgbackrest => backup::parse_pgbackrest_info(&out, Some(stanza))?,
                BackupMethod::Basebackup => (None, backup::parse_basebackup_list(&out)),
            };
            Ok(BackupListing {
                cluster: cluster.clone(),
                method: *method,
                host: host.clone(),
                stanza: (*method == BackupMethod::Pgbackrest).then(|| stanza.clone()),
                status,
                backups: rows,
            })
        })())
    }

    /// For an `inspect` plan: the report built from the finished task.
    pub fn inspection_report(&self, state: &TaskState) -> Option<InspectionReport> {
        match &self.output {
            Output::Inspection { step, inspection } => Some(inspection.report(state, *step)),
            _ => None,
        }
    }
}

/// Start `plan` on `runner`, wait for the end; returns the task's final state.
pub async fn run_to_end(runner: &TaskRunner, plan: &ActionPlan) -> Result<TaskState, String> {
    let (task, events) = runner
        .start(plan.pipeline())
        .map_err(|e| format!("cannot start the task: {e}"))?;
    // Unread events would queue every output chunk in memory until the end.
    drop(events);
    task.wait().await;
    let state = task.state().clone();
    Ok(state)
}

/// The backups of `cluster` (plans, runs and parses the `backups` action).
pub async fn list_backups(
    runner: &TaskRunner,
    deployment: &Deployment,
    snapshot: &Snapshot,
    cluster: &str,
) -> Result<BackupListing, String> {
    let plan = Action::Backups {
        cluster: cluster.into(),
    }
    .plan(deployment, snapshot, &PlanOptions::default())
    .map_err(|r| r.to_string())?;
    let state = run_to_end(runner, &plan).await?;
    plan.backups(&state).expect("a backups plan")
}

/// Inspect `cluster` (or every cluster).
pub async fn inspect(
    runner: &TaskRunner,
    deployment: &Deployment,
    snapshot: &Snapshot,
    cluster: Option<&str>,
) -> Result<InspectionReport, String> {
    let plan = Action::Inspect {
        cluster: cluster.map(str::to_string),
    }
    .plan(deployment, snapshot, &PlanOptions::default())
    .map_err(|r| r.to_string())?;
    let state = run_to_end(runner, &plan).await?;
    if state.status == TaskStatus::Cancelled {
        return Err("inspection cancelled".into());
    }
    Ok(plan.inspection_report(&state).expect("an inspect plan"))
}

// ---------------------------------------------------------------------------
// Planning

struct Planner<'a> {
    action: &'a Action,
    d: &'a Deployment,
    snap: &'a Snapshot,
    opts: &'a PlanOptions,
    cat: Catalog,
}

/// Pieces of a plan before it is assembled.
struct Draft {
    description: String,
    checks: Vec<String>,
    warnings: Vec<String>,
    pipeline: Pipeline,
    output: Output,
}

fn fresh<T: Clone>(f: &Option<crate::snapshot::Fact<T>>) -> Option<T> {
    f.as_ref().and_then(|f| f.fresh()).cloned()
}

impl<'a> Planner<'a> {
    fn refuse(&self, reasons: Vec<String>) -> Refusal {
        self.action.refuse(RefusalKind::PreCheck, reasons)
    }

    fn invalid(&self, reason: String) -> Refusal {
        self.action.refuse(RefusalKind::Invalid, vec![reason])
    }

    fn live(&self, c: &Cluster) -> Result<&'a ClusterLive, Refusal> {
        let cl = self.snap.cluster(&c.name).ok_or_else(|| {
            self.refuse(vec![format!(
                "no live state of {} (is its Patroni reachable from here?)",
                c.name
            )])
        })?;
        if !cl.members.iter().any(checks::is_reachable) {
            let errors: Vec<String> = cl
                .members
                .iter()
                .map(|m| format!("{}: {}", m.name, m.error.as_deref().unwrap_or("not polled")))
                .collect();
            return Err(self.refuse(vec![format!(
                "no member of {} answers through Patroni ({})",
                c.name,
                errors.join("; ")
            )]));
        }
        Ok(cl)
    }

    fn member(&self, c: &'a Cluster, name: &str) -> Result<&'a Instance, Refusal> {
        c.instances.iter().find(|i| i.name == name).ok_or_else(|| {
            let known: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
            self.invalid(format!(
                "no member '{name}' in {} (members: {})",
                c.name,
                known.join(", ")
            ))
        })
    }

    fn settings(&self, i: &Instance) -> HostSettings {
        self.cat.host(self.d, i)
    }

    /// Where cluster-wide patronictl commands run: the healthy leader, else
    /// the first declared member whose Patroni answers, else the declared
    /// primary.
    fn control_host(&self, c: &'a Cluster, cl: Option<&ClusterLive>) -> Option<&'a Instance> {
        let by_name = |n: &str| c.instances.iter().find(|i| i.name == n);
        if let Some(cl) = cl {
            if let Ok(l) = checks::healthy_leader(cl)
                && let Some(i) = by_name(&l.name)
            {
                return Some(i);
            }
            if let Some(i) = c
                .instances
                .iter()
                .find(|i| cl.member(&i.name).is_some_and(checks::is_reachable))
            {
                return Some(i);
            }
        }
        c.declared_primary().or(c.instances.first())
    }

    fn max_lag(&self, c: &Cluster) -> u64 {
        c.instances
            .first()
            .map(|i| self.settings(i).max_lag)
            .unwrap_or(catalog::DEFAULT_MAX_LAG)
    }

    fn assemble(&self, draft: Draft) -> ActionPlan {
        let mut commands = Vec::new();
        for s in &draft.pipeline.steps {
            match &s.kind {
                StepKind::Command { .. } | StepKind::FanOut { .. } => {
                    for (t, cmd) in s.runs() {
                        commands.push(PlannedCommand {
                            step: s.name.clone(),
                            host: t.name.clone(),
                            address: match t.ssh.port {
                                Some(p) if p != 22 => format!("{}:{p}", t.ssh.host),
                                _ => t.ssh.host.clone(),
                            },
                            user: match &cmd.run_as {
                                RunAs::Admin => {
                                    t.ssh.user.clone().unwrap_or_else(|| "(ssh user)".into())
                                }
                                RunAs::Dbsu => t.dbsu.clone(),
                                RunAs::User(u) => u.clone(),
                            },
                            command: cmd.shown().to_string(),
                        });
                    }
                }
                StepKind::Wait { .. } => commands.push(PlannedCommand {
                    step: s.name.clone(),
                    host: crate::tasks::runner::LOCAL_HOST.into(),
                    address: String::new(),
                    user: String::new(),
                    command: format!(
                        "wait until {} (polling Patroni, the DCS and HAProxy; limit {}s)",
                        s.name,
                        s.timeout.unwrap_or(self.opts.wait_timeout).as_secs()
                    ),
                }),
                StepKind::Deferred { .. } => commands.push(PlannedCommand {
                    step: s.name.clone(),
                    host: crate::tasks::runner::LOCAL_HOST.into(),
                    address: String::new(),
                    user: String::new(),
                    command: "(hosts and commands chosen when the step starts)".into(),
                }),
            }
        }
        let needs = self.action.needs_typed_confirmation();
        ActionPlan {
            action: self.action.clone(),
            name: self.action.name().to_string(),
            target: self.action.target(),
            description: draft.description,
            hosts: draft.pipeline.hosts(),
            commands,
            checks: draft.checks,
            warnings: draft.warnings,
            mutating: self.action.is_mutating(),
            needs_typed_confirmation: needs,
            confirmation: if needs {
                self.action.cluster().map(str::to_string)
            } else {
                None
            },
            pipeline: draft.pipeline,
            output: draft.output,
        }
    }

    fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.action.name(), self.action.target())
    }

    fn view(&self, c: &Cluster) -> LiveView {
        LiveView::new(self.d, &c.name, self.opts.sources.clone())
    }

    /// Steps after a leader change: the candidate leads on a timeline above
    /// `old_tl`; every HAProxy routes `primary` to it only; end-to-end
    /// connections through each node's HAProxy `primary` port.
    fn after_leader_change(
        &self,
        c: &Cluster,
        p: &mut Pipeline,
        warnings: &mut Vec<String>,
        candidate: &str,
        old_tl: Option<u64>,
        failover: bool,
    ) {
        let view = self.view(c);
        let cand = candidate.to_string();
        p.push(live::wait_step(
            format!(
                "{cand} leads{}",
                old_tl
                    .map(|t| format!(" on a timeline above {t}"))
                    .unwrap_or_default()
            ),
            view.clone(),
            self.opts.wait_timeout,
            move |_snap, cl| new_leader_progress(cl, &cand, old_tl),
        ));
        let svc = c
            .services
            .iter()
            .find(|s| s.name == "primary")
            .map(|s| (s.name.clone(), s.port));
        let Some((svc_name, port)) = svc else {
            warnings.push(format!(
                "{} declares no 'primary' HAProxy service: routing not verified",
                c.name
            ));
            return;
        };
        let cand = candidate.to_string();
        let ips: Vec<(String, String)> = c
            .instances
            .iter()
            .map(|i| (i.name.clone(), i.ip.clone()))
            .collect();
        let name = svc_name.clone();
        p.push(live::wait_step(
            format!("HAProxy {port} ({svc_name}) on every node routes to {candidate} only"),
            view,
            self.opts.wait_timeout,
            move |_snap, cl| routing_progress(cl, &ips, &name, &cand, !failover),
        ));
        // End to end, through every node's HAProxy.
        let first = &c.instances[0];
        let user = catalog::var_or_default(self.d, first, "pg_admin_username");
        let password = catalog::var_or_default(self.d, first, "pg_admin_password");
        let (Some(user), Some(password)) = (user, password) else {
            warnings.push(
                "pg_admin_username / pg_admin_password unknown: no end-to-end check through HAProxy"
                    .into(),
            );
            return;
        };
        let db = first_database(first).unwrap_or_else(|| "postgres".into());
        let runs: Vec<(Target, RemoteCommand)> = c
            .instances
            .iter()
            .map(|i| {
                (
                    Target::from_instance(i),
                    self.settings(i)
                        .haproxy_primary_check(&i.ip, port, &db, &user, &password),
                )
            })
            .collect();
        let mut step = Step::fan_out_each(
            format!("connect through HAProxy {port} on every node: a primary answers"),
            runs,
        )
        .timeout(Duration::from_secs(30));
        if failover {
            // The failed node may be unreachable altogether.
            step = step.allow_failure();
        }
        p.push(step);
        if !failover {
            // The old leader rejoins as a replica (pg_rewind when needed):
            // reported, but the switchover itself is done.
            let names: Vec<String> = c
                .instances
                .iter()
                .filter(|i| i.name != candidate)
                .map(|i| i.name.clone())
                .collect();
            p.push(
                live::wait_step(
                    format!("replicas stream from {candidate}"),
                    self.view(c),
                    self.opts.wait_timeout,
                    move |_snap, cl| members_running_progress(cl, &names),
                )
                .allow_failure(),
            );
        }
    }

    fn switchover(
        &self,
        c: &'a Cluster,
        candidate: Option<&str>,
        scheduled: Option<&str>,
    ) -> Result<ActionPlan, Refusal> {
        let cl = self.live(c)?;
        let mut reasons = Vec::new();
        let mut checks_ok = Vec::new();
        let mut warnings = Vec::new();
        let leader = match checks::healthy_leader(cl) {
            Ok(l) => {
                checks_ok.push(format!(
                    "leader {} is running{}",
                    l.name,
                    fresh(&l.timeline)
                        .map(|t| format!(" on timeline {t}"))
                        .unwrap_or_default()
                ));
                Some(l)
            }
            Err(e) => {
                reasons.push(format!(
                    "{e} (a cluster without a healthy leader needs a failover)"
                ));
                None
            }
        };
        match checks::paused(cl) {
            Some(true) => reasons.push(format!(
                "{} is paused (maintenance mode): resume it first",
                c.name
            )),
            Some(false) => checks_ok.push(format!("{} is not paused", c.name)),
            None => warnings.push(format!("whether {} is paused is unknown", c.name)),
        }
        if let Some(t) = scheduled
            && !t.starts_with(|ch: char| ch.is_ascii_digit())
        {
            reasons.push(format!(
                "--scheduled {t:?}: expected an ISO 8601 time such as 2030-01-01T03:00+00:00"
            ));
        }
        let max_lag = self.max_lag(c);
        let cand = match (candidate, leader) {
            (Some(name), _) => {
                let (problems, warns) = checks::candidate_problems(cl, name, leader, max_lag);
                if problems.is_empty() {
                    checks_ok.push(format!(
                        "candidate {name} is running, not tagged nofailover, lags at most {max_lag} bytes, on the leader's timeline"
                    ));
                }
                reasons.extend(problems);
                warnings.extend(warns);
                Some(name.to_string())
            }
            (None, Some(l)) => match checks::choose_candidate(cl, c, l, max_lag) {
                Ok(name) => {
                    let (_, warns) = checks::candidate_problems(cl, &name, leader, max_lag);
                    warnings.extend(warns);
                    checks_ok.push(format!(
                        "candidate {name} (chosen: the healthiest replica) is running, not tagged nofailover, lags at most {max_lag} bytes, on the leader's timeline"
                    ));
                    Some(name)
                }
                Err(r) => {
                    reasons.extend(r);
                    None
                }
            },
            (None, None) => None,
        };
        if !reasons.is_empty() {
            return Err(self.refuse(reasons));
        }
        let (leader, cand) = (leader.expect("checked"), cand.expect("checked"));
        let host = c
            .instances
            .iter()
            .find(|i| i.name == leader.name)
            .or_else(|| self.control_host(c, Some(cl)))
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let cmd = self
            .settings(host)
            .switchover(&c.name, &leader.name, &cand, scheduled);
        let mut p = self.pipeline().step(
            Step::command(
                format!("switchover {} -> {cand}", leader.name),
                Target::from_instance(host),
                cmd,
            )
            .timeout(self.opts.command_timeout),
        );
        let old_tl = fresh(&leader.timeline).or_else(|| fresh(&cl.timeline));
        let description = match scheduled {
            Some(t) => format!(
                "schedule a switchover of {} from {} to {cand} at {t} (Patroni carries it out then)",
                c.name, leader.name
            ),
            None => {
                self.after_leader_change(c, &mut p, &mut warnings, &cand, old_tl, false);
                format!(
                    "switch {} over from {} to {cand}, wait until {cand} leads on a new timeline and HAProxy on every node routes to it",
                    c.name, leader.name
                )
            }
        };
        Ok(self.assemble(Draft {
            description,
            checks: checks_ok,
            warnings,
            pipeline: p,
            output: Output::None,
        }))
    }

    fn failover(&self, c: &'a Cluster, candidate: &str) -> Result<ActionPlan, Refusal> {
        if candidate.trim().is_empty() {
            return Err(self.invalid("failover needs a candidate".into()));
        }
        let cl = self.live(c)?;
        let mut reasons = Vec::new();
        let mut checks_ok = Vec::new();
        let mut warnings = Vec::new();
        match checks::healthy_leader(cl) {
            Ok(l) => reasons.push(format!(
                "{} already has a healthy leader {}: use switchover",
                c.name, l.name
            )),
            Err(e) => checks_ok.push(format!("no healthy leader: {e}")),
        }
        if checks::paused(cl) == Some(true) {
            warnings.push(format!(
                "{} is paused: Patroni promotes only on this manual failover",
                c.name
            ));
        }
        let max_lag = self.max_lag(c);
        let (problems, warns) = checks::candidate_problems(cl, candidate, None, max_lag);
        if problems.is_empty() {
            checks_ok.push(format!(
                "candidate {candidate} is running, not tagged nofailover, lags at most {max_lag} bytes, on the cluster's timeline"
            ));
        }
        reasons.extend(problems);
        warnings.extend(warns);
        if !reasons.is_empty() {
            return Err(self.refuse(reasons));
        }
        let host = c
            .instances
            .iter()
            .find(|i| i.name == candidate)
            .or_else(|| self.control_host(c, Some(cl)))
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let old_tl = fresh(&cl.timeline);
        let mut p = self.pipeline().step(
            Step::command(
                format!("failover to {candidate}"),
                Target::from_instance(host),
                self.settings(host).failover(&c.name, candidate),
            )
            .timeout(self.opts.command_timeout),
        );
        self.after_leader_change(c, &mut p, &mut warnings, candidate, old_tl, true);
        Ok(self.assemble(Draft {
            description: format!(
                "fail {} over to {candidate}, wait until it leads on a new timeline and HAProxy routes to it",
                c.name
            ),
            checks: checks_ok,
            warnings,
            pipeline: p,
            output: Output::None,
        }))
    }

    fn restart_or_reload(
        &self,
        c: &'a Cluster,
        member: Option<&str>,
        restart: bool,
    ) -> Result<ActionPlan, Refusal> {
        let verb = if restart { "restart" } else { "reload" };
        let cl = self.live(c)?;
        let targets: Vec<String> = match member {
            Some(m) => {
                self.member(c, m)?;
                vec![m.to_string()]
            }
            None => c.instances.iter().map(|i| i.name.clone()).collect(),
        };
        let mut reasons = Vec::new();
        let mut checks_ok = Vec::new();
        for t in &targets {
            match cl.member(t) {
                Some(m) if checks::is_reachable(m) => {
                    checks_ok.push(format!("{t} answers through Patroni"))
                }
                Some(m) => reasons.push(format!(
                    "{t} cannot be {verb}ed: {}",
                    checks::not_running_reason(m)
                )),
                None => reasons.push(format!("{t} is not known to Patroni")),
            }
        }
        if !reasons.is_empty() {
            return Err(self.refuse(reasons));
        }
        let host = self
            .control_host(c, Some(cl))
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let s = self.settings(host);
        let cmd = if restart {
            s.restart(&c.name, member)
        } else {
            s.reload(&c.name, member)
        };
        let what = member.map_or_else(|| format!("every member of {}", c.name), str::to_string);
        let mut p = self.pipeline().step(
            Step::command(format!("{verb} {what}"), Target::from_instance(host), cmd)
                .timeout(self.opts.command_timeout),
        );
        if restart {
            let names = targets.clone();
            p.push(live::wait_step(
                format!("{} running again", targets.join(", ")),
                self.view(c),
                self.opts.wait_timeout,
                move |_snap, cl| members_running_progress(cl, &names),
            ));
        }
        Ok(self.assemble(Draft {
            description: if restart {
                format!("restart Postgres of {what} through Patroni, wait until it runs again")
            } else {
                format!("reload the configuration of {what} through Patroni")
            },
            checks: checks_ok,
            warnings: Vec::new(),
            pipeline: p,
            output: Output::None,
        }))
    }

    fn reinit(&self, c: &'a Cluster, member: &str) -> Result<ActionPlan, Refusal> {
        self.member(c, member)?;
        let cl = self.live(c)?;
        let mut reasons = Vec::new();
        let mut checks_ok = Vec::new();
        match checks::healthy_leader(cl) {
            Ok(l) if l.name == member => reasons.push(format!(
                "{member} is the leader: reinit only rebuilds replicas (switch over first)"
            )),
            Ok(l) => checks_ok.push(format!("leader {} is running (the copy source)", l.name)),
            Err(e) => reasons.push(format!("{e}: nothing to copy from")),
        }
        match cl.member(member) {
            Some(m) if checks::is_reachable(m) => {
                checks_ok.push(format!("{member} answers through Patroni"))
            }
            Some(m) => reasons.push(format!(
                "{member} cannot be reinitialized: {}",
                checks::not_running_reason(m)
            )),
            None => reasons.push(format!("{member} is not known to Patroni")),
        }
        if !reasons.is_empty() {
            return Err(self.refuse(reasons));
        }
        let host = self
            .control_host(c, Some(cl))
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let names = vec![member.to_string()];
        let p = self
            .pipeline()
            .step(Step::command(
                format!("reinit {member}"),
                Target::from_instance(host),
                self.settings(host).reinit(&c.name, member),
            ))
            .step(live::wait_step(
                format!("{member} running and streaming"),
                self.view(c),
                self.opts.wait_timeout,
                move |_snap, cl| members_running_progress(cl, &names),
            ));
        Ok(self.assemble(Draft {
            description: format!(
                "wipe the data directory of {member} and copy it again from the leader of {}",
                c.name
            ),
            checks: checks_ok,
            warnings: Vec::new(),
            pipeline: p,
            output: Output::None,
        }))
    }

    fn pause_resume(&self, c: &'a Cluster, pause: bool) -> Result<ActionPlan, Refusal> {
        let cl = self.live(c)?;
        let verb = if pause { "pause" } else { "resume" };
        let mut checks_ok = Vec::new();
        match (checks::paused(cl), pause) {
            (Some(true), true) => {
                return Err(self.refuse(vec![format!("{} is already paused", c.name)]));
            }
            (Some(false), false) => {
                return Err(self.refuse(vec![format!("{} is not paused", c.name)]));
            }
            (None, _) => {
                return Err(self.refuse(vec![format!("whether {} is paused is unknown", c.name)]));
            }
            (Some(p), _) => checks_ok.push(format!(
                "{} is {}",
                c.name,
                if p { "paused" } else { "not paused" }
            )),
        }
        let host = self
            .control_host(c, Some(cl))
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let s = self.settings(host);
        let cmd = if pause {
            s.pause(&c.name)
        } else {
            s.resume(&c.name)
        };
        let p = self
            .pipeline()
            .step(
                Step::command(
                    format!("{verb} {}", c.name),
                    Target::from_instance(host),
                    cmd,
                )
                .timeout(self.opts.command_timeout),
            )
            .step(live::wait_step(
                format!(
                    "every member reports {}",
                    if pause { "paused" } else { "not paused" }
                ),
                self.view(c),
                self.opts.wait_timeout,
                move |_snap, cl| paused_progress(cl, pause),
            ));
        Ok(self.assemble(Draft {
            description: if pause {
                format!(
                    "put {} in maintenance mode: Patroni stops failing over automatically",
                    c.name
                )
            } else {
                format!(
                    "end maintenance mode of {}: automatic failover again",
                    c.name
                )
            },
            checks: checks_ok,
            warnings: Vec::new(),
            pipeline: p,
            output: Output::None,
        }))
    }

    fn backup(&self, c: &'a Cluster, kind: BackupType) -> Result<ActionPlan, Refusal> {
        let cl = self.live(c)?;
        let leader = checks::healthy_leader(cl).map_err(|e| self.refuse(vec![e]))?;
        let host = c
            .instances
            .iter()
            .find(|i| i.name == leader.name)
            .ok_or_else(|| {
                self.refuse(vec![format!(
                    "leader {} is not declared in the inventory",
                    leader.name
                )])
            })?;
        let s = self.settings(host);
        let (cmd, description) = match s.backup_method {
            BackupMethod::Pgbackrest => (
                s.pgbackrest_backup(kind),
                format!(
                    "pgBackRest {} backup of {} (stanza {}) on the primary {}",
                    kind.as_str(),
                    c.name,
                    s.stanza,
                    host.name
                ),
            ),
            BackupMethod::Basebackup if kind != BackupType::Full => {
                return Err(self.refuse(vec![format!(
                    "{} backups need pgBackRest; {} backs up with pg_basebackup (full only; set pg_backup_method or pgbackrest_config)",
                    kind.as_str(),
                    c.name
                )]));
            }
            BackupMethod::Basebackup => (
                s.basebackup(),
                format!(
                    "full pg_basebackup of {} on the primary {} into {}",
                    c.name, host.name, s.backup_dir
                ),
            ),
        };
        let p = self.pipeline().step(Step::command(
            format!("{} backup", kind.as_str()),
            Target::from_instance(host),
            cmd,
        ));
        Ok(self.assemble(Draft {
            description,
            checks: vec![format!("leader {} is running", leader.name)],
            warnings: Vec::new(),
            pipeline: p,
            output: Output::None,
        }))
    }

    fn backups(&self, c: &'a Cluster) -> Result<ActionPlan, Refusal> {
        let cl = self.snap.cluster(&c.name);
        let host = self
            .control_host(c, cl)
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let s = self.settings(host);
        let cmd = match s.backup_method {
            BackupMethod::Pgbackrest => s.pgbackrest_info(),
            BackupMethod::Basebackup => s.basebackup_list(),
        };
        let p = self.pipeline().step(
            Step::command("list backups", Target::from_instance(host), cmd)
                .timeout(Duration::from_secs(120)),
        );
        Ok(self.assemble(Draft {
            description: format!(
                "list the backups of {} ({}) on {}",
                c.name,
                s.backup_method.as_str(),
                host.name
            ),
            checks: Vec::new(),
            warnings: Vec::new(),
            pipeline: p,
            output: Output::Backups {
                step: 0,
                host: host.name.clone(),
                cluster: c.name.clone(),
                method: s.backup_method,
                stanza: s.stanza.clone(),
            },
        }))
    }

    /// `pg_cancel_backend` / `pg_terminate_backend` of `pid` on `member`,
    /// through `psql` on its unix socket as the dbsu.
    fn signal_backend(
        &self,
        c: &'a Cluster,
        member: &str,
        pid: i32,
        signal: Signal,
    ) -> Result<ActionPlan, Refusal> {
        let i = self.member(c, member)?;
        if pid <= 0 {
            return Err(self.invalid(format!("{pid} is not a backend pid")));
        }
        let mut checks_ok = Vec::new();
        let mut warnings = Vec::new();
        if let Some(m) = self.snap.cluster(&c.name).and_then(|cl| cl.member(member)) {
            if checks::is_running(m) {
                checks_ok.push(format!("Postgres of {member} is running"));
            } else {
                warnings.push(format!(
                    "{member}: {} (the command may fail)",
                    checks::not_running_reason(m)
                ));
            }
        }
        let sql = activity::signal_sql(signal, pid);
        let p = self.pipeline().step(
            Step::command(
                format!("{sql} on {member}"),
                Target::from_instance(i),
                RemoteCommand::dbsu(activity::signal_script(i, signal, pid)),
            )
            .timeout(Duration::from_secs(30)),
        );
        Ok(self.assemble(Draft {
            description: match signal {
                Signal::Cancel => format!(
                    "cancel the running query of backend {pid} on {member} ({sql}); the session stays"
                ),
                Signal::Terminate => format!(
                    "terminate backend {pid} on {member} ({sql}): its session ends, its open transaction is rolled back"
                ),
            },
            checks: checks_ok,
            warnings,
            pipeline: p,
            output: Output::None,
        }))
    }

    fn inspect(&self, cluster: Option<&str>) -> Result<ActionPlan, Refusal> {
        let inspection =
            Inspection::new(self.d, self.snap, cluster).map_err(|e| self.invalid(e))?;
        let n = inspection.hosts.len();
        let p = self.pipeline().step(inspection.step());
        Ok(self.assemble(Draft {
            description: format!(
                "check Postgres, replication, slots, disk, load, memory, Patroni and listening ports on {n} node{} of {}",
                if n == 1 { "" } else { "s" },
                inspection.scope
            ),
            checks: Vec::new(),
            warnings: Vec::new(),
            pipeline: p,
            output: Output::Inspection {
                step: 0,
                inspection: Box::new(inspection),
            },
        }))
    }
}

/// The first database of the cluster that pgbouncer serves (`pg_databases`).
fn first_database(i: &Instance) -> Option<String> {
    let dbs = i.vars.get("pg_databases")?.as_array()?;
    dbs.iter()
        .filter(|d| d.get("pgbouncer").and_then(|v| v.as_bool()) != Some(false))
        .find_map(|d| d.get("name")?.as_str().map(str::to_string))
}

// ---------------------------------------------------------------------------
// Wait conditions (pure, tested on constructed snapshots)

/// `candidate` leads (running) on a timeline above `old_tl` (when known).
pub fn new_leader_progress(cl: &ClusterLive, candidate: &str, old_tl: Option<u64>) -> Progress {
    let leader = checks::healthy_leader(cl);
    match leader {
        Ok(l) if l.name == candidate => {
            let tl = fresh(&l.timeline);
            match (tl, old_tl) {
                (Some(t), Some(o)) if t <= o => {
                    Progress::Waiting(format!("{candidate} leads, still on timeline {t}"))
                }
                (t, _) => Progress::Done(format!(
                    "{candidate} leads{}",
                    t.map(|t| format!(" on timeline {t}")).unwrap_or_default()
                )),
            }
        }
        Ok(l) => Progress::Waiting(format!(
            "the leader is {}{}",
            l.name,
            fresh(&l.timeline)
                .map(|t| format!(" (timeline {t})"))
                .unwrap_or_default()
        )),
        Err(e) => Progress::Waiting(e),
    }
}

/// Every HAProxy of the cluster (`nodes`: instance name, IP) routes
/// `service` to `leader` only. Without `require_all`, nodes whose HAProxy
/// does not answer are left out (at least one must answer).
pub fn routing_progress(
    cl: &ClusterLive,
    nodes: &[(String, String)],
    service: &str,
    leader: &str,
    require_all: bool,
) -> Progress {
    let mut wrong = Vec::new();
    let mut silent = Vec::new();
    let mut ok = 0;
    for (name, ip) in nodes {
        match cl
            .routing
            .iter()
            .find(|r| &r.haproxy == ip && r.service == service && !r.stale)
        {
            Some(r) if r.routes_to.len() == 1 && r.routes_to[0] == leader => ok += 1,
            Some(r) => wrong.push(format!(
                "{name} -> {}",
                if r.routes_to.is_empty() {
                    "no server up".to_string()
                } else {
                    r.routes_to.join(", ")
                }
            )),
            None => silent.push(name.clone()),
        }
    }
    if !wrong.is_empty() {
        return Progress::Waiting(format!("HAProxy {service} on {}", wrong.join("; ")));
    }
    if !silent.is_empty() && (require_all || ok == 0) {
        return Progress::Waiting(format!("no HAProxy stats from {}", silent.join(", ")));
    }
    let mut msg = format!("HAProxy {service} routes to {leader} on {ok} node(s)");
    if !silent.is_empty() {
        msg.push_str(&format!(" (no answer from {}: skipped)", silent.join(", ")));
    }
    Progress::Done(msg)
}

/// Every member of `names` runs (replicas: and streaming when the leader
/// says), and the cluster has a running leader.
pub fn members_running_progress(cl: &ClusterLive, names: &[String]) -> Progress {
    let leader = match checks::healthy_leader(cl) {
        Ok(l) => l,
        Err(e) => return Progress::Waiting(e),
    };
    let mut missing = Vec::new();
    for n in names {
        match cl.member(n) {
            Some(m) if !checks::is_running(m) => {
                missing.push(format!("{n}: {}", checks::not_running_reason(m)))
            }
            Some(m) if m.name != leader.name && m.streaming == Some(false) => {
                missing.push(format!("{n}: not streaming yet"))
            }
            Some(_) => {}
            None => missing.push(format!("{n}: not seen")),
        }
    }
    if missing.is_empty() {
        Progress::Done(format!("{} running", names.join(", ")))
    } else {
        Progress::Waiting(missing.join("; "))
    }
}

/// Every member whose Patroni answers reports `pause == want`.
pub fn paused_progress(cl: &ClusterLive, want: bool) -> Progress {
    let reachable: Vec<&MemberLive> = cl
        .members
        .iter()
        .filter(|m| checks::is_reachable(m))
        .collect();
    if reachable.is_empty() {
        return Progress::Waiting("no member answers".into());
    }
    let off: Vec<&str> = reachable
        .iter()
        .filter(|m| fresh(&m.paused) != Some(want))
        .map(|m| m.name.as_str())
        .collect();
    if off.is_empty() {
        Progress::Done(format!(
            "{} {}",
            cl.name,
            if want { "paused" } else { "resumed" }
        ))
    } else {
        Progress::Waiting(format!("not yet on {}", off.join(", ")))
    }
}

#[cfg(test)]
mod tests;
