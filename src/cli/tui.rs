//! Launch the interactive console: theme, live sources, event loop.

use std::path::PathBuf;
use std::sync::Arc;

use color_eyre::eyre::Result;

use crate::app::{self, AppOptions};
use crate::config::Config;
use crate::model::Deployment;
use crate::paths::Paths;
use crate::snapshot::Snapshot;
use crate::ui::theme::Theme;

use super::Cli;

pub fn run(cli: &Cli, config: &Config, paths: &Paths, inventory_path: PathBuf, deployment: Deployment) -> Result<()> {
    let _ = paths;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = cli.theme.clone().or_else(|| config.theme.clone()).unwrap_or_else(|| "default".into());
    let (theme, theme_warning) = match Theme::load(&theme_name) {
        Ok(t) => (t, None),
        Err(e) => (Theme::default(), Some(e.to_string())),
    };
    if let Some(w) = &theme_warning {
        tracing::warn!("{w}");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let (_snapshot_tx, snapshot_rx) = tokio::sync::watch::channel(Arc::new(Snapshot::empty()));
        app::run(AppOptions {
            deployment,
            inventory_path,
            theme,
            readonly: cli.readonly || config.readonly,
            no_color,
            snapshot_rx,
        })
        .await
    })
}
