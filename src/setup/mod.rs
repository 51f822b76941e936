//! The guided setup (`pigsty-tui setup`): from four machines (or the local
//! sandbox) to a verified Pigsty deployment.
//!
//! Steps, in order ([`SetupStep`]):
//! 1. **Nodes**: the admin node and the database nodes, SSH user, key, port
//!    ([`SetupInputs`]).
//! 2. **Check** each node over SSH: reachable, host key, sudo, OS, free
//!    disk, clock skew, and on the admin node Ansible and the Pigsty home
//!    ([`checks`]), one line per problem with its fix.
//! 3. **Config**: a `pigsty.yml` in Pigsty's current (v3) format
//!    ([`config::generate`]), edited in a textarea, validated by the
//!    inventory loader before it is saved.
//! 4. **Install**: the config uploaded to the admin node's Pigsty home,
//!    then the install playbooks in order ([`install`]) with progress.
//! 5. **Verify**: every service of the seed's tables is up, each cluster has
//!    a leader and streaming replicas ([`verify`]).
//! 6. **Done**: the console opens on the new inventory.
//!
//! The state is saved after each step in `<state dir>/setup.json`
//! ([`SetupState`]), so a failed step is resumed without starting over.

pub mod checks;
pub mod config;
pub mod install;
pub mod verify;
pub mod wizard;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the operator enters on the first screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupInputs {
    /// The admin (meta/infra) node: runs the playbooks, infra, etcd, pg-meta.
    pub admin_ip: String,
    /// The database nodes of the first HA cluster (first = primary).
    pub nodes: Vec<String>,
    /// SSH (admin) user on every node.
    pub ssh_user: String,
    /// Private key (else ssh-agent and ~/.ssh defaults).
    pub ssh_key: Option<String>,
    pub ssh_port: u16,
    /// Name of the HA cluster on the database nodes.
    pub cluster: String,
    /// Pigsty's directory on the admin node.
    pub pigsty_home: String,
    /// The local loopback sandbox (tests/sandbox): adds the host variables
    /// that point each "node" at its own directories on this machine.
    pub sandbox: bool,
}

impl Default for SetupInputs {
    fn default() -> Self {
        SetupInputs {
            admin_ip: String::new(),
            nodes: Vec::new(),
            ssh_user: "dba".into(),
            ssh_key: None,
            ssh_port: 22,
            cluster: "pg-test".into(),
            pigsty_home: "~/pigsty".into(),
            sandbox: false,
        }
    }
}

impl SetupInputs {
    /// The local sandbox's four nodes (see tests/sandbox/README.md).
    pub fn sandbox() -> Self {
        SetupInputs {
            admin_ip: "127.0.0.10".into(),
            nodes: vec![
                "127.0.0.11".into(),
                "127.0.0.12".into(),
                "127.0.0.13".into(),
            ],
            ssh_user: "dba".into(),
            ssh_key: Some("/tmp/pigsty-sandbox/ssh/id_ed25519".into()),
            ssh_port: 22,
            cluster: "pg-test".into(),
            pigsty_home: "~/pigsty".into(),
            sandbox: true,
        }
    }

    /// Every node, the admin node first.
    pub fn all_nodes(&self) -> Vec<String> {
        let mut v = vec![self.admin_ip.clone()];
        v.extend(self.nodes.iter().filter(|n| **n != self.admin_ip).cloned());
        v
    }

    /// What is wrong with the inputs, one sentence each (empty: fine).
    pub fn problems(&self) -> Vec<String> {
        self.problems_with(&|p| p.is_file())
    }

