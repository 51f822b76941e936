//! SSH transport: resolving where and how to reach a host, one multiplexed
//! connection per `(host, port, user)`, host key verification, public key
//! authentication and running commands.
//!
//! * [`Target`]: a host as the inventory declares it (`ansible_host`,
//!   `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`) plus its
//!   database superuser (`pg_dbsu`).
//! * [`SshConfig`]: settings (host key policy, timeouts, agent, prompts) and
//!   the OpenSSH client configuration (`~/.ssh/config`, `/etc/ssh/ssh_config`).
//!   [`SshConfig::resolve`] turns a target into an [`Endpoint`]: inventory
//!   variables first, then the OpenSSH configuration (`HostName`, `User`,
//!   `Port`, `IdentityFile`, `UserKnownHostsFile`, `ProxyJump`, …), then
//!   defaults (local user name, port 22, `~/.ssh/id_ed25519`, `id_rsa`,
//!   `id_ecdsa`).
//! * [`SshPool`]: the connections. [`SshPool::session`] gives a [`Session`]
//!   to run commands on; channels are multiplexed over one connection per
//!   `(host, port, user)`; jump hosts (`ProxyJump`) are pooled too and the
//!   target connection runs over a `direct-tcpip` channel through them.
//!
//! Host keys are checked against the known_hosts files (plain, wildcard and
//! hashed entries). An unknown key is refused ([`HostKeyPolicy::Strict`]),
//! recorded ([`HostKeyPolicy::AcceptNew`]) or shown to the operator through
//! the [`Prompter`] ([`HostKeyPolicy::Ask`]: one question however many
//! connections wait for the answer); a changed or revoked key is always
//! refused (and [`Prompter::alert`]ed). Authentication tries the agent
//! (`SSH_AUTH_SOCK` or `IdentityAgent`), then the key files; encrypted keys
//! are decrypted with a passphrase asked through the [`Prompter`] (at most
//! [`PASSPHRASE_ATTEMPTS`] times). The passphrase is wiped from memory once
//! the key is decrypted; the decrypted key stays in memory for the life of
//! the pool (the console session), like an agent would keep it, and is never
//! written anywhere.
//!
//! Errors ([`SshError`]) name user, host and port:
//! `ssh dba@127.0.0.11:22: authentication refused (tried agent (1 key), ~/.ssh/id_ed25519)`.

pub mod config;
pub mod known_hosts;
mod pool;
mod session;
mod sha1;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::model::{InfraNode, Instance, SshTarget, Vars, var_str};

pub use config::{HostSettings, OpenSshConfig};
pub use known_hosts::{HostKeyStatus, fingerprint};
pub use pool::{PASSPHRASE_ATTEMPTS, SshPool};
pub use session::{CommandOutput, Session};

// ---------------------------------------------------------------------------
// Targets

/// A host to run commands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Display name (instance name, node name or IP).
    pub name: String,
    /// How the inventory says to reach it.
    pub ssh: SshTarget,
    /// The database superuser (`pg_dbsu`, default `postgres`).
    pub dbsu: String,
}

fn dbsu_of(vars: &Vars) -> String {
    var_str(vars, "pg_dbsu")
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres".to_string())
}

impl Target {
    /// A host by name or address, nothing else set.
    pub fn new(host: impl Into<String>) -> Self {
        let host = host.into();
        Target {
            name: host.clone(),
            ssh: SshTarget {
                host,
                port: None,
                user: None,
                key_file: None,
            },
            dbsu: "postgres".to_string(),
        }
    }

    /// The node of a PostgreSQL instance (named after the instance).
    pub fn from_instance(i: &Instance) -> Self {
        Target {
            name: i.name.clone(),
            ssh: i.ssh.clone(),
            dbsu: dbsu_of(&i.vars),
        }
    }

    /// An infrastructure node.
    pub fn from_infra(n: &InfraNode) -> Self {
        Target {
            name: n.name.clone(),
            ssh: n.ssh.clone(),
            dbsu: dbsu_of(&n.vars),
        }
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.ssh.port = Some(port);
        self
    }

    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.ssh.user = Some(user.into());
        self
    }

    pub fn with_key_file(mut self, path: impl Into<String>) -> Self {
        self.ssh.key_file = Some(path.into());
        self
    }

    pub fn with_dbsu(mut self, dbsu: impl Into<String>) -> Self {
        self.dbsu = dbsu.into();
        self
    }
}

