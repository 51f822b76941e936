//! Everything the console remembers between frames, apart from the
//! deployment and the live snapshot. Drawing reads it; key handling changes it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::palette::{self, Command, PaletteState};
use super::prompt::{Decision, PromptKey, Prompts};
use super::tree::{TreeItem, TreeState};
use crate::actions::{Action, ActionPlan, PlanOptions, Refusal};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::tasks::{TaskHandle, TaskRunner};

/// An action planned from the console, waiting for the operator's
/// confirmation (the `Confirm` popup).
#[derive(Debug, Clone)]
pub struct PendingAction {
    pub action: Action,
    /// The dry run, or why the action is refused.
    pub plan: Result<ActionPlan, Refusal>,
    /// What the operator typed to confirm (the cluster name).
    pub typed: String,
    /// Shown when Enter was pressed with a wrong name.
    pub error: Option<String>,
    /// First line of the plan shown (↑ ↓ PgUp PgDn scroll it).
    pub scroll: u16,
    /// Where the console returns after the confirmation (the activity
    /// view), instead of the task view; `None`: the task view.
    pub back: Option<Overlay>,
}

/// The SSH connections of the console (for reports), shown opaquely.
#[derive(Clone)]
pub struct SshHandle(pub crate::tasks::SshPool);

impl std::fmt::Debug for SshHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SshPool")
    }
}

/// A task started from the console.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    pub handle: TaskHandle,
    /// The plan it runs (read back for listings and inspections).
    pub plan: Option<ActionPlan>,
    /// A provisioning task: its playbook's progress, read from the task log
    /// as it grows ([`AppState::poll_playbooks`]).
    pub playbook: Option<crate::actions::playbook::LogFollower>,
}

/// Whose playbook progress the playbook view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybookSource {
    /// A task of this session (index into [`AppState::tasks`]).
    Task(usize),
    /// A saved run reopened from its log ([`AppState::saved_run`]).
    Saved,
}

/// Which pane receives keys when no popup is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Tree,
    Detail,
}

/// A popup drawn over the panes; it takes every key while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Palette(PaletteState),
    Warnings {
        scroll: u16,
    },
    /// Active alerts (`a`); `selected` indexes the sorted list.
    Alerts {
        selected: usize,
    },
    /// Every finding of the deployment (`f`).
    Findings {
        selected: usize,
    },
    /// Actions on the selected cluster or instance (`x`).
    ActionMenu {
        selected: usize,
    },
    /// The dry-run plan (or refusal) of [`AppState::pending`], to confirm.
    Confirm,
    /// The event timeline (`e`): `scroll` lines down from the newest,
    /// `filter` text, `editing` while the filter is typed.
    Events {
        scroll: usize,
        filter: String,
        editing: bool,
    },
    /// Tasks started in this session (`t`).
    Tasks {
        selected: usize,
    },
    /// One task: steps and output. `scroll` counts lines up from the end
    /// of the output; `follow` keeps showing the newest lines.
    Task {
        index: usize,
        scroll: usize,
        follow: bool,
        /// `c` was pressed: waiting for `y` to cancel the task.
        confirm_cancel: bool,
        /// `/`: searching the output.
        search: Option<OutputSearch>,
    },
    /// A playbook's progress (plays → tasks → hosts) or, with `raw`,
    /// Ansible's own output. `scroll` counts lines up from the end.
    Playbook {
        source: PlaybookSource,
        scroll: usize,
        raw: bool,
    },
    /// The logs pane (`L`); its state is [`AppState::logs`].
    Logs,
    /// The sessions of an instance (`A`); its state is [`AppState::activity`].
    Activity,
}

impl Overlay {
    /// The task view of task `index`, following its output.
    pub fn task(index: usize) -> Overlay {
        Overlay::Task {
            index,
            scroll: 0,
            follow: true,
            confirm_cancel: false,
            search: None,
        }
    }
}

/// A search in the output of the task view (`/`, then `n` / `N`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputSearch {
    /// The text looked for, in the plain text of the lines (escape codes
    /// removed); any case unless it has a capital letter ("smart case").
    pub query: String,
    /// The query is being typed.
    pub editing: bool,
    /// Index (in the lines shown) of the current match: the view stays on
    /// it, whatever output arrives, until scrolled or followed again.
    pub current: Option<usize>,
    /// What the last search said ("no match", "wrapped to the top").
    pub note: Option<String>,
}

/// The sections of the cluster view, switched with `1`..`6` or `[` / `]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterTab {
    /// Summary, leader per source, live replication tree.
    #[default]
    Topology,
    /// patronictl-style member table.
    Members,
    /// Timeline history.
    History,
    /// Sparklines: TPS, replication lag, connections.
    Metrics,
    /// HAProxy services and where they route.
    Routing,
    /// Findings and alerts of the cluster.
    Findings,
}

