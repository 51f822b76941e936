//! The interactive console: terminal setup/restore and the event loop.
//!
//! The loop waits with `select!` on terminal events, the live-state watch
//! channel (pollers publish a whole new [`Snapshot`] there), task progress,
//! questions of SSH connections ([`prompt`]) and a slow tick. It redraws only
//! when one of them changed something, and it never waits on the network: it
//! draws the newest snapshot it has, and SSH tasks wait for the operator's
//! answers on reply channels, not the other way round.

pub mod activity;
pub mod logs;
pub mod palette;
pub mod prompt;
pub mod state;
pub mod tree;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{WrapErr, eyre};
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::watch;

use crate::model::Deployment;
use crate::snapshot::Snapshot;
use crate::tasks::TaskRunner;
use crate::ui;
use crate::ui::theme::Theme;
pub use state::{AppState, ClusterTab, Focus, Outcome, OutputSearch, Overlay};

/// How often the loop wakes up without input (to expire status messages).
const TICK: Duration = Duration::from_secs(1);

/// What the console needs to run.
pub struct AppOptions {
    /// Shared with the pollers and the event recorder (one copy).
    pub deployment: Arc<Deployment>,
    /// The inventory file as the operator gave it (shown in the header).
    pub inventory_path: PathBuf,
    pub theme: Theme,
    /// No action that changes anything may run (shown in the header).
    pub readonly: bool,
    /// Draw without colour (`NO_COLOR`): replaces `theme` by the monochrome one.
    pub no_color: bool,
    /// The newest live snapshot; pollers publish new ones, the UI only reads.
    pub snapshot_rx: watch::Receiver<Arc<Snapshot>>,
    /// Runs the actions confirmed in the console (`None`: none can run).
    pub runner: Option<TaskRunner>,
    /// SSH connections for reports, and the state directory they go to.
    pub ssh: Option<(crate::tasks::SshPool, PathBuf)>,
    /// The triage recorder's state (health down-since, timeline).
    pub triage: Option<Arc<std::sync::Mutex<crate::triage::events::TriageState>>>,
    /// Questions of the SSH pool's [`ChannelPrompter`](crate::tasks::ssh::ChannelPrompter)
    /// (unknown host keys, passphrases), shown as modal dialogs.
    pub prompts: Option<tokio::sync::mpsc::UnboundedReceiver<crate::tasks::ssh::PromptRequest>>,
}

impl AppOptions {
    /// Options with the default theme, colours as `NO_COLOR` says, not
    /// read-only.
    pub fn new(
        deployment: impl Into<Arc<Deployment>>,
        inventory_path: PathBuf,
        snapshot_rx: watch::Receiver<Arc<Snapshot>>,
    ) -> Self {
        AppOptions {
            deployment: deployment.into(),
            inventory_path,
            theme: Theme::default(),
            readonly: false,
            no_color: ui::theme::no_color_requested(),
            snapshot_rx,
            runner: None,
            ssh: None,
            triage: None,
            prompts: None,
        }
    }
}

/// Runs the console until the operator quits.
///
/// The terminal is put in raw mode on the alternate screen and restored
/// when this returns, on error, and on panic (the panic hook restores it
/// before the panic report is printed).
pub async fn run(opts: AppOptions) -> color_eyre::Result<()> {
    run_with_notices(opts, Vec::new()).await
}

/// [`run`], showing `notices` (problems found before the console started,
/// such as a theme that could not be loaded) with the inventory warnings;
/// the first one is also flashed in the footer.
pub async fn run_with_notices(opts: AppOptions, notices: Vec<String>) -> color_eyre::Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(eyre!(
            "the console needs a terminal: standard output is not one"
        ));
    }
    // Without effect when main already installed it; the terminal-restoring
    // panic hook below must wrap color-eyre's, not the other way round.
    install_error_hooks();
    let _restore = RestoreTerminal;
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    event_loop(&mut terminal, opts, notices).await
}

