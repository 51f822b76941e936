//! `pigsty-tui setup`: the guided setup, in the terminal (default) or
//! headless (`--headless`, every answer from flags).
//!
//! ```text
//! pigsty-tui setup [--output FILE] [--restart]
//! pigsty-tui setup --headless --sandbox [--output FILE] [--accept-new-host-keys]
//! pigsty-tui setup --headless --admin IP --nodes IP,IP,IP [--user dba] [--key FILE]
//!                  [--port 22] [--cluster pg-test] [--home ~/pigsty] [--force]
//! ```
//!
//! The wizard's progress is saved in `<state dir>/setup.json`: run it
//! again and it resumes at the step that failed (`--restart` starts over).
//! Exit codes (headless): 0 verified, 1 a step failed (checks, install,
//! verify), 2 bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{Result, WrapErr, eyre};
use futures::StreamExt;

use crate::actions::playbook::LogFollower;
use crate::setup::checks::{self, Verdict};
use crate::setup::wizard::{Request, Wizard, WizardEvent};
use crate::setup::{SetupInputs, SetupState, SetupStep, config, install, verify};
use crate::tasks::ssh::{HostKeyPolicy, SshConfig, SshPool};
use crate::tasks::{TaskRunner, TaskStatus};
use crate::ui::theme::Theme;

/// Options of `pigsty-tui setup`.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// Where the pigsty.yml is written.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "pigsty.yml")]
    pub output: PathBuf,
    /// Forget a saved wizard and start over.
    #[arg(long)]
    pub restart: bool,
    /// No terminal UI: take the answers from the flags and print progress.
    #[arg(long)]
    pub headless: bool,
    /// The local loopback sandbox's nodes (tests/sandbox).
    #[arg(long)]
    pub sandbox: bool,
    /// Admin node IP.
    #[arg(long, value_name = "IP")]
    pub admin: Option<String>,
    /// Database node IPs, comma separated (first: primary).
    #[arg(long, value_name = "IP,IP,…", value_delimiter = ',')]
    pub nodes: Vec<String>,
    /// SSH user (default dba).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// SSH private key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// SSH port (default 22).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Name of the HA cluster (default pg-test).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Pigsty home on the admin node (default ~/pigsty).
    #[arg(long, value_name = "DIR")]
    pub home: Option<String>,
    /// Headless: record unknown SSH host keys (refused otherwise).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Headless: go on despite failed node checks.
    #[arg(long)]
    pub force: bool,
}

impl SetupArgs {
    /// The inputs the flags give over `base`.
    pub fn inputs(&self, base: SetupInputs) -> SetupInputs {
        let mut i = if self.sandbox {
            SetupInputs::sandbox()
        } else {
            base
        };
        if let Some(a) = &self.admin {
            i.admin_ip = a.clone();
        }
        if !self.nodes.is_empty() {
            i.nodes = self.nodes.clone();
        }
        if let Some(u) = &self.user {
            i.ssh_user = u.clone();
        }
        if let Some(k) = &self.key {
            i.ssh_key = Some(k.clone());
        }
        if let Some(p) = self.port {
            i.ssh_port = p;
        }
        if let Some(c) = &self.cluster {
            i.cluster = c.clone();
        }
        if let Some(h) = &self.home {
            i.pigsty_home = h.clone();
        }
        i
    }

    fn flags_given(&self) -> bool {
        self.sandbox
            || self.admin.is_some()
            || !self.nodes.is_empty()
            || self.user.is_some()
            || self.key.is_some()
            || self.port.is_some()
            || self.cluster.is_some()
            || self.home.is_some()
    }
}

fn pool(known_hosts: Option<&Path>, policy: HostKeyPolicy) -> SshPool {
    let mut c = SshConfig::load();
    if let Some(k) = known_hosts {
        c.known_hosts = Some(vec![k.to_path_buf()]);
    }
    c.host_key_policy = policy;
    SshPool::new(c)
}

/// The saved state (unless `restart`), with the flags applied.
fn initial_state(args: &SetupArgs, state_dir: &Path) -> Result<SetupState> {
    if args.restart {
        SetupState::clear(state_dir);
    }
    let saved = SetupState::load(state_dir).map_err(|e| eyre!(e))?;
    Ok(match saved {
        Some(mut s) if !args.flags_given() || s.inputs == args.inputs(s.inputs.clone()) => {
            if args.flags_given() {
                s.inputs = args.inputs(s.inputs.clone());
            }
            s
        }
        _ => SetupState::new(args.inputs(SetupInputs::default())),
    })
}