impl ClusterTab {
    pub const ALL: [ClusterTab; 6] = [
        ClusterTab::Topology,
        ClusterTab::Members,
        ClusterTab::History,
        ClusterTab::Metrics,
        ClusterTab::Routing,
        ClusterTab::Findings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ClusterTab::Topology => "Topology",
            ClusterTab::Members => "Members",
            ClusterTab::History => "History",
            ClusterTab::Metrics => "Metrics",
            ClusterTab::Routing => "Routing",
            ClusterTab::Findings => "Findings",
        }
    }

    /// 0-based position.
    pub fn index(self) -> usize {
        ClusterTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tab `delta` places away, wrapping around.
    pub fn cycle(self, delta: isize) -> ClusterTab {
        let n = ClusterTab::ALL.len() as isize;
        ClusterTab::ALL[(self.index() as isize + delta).rem_euclid(n) as usize]
    }

    /// The tab of a digit key (`'1'` → Topology).
    pub fn from_digit(c: char) -> Option<ClusterTab> {
        let d = c.to_digit(10)? as usize;
        ClusterTab::ALL.get(d.checked_sub(1)?).copied()
    }
}

/// A one-line message shown in the footer instead of the key hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub is_error: bool,
    /// When it was set; it disappears after [`STATUS_LIFETIME`].
    pub since: Instant,
}

/// How long a status message stays in the footer.
pub const STATUS_LIFETIME: Duration = Duration::from_secs(6);

/// What handling a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not for this component; let the next one try.
    Ignored,
    /// Consumed; the screen may have changed.
    Handled,
    /// The operator asked to leave.
    Quit,
}

/// The console's state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tree: TreeState,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    /// The section the cluster view shows (kept while moving between clusters).
    pub cluster_tab: ClusterTab,
    /// The filter bar is being edited (keys go to it).
    pub filter_editing: bool,
    /// First line of the detail pane shown.
    pub detail_scroll: u16,
    pub status: Option<StatusMessage>,
    /// Problems found outside the inventory (a theme that failed to load…),
    /// listed with the inventory's warnings.
    pub notices: Vec<String>,
    pub readonly: bool,
    /// The inventory file as given on the command line.
    pub inventory_path: PathBuf,
    /// The home directory, shown as `~` in paths.
    pub home: Option<PathBuf>,
    /// Size of the whole terminal, for page sizes and scroll limits.
    pub screen: Rect,
    /// Runs confirmed actions; `None`: actions cannot run (tests, demos).
    pub runner: Option<TaskRunner>,
    /// How actions are planned (`readonly` is taken from [`AppState::readonly`]).
    pub plan_options: PlanOptions,
    /// The action being confirmed.
    pub pending: Option<Box<PendingAction>>,
    /// Tasks started in this session, oldest first.
    pub tasks: Vec<TaskEntry>,
    /// Woken whenever a task reports progress (the event loop redraws).
    pub task_notify: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    /// Timeline and down-since tracker kept by the triage recorder.
    pub triage: Option<std::sync::Arc<std::sync::Mutex<crate::triage::events::TriageState>>>,
    /// Health summary lines shown under the header (set when a snapshot
    /// arrives; the panes are that much shorter).
    pub health_rows: u16,
    /// Text to put on the terminal's clipboard (OSC 52), written by the
    /// event loop after the key that asked for it.
    pub clipboard: Option<String>,
    /// SSH connections for background work other than tasks (reports).
    pub ssh: Option<SshHandle>,
    /// Where reports are written (`None`: the default state directory).
    pub state_dir: Option<PathBuf>,
    /// Messages of background work (report written…), shown in the footer.
    pub messages: Option<tokio::sync::mpsc::UnboundedSender<(String, bool)>>,
    /// A saved provisioning run reopened with `:open-run` (title, progress).
    pub saved_run: Option<(String, crate::actions::playbook::LogFollower)>,
    /// Questions of SSH connections (unknown host key, key passphrase) and
    /// SSH alerts: the first one is a modal dialog over everything.
    pub prompts: Prompts,
    /// The logs pane's columns and streams, while it is open.
    pub logs: Option<super::logs::LogsState>,
    /// The activity view's sessions and refresher, while it is open.
    pub activity: Option<super::activity::ActivityState>,
}