    /// [`Self::problems`], asking `key_exists` whether the SSH key file is
    /// there (the views' tests do not depend on this machine's files).
    pub fn problems_with(&self, key_exists: &dyn Fn(&Path) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        let ip_ok = |s: &str| s.parse::<std::net::IpAddr>().is_ok();
        if self.admin_ip.trim().is_empty() {
            out.push("admin node: enter its IP address".to_string());
        } else if !ip_ok(&self.admin_ip) {
            out.push(format!(
                "admin node: '{}' is not an IP address",
                self.admin_ip
            ));
        }
        if self.nodes.is_empty() {
            out.push("database nodes: enter at least one IP (three for HA)".to_string());
        }
        for n in &self.nodes {
            if !ip_ok(n) {
                out.push(format!("database nodes: '{n}' is not an IP address"));
            }
            if *n == self.admin_ip {
                out.push(format!(
                    "database nodes: {n} is the admin node (it hosts pg-meta already)"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for n in &self.nodes {
            if !seen.insert(n) {
                out.push(format!("database nodes: {n} is listed twice"));
            }
        }
        if self.ssh_user.trim().is_empty() {
            out.push("SSH user: enter the admin user (Pigsty's default: dba)".into());
        }
        if let Some(k) = &self.ssh_key
            && !k.is_empty()
            && !key_exists(Path::new(&crate::paths::expand_tilde(k)))
        {
            out.push(format!("SSH key: {k} does not exist"));
        }
        let valid_name = !self.cluster.is_empty()
            && self
                .cluster
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && self.cluster.starts_with(|c: char| c.is_ascii_lowercase());
        if !valid_name {
            out.push(format!(
                "cluster name '{}': lowercase letters, digits and '-', starting with a letter",
                self.cluster
            ));
        }
        if self.cluster == "pg-meta" {
            out.push("cluster name: pg-meta is the admin node's cluster".into());
        }
        if self.pigsty_home.trim().is_empty() {
            out.push("Pigsty home: enter the directory (default ~/pigsty)".into());
        }
        out
    }
}

/// The wizard's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupStep {
    Nodes,
    Check,
    Config,
    Install,
    Verify,
    Done,
}

impl SetupStep {
    pub const ALL: [SetupStep; 6] = [
        SetupStep::Nodes,
        SetupStep::Check,
        SetupStep::Config,
        SetupStep::Install,
        SetupStep::Verify,
        SetupStep::Done,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SetupStep::Nodes => "Nodes",
            SetupStep::Check => "Check",
            SetupStep::Config => "Config",
            SetupStep::Install => "Install",
            SetupStep::Verify => "Verify",
            SetupStep::Done => "Done",
        }
    }

    pub fn next(self) -> SetupStep {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1).min(Self::ALL.len() - 1)]
    }
}

/// What the wizard has done so far (saved after every step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupState {
    /// The step to resume at.
    pub step: SetupStep,
    pub inputs: SetupInputs,
    /// The config text (generated, then as edited).
    pub config: Option<String>,
    /// Where the config was saved locally.
    pub config_path: Option<PathBuf>,
    /// Playbooks that completed on the admin node (resume skips them).
    pub installed: Vec<String>,
    /// The config was uploaded to the admin node.
    pub uploaded: bool,
}

impl SetupState {
    pub fn new(inputs: SetupInputs) -> Self {
        SetupState {
            step: SetupStep::Nodes,
            inputs,
            config: None,
            config_path: None,
            installed: Vec::new(),
            uploaded: false,
        }
    }

    /// `<state dir>/setup.json`.
    pub fn file(state_dir: &Path) -> PathBuf {
        state_dir.join("setup.json")
    }

    /// The saved state, if any (a broken file is an error naming it).
    pub fn load(state_dir: &Path) -> Result<Option<Self>, String> {
        let p = Self::file(state_dir);
        match std::fs::read_to_string(&p) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e} (delete it to start over)", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", p.display())),
        }
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), String> {
        let p = Self::file(state_dir);
        std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
        let tmp = p.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &p).map_err(|e| format!("{}: {e}", p.display()))
    }

    pub fn clear(state_dir: &Path) {
        let _ = std::fs::remove_file(Self::file(state_dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked() {
        let mut i = SetupInputs::sandbox();
        i.ssh_key = None;
        assert!(i.problems().is_empty(), "{:?}", i.problems());
        i.nodes.push("127.0.0.11".into());
        i.nodes.push("not-an-ip".into());
        i.cluster = "Pg_Test".into();
        let p = i.problems().join("\n");
        assert!(p.contains("listed twice"), "{p}");
        assert!(p.contains("'not-an-ip' is not an IP"), "{p}");
        assert!(p.contains("cluster name 'Pg_Test'"), "{p}");
        assert_eq!(
            SetupInputs::sandbox().all_nodes(),
            vec!["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"]
        );
    }

    #[test]
    fn state_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SetupState::load(dir.path()).unwrap(), None);
        let mut s = SetupState::new(SetupInputs::sandbox());
        s.step = SetupStep::Install;
        s.installed.push("infra.yml".into());
        s.save(dir.path()).unwrap();
        assert_eq!(SetupState::load(dir.path()).unwrap(), Some(s));
        std::fs::write(SetupState::file(dir.path()), "{ nope").unwrap();
        let e = SetupState::load(dir.path()).unwrap_err();
        assert!(e.contains("setup.json"), "{e}");
        assert_eq!(SetupStep::Verify.next(), SetupStep::Done);
        assert_eq!(SetupStep::Done.next(), SetupStep::Done);
    }
}
