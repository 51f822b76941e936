//! Where the inventory is when `-i/--inventory` is not given.

use std::path::{Path, PathBuf};

use super::error::InventoryError;

/// The inputs of discovery, so it can be tested without touching the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct DiscoverEnv {
    /// `$PIGSTY_HOME`, when set (and not empty).
    pub pigsty_home: Option<PathBuf>,
    /// The user's home directory, when known.
    pub home: Option<PathBuf>,
    /// The directory `./pigsty.yml` is relative to.
    pub cwd: PathBuf,
}

impl DiscoverEnv {
    /// The process's environment.
    pub fn from_process() -> Self {
        let pigsty_home = std::env::var_os("PIGSTY_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let home = directories::BaseDirs::new()
            .map(|b| b.home_dir().to_path_buf())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            });
        DiscoverEnv {
            pigsty_home,
            home,
            cwd: PathBuf::from("."),
        }
    }

    /// The candidate paths, in order: `$PIGSTY_HOME/pigsty.yml`,
    /// `~/pigsty/pigsty.yml`, `./pigsty.yml`.
    pub fn candidates(&self) -> Vec<PathBuf> {
        let mut out = Vec::with_capacity(3);
        if let Some(p) = &self.pigsty_home {
            out.push(p.join("pigsty.yml"));
        }
        if let Some(h) = &self.home {
            out.push(h.join("pigsty").join("pigsty.yml"));
        }
        out.push(self.cwd.join("pigsty.yml"));
        out
    }
}

/// Find the inventory: `explicit` as is when it is an existing file, else
/// the first existing candidate of `env` (see [`DiscoverEnv::candidates`]).
pub fn discover_in(explicit: Option<&Path>, env: &DiscoverEnv) -> Result<PathBuf, InventoryError> {
    if let Some(p) = explicit {
        return match std::fs::metadata(p) {
            Ok(m) if m.is_file() => Ok(p.to_path_buf()),
            Ok(m) if m.is_dir() => Err(InventoryError::Missing {
                path: p.to_path_buf(),
                reason: format!(
                    "is a directory; pass the inventory file itself (e.g. -i {})",
                    p.join("pigsty.yml").display()
                ),
            }),
            Ok(_) => Err(InventoryError::Missing {
                path: p.to_path_buf(),
                reason: "is not a regular file".to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(InventoryError::Missing {
                path: p.to_path_buf(),
                reason: "does not exist (given with -i/--inventory)".to_string(),
            }),
            Err(e) => Err(InventoryError::Io {
                path: p.to_path_buf(),
                source: e,
            }),
        };
    }
    let tried = env.candidates();
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(InventoryError::NotFound { tried }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "all: {}\n").unwrap();
    }

    #[test]
    fn order_is_pigsty_home_then_home_then_cwd() {
        let t = tempfile::tempdir().unwrap();
        let env = DiscoverEnv {
            pigsty_home: Some(t.path().join("ph")),
            home: Some(t.path().join("home")),
            cwd: t.path().join("cwd"),
        };
        let err = discover_in(None, &env).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ph/pigsty.yml"), "{msg}");
        assert!(msg.contains("home/pigsty/pigsty.yml"), "{msg}");
        assert!(msg.contains("cwd/pigsty.yml"), "{msg}");
        assert!(
            msg.contains("-i FILE") && msg.contains("PIGSTY_HOME"),
            "{msg}"
        );

        touch(&t.path().join("cwd/pigsty.yml"));
        assert_eq!(
            discover_in(None, &env).unwrap(),
            t.path().join("cwd/pigsty.yml")
        );
        touch(&t.path().join("home/pigsty/pigsty.yml"));
        assert_eq!(
            discover_in(None, &env).unwrap(),
            t.path().join("home/pigsty/pigsty.yml")
        );
        touch(&t.path().join("ph/pigsty.yml"));
        assert_eq!(
            discover_in(None, &env).unwrap(),
            t.path().join("ph/pigsty.yml")
        );
    }

    #[test]
    fn explicit_is_returned_as_is_or_named_in_the_error() {
        let t = tempfile::tempdir().unwrap();
        let env = DiscoverEnv::default();
        let f = t.path().join("prod.yml");
        let err = discover_in(Some(&f), &env).unwrap_err();
        assert!(err.to_string().contains("prod.yml"), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        touch(&f);
        assert_eq!(discover_in(Some(&f), &env).unwrap(), f);
        let err = discover_in(Some(t.path()), &env).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