impl AppState {
    pub fn new(deployment: &Deployment) -> Self {
        AppState {
            tree: TreeState::new(deployment),
            focus: Focus::Tree,
            overlay: None,
            cluster_tab: ClusterTab::default(),
            filter_editing: false,
            detail_scroll: 0,
            status: None,
            notices: Vec::new(),
            readonly: false,
            inventory_path: deployment.source.clone(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            screen: Rect::new(0, 0, 80, 24),
            runner: None,
            plan_options: PlanOptions::default(),
            pending: None,
            tasks: Vec::new(),
            task_notify: None,
            triage: None,
            health_rows: 0,
            clipboard: None,
            ssh: None,
            state_dir: None,
            messages: None,
            saved_run: None,
            prompts: Prompts::default(),
            logs: None,
            activity: None,
        }
    }

    /// A key while an SSH question is on screen (see [`super::prompt`]).
    pub fn answer_prompt(&mut self, key: crossterm::event::KeyEvent) -> Outcome {
        let audit = match &self.runner {
            Some(r) => r.audit().clone(),
            None => crate::tasks::audit::AuditLog::new(
                &self
                    .state_dir
                    .clone()
                    .unwrap_or_else(|| crate::paths::Paths::resolve().state_dir),
            ),
        };
        // Host key answers are audited before the connection goes on.
        let mut audit_error = None;
        let outcome = self.prompts.handle_key_with(key, |d| {
            if let Decision::HostKey { question, answer } = d {
                tracing::info!(host = %question.address(), fingerprint = %question.fingerprint,
                    answer = answer.as_str(), "host key answer");
                let record = question.audit_record(*answer, &crate::tasks::local_user());
                if let Err(e) = audit.append(&record) {
                    audit_error = Some(format!(
                        "cannot write the audit log {}: {e}",
                        audit.path().display()
                    ));
                }
            }
        });
        match outcome {
            PromptKey::Idle => Outcome::Ignored,
            PromptKey::Handled => Outcome::Handled,
            PromptKey::Decided(d) => {
                match audit_error {
                    Some(e) => self.set_status(e, true),
                    None => self.prompt_decided(d),
                }
                Outcome::Handled
            }
        }
    }

    /// Says what happens after an answer.
    fn prompt_decided(&mut self, d: Decision) {
        match d {
            Decision::HostKey { question, answer } => {
                let who = question.address();
                match answer {
                    crate::tasks::ssh::HostKeyAnswer::Accept => self.set_status(
                        format!(
                            "host key of {who} accepted{}",
                            question
                                .known_hosts
                                .as_ref()
                                .map(|p| format!(", recorded in {}", self.shown_path(p)))
                                .unwrap_or_default()
                        ),
                        false,
                    ),
                    crate::tasks::ssh::HostKeyAnswer::AcceptOnce => self.set_status(
                        format!("host key of {who} accepted for this session only"),
                        false,
                    ),
                    crate::tasks::ssh::HostKeyAnswer::Reject => self.set_status(
                        format!("host key of {who} rejected: tasks on it fail"),
                        true,
                    ),
                }
            }
            Decision::Passphrase {
                key_file,
                given: false,
                ..
            } => {
                let shown = self.shown_path(&key_file);
                self.set_status(format!("key {shown} skipped (no passphrase)"), false);
            }
            Decision::Passphrase { .. } | Decision::Dismissed => {}
        }
    }

    /// `path` with the home directory as `~`.
    pub fn shown_path(&self, path: &std::path::Path) -> String {
        crate::ui::text::shorten_path(path, self.home.as_deref(), usize::MAX / 2)
    }

    /// The cluster and instance (if an instance is selected) of the tree's
    /// selection.
    pub fn selected_target(&self, deployment: &Deployment) -> Option<(String, Option<String>)> {
        match self.tree.selected()? {
            TreeItem::Cluster(c) => Some((deployment.clusters.get(c)?.name.clone(), None)),
            TreeItem::Instance { cluster, instance } => {
                let c = deployment.clusters.get(cluster)?;
                Some((
                    c.name.clone(),
                    Some(c.instances.get(instance)?.name.clone()),
                ))
            }
            _ => None,
        }
    }

    /// Plans `action` against `snapshot`: listings and inspections start at
    /// once (or show their refusal); mutating actions open the confirmation.
    pub fn request_action(&mut self, deployment: &Deployment, snapshot: &Snapshot, action: Action) {
        self.request_action_from(deployment, snapshot, action, None);
    }

    /// [`AppState::request_action`] from a view the console returns to
    /// (`back`) when the confirmation is cancelled or the task started;
    /// the footer then says how the task ended.
    pub fn request_action_from(
        &mut self,
        deployment: &Deployment,
        snapshot: &Snapshot,
        action: Action,
        back: Option<Overlay>,
    ) {
        let mut opts = self.plan_options.clone();
        opts.readonly = self.readonly;
        if self.readonly && action.is_mutating() {
            self.overlay = back;
            self.set_status(
                format!(
                    "read-only mode: {} refused (inspection and listing stay available)",
                    action.name()
                ),
                true,
            );
            return;
        }
        let plan = action.plan(deployment, snapshot, &opts);
        if let Ok(p) = &plan
            && !p.mutating
        {
            let p = p.clone();
            self.start_plan(p);
            return;
        }
        self.pending = Some(Box::new(PendingAction {
            action,
            plan,
            typed: String::new(),
            error: None,
            scroll: 0,
            back,
        }));
        self.overlay = Some(Overlay::Confirm);
    }

    /// Esc in the confirmation: nothing runs; back where it was asked.
    pub fn cancel_pending(&mut self) {
        self.overlay = self.pending.take().and_then(|p| p.back);
    }

    /// Enter in the confirmation: runs the pending plan when confirmed.
    pub fn confirm_pending(&mut self) {
        let Some(p) = &mut self.pending else {
            self.overlay = None;
            return;
        };
        match &p.plan {
            Err(_) => self.cancel_pending(),
            Ok(plan) if !plan.confirms(&p.typed) => {
                p.error = Some(format!(
                    "type '{}' to confirm",
                    plan.confirmation.clone().unwrap_or_default()
                ));
            }
            Ok(plan) => {
                let plan = plan.clone();
                let back = p.back.clone();
                self.pending = None;
                match back {
                    None => self.start_plan(plan),
                    Some(back) => self.start_plan_in_background(plan, back),
                }
            }
        }
    }

    /// Starts a confirmed plan and shows its task.
    pub fn start_plan(&mut self, plan: ActionPlan) {
        let pipeline = plan.pipeline();
        self.start_pipeline(pipeline, Some(plan));
    }

    /// Starts a confirmed plan and goes back to `back`; the footer says
    /// when it started and how it ended (the task list keeps it), and an
    /// open activity view lists its sessions again then.
    pub fn start_plan_in_background(&mut self, plan: ActionPlan, back: Overlay) {
        self.overlay = Some(back);
        let Some(runner) = &self.runner else {
            self.set_status("actions cannot run here: no task runner", true);
            return;
        };
        let what = format!("{} {}", plan.name, plan.target);
        match runner.start(plan.pipeline()) {
            Ok((handle, mut events)) => {
                let notify = self.task_notify.clone();
                let messages = self.messages.clone();
                let wake = self.activity.as_ref().map(|a| a.waker());
                let h = handle.clone();
                let label = what.clone();
                tokio::spawn(async move {
                    while let Some(ev) = events.recv().await {
                        if let Some(tx) = &notify {
                            let _ = tx.send(());
                        }
                        if matches!(ev, crate::tasks::TaskEvent::Finished { .. }) {
                            break;
                        }
                    }
                    let status = h.wait().await;
                    let detail = if status == crate::tasks::TaskStatus::Succeeded {
                        String::new()
                    } else {
                        crate::ui::tasks::output_lines(&h.state())
                            .last()
                            .map(|(_, l)| format!(": {l}"))
                            .unwrap_or_default()
                    };
                    if let Some(w) = wake {
                        w.notify_one();
                    }
                    if let Some(tx) = messages {
                        let _ = tx.send((
                            format!("{label}: {status}{detail}"),
                            status != crate::tasks::TaskStatus::Succeeded,
                        ));
                    }
                });
                self.tasks.push(TaskEntry {
                    handle,
                    plan: Some(plan),
                    playbook: None,
                });
                self.set_status(format!("{what}: started (t lists the tasks)"), false);
            }
            Err(e) => self.set_status(format!("cannot start the task: {e}"), true),
        }
    }

    /// Starts `pipeline` on the runner and shows its task.
    pub fn start_pipeline(&mut self, pipeline: crate::tasks::Pipeline, plan: Option<ActionPlan>) {
        let Some(runner) = &self.runner else {
            self.overlay = None;
            self.set_status("actions cannot run here: no task runner", true);
            return;
        };
        match runner.start(pipeline) {
            Ok((handle, mut events)) => {
                if let Some(tx) = self.task_notify.clone() {
                    tokio::spawn(async move {
                        while events.recv().await.is_some() {
                            if tx.send(()).is_err() {
                                break;
                            }
                        }
                    });
                }
                let playbook = plan
                    .as_ref()
                    .filter(|p| p.action.is_provisioning())
                    .map(|_| {
                        crate::actions::playbook::LogFollower::new(
                            handle.state().log_path.clone(),
                            None,
                        )
                    });
                let index = self.tasks.len();
                self.overlay = Some(if playbook.is_some() {
                    Overlay::Playbook {
                        source: PlaybookSource::Task(index),
                        scroll: 0,
                        raw: false,
                    }
                } else {
                    Overlay::task(index)
                });
                self.tasks.push(TaskEntry {
                    handle,
                    plan,
                    playbook,
                });
            }
            Err(e) => {
                self.overlay = None;
                self.set_status(format!("cannot start the task: {e}"), true);
            }
        }
    }

    /// Some task is still running (the tick redraws elapsed times).
    pub fn tasks_running(&self) -> bool {
        self.tasks.iter().any(|t| !t.handle.status().is_finished())
    }

    /// Number of warnings shown in the header: the inventory's and ours.
    pub fn warning_count(&self, deployment: &Deployment) -> usize {
        deployment.warnings.len() + self.notices.len()
    }

    /// Records a new terminal size.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.screen = Rect::new(0, 0, width, height);
        let rows = self.tree_viewport_rows();
        self.tree.scroll_into_view(rows);
    }

