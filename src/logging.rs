//! Logs go to a file under the state directory, never to the terminal the
//! TUI owns. `PIGSTY_TUI_LOG` sets the filter (default `info`).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start file logging; keep the guard alive until exit so lines are flushed.
pub fn init(log_dir: &Path) -> color_eyre::Result<WorkerGuard> {
    std::fs::create_dir_all(log_dir).map_err(|e| {
        color_eyre::eyre::eyre!("cannot create log directory {}: {e}", log_dir.display())
    })?;
    let appender = tracing_appender::rolling::never(log_dir, "pigsty-tui.log");
    // The default queue holds 128,000 lines and allocates 4 MB for them up
    // front; a console logs a few lines a minute. When the queue is full,
    // lines are dropped rather than blocking the caller (the default too).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(4096)
        .lossy(true)
        .finish(appender);
    let filter =
        EnvFilter::try_from_env("PIGSTY_TUI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| color_eyre::eyre::eyre!("cannot start logging: {e}"))?;
    Ok(guard)
}