/// Install color-eyre's report and panic hooks once per process; later
/// calls do nothing.
///
/// Calling `color_eyre::install` a second time is not harmless: the failure
/// is itself an `eyre::Report`, and with `RUST_BACKTRACE=1` creating one
/// captures and symbolizes a backtrace, which maps the binary's debug info
/// and keeps the parsed DWARF cached for the rest of the process (the
/// console's resident memory went from ~23 MB to ~165 MB that way).
pub fn install_error_hooks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Err(e) = color_eyre::install() {
            eprintln!("warning: error reporting hooks not installed: {e}");
        }
    });
}

/// Restores the terminal when dropped, whatever way `run` ends.
struct RestoreTerminal;

impl Drop for RestoreTerminal {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    opts: AppOptions,
    notices: Vec<String>,
) -> color_eyre::Result<()> {
    let AppOptions {
        deployment,
        inventory_path,
        theme,
        readonly,
        no_color,
        mut snapshot_rx,
        runner,
        ssh,
        triage,
        prompts,
    } = opts;
    let (mut prompt_rx, prompts_open) = match prompts {
        Some(rx) => (rx, true),
        None => (tokio::sync::mpsc::unbounded_channel().1, false),
    };
    let mut prompts_open = prompts_open;
    let theme = if no_color { Theme::monochrome() } else { theme };
    let mut app = AppState::new(&deployment);
    app.inventory_path = inventory_path;
    app.readonly = readonly;
    app.runner = runner;
    app.triage = triage;
    if let Some((pool, dir)) = ssh {
        app.ssh = Some(state::SshHandle(pool));
        app.state_dir = Some(dir);
    }
    let (msg_tx, mut msg_rx) = tokio::sync::mpsc::unbounded_channel::<(String, bool)>();
    app.messages = Some(msg_tx);
    // Tasks report progress here; the loop redraws, never waits on them.
    let (task_tx, mut task_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    app.task_notify = Some(task_tx);
    if let Some(first) = notices.first() {
        app.set_status(first.clone(), false);
    }
    app.notices = notices;
    let size = terminal.size()?;
    app.resize(size.width, size.height);

    let mut snapshot = snapshot_rx.borrow_and_update().clone();
    app.health_rows = ui::health::rows(&ui::health::problems(&app, &deployment, &snapshot));
    let mut snapshots_open = true;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // SIGTERM, SIGHUP (the SSH session or terminal went away) and SIGQUIT
    // end the loop like `q`, so the terminal is restored on the way out.
    let mut stop_signals = StopSignals::new().wrap_err("cannot watch for signals")?;

    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|frame| ui::draw(frame, &app, &deployment, &snapshot, &theme))?;
            dirty = false;
        }
        tokio::select! {
            signal = stop_signals.recv() => {
                tracing::info!("{signal}: quitting");
                break;
            }
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    let outcome = handle_key(&mut app, &deployment, &snapshot, key);
                    if let Some(text) = app.clipboard.take() {
                        use std::io::Write as _;
                        let mut out = std::io::stdout();
                        let _ = out.write_all(ui::clipboard::osc52(&text).as_bytes());
                        let _ = out.flush();
                    }
                    match outcome {
                        Outcome::Quit => break,
                        Outcome::Handled => dirty = true,
                        Outcome::Ignored => {}
                    }
                }
                Some(Ok(Event::Resize(w, h))) => {
                    app.resize(w, h);
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).wrap_err("reading terminal input"),
                None => break,
            },
            changed = snapshot_rx.changed(), if snapshots_open => match changed {
                Ok(()) => {
                    snapshot = snapshot_rx.borrow_and_update().clone();
                    app.health_rows =
                        ui::health::rows(&ui::health::problems(&app, &deployment, &snapshot));
                    dirty = true;
                }
                // The publisher is gone: keep showing the last snapshot.
                Err(_) => snapshots_open = false,
            },
            Some((text, is_error)) = msg_rx.recv() => {
                app.set_status(text, is_error);
                dirty = true;
            }
            Some(()) = task_rx.recv() => {
                while task_rx.try_recv().is_ok() {}
                app.poll_playbooks();
                if app.overlay.is_some() || app.prompts.prune() {
                    dirty = true;
                }
            }
            request = prompt_rx.recv(), if prompts_open => match request {
                Some(request) => {
                    app.prompts.prune();
                    app.prompts.push(request);
                    while let Ok(more) = prompt_rx.try_recv() {
                        app.prompts.push(more);
                    }
                    dirty = true;
                }
                None => prompts_open = false,
            },
            now = tick.tick() => {
                // Questions whose task gave up (cancelled) go away.
                let pruned = app.prompts.prune();
                if app.on_tick(now.into_std()) || app.tasks_running() || pruned {
                    dirty = true;
                }
            }
        }
    }
    Ok(())
}

