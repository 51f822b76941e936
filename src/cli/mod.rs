//! Command-line interface: the TUI (no subcommand) and headless commands.

pub mod check;
pub mod events;
pub mod info;
pub mod report;
pub mod run;
pub mod setup;
pub mod status;
pub mod tui;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Terminal operations console for Pigsty PostgreSQL deployments.
#[derive(Debug, Parser)]
#[command(name = "pigsty-tui", version, about, long_about = None)]
pub struct Cli {
    /// Pigsty inventory (pigsty.yml). Default: $PIGSTY_HOME/pigsty.yml,
    /// ~/pigsty/pigsty.yml, ./pigsty.yml.
    #[arg(short = 'i', long = "inventory", value_name = "FILE", global = true)]
    pub inventory: Option<PathBuf>,

    /// Colour theme: default, light, high-contrast, or a theme file path.
    #[arg(long, value_name = "NAME", global = true)]
    pub theme: Option<String>,

    /// Refuse every mutating action (inspection and listing stay available).
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Poll interval in seconds.
    #[arg(long, value_name = "SECS", global = true)]
    pub refresh: Option<f64>,

    /// Show the inventory only: no live polling, no network traffic.
    #[arg(long, global = true)]
    pub no_poll: bool,

    /// Configuration file (default: <config dir>/config.yml, see `info`).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// known_hosts file for SSH (instead of ~/.ssh/known_hosts and the
    /// OpenSSH configuration's UserKnownHostsFile).
    #[arg(
        long = "known-hosts",
        value_name = "FILE",
        global = true,
        env = "PIGSTY_TUI_KNOWN_HOSTS"
    )]
    pub known_hosts: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the health summary and the deployment with its live state as a
    /// table or JSON. Exit code: 0 every cluster healthy, 1 a cluster
    /// degraded (or not known yet), 2 a cluster down, 3 unknown cluster.
    Status {
        /// Only this cluster.
        #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
        cluster: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Keep polling and print every interval (JSON: one document per
        /// line); records the event timeline meanwhile.
        #[arg(long)]
        watch: bool,
    },
    /// Print the event timeline (<state dir>/events.jsonl).
    Events {
        /// Only events since: a duration back from now (30m, 1h, 2d) or an
        /// RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only this cluster's events.
        #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
        cluster: Option<String>,
        /// Output format (JSON: one event per line).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a Markdown incident report of one cluster and print its path.
    Report {
        /// The cluster.
        #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
        cluster: String,
        /// Output file (default: <state dir>/reports/<cluster>-<time>.md).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run an operator action (switchover, failover, restart, reload,
    /// reinit, pause, resume, backup, backups, inspect) headless. Exit code:
    /// 0 done, 1 failed, 2 refused (read-only, pre-check, confirmation).
    Run(run::RunArgs),
    /// Guided setup: nodes → SSH checks → pigsty.yml → install playbooks →
    /// verify → console. Resumes a saved wizard; `--headless` for scripts.
    Setup(setup::SetupArgs),
    /// Validate the inventory; exit 1 on errors.
    Check,
    /// Show where configuration and themes are read and logs and state written.
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
