//! Launch the interactive console: theme, live sources, event loop.

use std::path::PathBuf;
use std::sync::Arc;

use color_eyre::eyre::Result;

use crate::app::{self, AppOptions};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::sources::{self, SourcesConfig};
use crate::tasks::ssh::ChannelPrompter;
use crate::tasks::{HostKeyPolicy, SshConfig, SshPool, TaskRunner};
use crate::ui::theme::{self, Theme};

/// Settings of one console session.
pub struct ConsoleOptions {
    pub inventory_path: PathBuf,
    pub theme: Option<String>,
    pub readonly: bool,
    pub sources: SourcesConfig,
    /// No live polling: the inventory only (`--no-poll`).
    pub no_poll: bool,
    /// `--known-hosts FILE` / `PIGSTY_TUI_KNOWN_HOSTS`: replaces the
    /// known_hosts files for the console's SSH actions.
    pub known_hosts: Option<PathBuf>,
}

pub fn run(opts: ConsoleOptions, deployment: Deployment) -> Result<()> {
    let no_color = theme::no_color_requested();
    let (theme, theme_problem) = Theme::for_console(opts.theme.as_deref(), no_color);
    let mut notices = Vec::new();
    if let Some(p) = theme_problem {
        tracing::warn!("{p}");
        notices.push(p);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // One copy of the deployment for the pollers, the recorder and the UI.
    let deployment = Arc::new(deployment);
    runtime.block_on(async move {
        let cancel = tokio_util::sync::CancellationToken::new();
        // Without polling the sender stays alive (and silent) until the end.
        let (_idle_tx, idle_rx) = tokio::sync::watch::channel(Arc::new(Snapshot::empty()));
        let snapshot_rx = if opts.no_poll {
            idle_rx
        } else {
            sources::spawn(deployment.clone(), opts.sources, cancel.clone())
        };
        // Actions run over SSH; every task is audited under the state
        // directory. Unknown host keys and key passphrases are asked in the
        // console (modal dialogs fed by the prompter's channel); changed host
        // keys are refused.
        let state_dir = crate::paths::Paths::resolve().state_dir;
        // Events are recorded off the UI task; the console reads the
        // shared state for the health lines.
        let triage = if opts.no_poll {
            None
        } else {
            let (_recorder, state) = crate::triage::events::spawn_triage(
                deployment.clone(),
                snapshot_rx.clone(),
                crate::triage::events::default_path(&state_dir),
            );
            Some(state)
        };
        let mut ssh = SshConfig::load();
        if let Some(k) = opts.known_hosts {
            ssh.known_hosts = Some(vec![k]);
        }
        let (prompter, prompts) = ChannelPrompter::new();
        ssh.host_key_policy = HostKeyPolicy::Ask;
        ssh.prompter = Some(Arc::new(prompter));
        let pool = SshPool::new(ssh);
        let runner = TaskRunner::ssh(pool.clone(), state_dir.clone());
        let result = app::run_with_notices(
            AppOptions {
                deployment,
                inventory_path: opts.inventory_path,
                theme,
                readonly: opts.readonly,
                no_color,
                snapshot_rx,
                runner: Some(runner),
                ssh: Some((pool, state_dir)),
                triage,
                prompts: Some(prompts),
            },
            notices,
        )
        .await;
        cancel.cancel();
        result
    })
}