    /// Rows of tree the left pane can show at the current size.
    pub fn tree_viewport_rows(&self) -> usize {
        let layout = crate::ui::layout::Screen::with_health(self.screen, self.health_rows);
        let filter_line = usize::from(self.filter_editing || !self.tree.filter().is_empty());
        (layout.tree.height.saturating_sub(2) as usize).saturating_sub(filter_line)
    }

    /// Lines of the detail pane visible at the current size.
    pub fn detail_viewport_rows(&self) -> usize {
        let layout = crate::ui::layout::Screen::with_health(self.screen, self.health_rows);
        layout.detail.height.saturating_sub(2) as usize
    }

    pub fn set_status(&mut self, text: impl Into<String>, is_error: bool) {
        self.status = Some(StatusMessage {
            text: text.into(),
            is_error,
            since: Instant::now(),
        });
    }

    /// Called on every tick; returns whether the screen must be redrawn.
    pub fn on_tick(&mut self, now: Instant) -> bool {
        let playbooks = self.poll_playbooks();
        match &self.status {
            Some(s) if now.duration_since(s.since) >= STATUS_LIFETIME => {
                self.status = None;
                true
            }
            _ => playbooks,
        }
    }

    /// Reads what provisioning tasks appended to their logs (local files)
    /// into their playbook progress; returns whether anything changed.
    pub fn poll_playbooks(&mut self) -> bool {
        let mut changed = false;
        for t in &mut self.tasks {
            if let Some(f) = &mut t.playbook {
                changed |= f.poll();
            }
        }
        changed
    }

