//! Where pigsty-tui reads configuration and themes and writes logs and state
//! (XDG base directories; `XDG_CONFIG_HOME` / `XDG_STATE_HOME` are honoured).

use std::path::PathBuf;

use directories::ProjectDirs;

/// The directories pigsty-tui uses.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paths {
    /// Holds `config.yml` and `themes/`.
    pub config_dir: PathBuf,
    /// Holds logs, the audit log, task output and the event timeline.
    pub state_dir: PathBuf,
}

impl Paths {
    /// Resolve the XDG directories (falls back to `./.pigsty-tui` when the
    /// home directory is unknown).
    pub fn resolve() -> Self {
        match ProjectDirs::from("", "", "pigsty-tui") {
            Some(d) => Paths {
                config_dir: d.config_dir().to_path_buf(),
                state_dir: d
                    .state_dir()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_else(|| d.data_local_dir().to_path_buf()),
            },
            None => {
                let base = PathBuf::from(".pigsty-tui");
                Paths {
                    config_dir: base.join("config"),
                    state_dir: base.join("state"),
                }
            }
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.yml")
    }

    pub fn themes_dir(&self) -> PathBuf {
        self.config_dir.join("themes")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join("pigsty-tui.log")
    }
}

/// `~/x` → `$HOME/x` (other paths unchanged).
pub fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
