//! `pigsty-tui`: the binary. Parses the command line, then runs the TUI or a
//! headless command. Everything else lives in the library crate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use color_eyre::eyre::{Result, eyre};

use pigsty_tui::cli::{self, Cli, Command};
use pigsty_tui::config::Config;
use pigsty_tui::inventory;
use pigsty_tui::paths::Paths;
use pigsty_tui::sources::SourcesConfig;

/// jemalloc, which gives freed memory back to the OS (see `memory`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (`malloc_conf`, under the crate's `_rjem_` prefix).
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_CONF: pigsty_tui::memory::ConfPtr =
    pigsty_tui::memory::ConfPtr(pigsty_tui::memory::JEMALLOC_CONF.as_ptr());

fn main() -> ExitCode {
    pigsty_tui::app::install_error_hooks();
    let cli = Cli::parse();
    if cli.command.is_some() {
        // Headless commands behave like Unix filters: `pigsty-tui status |
        // head` ends quietly when the reader goes away.
        restore_default_sigpipe();
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let paths = Paths::resolve();
    let config_file = cli.config.clone().unwrap_or_else(|| paths.config_file());
    let config = Config::load(&config_file).map_err(|e| eyre!("configuration: {e}"))?;

    match &cli.command {
        Some(Command::Info) => {
            cli::info::run(&paths, &config_file);
            Ok(0)
        }
        Some(Command::Run(cli::run::RunArgs {
            action:
                cli::run::RunAction::Provision {
                    op: cli::run::ProvisionCmd::Show { run, raw },
                    ..
                },
            ..
        })) => Ok(cli::run::show_saved_run(&paths.state_dir, run, *raw)),
        Some(Command::Run(args)) => {
            let path = inventory_path(&cli, &config)?;
            let deployment = inventory::load(&path).map_err(|e| eyre!("{e}"))?;
            cli::run::run(
                deployment,
                args,
                cli::run::RunOptions {
                    readonly: cli.readonly || config.readonly,
                    state_dir: paths.state_dir.clone(),
                    known_hosts: cli.known_hosts.clone(),
                },
            )
        }
        Some(Command::Setup(args)) => {
            cli::setup::run(args, paths.state_dir.clone(), cli.known_hosts.clone())
        }
        Some(Command::Check) => {
            let path = inventory_path(&cli, &config)?;
            Ok(cli::check::run(&path))
        }
        Some(Command::Status {
            cluster,
            format,
            watch,
        }) => {
            let path = inventory_path(&cli, &config)?;
            let deployment = inventory::load(&path).map_err(|e| eyre!("{e}"))?;
            cli::status::run(
                deployment,
                cli::status::StatusOptions {
                    cluster: cluster.as_deref(),
                    format: *format,
                    watch: *watch,
                    no_poll: cli.no_poll,
                    sources: sources_config(&cli, &config)?,
                    events_path: Some(pigsty_tui::triage::events::default_path(&paths.state_dir)),
                },
            )
        }
        Some(Command::Events {
            since,
            cluster,
            format,
        }) => cli::events::run(
            &pigsty_tui::triage::events::default_path(&paths.state_dir),
            since.as_deref(),
            cluster.as_deref(),
            *format,
        ),
        Some(Command::Report { cluster, output }) => {
            let path = inventory_path(&cli, &config)?;
            let deployment = inventory::load(&path).map_err(|e| eyre!("{e}"))?;
            cli::report::run(
                deployment,
                cli::report::ReportOptions {
                    cluster,
                    output: output.clone(),
                    state_dir: paths.state_dir.clone(),
                    known_hosts: cli.known_hosts.clone(),
                    sources: sources_config(&cli, &config)?,
                },
            )
        }
        None => {
            let path = inventory_path(&cli, &config)?;
            let deployment = inventory::load(&path).map_err(|e| eyre!("{e}"))?;
            let _log_guard = pigsty_tui::logging::init(&paths.log_dir())?;
            tracing::info!(inventory = %path.display(), "starting console");
            cli::tui::run(
                cli::tui::ConsoleOptions {
                    inventory_path: path,
                    theme: cli.theme.clone().or_else(|| config.theme.clone()),
                    readonly: cli.readonly || config.readonly,
                    sources: sources_config(&cli, &config)?,
                    no_poll: cli.no_poll,
                    known_hosts: cli.known_hosts.clone(),
                },
                deployment,
            )?;
            Ok(0)
        }
    }
}

/// Poll settings: flags win over the configuration file.
fn sources_config(cli: &Cli, config: &Config) -> Result<SourcesConfig> {
    let refresh = cli.refresh.or(config.refresh).unwrap_or(2.0);
    if !(0.1..=3600.0).contains(&refresh) {
        return Err(eyre!(
            "--refresh {refresh}: expected seconds between 0.1 and 3600"
        ));
    }
    let mut cfg = SourcesConfig::with_interval(Duration::from_secs_f64(refresh));
    cfg.prometheus_url = config.prometheus_url.clone();
    Ok(cfg)
}

/// `-i` wins, then the configuration file, then Pigsty's usual places.
fn inventory_path(cli: &Cli, config: &Config) -> Result<PathBuf> {
    let explicit = cli.inventory.as_deref().or(config.inventory.as_deref());
    inventory::discover(explicit).map_err(|e| eyre!("{e}"))
}

/// Rust ignores SIGPIPE, so a write to a closed pipe fails (and `print!`
/// panics); headless commands take the default action instead.
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up, before any thread is spawned.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