/// The signals that end the console cleanly.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// The name of the next signal received.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.quit.recv() => "SIGQUIT",
        }
    }
}

/// Routes a key: Ctrl-C quits from anywhere; otherwise the focused
/// component (popup, filter bar, pane) gets it first, then the global keys
/// apply, unless a popup or the filter bar has the keys. `snapshot` is the
/// live state on screen (popups listing alerts or findings select from it).
pub fn handle_key(
    app: &mut AppState,
    deployment: &Deployment,
    snapshot: &Snapshot,
    key: KeyEvent,
) -> Outcome {
    if key.kind == KeyEventKind::Release {
        return Outcome::Ignored;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Outcome::Quit;
    }
    // An SSH question on screen takes every key (Ctrl-C still quits: the
    // waiting connections are then refused).
    if !app.prompts.is_empty() {
        app.status = None;
        return match app.answer_prompt(key) {
            Outcome::Ignored => Outcome::Handled,
            other => other,
        };
    }
    // Any key dismisses a status message.
    let had_status = app.status.take().is_some();
    let component = ui::focused_component(app);
    let outcome = component.handle_key(key, app, deployment, snapshot);
    if outcome != Outcome::Ignored {
        return outcome;
    }
    let modal = app.overlay.is_some() || app.filter_editing;
    let global = if modal || key.modifiers.contains(KeyModifiers::CONTROL) {
        Outcome::Ignored
    } else {
        global_key(app, deployment, snapshot, key)
    };
    match global {
        Outcome::Ignored if had_status => Outcome::Handled,
        other => other,
    }
}

fn global_key(
    app: &mut AppState,
    deployment: &Deployment,
    snapshot: &Snapshot,
    key: KeyEvent,
) -> Outcome {
    match key.code {
        KeyCode::Char('x') => {
            if app.selected_target(deployment).is_some() {
                app.overlay = Some(Overlay::ActionMenu { selected: 0 });
            } else {
                app.set_status("actions: select a cluster or an instance first", true);
            }
        }
        KeyCode::Char('t') => app.overlay = Some(Overlay::Tasks { selected: 0 }),
        KeyCode::Char('e') => app.open_events(),
        KeyCode::Char('L') => app.open_logs(deployment),
        KeyCode::Char('A') => app.open_activity(deployment, snapshot),
        KeyCode::Char('y') => app.copy_selection(deployment),
        KeyCode::Char('R') => app.write_report(deployment, snapshot),
        KeyCode::Char('b') => match app.selected_target(deployment) {
            Some((cluster, _)) => app.request_action(
                deployment,
                snapshot,
                crate::actions::Action::Backups { cluster },
            ),
            None => app.set_status("backups: select a cluster or an instance first", true),
        },
        KeyCode::Char('q') => return Outcome::Quit,
        KeyCode::Char('?') => app.overlay = Some(Overlay::Help { scroll: 0 }),
        KeyCode::Char(':') => app.open_palette(),
        KeyCode::Char('/') => app.start_filter(),
        KeyCode::Char('w') => app.overlay = Some(Overlay::Warnings { scroll: 0 }),
        KeyCode::Char('a') => app.overlay = Some(Overlay::Alerts { selected: 0 }),
        KeyCode::Char('f') => app.overlay = Some(Overlay::Findings { selected: 0 }),
        KeyCode::Tab | KeyCode::BackTab => {
            app.focus = match app.focus {
                Focus::Tree => Focus::Detail,
                Focus::Detail => Focus::Tree,
            }
        }
        _ => return Outcome::Ignored,
    }
    Outcome::Handled
}