// ---------------------------------------------------------------------------
// Settings and prompts

/// What to do with a host key that is not in known_hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Refuse it (headless default).
    #[default]
    Strict,
    /// Accept it and append it to the (first) user known_hosts file
    /// (`accept_new_host_keys`). Changed keys are still refused.
    AcceptNew,
    /// Ask the operator through the [`Prompter`]; without one, refuse.
    Ask,
}

/// An unknown host key, shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyQuestion {
    pub host: String,
    pub port: u16,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, …
    pub key_type: String,
    /// `SHA256:…`
    pub fingerprint: String,
    /// Where the key is recorded if accepted.
    pub known_hosts: Option<PathBuf>,
    /// Keys of other types known for this host (`type SHA256:… (line N of
    /// path)`): when not empty, say so loudly.
    pub other_known_keys: Vec<String>,
}

/// The operator's answer about an unknown host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyAnswer {
    /// Trust it and record it in known_hosts.
    Accept,
    /// Trust it for this run only.
    AcceptOnce,
    Reject,
}

impl HostKeyAnswer {
    /// `accepted` (and saved), `accepted_once`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostKeyAnswer::Accept => "accepted",
            HostKeyAnswer::AcceptOnce => "accepted_once",
            HostKeyAnswer::Reject => "rejected",
        }
    }
}

impl HostKeyQuestion {
    /// OpenSSH's name of the key type (`ED25519`, `ECDSA`, `RSA`, …), as in
    /// "ED25519 key fingerprint is SHA256:…".
    pub fn key_kind(&self) -> String {
        let t = self.key_type.as_str();
        let sk = t.starts_with("sk-");
        let base = if t.contains("ed25519") {
            "ED25519"
        } else if t.contains("ecdsa") {
            "ECDSA"
        } else if t.contains("rsa") {
            "RSA"
        } else if t.contains("dss") {
            "DSA"
        } else {
            return t.to_string();
        };
        if sk {
            format!("{base}-SK")
        } else {
            base.to_string()
        }
    }

    /// `host:port`
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The audit record of the operator's answer (`"event": "host_key"`):
    /// target `host:port`, status [`HostKeyAnswer::as_str`], one step naming
    /// the key (`ssh-ed25519 SHA256:…`) and what became of it.
    pub fn audit_record(
        &self,
        answer: HostKeyAnswer,
        who: &str,
    ) -> crate::tasks::audit::AuditRecord {
        use crate::tasks::audit::{AuditRecord, AuditStep};
        let now = std::time::SystemTime::now();
        let ms = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let what = match answer {
            HostKeyAnswer::Accept => match &self.known_hosts {
                Some(p) => format!("recorded in {}", p.display()),
                None => "to be recorded, but no user known_hosts file is configured".to_string(),
            },
            HostKeyAnswer::AcceptOnce => "trusted for this session only".to_string(),
            HostKeyAnswer::Reject => "refused".to_string(),
        };
        AuditRecord {
            ts: crate::snapshot::rfc3339(now),
            event: "host_key".into(),
            id: format!("hostkey-{ms}-{}", self.host),
            who: who.to_string(),
            action: "host_key".into(),
            target: self.address(),
            hosts: vec![self.host.clone()],
            commands: Vec::new(),
            status: answer.as_str().into(),
            duration_ms: None,
            log: String::new(),
            steps: vec![AuditStep {
                name: format!("{} {}", self.key_type, self.fingerprint),
                status: answer.as_str().into(),
                duration_ms: None,
                hosts: Vec::new(),
                message: Some(what),
            }],
        }
    }
}

/// A passphrase needed to decrypt a key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseQuestion {
    pub key_file: PathBuf,
    /// `user@host:port` being connected to.
    pub connecting_to: String,
    /// 1 on the first question, 2+ after a wrong passphrase.
    pub attempt: u32,
}

/// A key passphrase: wiped from memory when dropped.
pub type Passphrase = zeroize::Zeroizing<String>;

/// Asks the operator (the TUI implements it; headless runs have none).
pub trait Prompter: Send + Sync {
    fn confirm_host_key(&self, question: HostKeyQuestion) -> BoxFuture<'static, HostKeyAnswer>;
    /// `None`: the operator declined (skip this key).
    fn passphrase(&self, question: PassphraseQuestion) -> BoxFuture<'static, Option<Passphrase>>;
    /// A connection was refused for a reason the operator must see at once
    /// (a changed or revoked host key): nothing to answer.
    fn alert(&self, _message: String) {}
}