    /// `:open-run ID|PATH`: reopens a saved provisioning run (its task log
    /// under `<state>/tasks/`) in the playbook view.
    pub fn open_saved_run(&mut self, run: &str) -> Result<(), String> {
        let path = {
            let p = PathBuf::from(run);
            if p.is_file() {
                p
            } else {
                match &self.state_dir {
                    Some(d) => d.join("tasks").join(format!("{run}.log")),
                    None => p,
                }
            }
        };
        let f = crate::actions::playbook::LogFollower::read_all(&path, None)?;
        if f.progress.plays.is_empty() && f.progress.errors.is_empty() {
            return Err(format!(
                "{}: no playbook progress in this log",
                path.display()
            ));
        }
        self.saved_run = Some((run.to_string(), f));
        self.overlay = Some(Overlay::Playbook {
            source: PlaybookSource::Saved,
            scroll: 0,
            raw: false,
        });
        Ok(())
    }

    /// The selection changed: the detail pane starts from the top again.
    pub fn selection_changed(&mut self) {
        self.detail_scroll = 0;
    }

    /// Shows another section of the cluster view, from its top.
    pub fn set_cluster_tab(&mut self, tab: ClusterTab) {
        if self.cluster_tab != tab {
            self.cluster_tab = tab;
            self.detail_scroll = 0;
        }
    }

    /// `R`: writes the incident report of the selected cluster in the
    /// background; the footer shows the path when done.
    pub fn write_report(&mut self, deployment: &Deployment, snapshot: &Snapshot) {
        let Some((cluster, _)) = self.selected_target(deployment) else {
            self.set_status("report: select a cluster or an instance first", true);
            return;
        };
        let (Some(ssh), Some(state_dir)) = (self.ssh.clone(), self.state_dir.clone()) else {
            self.set_status("reports cannot be written here (no SSH)", true);
            return;
        };
        let (timeline, tracker) = match &self.triage {
            Some(t) => {
                let st = t.lock().unwrap_or_else(|p| p.into_inner());
                (st.timeline.clone(), st.tracker.clone())
            }
            None => (Default::default(), Default::default()),
        };
        let path =
            crate::triage::report::default_path(&state_dir, &cluster, std::time::SystemTime::now());
        let d = deployment.clone();
        let snap = snapshot.clone();
        let tx = self.messages.clone();
        self.set_status(format!("writing the incident report of {cluster}…"), false);
        tokio::spawn(async move {
            let target_of = |i: &crate::model::Instance| crate::tasks::Target::from_instance(i);
            let r = crate::triage::report::generate(
                &ssh.0, &d, &snap, &cluster, &timeline, &tracker, &target_of, &path,
            )
            .await;
            let msg = match r {
                Ok(p) => (format!("report written: {}", p.display()), false),
                Err(e) => (format!("cannot write {}: {e}", path.display()), true),
            };
            if let Some(tx) = tx {
                let _ = tx.send(msg);
            }
        });
    }