/// Run `pigsty-tui setup`; returns the exit code.
pub fn run(args: &SetupArgs, state_dir: PathBuf, known_hosts: Option<PathBuf>) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let state = initial_state(args, &state_dir)?;
    if args.headless {
        return runtime.block_on(headless(args, state, state_dir, known_hosts));
    }
    let open = runtime.block_on(interactive(
        args,
        state,
        state_dir.clone(),
        known_hosts.clone(),
    ))?;
    drop(runtime);
    if let Some(inventory) = open {
        let deployment = crate::inventory::load(&inventory).map_err(|e| eyre!("{e}"))?;
        crate::cli::tui::run(
            crate::cli::tui::ConsoleOptions {
                inventory_path: inventory,
                theme: None,
                readonly: false,
                sources: crate::sources::SourcesConfig::default(),
                no_poll: false,
                known_hosts,
            },
            deployment,
        )?;
    }
    Ok(0)
}

// ------------------------------------------------------------ headless

async fn headless(
    args: &SetupArgs,
    mut state: SetupState,
    state_dir: PathBuf,
    known_hosts: Option<PathBuf>,
) -> Result<i32> {
    let inputs = state.inputs.clone();
    let problems = inputs.problems();
    if !problems.is_empty() {
        for p in problems {
            eprintln!("error: {p}");
        }
        eprintln!("(give --sandbox, or --admin IP --nodes IP,IP,IP …)");
        return Ok(2);
    }
    let save = |s: &SetupState| {
        if let Err(e) = s.save(&state_dir) {
            eprintln!("warning: {e}");
        }
    };
    if state.step > SetupStep::Nodes {
        println!(
            "resuming the saved setup at step {} ({})",
            state.step.title(),
            SetupState::file(&state_dir).display()
        );
    }
    // 2 checks (always: they are cheap and the nodes may have changed)
    println!(
        "== check {} over SSH as {}",
        inputs.all_nodes().join(", "),
        inputs.ssh_user
    );
    let policy = if args.accept_new_host_keys {
        HostKeyPolicy::AcceptNew
    } else {
        HostKeyPolicy::Strict
    };
    let p = pool(known_hosts.as_deref(), policy);
    let results = checks::check_all(&p, &inputs).await;
    p.close_all().await;
    for c in &results {
        println!("  {}", c.line());
    }
    if checks::worst(&results) == Some(Verdict::Fail) && !args.force {
        state.step = SetupStep::Check;
        save(&state);
        eprintln!(
            "checks failed: fix them and run `pigsty-tui setup --headless` again (or --force)"
        );
        return Ok(1);
    }
    // 3 config
    let text = match state.config.clone() {
        Some(t) if state.step >= SetupStep::Config => t,
        _ => config::generate(&inputs),
    };
    let output = state
        .config_path
        .clone()
        .unwrap_or_else(|| args.output.clone());
    if let Err(e) = config::validate(&text, &output) {
        eprintln!("error: the config does not load: {e}");
        state.config = Some(text);
        state.step = SetupStep::Config;
        save(&state);
        return Ok(1);
    }
    config::save(&text, &output).map_err(|e| eyre!(e))?;
    println!("== config written: {}", output.display());
    state.config = Some(text.clone());
    state.config_path = Some(output.clone());
    state.step = SetupStep::Install;
    save(&state);
    // 4 install
    let p = pool(known_hosts.as_deref(), HostKeyPolicy::Strict);
    let runner = TaskRunner::ssh(p.clone(), &state_dir);
    let pipe = install::pipeline(&inputs, &text, &state.installed, Duration::from_secs(3600));
    println!(
        "== install on {} ({}){}",
        inputs.admin_ip,
        inputs.pigsty_home,
        if state.installed.is_empty() {
            String::new()
        } else {
            format!(", done before: {}", state.installed.join(", "))
        }
    );
    let (task, events) = runner.start(pipe)?;
    let mut out = std::io::stdout();
    let mut shown = crate::cli::run::provision_lines(false);
    let status = crate::tasks::runner::follow_with(&task, events, &mut out, true, &mut shown).await;
    p.close_all().await;
    let st = task.state().clone();
    for d in install::completed(&st) {
        if !state.installed.contains(&d) {
            state.installed.push(d);
        }
    }
    state.uploaded |= st
        .steps
        .first()
        .is_some_and(|s| s.status == crate::tasks::runner::StepStatus::Succeeded);
    save(&state);
    if status != TaskStatus::Succeeded {
        if let Ok(f) = LogFollower::read_all(&st.log_path, None)
            && let Some(why) = f.progress.failure_summary()
        {
            eprintln!("install failed: {why}");
        }
        eprintln!(
            "install {status}: log {}; fix it and run `pigsty-tui setup --headless` again to resume",
            st.log_path.display()
        );
        return Ok(1);
    }
    // 5 verify
    state.step = SetupStep::Verify;
    save(&state);
    let d = crate::inventory::load(&output).map_err(|e| eyre!("{e}"))?;
    println!("== verify {}", output.display());
    let started = std::time::Instant::now();
    let lines = loop {
        let lines = verify::verify(&d, verify::sources_config()).await;
        if verify::all_ok(&lines) || started.elapsed() > crate::setup::wizard::VERIFY_PATIENCE {
            break lines;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    for l in &lines {
        println!("  {}", l.line());
    }
    if !verify::all_ok(&lines) {
        eprintln!("verify failed: fix what is down and run `pigsty-tui setup --headless` again");
        return Ok(1);
    }
    state.step = SetupStep::Done;
    save(&state);
    println!("== done: pigsty-tui -i {}", output.display());
    Ok(0)
}

// ---------------------------------------------------------- interactive

struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The wizard in the terminal; returns the inventory to open the console
/// on, if the operator asked for it.
async fn interactive(
    args: &SetupArgs,
    state: SetupState,
    state_dir: PathBuf,
    known_hosts: Option<PathBuf>,
) -> Result<Option<PathBuf>> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(eyre!(
            "the setup wizard needs a terminal (use --headless for scripts)"
        ));
    }
    let output = state
        .config_path
        .clone()
        .unwrap_or_else(|| args.output.clone());
    let mut w = Wizard::new(state, state_dir.clone(), output);
    let theme = if crate::ui::theme::no_color_requested() {
        Theme::monochrome()
    } else {
        Theme::default()
    };
    crate::app::install_error_hooks();
    let _restore = Restore;
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WizardEvent>();
    let strict = pool(known_hosts.as_deref(), HostKeyPolicy::Strict);
    let runner = TaskRunner::ssh(strict.clone(), &state_dir);
    let mut events = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // resume where the saved state stopped
    let mut pending = match w.step() {
        SetupStep::Check => Request::RunChecks { accept_new: false },
        SetupStep::Config => {
            w.continue_after_checks(true);
            Request::None
        }
        SetupStep::Install => Request::StartInstall,
        SetupStep::Verify => {
            w.verifying = true;
            w.verify_since = Some(std::time::Instant::now());
            Request::Verify
        }
        _ => Request::None,
    };
    if matches!(pending, Request::RunChecks { .. }) {
        w.checking = true;
    }
    loop {
        match std::mem::replace(&mut pending, Request::None) {
            Request::None => {}
            Request::Quit => break Ok(None),
            Request::OpenConsole(path) => break Ok(Some(path)),
            Request::RunChecks { accept_new } => {
                let inputs = w.state.inputs.clone();
                let tx = tx.clone();
                let p = if accept_new {
                    pool(known_hosts.as_deref(), HostKeyPolicy::AcceptNew)
                } else {
                    strict.clone()
                };
                tokio::spawn(async move {
                    let r = checks::check_all(&p, &inputs).await;
                    let _ = tx.send(WizardEvent::Checked(r));
                });
            }
            Request::StartInstall => {
                let text = w.state.config.clone().unwrap_or_default();
                let pipe = install::pipeline(
                    &w.state.inputs,
                    &text,
                    &w.state.installed,
                    Duration::from_secs(3600),
                );
                match runner.start(pipe) {
                    Ok((handle, mut evs)) => {
                        let follower = LogFollower::new(handle.state().log_path.clone(), None);
                        w.install = Some((handle, follower));
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            while evs.recv().await.is_some() {
                                if tx.send(WizardEvent::TaskChanged).is_err() {
                                    break;
                                }
                            }
                            let _ = tx.send(WizardEvent::TaskChanged);
                        });
                    }
                    Err(e) => w.message = Some((format!("cannot start the install: {e}"), true)),
                }
            }
            Request::CancelInstall => {
                if let Some((h, _)) = &w.install {
                    h.cancel();
                }
            }
            Request::Verify => {
                let tx = tx.clone();
                let path = w.output.clone();
                let first = w.verify.is_empty();
                tokio::spawn(async move {
                    if !first {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    let lines = match crate::inventory::load(&path) {
                        Ok(d) => verify::verify(&d, verify::sources_config()).await,
                        Err(e) => vec![verify::VerifyLine {
                            scope: path.display().to_string(),
                            what: "inventory".into(),
                            ok: false,
                            detail: e.to_string(),
                        }],
                    };
                    let _ = tx.send(WizardEvent::Verified(lines));
                });
            }
        }
        terminal.draw(|f| crate::ui::setup_wizard::draw(f, &w, &theme))?;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k)))
                    if k.kind != crossterm::event::KeyEventKind::Release =>
                {
                    pending = w.handle_key(k);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e).wrap_err("reading terminal input"),
                None => break Ok(None),
            },
            Some(ev) = rx.recv() => {
                pending = w.on_event(ev);
            }
            _ = tick.tick() => {
                if let Some((_, f)) = &mut w.install {
                    f.poll();
                }
            }
        }
    }
}