/// A question forwarded by a [`ChannelPrompter`], with the slot for its answer.
#[derive(Debug)]
pub enum PromptRequest {
    HostKey {
        question: HostKeyQuestion,
        reply: oneshot::Sender<HostKeyAnswer>,
    },
    Passphrase {
        question: PassphraseQuestion,
        reply: oneshot::Sender<Option<Passphrase>>,
    },
    /// [`Prompter::alert`]: to show, not to answer.
    Alert { message: String },
}

/// A [`Prompter`] forwarding questions over a channel (for the TUI's event
/// loop). A dropped reply counts as a refusal.
#[derive(Debug, Clone)]
pub struct ChannelPrompter {
    tx: mpsc::UnboundedSender<PromptRequest>,
}

impl ChannelPrompter {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<PromptRequest>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelPrompter { tx }, rx)
    }
}

impl Prompter for ChannelPrompter {
    fn confirm_host_key(&self, question: HostKeyQuestion) -> BoxFuture<'static, HostKeyAnswer> {
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(PromptRequest::HostKey { question, reply });
        Box::pin(async move {
            if sent.is_err() {
                return HostKeyAnswer::Reject;
            }
            rx.await.unwrap_or(HostKeyAnswer::Reject)
        })
    }

    fn passphrase(&self, question: PassphraseQuestion) -> BoxFuture<'static, Option<Passphrase>> {
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(PromptRequest::Passphrase { question, reply });
        Box::pin(async move {
            if sent.is_err() {
                return None;
            }
            rx.await.ok().flatten()
        })
    }

    fn alert(&self, message: String) {
        let _ = self.tx.send(PromptRequest::Alert { message });
    }
}

/// SSH settings of pigsty-tui, and the OpenSSH client configuration.
#[derive(Clone)]
pub struct SshConfig {
    pub openssh: OpenSshConfig,
    pub home: PathBuf,
    /// Default remote user, `%u`, and the `who` of audit records.
    pub local_user: String,
    pub host_key_policy: HostKeyPolicy,
    /// Replace the known_hosts files (`UserKnownHostsFile` and the global
    /// ones): new keys go to the first. For sandboxes and tests.
    pub known_hosts: Option<Vec<PathBuf>>,
    /// Key files tried after the inventory's, before `~/.ssh/config`'s.
    pub identity_files: Vec<PathBuf>,
    /// Try the ssh-agent first.
    pub use_agent: bool,
    /// TCP connect (or jump channel open) limit; `ConnectTimeout` wins.
    pub connect_timeout: Duration,
    /// Handshake plus authentication limit (time spent in prompts excluded).
    pub auth_timeout: Duration,
    /// Keepalive interval (`ServerAliveInterval` wins); 3 missed replies
    /// (`ServerAliveCountMax`) close the connection.
    pub keepalive: Duration,
    pub prompter: Option<Arc<dyn Prompter>>,
}

impl fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshConfig")
            .field("home", &self.home)
            .field("local_user", &self.local_user)
            .field("host_key_policy", &self.host_key_policy)
            .field("known_hosts", &self.known_hosts)
            .field("identity_files", &self.identity_files)
            .field("use_agent", &self.use_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("auth_timeout", &self.auth_timeout)
            .field("prompter", &self.prompter.is_some())
            .finish_non_exhaustive()
    }
}