    /// `y`: copies the selected DSN / name / output line (OSC 52).
    pub fn copy_selection(&mut self, deployment: &Deployment) {
        match crate::ui::clipboard::copy_target(self, deployment) {
            Some(text) => {
                self.set_status(format!("copied: {text}"), false);
                self.clipboard = Some(text);
            }
            None => self.set_status("nothing to copy here", true),
        }
    }

    /// `L`: the logs pane on the selected instance, or on every member of
    /// the selected cluster; the streams start in the background.
    pub fn open_logs(&mut self, deployment: &Deployment) {
        let Some((cluster, member)) = self.selected_target(deployment) else {
            self.set_status("logs: select a cluster or an instance first", true);
            return;
        };
        self.close_logs();
        let mut logs =
            super::logs::LogsState::for_selection(deployment, &cluster, member.as_deref());
        if logs.columns.is_empty() {
            self.set_status(format!("logs: {cluster} has no members"), true);
            return;
        }
        let pool = self.ssh.as_ref().map(|s| &s.0);
        logs.start(deployment, pool, self.task_notify.clone());
        self.logs = Some(logs);
        self.overlay = Some(Overlay::Logs);
    }

    /// Closes the logs pane and stops its streams.
    pub fn close_logs(&mut self) {
        if let Some(l) = self.logs.take() {
            l.stop();
        }
        if self.overlay == Some(Overlay::Logs) {
            self.overlay = None;
        }
    }

    /// `A`: the sessions of the selected instance (of a cluster: its live
    /// leader, else its declared primary), listed in the background.
    pub fn open_activity(&mut self, deployment: &Deployment, snapshot: &Snapshot) {
        let Some((cluster, member)) = self.selected_target(deployment) else {
            self.set_status("activity: select an instance first", true);
            return;
        };
        let member = member.or_else(|| {
            let c = deployment.cluster(&cluster)?;
            snapshot
                .cluster(&cluster)
                .and_then(|cl| cl.leader())
                .filter(|l| c.instances.iter().any(|i| i.name == *l))
                .map(str::to_string)
                .or_else(|| c.declared_primary().map(|i| i.name.clone()))
        });
        let Some(member) = member else {
            self.set_status(format!("activity: {cluster} has no members"), true);
            return;
        };
        self.close_activity();
        let mut a = super::activity::ActivityState::new(&cluster, &member);
        let pool = self.ssh.as_ref().map(|s| &s.0);
        a.start(deployment, pool, self.task_notify.clone());
        self.activity = Some(a);
        self.overlay = Some(Overlay::Activity);
    }

    /// Closes the activity view and stops its refresher.
    pub fn close_activity(&mut self) {
        if let Some(a) = self.activity.take() {
            a.stop();
        }
        if self.overlay == Some(Overlay::Activity) {
            self.overlay = None;
        }
    }

    pub fn open_events(&mut self) {
        self.overlay = Some(Overlay::Events {
            scroll: 0,
            filter: String::new(),
            editing: false,
        });
    }

    pub fn open_palette(&mut self) {
        self.overlay = Some(Overlay::Palette(PaletteState::default()));
    }

    pub fn start_filter(&mut self) {
        self.filter_editing = true;
        self.focus = Focus::Tree;
    }

    /// Sets the tree filter and keeps the selection visible.
    pub fn set_filter(&mut self, deployment: &Deployment, text: &str) {
        let before = self.tree.selected();
        self.tree.set_filter(deployment, text);
        let rows = self.tree_viewport_rows();
        self.tree.scroll_into_view(rows);
        if self.tree.selected() != before {
            self.selection_changed();
        }
    }

    /// Selects a tree item, showing it even if it was filtered or collapsed.
    pub fn select_item(&mut self, deployment: &Deployment, item: TreeItem) -> bool {
        let before = self.tree.selected();
        let rows = self.tree_viewport_rows();
        let found = self.tree.select(deployment, item, rows);
        if self.tree.selected() != before {
            self.selection_changed();
        }
        found
    }

