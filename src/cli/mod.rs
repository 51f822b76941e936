//! Command-line interface: the TUI (no subcommand) and headless commands.

pub mod check;
pub mod info;
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

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the deployment with its live state as a table or JSON.
    Status {
        /// Only this cluster.
        #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
        cluster: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Keep polling and print every interval (JSON: one document per line).
        #[arg(long)]
        watch: bool,
    },
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