/// The home directory ($HOME, else the platform's idea of it).
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl SshConfig {
    /// Settings with the user's OpenSSH configuration read in.
    pub fn load() -> Self {
        let home = home_dir();
        let mut c = Self::bare(home.clone());
        c.openssh = OpenSshConfig::load(&home);
        c
    }

    /// Settings without any OpenSSH configuration file.
    pub fn bare(home: PathBuf) -> Self {
        SshConfig {
            openssh: OpenSshConfig::empty(),
            home,
            local_user: crate::tasks::local_user(),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: None,
            identity_files: Vec::new(),
            use_agent: true,
            connect_timeout: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(30),
            keepalive: Duration::from_secs(15),
            prompter: None,
        }
    }

    /// `~/…` shortened form of a path, for messages.
    pub fn display_path(&self, p: &Path) -> String {
        match p.strip_prefix(&self.home) {
            Ok(rest) if self.home != Path::new("/") => format!("~/{}", rest.display()),
            _ => p.display().to_string(),
        }
    }

    /// Where and how to reach `target` (see the module docs for precedence).
    pub fn resolve(&self, target: &Target) -> Result<Endpoint, SshError> {
        self.resolve_ssh(&target.ssh, &target.name, 0)
    }

    fn resolve_ssh(&self, t: &SshTarget, name: &str, depth: usize) -> Result<Endpoint, SshError> {
        let fail = |msg: String| SshError {
            user: t.user.clone(),
            host: t.host.clone(),
            port: t.port.unwrap_or(22),
            alias: None,
            via: None,
            kind: Box::new(SshErrorKind::Config(msg)),
        };
        if depth > 8 {
            return Err(fail("ProxyJump chain longer than 8 hops (a loop?)".into()));
        }
        let s = self
            .openssh
            .lookup(&t.host, &self.local_user, t.user.as_deref());
        let home = self.home.to_string_lossy().into_owned();
        let mut tokens = config::Tokens {
            host: &t.host,
            original_host: &t.host,
            port: 22,
            remote_user: "",
            local_user: &self.local_user,
            home: &home,
        };
        let host = s
            .hostname
            .as_deref()
            .map(|h| config::expand_tokens(h, &tokens))
            .unwrap_or_else(|| t.host.clone());
        let port = t.port.or(s.port).unwrap_or(22);
        let user = t
            .user
            .clone()
            .or(s.user.clone())
            .unwrap_or_else(|| self.local_user.clone());
        tokens.host = &host;
        tokens.port = port;
        tokens.remote_user = &user;
        let path =
            |raw: &str| config::expand_tilde(&config::expand_tokens(raw, &tokens), &self.home);

        let mut identity_files = Vec::new();
        if let Some(k) = &t.key_file {
            identity_files.push(IdentityFile {
                path: config::expand_tilde(k, &self.home),
                explicit: true,
            });
        }
        for p in &self.identity_files {
            identity_files.push(IdentityFile {
                path: p.clone(),
                explicit: true,
            });
        }
        for raw in &s.identity_files {
            if !raw.eq_ignore_ascii_case("none") {
                identity_files.push(IdentityFile {
                    path: path(raw),
                    explicit: true,
                });
            }
        }
        if identity_files.is_empty() {
            for n in ["id_ed25519", "id_rsa", "id_ecdsa"] {
                identity_files.push(IdentityFile {
                    path: self.home.join(".ssh").join(n),
                    explicit: false,
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        identity_files.retain(|f| seen.insert(f.path.clone()));

        let files = |v: &Option<Vec<String>>, default: &[&str]| -> Vec<PathBuf> {
            match v {
                Some(list) if list.iter().any(|x| x.eq_ignore_ascii_case("none")) => Vec::new(),
                Some(list) => list.iter().map(|x| path(x)).collect(),
                None => default.iter().map(|x| path(x)).collect(),
            }
        };
        let (known_hosts, global_known_hosts) = match &self.known_hosts {
            Some(over) => (over.clone(), Vec::new()),
            None => (
                files(
                    &s.user_known_hosts_files,
                    &["~/.ssh/known_hosts", "~/.ssh/known_hosts2"],
                ),
                files(
                    &s.global_known_hosts_files,
                    &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
                ),
            ),
        };

        let agent = if !self.use_agent {
            None
        } else {
            match s.identity_agent.as_deref() {
                Some(a) if a.eq_ignore_ascii_case("none") => None,
                Some(a) if a == "SSH_AUTH_SOCK" || a == "$SSH_AUTH_SOCK" => {
                    std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from)
                }
                Some(a) if a.starts_with('$') => std::env::var_os(&a[1..]).map(PathBuf::from),
                Some(a) => Some(path(a)),
                None => std::env::var_os("SSH_AUTH_SOCK")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
            }
        };

        if let Some(pc) = &s.proxy_command
            && !pc.eq_ignore_ascii_case("none")
            && s.proxy_jump.is_none()
        {
            return Err(SshError {
                user: Some(user),
                host,
                port,
                alias: None,
                via: None,
                kind: Box::new(SshErrorKind::Config(format!(
                    "ProxyCommand ({pc}) is not supported by pigsty-tui; use ProxyJump"
                ))),
            });
        }
        let mut jump = None;
        if let Some(pj) = &s.proxy_jump {
            let hops = config::parse_proxy_jump(pj).map_err(fail)?;
            // j1,j2,…,jn: the target is reached through jn, jn through
            // j(n-1), …, and j1 as ~/.ssh/config says for it.
            let mut prev: Option<Box<Endpoint>> = None;
            for (i, hop) in hops.iter().enumerate() {
                let hop_target = SshTarget {
                    host: hop.host.clone(),
                    port: hop.port,
                    user: hop.user.clone(),
                    key_file: None,
                };
                let mut ep = self.resolve_ssh(&hop_target, &hop.host, depth + 1)?;
                if i > 0 {
                    ep.jump = prev.take();
                }
                prev = Some(Box::new(ep));
            }
            jump = prev;
        }

        let connect_timeout = s
            .connect_timeout
            .filter(|&t| t > 0)
            .map(Duration::from_secs)
            .unwrap_or(self.connect_timeout);
        let keepalive = s
            .server_alive_interval
            .filter(|&t| t > 0)
            .map(Duration::from_secs)
            .unwrap_or(self.keepalive);
        Ok(Endpoint {
            name: name.to_string(),
            alias: t.host.clone(),
            host,
            port,
            user,
            identity_files,
            identities_only: s.identities_only.unwrap_or(false),
            agent,
            known_hosts,
            global_known_hosts,
            host_key_alias: s.host_key_alias.clone(),
            hash_known_hosts: s.hash_known_hosts.unwrap_or(false),
            jump,
            connect_timeout,
            keepalive,
            keepalive_max: s.server_alive_count_max.unwrap_or(3) as usize,
        })
    }
}

/// A key file to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFile {
    pub path: PathBuf,
    /// Named by the inventory or a configuration (a missing one is
    /// reported); default keys are skipped silently when absent.
    pub explicit: bool,
}

/// A target resolved: everything needed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The target's display name.
    pub name: String,
    /// The host as given (`ansible_host` / inventory key).
    pub alias: String,
    /// Where to connect (after `HostName`).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<IdentityFile>,
    pub identities_only: bool,
    /// Agent socket, if the agent is to be used.
    pub agent: Option<PathBuf>,
    /// User known_hosts files: new keys go to the first.
    pub known_hosts: Vec<PathBuf>,
    pub global_known_hosts: Vec<PathBuf>,
    pub host_key_alias: Option<String>,
    pub hash_known_hosts: bool,
    /// The jump host this one is reached through.
    pub jump: Option<Box<Endpoint>>,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
    pub keepalive_max: usize,
}

impl Endpoint {
    /// `user@host:port`
    pub fn address(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    /// `user@jump:port` (→ `user@jump2:port` …), innermost last.
    pub fn via(&self) -> Option<String> {
        let j = self.jump.as_ref()?;
        Some(match j.via() {
            Some(v) => format!("{v} → {}", j.address()),
            None => j.address(),
        })
    }

    fn error(&self, kind: SshErrorKind) -> SshError {
        SshError {
            user: Some(self.user.clone()),
            host: self.host.clone(),
            port: self.port,
            alias: (self.alias != self.host).then(|| self.alias.clone()),
            via: self.via(),
            kind: Box::new(kind),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())?;
        if let Some(v) = self.via() {
            write!(f, " via {v}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Errors

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshErrorKind {
    /// Bad or unsupported configuration.
    Config(String),
    /// The name does not resolve.
    Resolve(String),
    /// Connection refused.
    Refused,
    /// Time limit reached while `what` (connecting, authenticating, …).
    Timeout { what: String, after: Duration },
    /// Other connection failure (unreachable, reset, …).
    Connect(String),
    /// SSH protocol failure before authentication.
    Handshake(String),
    /// The key is not in known_hosts and was not accepted.
    HostKeyUnknown {
        key_type: String,
        fingerprint: String,
        known_hosts: Vec<PathBuf>,
        /// The operator was asked and said no.
        rejected: bool,
    },
    /// The key differs from the recorded one of the same type.
    HostKeyChanged {
        known: String,
        sent: String,
        path: PathBuf,
        line: usize,
    },
    /// Only keys of other types are recorded for this host.
    HostKeyOtherType {
        sent: String,
        key_type: String,
        known: Vec<String>,
    },
    /// The key is marked `@revoked`.
    HostKeyRevoked {
        fingerprint: String,
        path: PathBuf,
        line: usize,
    },
    /// Accepting a new key failed while writing known_hosts.
    KnownHostsWrite { path: PathBuf, error: String },
    /// No key worked; the attempts, for the message.
    AuthRefused { tried: Vec<String> },
    /// Channel or command failure on an established connection.
    Channel(String),
    /// The connection dropped.
    Disconnected(String),
}

/// An SSH failure, naming user, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshError {
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
    /// The name the host was given as, when it differs from `host`.
    pub alias: Option<String>,
    /// Jump host(s) used.
    pub via: Option<String>,
    pub kind: Box<SshErrorKind>,
}

impl SshError {
    fn is_host_key(&self) -> bool {
        matches!(
            *self.kind,
            SshErrorKind::HostKeyUnknown { .. }
                | SshErrorKind::HostKeyChanged { .. }
                | SshErrorKind::HostKeyOtherType { .. }
                | SshErrorKind::HostKeyRevoked { .. }
                | SshErrorKind::KnownHostsWrite { .. }
        )
    }
}

fn list_paths(p: &[PathBuf]) -> String {
    if p.is_empty() {
        return "no known_hosts file".to_string();
    }
    p.iter()
        .map(|x| x.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ssh ")?;
        match &self.user {
            Some(u) if !self.is_host_key() => write!(f, "{u}@{}:{}", self.host, self.port)?,
            _ => write!(f, "{}:{}", self.host, self.port)?,
        }
        if let Some(a) = &self.alias {
            write!(f, " ({a})")?;
        }
        if let Some(v) = &self.via {
            write!(f, " via {v}")?;
        }
        f.write_str(": ")?;
        match &*self.kind {
            SshErrorKind::Config(m) => write!(f, "configuration: {m}"),
            SshErrorKind::Resolve(m) => write!(f, "cannot resolve host name: {m}"),
            SshErrorKind::Refused => f.write_str("connection refused"),
            SshErrorKind::Timeout { what, after } => {
                write!(f, "timed out after {}s {what}", after.as_secs_f32())
            }
            SshErrorKind::Connect(m) => write!(f, "cannot connect: {m}"),
            SshErrorKind::Handshake(m) => write!(f, "SSH handshake failed: {m}"),
            SshErrorKind::HostKeyUnknown {
                key_type,
                fingerprint,
                known_hosts,
                rejected,
            } => {
                write!(
                    f,
                    "unknown host key {key_type} {fingerprint} (not in {})",
                    list_paths(known_hosts)
                )?;
                if *rejected {
                    f.write_str("; rejected by the operator")
                } else {
                    f.write_str(
                        "; refusing to connect (verify and record it with ssh, or enable accept_new_host_keys)",
                    )
                }
            }
            SshErrorKind::HostKeyChanged {
                known,
                sent,
                path,
                line,
            } => write!(
                f,
                "HOST KEY CHANGED! {}:{line} records {known}, the server sent {sent} \
                 — refusing to connect: someone may be intercepting the connection, or the host was \
                 reinstalled (then verify the new key and remove that line)",
                path.display()
            ),
            SshErrorKind::HostKeyOtherType {
                sent,
                key_type,
                known,
            } => write!(
                f,
                "server sent a {key_type} host key {sent}, but known_hosts only has other key types for it ({}); refusing to connect",
                known.join("; ")
            ),
            SshErrorKind::HostKeyRevoked {
                fingerprint,
                path,
                line,
            } => write!(
                f,
                "host key {fingerprint} is REVOKED (line {line} of {}); refusing to connect",
                path.display()
            ),
            SshErrorKind::KnownHostsWrite { path, error } => {
                write!(
                    f,
                    "cannot record the host key in {}: {error}",
                    path.display()
                )
            }
            SshErrorKind::AuthRefused { tried } => {
                if tried.is_empty() {
                    f.write_str("authentication refused (no agent and no key file to try)")
                } else {
                    write!(f, "authentication refused (tried {})", tried.join(", "))
                }
            }
            SshErrorKind::Channel(m) => f.write_str(m),
            SshErrorKind::Disconnected(m) => write!(f, "connection lost: {m}"),
        }
    }
}

impl std::error::Error for SshError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> SshConfig {
        let home = PathBuf::from("/home/op");
        let mut c = SshConfig::bare(home.clone());
        c.local_user = "op".into();
        c.use_agent = false;
        c.openssh = OpenSshConfig::parse_str(text, &home);
        c
    }

    #[test]
    fn precedence_inventory_then_config_then_defaults() {
        let c = cfg(
            "Host 10.10.10.*\n  User cfguser\n  Port 2222\n  IdentityFile ~/.ssh/cfg_key\n\
             Host pg-meta\n  HostName 10.10.10.10\n",
        );
        // Defaults.
        let e = c.resolve(&Target::new("192.168.1.1")).unwrap();
        assert_eq!((e.user.as_str(), e.port), ("op", 22));
        assert_eq!(
            e.identity_files
                .iter()
                .map(|f| (f.path.display().to_string(), f.explicit))
                .collect::<Vec<_>>(),
            vec![
                ("/home/op/.ssh/id_ed25519".to_string(), false),
                ("/home/op/.ssh/id_rsa".to_string(), false),
                ("/home/op/.ssh/id_ecdsa".to_string(), false),
            ]
        );
        assert_eq!(
            e.known_hosts,
            vec![
                PathBuf::from("/home/op/.ssh/known_hosts"),
                PathBuf::from("/home/op/.ssh/known_hosts2")
            ]
        );
        // ~/.ssh/config.
        let e = c.resolve(&Target::new("10.10.10.11")).unwrap();
        assert_eq!((e.user.as_str(), e.port), ("cfguser", 2222));
        assert_eq!(e.identity_files.len(), 1);
        assert_eq!(
            e.identity_files[0].path,
            PathBuf::from("/home/op/.ssh/cfg_key")
        );
        // Inventory wins.
        let t = Target::new("10.10.10.11")
            .with_user("dba")
            .with_port(22)
            .with_key_file("~/.ssh/pigsty");
        let e = c.resolve(&t).unwrap();
        assert_eq!((e.user.as_str(), e.port), ("dba", 22));
        assert_eq!(
            e.identity_files
                .iter()
                .map(|f| f.path.clone())
                .collect::<Vec<_>>(),
            vec![
                PathBuf::from("/home/op/.ssh/pigsty"),
                PathBuf::from("/home/op/.ssh/cfg_key")
            ]
        );
        // HostName.
        let e = c.resolve(&Target::new("pg-meta")).unwrap();
        assert_eq!(e.host, "10.10.10.10");
        assert_eq!(e.alias, "pg-meta");
    }

    #[test]
    fn proxy_jump_chain() {
        let c = cfg(
            "Host bastion\n  HostName 203.0.113.5\n  User jumper\n  Port 2200\n\
             Host 10.*\n  ProxyJump bastion,admin@inner:2201\n  User dba\n",
        );
        let e = c.resolve(&Target::new("10.0.0.5")).unwrap();
        let inner = e.jump.as_ref().unwrap();
        assert_eq!(inner.address(), "admin@inner:2201");
        let outer = inner.jump.as_ref().unwrap();
        assert_eq!(outer.address(), "jumper@203.0.113.5:2200");
        assert!(outer.jump.is_none());
        assert_eq!(
            e.to_string(),
            "dba@10.0.0.5:22 via jumper@203.0.113.5:2200 → admin@inner:2201"
        );
        // A loop is caught.
        let c = cfg("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
        let err = c.resolve(&Target::new("a")).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        // ProxyCommand is refused clearly.
        let c = cfg("Host x\n  ProxyCommand nc %h %p\n");
        let err = c.resolve(&Target::new("x")).unwrap_err();
        assert!(err.to_string().contains("ProxyCommand"), "{err}");
    }

    #[test]
    fn known_hosts_override_and_none() {
        let mut c = cfg("Host *\n  UserKnownHostsFile none\n");
        let e = c.resolve(&Target::new("h")).unwrap();
        assert!(e.known_hosts.is_empty());
        c.known_hosts = Some(vec![PathBuf::from("/sandbox/known_hosts")]);
        let e = c.resolve(&Target::new("h")).unwrap();
        assert_eq!(e.known_hosts, vec![PathBuf::from("/sandbox/known_hosts")]);
        assert!(e.global_known_hosts.is_empty());
    }

    #[test]
    fn dbsu_from_vars() {
        let mut vars = Vars::new();
        assert_eq!(dbsu_of(&vars), "postgres");
        vars.insert("pg_dbsu".into(), serde_json::json!("pgdba"));
        assert_eq!(dbsu_of(&vars), "pgdba");
    }

    #[test]
    fn error_messages_name_user_host_and_port() {
        let c = cfg("");
        let e = c
            .resolve(&Target::new("127.0.0.11").with_user("dba"))
            .unwrap();
        let err = e.error(SshErrorKind::AuthRefused {
            tried: vec!["agent (1 key)".into(), "~/.ssh/id_ed25519".into()],
        });
        assert_eq!(
            err.to_string(),
            "ssh dba@127.0.0.11:22: authentication refused (tried agent (1 key), ~/.ssh/id_ed25519)"
        );
        let err = e.error(SshErrorKind::HostKeyChanged {
            known: "SHA256:old".into(),
            sent: "SHA256:new".into(),
            path: "/kh".into(),
            line: 3,
        });
        assert!(
            err.to_string().starts_with(
                "ssh 127.0.0.11:22: HOST KEY CHANGED! /kh:3 records SHA256:old, the server sent SHA256:new — refusing to connect"
            ),
            "{err}"
        );
        assert_eq!(
            e.error(SshErrorKind::Refused).to_string(),
            "ssh dba@127.0.0.11:22: connection refused"
        );
    }

    #[test]
    fn host_key_questions_name_the_key_like_openssh_and_audit_the_answer() {
        let mut q = HostKeyQuestion {
            host: "127.0.0.11".into(),
            port: 2222,
            key_type: "ssh-ed25519".into(),
            fingerprint: "SHA256:abc".into(),
            known_hosts: Some("/home/op/.ssh/known_hosts".into()),
            other_known_keys: vec![],
        };
        assert_eq!(q.key_kind(), "ED25519");
        for (t, k) in [
            ("ecdsa-sha2-nistp256", "ECDSA"),
            ("rsa-sha2-512", "RSA"),
            ("ssh-rsa", "RSA"),
            ("sk-ssh-ed25519@openssh.com", "ED25519-SK"),
            ("x-unknown", "x-unknown"),
        ] {
            q.key_type = t.into();
            assert_eq!(q.key_kind(), k);
        }
        q.key_type = "ssh-ed25519".into();
        let r = q.audit_record(HostKeyAnswer::Accept, "op");
        assert_eq!(
            (
                r.event.as_str(),
                r.action.as_str(),
                r.target.as_str(),
                r.status.as_str()
            ),
            ("host_key", "host_key", "127.0.0.11:2222", "accepted")
        );
        assert_eq!(r.who, "op");
        assert_eq!(r.steps[0].name, "ssh-ed25519 SHA256:abc");
        assert_eq!(
            r.steps[0].message.as_deref(),
            Some("recorded in /home/op/.ssh/known_hosts")
        );
        let r = q.audit_record(HostKeyAnswer::Reject, "op");
        assert_eq!(r.status, "rejected");
        assert_eq!(r.steps[0].message.as_deref(), Some("refused"));
        assert_eq!(
            q.audit_record(HostKeyAnswer::AcceptOnce, "op").status,
            "accepted_once"
        );
    }

    #[tokio::test]
    async fn channel_prompter_forwards_questions_and_refuses_when_nobody_answers() {
        let (p, mut rx) = ChannelPrompter::new();
        let q = PassphraseQuestion {
            key_file: "/k".into(),
            connecting_to: "dba@h:22".into(),
            attempt: 1,
        };
        let answer = p.passphrase(q.clone());
        match rx.recv().await.unwrap() {
            PromptRequest::Passphrase { question, reply } => {
                assert_eq!(question, q);
                reply.send(Some(Passphrase::new("pw".into()))).unwrap();
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(answer.await.as_deref().map(String::as_str), Some("pw"));
        // A dropped reply or receiver means no.
        let hk = HostKeyQuestion {
            host: "h".into(),
            port: 22,
            key_type: "ssh-ed25519".into(),
            fingerprint: "SHA256:x".into(),
            known_hosts: None,
            other_known_keys: vec![],
        };
        let answer = p.confirm_host_key(hk.clone());
        drop(rx.recv().await.unwrap());
        assert_eq!(answer.await, HostKeyAnswer::Reject);
        drop(rx);
        assert_eq!(p.confirm_host_key(hk).await, HostKeyAnswer::Reject);
        assert!(p.passphrase(q).await.is_none());
    }
}