    /// Runs a palette command. `Err` carries the message shown in the palette.
    pub fn run_command(
        &mut self,
        deployment: &Deployment,
        snapshot: &Snapshot,
        command: Command,
    ) -> Result<Outcome, String> {
        match command {
            Command::Quit => return Ok(Outcome::Quit),
            Command::Tasks => self.overlay = Some(Overlay::Tasks { selected: 0 }),
            Command::Events => self.open_events(),
            Command::Logs => {
                self.overlay = None;
                self.open_logs(deployment);
            }
            Command::Activity => {
                self.overlay = None;
                self.open_activity(deployment, snapshot);
            }
            Command::Act { name, arg } => {
                let action = self.palette_action(deployment, name, &arg)?;
                self.overlay = None;
                self.request_action(deployment, snapshot, action);
            }
            Command::Cluster(name) => {
                let Some(c) = deployment.clusters.iter().position(|c| c.name == name) else {
                    return Err(not_found(
                        "cluster",
                        &name,
                        deployment.clusters.iter().map(|c| c.name.as_str()),
                    ));
                };
                self.select_item(deployment, TreeItem::Cluster(c));
                self.tree
                    .set_expanded(deployment, TreeItem::Cluster(c), true);
                self.overlay = None;
                self.focus = Focus::Tree;
            }
            Command::Node(key) => {
                let Some(item) = find_node(deployment, &key) else {
                    let names = deployment
                        .infra
                        .iter()
                        .map(|n| n.name.as_str())
                        .chain(deployment.instances().map(|i| i.name.as_str()));
                    return Err(not_found("node", &key, names));
                };
                self.select_item(deployment, item);
                self.overlay = None;
                self.focus = Focus::Tree;
            }
            Command::Filter(text) => {
                self.overlay = None;
                self.set_filter(deployment, &text);
            }
            Command::ExpandAll | Command::CollapseAll => {
                self.tree
                    .set_all_clusters_expanded(deployment, command == Command::ExpandAll);
                let rows = self.tree_viewport_rows();
                self.tree.scroll_into_view(rows);
                self.overlay = None;
            }
            Command::Warnings => self.overlay = Some(Overlay::Warnings { scroll: 0 }),
            Command::Alerts => self.overlay = Some(Overlay::Alerts { selected: 0 }),
            Command::Findings => self.overlay = Some(Overlay::Findings { selected: 0 }),
            Command::Tab(tab) => {
                self.set_cluster_tab(tab);
                self.overlay = None;
            }
            Command::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Command::OpenRun(run) => self.open_saved_run(&run)?,
        }
        Ok(Outcome::Handled)
    }

    /// Parses and runs the palette's line; on error the palette stays open
    /// and shows why.
    pub fn submit_palette(&mut self, deployment: &Deployment, snapshot: &Snapshot) -> Outcome {
        let Some(Overlay::Palette(p)) = &self.overlay else {
            return Outcome::Ignored;
        };
        let line = p.input.clone();
        let result =
            palette::parse(&line).and_then(|cmd| self.run_command(deployment, snapshot, cmd));
        match result {
            Ok(outcome) => outcome,
            Err(message) => {
                if let Some(Overlay::Palette(p)) = &mut self.overlay {
                    p.error = Some(message);
                }
                Outcome::Handled
            }
        }
    }
}

