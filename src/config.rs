//! The optional configuration file (`<config dir>/config.yml`).
//!
//! ```yaml
//! inventory: ~/pigsty/pigsty.yml   # used when -i is absent
//! theme: default                   # default | light | high-contrast | path
//! readonly: false                  # refuse every mutating action
//! refresh: 2                       # poll interval in seconds
//! prometheus_url: http://10.10.10.10:9090   # overrides the inventory's
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings read from the configuration file; command-line flags win.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub inventory: Option<PathBuf>,
    pub theme: Option<String>,
    #[serde(default)]
    pub readonly: bool,
    /// Poll interval in seconds.
    pub refresh: Option<f64>,
    pub prometheus_url: Option<String>,
}

impl Config {
    /// Read `path`; a missing file is an empty configuration, a broken one an
    /// error that names the file and the place.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = Config::parse(
            "inventory: /x/pigsty.yml\ntheme: light\nreadonly: true\nrefresh: 0.5\nprometheus_url: http://127.0.0.10:9090\n",
        )
        .unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert!(c.readonly);
        assert_eq!(c.refresh, Some(0.5));
    }

    #[test]
    fn unknown_key_is_reported() {
        let e = Config::parse("themes: light\n").unwrap_err();
        assert!(e.contains("themes"), "{e}");
    }

    #[test]
    fn empty_file_is_default() {
        assert_eq!(Config::parse("\n").unwrap(), Config::default());
    }
}