impl AppState {
    /// The action of a palette command on the selected cluster / instance.
    fn palette_action(
        &self,
        deployment: &Deployment,
        name: &str,
        arg: &str,
    ) -> Result<Action, String> {
        let Some((cluster, member)) = self.selected_target(deployment) else {
            return Err(format!("{name}: select a cluster or an instance first"));
        };
        let arg = (!arg.is_empty()).then(|| arg.to_string());
        let member_arg = arg.clone().or(member.clone());
        Ok(match name {
            "switchover" => Action::Switchover {
                cluster,
                candidate: arg,
                scheduled: None,
            },
            "failover" => Action::Failover {
                cluster,
                candidate: member_arg.ok_or("failover needs a candidate")?,
            },
            "restart" => Action::Restart {
                cluster,
                member: member_arg,
            },
            "reload" => Action::Reload {
                cluster,
                member: member_arg,
            },
            "reinit" => Action::Reinit {
                cluster,
                member: member_arg.ok_or("reinit needs a member")?,
            },
            "pause" => Action::Pause { cluster },
            "resume" => Action::Resume { cluster },
            "backup" => Action::Backup {
                cluster,
                kind: match &arg {
                    None => crate::actions::BackupType::Full,
                    Some(k) => crate::actions::BackupType::parse(k)
                        .ok_or_else(|| format!("backup type '{k}': full, diff or incr"))?,
                },
            },
            "backups" => Action::Backups { cluster },
            "inspect" => Action::Inspect {
                cluster: Some(cluster),
            },
            "create-cluster" => Action::CreateCluster { cluster },
            "remove-cluster" => Action::RemoveCluster { cluster },
            "add-instance" | "remove-instance" => {
                let ip = match (&arg, &member) {
                    (Some(a), _) => a.clone(),
                    (None, Some(m)) => deployment
                        .cluster(&cluster)
                        .and_then(|c| c.instances.iter().find(|i| &i.name == m))
                        .map(|i| i.ip.clone())
                        .unwrap_or_else(|| m.clone()),
                    (None, None) => {
                        return Err(format!("{name} needs an IP (or select the instance)"));
                    }
                };
                if name == "add-instance" {
                    Action::AddInstance {
                        cluster,
                        ips: vec![ip],
                    }
                } else {
                    Action::RemoveInstance {
                        cluster,
                        ips: vec![ip],
                    }
                }
            }
            "create-user" => Action::CreateUser {
                cluster,
                user: arg.ok_or("create-user needs a user name")?,
            },
            "create-db" => Action::CreateDatabase {
                cluster,
                database: arg.ok_or("create-database needs a database name")?,
            },
            "reload-hba" => Action::ReloadHba { cluster },
            "reload-services" => Action::ReloadServices { cluster },
            "infra" => Action::Infra,
            other => return Err(format!("unknown action {other}")),
        })
    }
}

/// The tree item for a node key: an infra node by IP or name first, else an
/// instance by IP, instance name or nodename.
pub fn find_node(deployment: &Deployment, key: &str) -> Option<TreeItem> {
    if let Some(n) = deployment
        .infra
        .iter()
        .position(|n| n.ip == key || n.name == key)
    {
        return Some(TreeItem::InfraNode(n));
    }
    deployment
        .clusters
        .iter()
        .enumerate()
        .find_map(|(c, cluster)| {
            cluster
                .instances
                .iter()
                .position(|i| i.ip == key || i.name == key || i.nodename.as_deref() == Some(key))
                .map(|i| TreeItem::Instance {
                    cluster: c,
                    instance: i,
                })
        })
}

fn not_found<'a>(what: &str, key: &str, names: impl Iterator<Item = &'a str>) -> String {
    let lower = key.to_lowercase();
    let similar: Vec<&str> = names
        .filter(|n| {
            let n = n.to_lowercase();
            n.contains(&lower) || lower.contains(&n)
        })
        .take(3)
        .collect();
    if similar.is_empty() {
        format!("no {what} '{key}'")
    } else {
        format!("no {what} '{key}' (did you mean {}?)", similar.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_node_prefers_infra_then_instances() {
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(2, 2),
            std::path::Path::new("generated.yml"),
        )
        .expect("generated inventory parses");
        let infra = &d.infra[0];
        assert_eq!(find_node(&d, &infra.ip), Some(TreeItem::InfraNode(0)));
        let inst = &d.clusters[1].instances[1];
        assert_eq!(
            find_node(&d, &inst.name),
            Some(TreeItem::Instance {
                cluster: 1,
                instance: 1
            })
        );
        assert_eq!(find_node(&d, "no-such-node"), None);
    }

    #[test]
    fn cluster_tabs_cycle_and_parse() {
        assert_eq!(ClusterTab::from_digit('1'), Some(ClusterTab::Topology));
        assert_eq!(ClusterTab::from_digit('6'), Some(ClusterTab::Findings));
        assert_eq!(ClusterTab::from_digit('0'), None);
        assert_eq!(ClusterTab::from_digit('7'), None);
        assert_eq!(ClusterTab::Topology.cycle(-1), ClusterTab::Findings);
        assert_eq!(ClusterTab::Findings.cycle(1), ClusterTab::Topology);
        assert_eq!(ClusterTab::Members.cycle(1), ClusterTab::History);
    }

    #[test]
    fn status_messages_expire_on_tick() {
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(1, 1),
            std::path::Path::new("generated.yml"),
        )
        .expect("generated inventory parses");
        let mut app = AppState::new(&d);
        app.set_status("hello", false);
        let since = app.status.as_ref().unwrap().since;
        assert!(!app.on_tick(since + Duration::from_secs(1)));
        assert!(app.status.is_some());
        assert!(app.on_tick(since + STATUS_LIFETIME));
        assert!(app.status.is_none());
        assert!(
            !app.on_tick(since + STATUS_LIFETIME * 2),
            "nothing to redraw"
        );
    }
}
